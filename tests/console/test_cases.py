"""The review queue and the case file in a real Chromium, against ``fraudwatch demo
--serve`` (whose traffic opened the cases): an analyst filters and sorts the queue, moves
through it with the keyboard, claims a case, reads its timeline, writes a note, attaches a
file, gives the verdict, and the cases API agrees; the queue refreshes without a reload when
someone else works a case; a dispute's stages with their deadlines, a move, and the
evidence pack."""

from __future__ import annotations

import re

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from .helpers import screenshot, sign_in
from .test_browser import no_alert, same_origin_only, wait


def _rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#queue-rows tr[data-case]")


def _read(driver, read):
    """``read(driver)``, again if the page replaced what it read meanwhile (the queue
    refreshes itself while the demo's followers still bring in cases)."""
    return wait(driver, 20).until(lambda d: _attempt(d, read))


def _attempt(driver, read):
    try:
        return [read(driver)]
    except StaleElementReferenceException:
        return None


def _cells(driver, column: int) -> list[str]:
    return _read(driver, lambda d: [r.find_elements(By.TAG_NAME, "td")[column].text for r in _rows(d)])[0]


def _amount(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text) or 0)


def _open_case(demo) -> str:
    """The id of the open case the queue shows second when sorted by amount."""
    with demo.api(demo.analyst_key) as api:
        cases = api.get("/v1/cases", params={"status": "open", "sort": "amount", "limit": 5}).json()["cases"]
    assert len(cases) >= 2, cases
    return cases[1]["id"]


def test_an_analyst_works_a_case_from_the_queue_to_its_verdict(browser, demo, tmp_path):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console)  # the home page is the queue
    wait(browser).until(lambda d: "/console/queue" in d.current_url)
    assert len(_rows(browser)) >= 5
    summary = browser.find_element(By.ID, "queue-summary").text
    assert re.search(r"\d+ cases", summary), summary
    same_origin_only(browser, demo)
    screenshot(browser, "queue")

    # a filter shows its count, and the rows it lets through
    option = browser.find_element(By.CSS_SELECTOR, "#f-priority option[value='high']")
    counted = int(re.search(r"\((\d+)\)", option.text).group(1))
    assert counted > 0
    Select(browser.find_element(By.ID, "f-priority")).select_by_value("high")
    Select(browser.find_element(By.ID, "f-status")).select_by_value("open")
    Select(browser.find_element(By.ID, "f-sort")).select_by_value("amount")
    browser.find_element(By.ID, "f-show").click()
    wait(browser).until(lambda d: "sort=amount" in d.current_url)
    priorities = _cells(browser, 1)
    assert priorities and all("high" in p for p in priorities), priorities
    amounts = [_amount(a) for a in _cells(browser, 6)]
    assert amounts == sorted(amounts, reverse=True), amounts
    # the amount filter is the cases API's min_amount: every row at or above it
    floor = amounts[len(amounts) // 2]
    browser.get(demo.console + f"/queue?status=open&sort=amount&min_amount={floor}")
    assert all(_amount(a) >= floor for a in _cells(browser, 6))

    # the keyboard: j, j selects the second case; c claims it and opens its file
    browser.get(demo.console + "/queue?status=open&sort=amount")
    second = _read(browser, lambda d: _rows(d)[1].get_attribute("data-case"))[0]
    assert second == _open_case(demo)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    body.send_keys("j")
    assert (
        _read(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#queue-rows tr.selected").get_attribute("data-case"))[
            0
        ]
        == second
    )
    body.send_keys("c")
    wait(browser).until(lambda d: f"/console/cases/{second}" in d.current_url)
    assert browser.find_element(By.ID, "case-status").text == "in review"
    assert "demo-analyst" in browser.find_element(By.TAG_NAME, "h1").text

    # the timeline: the flagged events with the rules that fired and the values that made them fire
    hits = browser.find_elements(By.CSS_SELECTOR, "#timeline li.t-event .rule.hit")
    assert hits and any("=" in h.text for h in hits)
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li.t-status")  # the claim, with who
    screenshot(browser, "case-file")

    # a note (shown as text, never run) and an attachment
    browser.find_element(By.ID, "note-text").send_keys("Called the cardholder: not them. <script>alert(1)</script>")
    browser.find_element(By.ID, "add-note").click()
    note = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#timeline li.t-note blockquote")))
    assert "<script>alert(1)</script>" in note.text
    no_alert(browser)
    receipt = tmp_path / "police-receipt.txt"
    receipt.write_text("Shinjuku police station, report R-2026-1207\n")
    browser.find_element(By.ID, "attach-file").send_keys(str(receipt))
    browser.find_element(By.ID, "attach").click()
    link = wait(browser).until(EC.presence_of_element_located((By.LINK_TEXT, "police-receipt.txt")))
    assert "/attachments/" in link.get_attribute("href")

    # the verdict: fraud, an account takeover
    Select(browser.find_element(By.ID, "fraud-type")).select_by_value("account_takeover")
    browser.find_element(By.ID, "verdict-fraud-button").click()
    verdict = wait(browser).until(EC.presence_of_element_located((By.ID, "case-verdict")))
    assert "fraud" in verdict.text and "account takeover" in verdict.text
    assert not browser.find_elements(By.ID, "verdict-fraud")  # a second verdict is not offered
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li.t-verdict")

    # the cases API tells the same story, and the verdict's labels went through the engine
    with demo.api(demo.analyst_key) as api:
        case = api.get(f"/v1/cases/{second}").json()
        assert case["verdict"] == "fraud" and case["fraud_type"] == "account_takeover"
        assert case["verdict_by"] == "demo-analyst" and case["status"] in ("recovering", "closed")
        kinds = [h["type"] for h in case["history"]]
        assert {"note", "attachment", "verdict"} <= set(kinds), kinds
        file = api.get(f"/v1/cases/{second}/file").json()
        flagged = {e["event_id"] for e in file["timeline"] if e["type"] == "event" and e["role"] == "flagged"}
        entity = {"card": case["card"]} if case["card"] else {"account": case["account"]}
        logged = api.get("/v1/events", params={**entity, "limit": 200}).json()["items"]
        labels = {
            e["event"]["target"] for e in logged if e["event"]["kind"] == "label" and e["event"]["source"] == "analyst"
        }
        assert flagged and flagged <= labels, (flagged, labels)
    with demo.api(demo.admin_key) as api:
        audit = api.get("/v1/audit", params={"limit": 1000}).json()["items"]
        mine = {
            r["action"] for r in audit if r["target"] == f"cases/{second}" and r["actor"].endswith("(demo-analyst)")
        }
        assert {"cases.claim", "cases.note", "cases.attachment", "cases.verdict"} <= mine, mine


def test_the_queue_refreshes_without_a_reload(browser, demo):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/queue?status=open&sort=recent")
    target = _read(browser, lambda d: _rows(d)[-1].get_attribute("data-case"))[0]
    browser.execute_script("window.__stayed = true")
    wait(browser).until(lambda d: int(d.find_element(By.ID, "queue-refreshed").get_attribute("data-refreshed")) >= 1)
    with demo.api(demo.admin_key) as api:  # a lead hands the case to someone else meanwhile
        done = api.post(f"/v1/cases/{target}/assign", json={"analyst": "ben"})
        assert done.status_code == 200, done.text
    wait(browser, 40).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, f"#queue-rows tr[data-case='{target}']")
    )  # in review now: out of the open cases, with no reload
    assert browser.execute_script("return window.__stayed === true")


def test_a_case_is_assigned_from_its_queue_row(browser, demo):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/queue?status=open&sort=age")
    target = _read(browser, lambda d: _rows(d)[0].get_attribute("data-case"))[0]
    row = browser.find_element(By.CSS_SELECTOR, f"#queue-rows tr[data-case='{target}']")
    row.find_element(By.CSS_SELECTOR, "form.assign input[name=analyst]").send_keys("chika")
    row.find_element(By.CSS_SELECTOR, "form.assign button").click()
    # back on the same queue, where the case (in review now) is no longer among the open ones
    wait(browser).until(lambda d: "/console/queue?status=open&sort=age" in d.current_url)
    wait(browser).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#queue-rows tr[data-case='{target}']"))
    with demo.api(demo.analyst_key) as api:
        case = api.get(f"/v1/cases/{target}").json()
    assert case["assignee"] == "chika" and case["status"] == "in_review", case
    assert any(h["type"] == "assign" and h["actor"] == "demo-analyst" for h in case["history"]), case["history"]


def test_a_dispute_shows_its_stages_and_deadlines_takes_a_move_and_exports_its_evidence(browser, demo):
    with demo.api(demo.analyst_key) as api:
        disputes = api.get("/v1/disputes", params={"state": "open", "limit": 50}).json()["disputes"]
    dispute = next(d for d in disputes if "pre_arbitration" in d["moves"])
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + f"/cases/{dispute['case_id']}")
    box = browser.find_element(By.CSS_SELECTOR, f".dispute[data-dispute='{dispute['id']}']")
    current = box.find_element(By.CSS_SELECTOR, "table.stages tr.current")
    assert dispute["stage"] in current.text and re.search(r"\d{4}-\d\d-\d\d", current.text)
    browser.execute_script("arguments[0].scrollIntoView()", box)
    screenshot(browser, "case-dispute")

    Select(box.find_element(By.NAME, "move")).select_by_value("pre_arbitration")
    box.find_element(By.CSS_SELECTOR, "form.dispute-move button").click()
    wait(browser).until(EC.staleness_of(box))
    selector = f".dispute[data-dispute='{dispute['id']}'] table.stages tr.current"
    current = _read(browser, lambda d: d.find_element(By.CSS_SELECTOR, selector).text)[0]
    assert "pre_arbitration" in current, current
    box = browser.find_element(By.CSS_SELECTOR, f".dispute[data-dispute='{dispute['id']}']")
    with demo.api(demo.analyst_key) as api:
        assert api.get(f"/v1/disputes/{dispute['id']}").json()["stage"] == "pre_arbitration"

    box.find_element(By.CSS_SELECTOR, "a.evidence").click()
    wait(browser).until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(browser.window_handles[1])
    try:
        wait(browser).until(EC.presence_of_element_located((By.TAG_NAME, "h1")))
        assert "Evidence pack" in browser.find_element(By.TAG_NAME, "h1").text
        assert dispute["payment"] in browser.page_source
    finally:
        browser.close()
        browser.switch_to.window(browser.window_handles[0])
