"""The console in a real Chromium, against ``fraudwatch demo --serve``: sign in, the
dashboards' plots, the entity graph of a leaked card, the rule editor with an error then a
valid edit, its backtest and "save as shadow", escaping, Japanese. Screenshots of each page
go to docs/console/."""

from __future__ import annotations

import time

import pytest
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from .helpers import screenshot, sign_in

BACKTEST_WAIT = 480  # seconds
PLOTS = ("decisions", "rules", "scores", "models", "fraud", "answers", "latency", "queue")


def wait(driver, seconds: float = 30) -> WebDriverWait:
    """A wait that looks again when the page was replaced under it (a form's answer, the
    queue's refresh)."""
    return WebDriverWait(
        driver, seconds, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )


def same_origin_only(driver, demo) -> None:
    """Everything the page loaded came from the server (nothing else is reachable anyway)."""
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [u for u in urls if not u.startswith(demo.base)]
    assert not foreign, foreign


def no_alert(driver) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when no script ran alert()


def test_sign_in_with_a_wrong_key_then_the_analyst_key(browser, demo):
    browser.get(demo.console)  # no session: sent to the sign-in page
    assert "/console/signin" in browser.current_url
    screenshot(browser, "signin")
    browser.find_element(By.ID, "key").send_keys("fw_not_a_key")
    browser.find_element(By.ID, "signin").click()
    error = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error")))
    assert "unknown or revoked API key" in error.text
    sign_in(browser, demo, demo.analyst_key)
    assert "demo-analyst" in browser.find_element(By.CSS_SELECTOR, "header .me").text
    # an analyst sees the rules, but no editor
    browser.get(demo.console + "/rules")
    assert not browser.find_elements(By.ID, "edit-rules")
    browser.get(demo.console + "/rules/edit")
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text


def test_every_dashboard_plot_renders_offline(browser, demo):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/dashboards?range=30d")
    drawn = {}
    for name in PLOTS:
        svg = browser.find_element(By.CSS_SELECTOR, f"#plot-{name} svg.plot")
        size = svg.size
        assert size["width"] > 300 and size["height"] > 100, (name, size)
        assert len(svg.find_elements(By.CSS_SELECTOR, "line, polyline, rect, text")) > 5, name
        drawn[name] = int(svg.get_attribute("data-marks"))
    # the simulated month has decisions, rule hits, model scores (the demo trains a champion
    # and a challenger), fraud labels, cardholders' answers and cases in the review queue
    assert all(marks > 0 for marks in drawn.values()), drawn
    assert len(browser.find_elements(By.CSS_SELECTOR, "#plot-models table tbody tr, #plot-models table tr")) >= 3
    same_origin_only(browser, demo)
    screenshot(browser, "dashboards")
    # a week, by the picker
    browser.find_element(By.CSS_SELECTOR, "#range a[href='?range=7d']").click()
    wait(browser).until(lambda d: "range=7d" in d.current_url)
    assert int(browser.find_element(By.CSS_SELECTOR, "#plot-decisions svg").get_attribute("data-marks")) > 0


def test_entity_graph_tells_the_leaked_card_story(browser, demo):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/dashboards")
    browser.find_element(By.CSS_SELECTOR, "#notable a.leaked-card").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "svg.graph")))
    assert browser.title.startswith("Card tok_")
    signals = browser.find_element(By.CSS_SELECTOR, ".signals").text
    assert "This card is on" in signals and "stranger's account" in signals
    graph = browser.find_element(By.CSS_SELECTOR, "svg.graph")
    assert int(graph.get_attribute("data-nodes")) >= 4
    accounts = graph.find_elements(By.CSS_SELECTOR, "a.node.ring1")
    assert len(accounts) >= 2
    assert graph.find_elements(By.CSS_SELECTOR, "a.node.fraud")  # the stranger's account is marked
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")) >= 3
    same_origin_only(browser, demo)
    screenshot(browser, "entity-leaked-card")
    # every neighbour links to its own page
    card_url = browser.current_url
    neighbour = graph.find_element(By.CSS_SELECTOR, "a.node.fraud.ring1")
    title = neighbour.find_element(By.TAG_NAME, "title").get_attribute("textContent")  # "account acct_..."
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", neighbour)
    neighbour.find_element(By.TAG_NAME, "circle").click()
    wait(browser).until(lambda d: d.current_url != card_url)
    assert "/console/entities/" in browser.current_url
    assert title.split(" ", 1)[1] in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.CSS_SELECTOR, "svg.graph")


def _replace_text(driver, element, text: str) -> None:
    driver.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", element, text
    )


def test_rule_edit_error_then_backtest_then_shadow(browser, demo):
    sign_in(browser, demo, demo.admin_key)
    browser.get(demo.console + "/rules/edit")
    editor = browser.find_element(By.ID, "rule-text")
    live = editor.get_attribute("value")
    # a syntax error: shown in place, with line, column and a caret, as `rules check` prints it
    broken = live + "\nrule big_payment:\n    block if event.amount >> 30000\n"
    _replace_text(browser, editor, broken)
    browser.find_element(By.ID, "check").click()
    error = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".rule-error")))
    bad_line = broken.count("\n", 0, broken.index(">>")) + 1
    assert error.get_attribute("data-line") == str(bad_line)
    assert "^" in error.text and str(bad_line) in error.text
    assert browser.find_elements(By.CSS_SELECTOR, ".gutter li.bad")
    screenshot(browser, "rule-editor-error")
    # a valid edit: a new rule that blocks large payments on accounts seen for less than a day
    valid = live + (
        "\nrule big_payment_new_account:\n"
        '    description "a large payment from an account first seen today"\n'
        "    block if event.kind == 'payment.attempt' and event.amount >= 20000 and account.age < 1d\n"
    )
    editor = browser.find_element(By.ID, "rule-text")
    _replace_text(browser, editor, valid)
    wait(browser).until(EC.presence_of_element_located((By.ID, "check-result")))  # the live check, as typed
    assert not browser.find_elements(By.CSS_SELECTOR, ".rule-error")
    # backtest the whole simulated period
    since = browser.find_element(By.NAME, "since")
    browser.execute_script("arguments[0].value = '2026-10-20T00:00'", since)
    browser.find_element(By.ID, "backtest").click()
    wait(browser).until(lambda d: "/console/backtests/" in d.current_url)
    if browser.find_elements(By.ID, "progress"):
        bar = browser.find_element(By.ID, "progress-bar")
        assert bar.get_attribute("max") == "1"
    # the backtest runs at a lower CPU priority than the service: on a busy machine it waits its turn
    result = wait(browser, BACKTEST_WAIT).until(EC.presence_of_element_located((By.ID, "backtest-result")))
    assert int(browser.find_element(By.ID, "changed-count").text.replace(",", "")) > 0
    diff = browser.find_element(By.ID, "diff").text
    assert "newly blocked" in diff
    changed = browser.find_elements(By.CSS_SELECTOR, "#changed-events tbody tr")
    assert changed and "big_payment_new_account" in changed[0].text
    assert result.is_displayed()
    screenshot(browser, "backtest")
    # save it in shadow, with the comment the audit log keeps
    comment = browser.find_element(By.ID, "save-comment")
    comment.send_keys("try blocking large first-day payments")
    browser.find_element(By.ID, "save-shadow").click()
    row = wait(browser).until(
        EC.presence_of_element_located((By.XPATH, "//tr[.//b[text()='big_payment_new_account']]"))
    )
    assert "shadow" in row.text
    screenshot(browser, "rules")
    browser.get(demo.console + "/audit")
    assert "try blocking large first-day payments" in browser.find_element(By.TAG_NAME, "table").text


def test_script_in_a_rule_description_and_an_event_field_is_shown_as_text(browser, demo):
    script = "<script>alert('xss')</script>"
    with demo.api(demo.admin_key) as api:
        ingest = api.post("/v1/keys", json={"name": "xss-test", "scopes": ["ingest"]}).json()["key"]
        current = api.get("/v1/rules/versions").json()["active"]
        text = api.get(f"/v1/rules/versions/{current}").json()["text"]
        rule = f'\nrule shown_as_text [shadow]:\n    description "{script}"\n    review if event.amount > 999999999\n'
        assert api.post("/v1/rules/versions", json={"text": text + rule, "activate": True}).status_code == 201
    with demo.api(ingest) as api:
        event = {
            "id": "xss-1",
            "time": "2026-11-20T12:00:00+09:00",
            "kind": "payment.attempt",
            "device": script,
            "merchant": script,
            "amount": 1200,
            "currency": "JPY",
        }
        assert api.post("/v1/events", json=event).status_code == 200
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/rules")
    no_alert(browser)
    assert script in browser.find_element(By.TAG_NAME, "main").text
    browser.get(demo.console + "/events/xss-1")
    no_alert(browser)
    assert script in browser.find_element(By.TAG_NAME, "main").text
    deadline = time.monotonic() + 30  # the index follows the log within a moment
    while time.monotonic() < deadline:
        browser.get(demo.console + "/search?q=" + "device:%3Cscript%3Ealert('xss')%3C/script%3E")
        if "/entities/" in browser.current_url:
            break
        time.sleep(0.5)
    no_alert(browser)
    assert script in browser.find_element(By.TAG_NAME, "h1").text


def test_japanese_with_yen_and_tokyo_time(browser, demo):
    sign_in(browser, demo, demo.analyst_key)
    browser.get(demo.console + "/dashboards?range=30d")
    browser.find_element(By.CSS_SELECTOR, "header .me summary").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=language] option[value=ja]").click()
    tz = browser.find_element(By.CSS_SELECTOR, "input[name=timezone]")
    tz.clear()
    tz.send_keys("Asia/Tokyo")
    browser.find_element(By.CSS_SELECTOR, "form.prefs button").click()
    wait(browser).until(lambda d: "ダッシュボード" in d.find_element(By.CSS_SELECTOR, "header nav").text)
    assert "時刻は Asia/Tokyo" in browser.find_element(By.TAG_NAME, "footer").text
    assert "円" in browser.find_element(By.ID, "plot-fraud").text  # yen, no decimals
    screenshot(browser, "dashboards-ja")
    # back to English for the other tests
    browser.find_element(By.CSS_SELECTOR, "header .me summary").click()
    browser.find_element(By.CSS_SELECTOR, "select[name=language] option[value=en]").click()
    browser.find_element(By.CSS_SELECTOR, "form.prefs button").click()
