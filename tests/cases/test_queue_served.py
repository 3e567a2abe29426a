"""The review queue through ``fraudwatch serve``: review decisions become queued cases, the
``analyst`` scope works cases and changes no configuration, concurrent claims have
exactly one winner, and every change is in the audit log."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from .server import Service, wait_until

pytestmark = pytest.mark.slow

REVIEW_RULES = "rule big_ticket:\n    review if event.amount >= 50_000\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    service = Service(tmp_path_factory.mktemp("queue"))
    analysts = {name: service.key(name, "analyst") for name in ("aiko", "ben", "chen", "dana")}
    try:
        service.start().rules(REVIEW_RULES, "review-big")
        yield service, analysts
    finally:
        service.stop()


def test_review_decisions_become_one_case_per_episode_in_the_queue(served):
    service, analysts = served
    for n in range(3):  # one card, three reviews within the hour: one episode
        assert service.send(id=f"rv-{n}", card="tok_rv", account="acct_rv", amount=80_000 + n)["outcome"] == "review"
    service.send(id="rv-other", card="tok_other", account="acct_other", amount=60_000)
    aiko = analysts["aiko"]
    queue = wait_until(
        lambda: (
            len(q := service.get("/v1/cases", aiko, card="tok_rv").json()["cases"]) == 1
            and q[0]["amount_at_risk"] == 240_003
            and q
        )
    )
    case = service.get(f"/v1/cases/{queue[0]['reference']}", aiko).json()  # by the reference the cardholder quotes
    assert case["episode"]["events"] == ["rv-0", "rv-1", "rv-2"] and case["rules"] == ["big_ticket"]
    assert (case["status"], case["trigger"], case["priority"]) == ("open", "review", "high")
    by_rule = service.get("/v1/cases", aiko, rule="big_ticket", sort="amount").json()["cases"]
    assert [c["card"] for c in by_rule][:2] == ["tok_rv", "tok_other"]
    # the analyst scope works cases but changes no configuration
    assert (
        httpx.post(f"{service.url}/v1/rules/versions", headers=aiko, json={"text": "", "version": "x"}).status_code
        == 403
    )
    assert service.get("/v1/cases", {"Authorization": "Bearer fw_nope"}).status_code == 401


def test_concurrent_claims_have_exactly_one_winner(served):
    service, analysts = served
    cards = [f"tok_claim_{n}" for n in range(6)]
    for card in cards:
        service.send(id=f"claim-{card}", card=card, amount=90_000)
    aiko = analysts["aiko"]
    ids = wait_until(
        lambda: (
            len(found := [c["id"] for card in cards for c in service.get("/v1/cases", aiko, card=card).json()["cases"]])
            == len(cards)
            and found
        )
    )
    for case_id in ids:
        barrier = threading.Barrier(len(analysts))
        results: dict[str, httpx.Response] = {}

        def claim(name, headers, case_id=case_id, barrier=barrier, results=results):
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                results[name] = client.post(f"{service.url}/v1/cases/{case_id}/claim", headers=headers)

        threads = [threading.Thread(target=claim, args=item) for item in analysts.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [name for name, r in results.items() if r.status_code == 200]
        assert len(winners) == 1, {n: (r.status_code, r.text) for n, r in results.items()}
        losers = [r for name, r in results.items() if name not in winners]
        assert all(r.status_code == 409 and f"claimed by {winners[0]}" in r.text for r in losers)
        case = service.get(f"/v1/cases/{case_id}", aiko).json()
        assert (case["status"], case["assignee"]) == ("in_review", winners[0])
        assert [h["actor"] for h in case["history"] if h["type"] == "status"] == ["fraudwatch", winners[0]]
    audit = service.get("/v1/audit", limit=1000).json()["items"]
    claims = [a for a in audit if a["action"] == "cases.claim"]
    assert sorted(a["target"] for a in claims) == sorted(f"cases/{i}" for i in ids)
    assert all(a["before"]["status"] == "open" and a["after"]["status"] == "in_review" for a in claims)
    assert all(a["actor"].startswith("key:") for a in claims)  # the key's id: names are not unique


def test_bad_input_is_a_4xx_with_the_field_and_changes_nothing(served):
    service, analysts = served
    ben = analysts["ben"]
    assert service.post("/v1/cases/case_nope/claim", ben).status_code == 404
    r = service.get("/v1/cases", ben, sort="sideways")
    assert r.status_code == 422 and "sort" in r.text
    r = service.get("/v1/cases", ben, card="a", ip="b")
    assert r.status_code == 422 and "one of card, account, device, ip" in r.text
    service.send(id="bad-1", card="tok_bad", amount=70_000)
    [case] = wait_until(lambda: service.get("/v1/cases", ben, card="tok_bad").json()["cases"])
    url = f"/v1/cases/{case['id']}"
    assert service.post(f"{url}/status", ben, status="bogus").status_code == 422
    r = service.post(f"{url}/status", ben, status="monitoring")
    assert r.status_code == 409 and "allowed:" in r.text
    assert service.post(f"{url}/notes", ben, text="").status_code == 422
    r = service.post(f"{url}/release", ben)
    assert r.status_code == 409 and "not claimed" in r.text
    after = service.get(url, ben).json()
    assert after["status"] == "open" and after["version"] == case["version"]


def test_counts_per_filter_match_the_listings_and_amount_and_age_filter_the_queue(served):
    service, analysts = served
    dana = analysts["dana"]
    service.send(id="cnt-big", card="tok_cnt_big", amount=950_000)
    service.send(id="cnt-small", card="tok_cnt_small", amount=55_000)
    wait_until(lambda: service.get("/v1/cases", dana, card="tok_cnt_small").json()["cases"])
    service.post(f"/v1/cases/{service.get('/v1/cases', dana, card='tok_cnt_big').json()['cases'][0]['id']}/claim", dana)

    def listed(**filters) -> list[dict]:
        return service.get("/v1/cases", dana, limit=500, **filters).json()["cases"]

    counts = service.get("/v1/cases/counts", dana).json()
    queue = listed()
    assert counts["total"] == len(queue) == sum(counts["status"].values()) == sum(counts["priority"].values())
    assert counts["status"] == {s: sum(c["status"] == s for c in queue) for s in ("open", "in_review")}
    assert counts["rule"]["big_ticket"] == len(listed(rule="big_ticket")) == len(queue)
    assert counts["unassigned"] == len(listed(unassigned=True)) == sum(c["assignee"] is None for c in queue)
    assert counts["assignee"]["dana"] == len(listed(assignee="dana")) >= 1
    assert counts["trigger"] == {"review": len(queue)} and counts["overdue"] == len(listed(overdue=True)) == 0
    assert list(counts["priority"]) == sorted(counts["priority"], key=["critical", "high", "normal", "low"].index)
    closed = service.get("/v1/cases/counts", dana, status="closed").json()
    assert closed["total"] == len(listed(status="closed"))

    assert [c["card"] for c in listed(min_amount=900_000)] == ["tok_cnt_big"]
    assert all(c["amount_at_risk"] >= 60_000 for c in listed(min_amount=60_000, sort="amount"))
    assert listed(min_age="1h") == []
    time.sleep(1.1)
    assert {c["id"] for c in listed(min_age="1s")} == {c["id"] for c in queue}
    r = service.get("/v1/cases", dana, min_age="3 fortnights")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "min_age"
    assert service.get("/v1/cases", dana, min_amount=-1).status_code == 422
