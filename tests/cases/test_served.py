"""The cases domain end to end through ``fraudwatch serve``, a webhook receiver and an SMTP
server, as an integrator, the analysts and the cardholder use it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .server import Mailbox, Receiver, Service, wait_until

pytestmark = pytest.mark.slow

RULES = """
rule gift_card_burst:
    block if event.items_category == 'digital_gift_card' and event.amount < 5_000
rule big_ticket:
    review if event.amount >= 100_000
"""
T0 = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
DAY = 86400


def at(days: float = 0, minutes: float = 0) -> str:
    return (T0 + timedelta(days=days, minutes=minutes)).isoformat()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with Receiver() as rec, Mailbox() as mail:
        service = Service(
            tmp_path_factory.mktemp("served"),
            webhook=rec,
            smtp_port=mail.port,
            cases={"challenge_timeout": "1h", "attachment_max_bytes": 2048},
        )
        analyst = service.key("aiko", "analyst")
        try:
            service.start().rules(RULES, "cases-e2e")
            yield service, analyst, rec, mail
        finally:
            service.stop()


def _case_of(service, key, **query):
    return wait_until(
        lambda: service.get(
            "/v1/cases", key, status=["monitoring", "open", "in_review", "recovering", "closed"], **query
        ).json()["cases"]
    )


def test_an_account_takeover_burst_is_one_case_not_forty(served):
    service, aiko, _, _ = served
    for n in range(40):  # 40 gift cards in 90 minutes from the attacker's device; the owner shops meanwhile
        service.send(
            id=f"ato-{n}",
            time=at(minutes=n * 2.25),
            card="tok_ato",
            account="acct_ato",
            device="dev_evil",
            ip="198.51.100.66",
            amount=1000,
            items_category="digital_gift_card",
        )
        if n % 10 == 0:
            service.send(
                id=f"own-{n}",
                time=at(minutes=n * 2.25 + 1),
                card="tok_ato",
                account="acct_ato",
                device="dev_own_phone",
                amount=2400,
                items_category="books",
                result="approved",
            )
    cases = wait_until(
        lambda: (
            (c := _case_of(service, aiko, account="acct_ato"))
            and c[0]["worst_outcome"] == "block"
            and len(service.get(f"/v1/cases/{c[0]['id']}", aiko).json()["episode"]["events"]) == 40
            and c
        )
    )
    assert len(cases) == 1
    case = service.get(f"/v1/cases/{cases[0]['id']}", aiko).json()
    assert case["episode"]["attacker"] == {"devices": ["dev_evil"], "ips": ["198.51.100.66"], "sessions": []}
    assert case["status"] == "monitoring" and case["rules"] == ["gift_card_burst"]


def test_a_no_queues_the_case_with_the_containment_on_its_timeline_and_tells_the_cardholder(served):
    service, aiko, rec, mail = served
    r = httpx.put(
        f"{service.url}/v1/alerts/subscriptions/tok_no", headers=service.auth, json={"email": "victim@example.com"}
    )
    assert r.status_code == 200, r.text
    service.send(
        id="no-1", time=at(days=1), card="tok_no", account="acct_no", amount=3000, items_category="digital_gift_card"
    )
    alert = wait_until(lambda: mail.text_of("Was this you?"))[0]
    no = re.search(r"No, it wasn't me:\s+(\S+)", alert).group(1)
    answer = httpx.post(no, headers={"Accept": "application/json"}).json()
    case_id = answer["case"]
    file = wait_until(
        lambda: (
            (f := service.get(f"/v1/cases/{case_id}/file", aiko).json())
            and any(
                t["type"] == "message" and t["message_type"] == "action.suspend_card" and t["status"] == "delivered"
                for t in f["timeline"]
            )
            and f
        )
    )
    assert (file["case"]["status"], file["case"]["trigger"]) == ("open", "cardholder_no")
    kinds = [t["type"] for t in file["timeline"]]
    assert kinds.index("event") < kinds.index("alert") and "answer" in kinds
    flagged = next(t for t in file["timeline"] if t["type"] == "event" and t["event_id"] == "no-1")
    assert flagged["decision"]["rules"][0]["rule"] == "gift_card_burst" and flagged["decision"]["outcome"] == "block"
    # the cardholder is told, with the reference and the status page
    update = wait_until(lambda: mail.text_of(f"Your case {file['case']['reference']}"))[0]
    link = re.search(r"Follow your case: (\S+)", update).group(1)
    page = httpx.get(link, headers={"Accept": "application/json"}).json()
    assert page["reference"] == file["case"]["reference"] and page["status"] == "open"
    assert "card" not in page and "tok_no" not in httpx.get(link).text
    ja = httpx.get(link, headers={"Accept-Language": "ja-JP,ja;q=0.9,en;q=0.5"}).text
    assert '<html lang="ja">' in ja and f"受付番号 {page['reference']}" in ja and "Your case" not in ja
    assert httpx.get(link[:-3] + "AAA").status_code == 403
    # the verdict: a fraud type is required, the labels go through the engine, a second verdict is refused
    r = service.post(f"/v1/cases/{case_id}/verdict", aiko, verdict="fraud")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "fraud_type"
    done = service.post(f"/v1/cases/{case_id}/verdict", aiko, verdict="fraud", fraud_type="stolen_card_number").json()
    assert done["status"] == "closed" and len(done["labels"]) == 1  # blocked: nothing at risk, nothing to recover
    logged = service.get(f"/v1/events/{done['labels'][0]}").json()["event"]
    assert (logged["kind"], logged["target"], logged["fraud"], logged["source"]) == ("label", "no-1", True, "analyst")
    again = service.post(f"/v1/cases/{case_id}/verdict", aiko, verdict="genuine")
    assert (
        again.status_code == 409 and again.json()["errors"][0]["loc"] == "verdict" and "verdict already" in again.text
    )


def test_a_genuine_verdict_releases_the_held_payment(served):
    service, aiko, rec, _ = served
    service.send(id="big-1", time=at(days=2), card="tok_big", account="acct_big", amount=150_000)
    [case] = wait_until(lambda: service.get("/v1/cases", aiko, card="tok_big").json()["cases"])
    assert case["trigger"] == "review"
    assert service.post(f"/v1/cases/{case['id']}/claim", aiko).status_code == 200
    done = service.post(f"/v1/cases/{case['id']}/verdict", aiko, verdict="genuine", note="called the customer").json()
    assert done["releases"] == [{"action": "release_payment", "event": "big-1"}] and done["status"] == "closed"
    release = wait_until(
        lambda: [m for m in rec.of_type("action.release_payment") if m["data"].get("case") == case["id"]]
    )
    assert release[0]["data"]["event"] == "big-1"


def _dispute(service, key, card):
    [case] = wait_until(lambda: service.get("/v1/cases", key, card=card).json()["cases"])
    [d] = wait_until(lambda: service.get("/v1/disputes", key, case=case["id"]).json()["disputes"])
    return case, d


def _move(service, key, dispute, move, day):
    r = service.post(f"/v1/disputes/{dispute['id']}/moves", key, move=move, at=at(days=day))
    assert r.status_code == 200, r.text
    return r.json()


def test_chargebacks_run_visa_and_jcb_disputes_to_won_and_to_lost_with_deadlines_and_breaches(served):
    service, aiko, _, _ = served
    cards = {"tok_v_won": "411111", "tok_v_lost": "453210", "tok_j_won": "356600", "tok_j_lost": "357311"}
    for card, bin_ in cards.items():
        service.send(id=f"pay-{card}", time=at(days=-40), card=card, card_bin=bin_, amount=20_000, result="approved")
    for card in cards:
        scheme, code = ("visa", "10.4") if card.startswith("tok_v") else ("jcb", "546")
        service.send(
            id=f"cb-{card}",
            time=at(days=10),
            kind="chargeback",
            payment=f"pay-{card}",
            card=card,
            amount=20_000,
            currency="JPY",
            reason_code=code,
            scheme=scheme,
        )
    case, visa = _dispute(service, aiko, "tok_v_won")
    assert (case["trigger"], visa["scheme"], visa["flow"], visa["stage"]) == (
        "chargeback",
        "visa",
        "allocation",
        "dispute",
    )
    assert visa["deadline"] == (T0 + timedelta(days=40)).timestamp()  # 30 days from the chargeback's date
    _move(service, aiko, visa, "pre_arbitration", 15)
    _move(service, aiko, visa, "issuer_declines", 30)
    d = _move(service, aiko, visa, "arbitration", 35)
    assert (d["stage"], d["deadline"]) == ("arbitration", (T0 + timedelta(days=95)).timestamp())
    assert _move(service, aiko, visa, "merchant_wins", 70)["outcome"] == "won"

    _, jcb = _dispute(service, aiko, "tok_j_lost")
    assert (jcb["scheme"], jcb["stage"], jcb["deadline"]) == (
        "jcb",
        "first_chargeback",
        (T0 + timedelta(days=55)).timestamp(),
    )
    for move, day in (("represent", 20), ("second_chargeback", 40), ("arbitration", 50), ("issuer_wins", 90)):
        last = _move(service, aiko, jcb, move, day)
    assert last["outcome"] == "lost" and [s["stage"] for s in last["stages"]] == [
        "first_chargeback",
        "representment",
        "second_chargeback",
        "arbitration",
    ]
    _, jcb_won = _dispute(service, aiko, "tok_j_won")
    _move(service, aiko, jcb_won, "represent", 12)
    assert _move(service, aiko, jcb_won, "issuer_accepts", 20)["outcome"] == "won"
    refused = service.post(f"/v1/disputes/{jcb_won['id']}/moves", aiko, move="accept")
    assert refused.status_code == 409 and "decided already" in refused.text

    # nobody answers the other Visa dispute: when event time passes its deadline it is lost, a breach
    _, lapsing = _dispute(service, aiko, "tok_v_lost")
    assert service.post(f"/v1/disputes/{lapsing['id']}/moves", aiko, move="second_presentment").status_code == 409
    service.send(id="clock-1", time=at(days=41), card="tok_clock", amount=100)
    lost = wait_until(lambda: (d := service.get(f"/v1/disputes/{lapsing['id']}", aiko).json())["outcome"] and d)
    assert (lost["outcome"], lost["breached"], lost["stages"][0]["move"]) == ("lost", True, "expired")
    stats = service.get("/v1/cases/stats", aiko).json()["disputes"]
    assert stats["breached"] == 1 and stats["won"]["JPY"] == {"count": 2, "amount": 40_000}
    assert stats["lost"]["JPY"] == {"count": 2, "amount": 40_000}
    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'fraudwatch_disputes_amount{currency="JPY",outcome="lost"} 40000.0' in metrics
    assert "fraudwatch_cases_queue" in metrics and "fraudwatch_disputes_breached 1.0" in metrics


def test_bad_input_is_a_4xx_with_field_and_reason_and_nothing_half_written(served):
    service, aiko, _, _ = served
    service.send(id="pay-bad", time=at(days=-5), card="tok_bad", amount=120_000)  # held for review
    [case] = wait_until(lambda: service.get("/v1/cases", aiko, card="tok_bad").json()["cases"])
    url = f"/v1/cases/{case['id']}"
    before = service.get(url, aiko).json()
    audit_before = len(service.get("/v1/audit", limit=1000).json()["items"])

    unknown = service.get("/v1/cases/case_nope", aiko)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["loc"] == "case_id"
    illegal = service.post(f"{url}/status", aiko, status="monitoring")
    assert illegal.status_code == 409 and illegal.json()["errors"][0]["loc"] == "status"
    assert "allowed: closed, in_review, recovering" in illegal.json()["errors"][0]["msg"]
    over = service.post(f"{url}/refunds", aiko, payment="pay-bad", amount=120_001, currency="JPY")
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == "amount"
    assert "120000 left" in over.json()["errors"][0]["msg"]
    other = service.post(f"{url}/refunds", aiko, payment="pay-v", amount=1, currency="JPY")
    assert other.status_code == 422 and other.json()["errors"][0]["loc"] == "payment"
    big = httpx.post(f"{service.url}{url}/attachments", params={"name": "scan.pdf"}, headers=aiko, content=b"x" * 4096)
    assert big.status_code == 413 and big.json()["errors"][0]["loc"] == "body" and "2048" in big.text
    admin = service.auth
    bad = httpx.put(
        f"{service.url}/v1/disputes/deadlines/psp_fast",
        headers=admin,
        json={"deadlines": {"visa": {"dispute": "3x days"}}},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "psp_fast.visa.dispute"
    assert (
        httpx.put(
            f"{service.url}/v1/disputes/deadlines/psp_fast",
            headers=aiko,
            json={"deadlines": {"visa": {"dispute": "7d"}}},
        ).status_code
        == 403
    )  # configuration: admin only
    after = service.get(url, aiko).json()
    assert after["version"] == before["version"] and after["history"] == before["history"]
    assert service.get(f"{url}/file", aiko).json()["money"]["requested"] == 0
    assert len(service.get("/v1/audit", limit=1000).json()["items"]) == audit_before
    # a partial refund works, and a second one for more than is left is refused
    ok = service.post(f"{url}/refunds", aiko, payment="pay-bad", amount=20_000, currency="JPY", note="partial")
    assert ok.status_code == 201 and ok.json()["status"] == "requested"
    assert service.post(f"{url}/refunds", aiko, payment="pay-bad", amount=100_001, currency="JPY").status_code == 422
    good = httpx.put(
        f"{service.url}/v1/disputes/deadlines/psp_fast", headers=admin, json={"deadlines": {"visa": {"dispute": "7d"}}}
    )
    assert good.status_code == 200 and good.json()["deadlines"] == {"visa": {"dispute": 604800.0}}


def test_attachments_police_report_evidence_and_the_cli(served, tmp_path):
    service, aiko, _, _ = served
    [case] = wait_until(
        lambda: service.get(
            "/v1/cases", aiko, card="tok_j_won", status=["open", "in_review", "recovering", "closed"]
        ).json()["cases"]
    )
    url = f"{service.url}/v1/cases/{case['id']}"
    up = httpx.post(
        f"{url}/attachments",
        params={"name": "receipt.txt"},
        headers={**aiko, "Content-Type": "text/plain"},
        content=b"delivered to the door",
    )
    assert up.status_code == 201, up.text
    again = httpx.post(
        f"{url}/attachments", params={"name": "receipt.txt"}, headers=aiko, content=b"delivered to the door"
    )
    assert again.json()["sha256"] == up.json()["sha256"]
    got = httpx.get(f"{url}/attachments/{up.json()['sha256']}", headers=aiko)
    assert got.content == b"delivered to the door" and got.headers["content-type"].startswith("text/plain")
    r = httpx.put(
        f"{url}/police-report", headers=aiko, json={"reference": "2026-KNG-001234", "authority": "Kanagawa PD"}
    )
    assert r.status_code == 200 and r.json()["police_reference"] == "2026-KNG-001234"
    file = httpx.get(f"{url}/file", headers=aiko).json()
    assert file["police_report"] == {"reference": "2026-KNG-001234", "authority": "Kanagawa PD"}
    assert [a["name"] for a in file["attachments"]] == ["receipt.txt"]
    pack = httpx.get(f"{url}/evidence", headers=aiko).json()
    assert pack["payment"]["id"] == "pay-tok_j_won" and pack["compelling_evidence_3"]["qualifies"] is False
    assert "Compelling Evidence 3.0" in httpx.get(f"{url}/evidence", params={"format": "html"}, headers=aiko).text

    key = aiko["Authorization"].split()[1]
    common = ["--url", service.url, "--key", key]
    listed = service.cli(
        "cases", "list", *common, "--status", "closed", "--status", "recovering", "--status", "open", config=False
    )
    assert case["reference"] in listed.stdout
    shown = service.cli("cases", "show", case["reference"], *common, config=False, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "chargeback" in shown.stdout and case["reference"] in shown.stdout
    service.cli("cases", "note", case["id"], "called the acquirer", *common, config=False)
    out = tmp_path / "pack.html"
    service.cli("cases", "export", case["id"], "--format", "evidence-html", "--out", str(out), *common, config=False)
    assert "Compelling Evidence 3.0" in out.read_text()
    bad = service.cli("cases", "verdict", case["id"], "fraud", *common, config=False, check=False)
    assert bad.returncode != 0 and "fraud_type" in bad.stderr
