"""Cardholder messages through a real SMTP server, answered through the real HTTP router."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi import FastAPI

from fraudwatch.actions import Responder, outbox
from fraudwatch.actions.views import router
from fraudwatch.cases.views import router as cases_router
from fraudwatch.errors import FraudwatchError

from .conftest import ADMIN_KEY, Mailbox, Receiver, Server, StaticAuth, free_port, wait_until
from .helpers import decision, event, settings


async def _error(request, exc):
    from fastapi.responses import JSONResponse

    return JSONResponse({"errors": [{"loc": "", "msg": str(exc)}]}, status_code=exc.status_code)


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def live(tmp_path):
    """Webhook receiver + SMTP server + the actions router under uvicorn, dispatcher running."""
    with Receiver() as rec, Mailbox() as mail:
        port = free_port()
        responder = Responder(settings(tmp_path, receiver=rec, mailbox=mail, public_url=f"http://127.0.0.1:{port}"))
        app = FastAPI()
        app.include_router(router)
        app.include_router(cases_router)
        app.state.responder = responder
        app.state.auth = StaticAuth()
        app.add_exception_handler(FraudwatchError, _error)  # as fraudwatch.api's create_app does
        responder.start()
        with Server(app, port) as server:
            yield server, responder, rec, mail
        responder.close()


def _subscribe(server, card="tok_1", usage=False):
    r = httpx.put(
        f"{server.url}/v1/alerts/subscriptions/{card}",
        headers=ADMIN,
        json={"email": "holder@example.com", "usage_alerts": usage},
    )
    assert r.status_code == 200, r.text


def _links(mail, n=1):
    msg = wait_until(lambda: len(mail.messages) >= n and mail.messages[n - 1])
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    yes = re.search(r"Yes, it was me:\s+(\S+)", text).group(1)
    no = re.search(r"No, it wasn't me:\s+(\S+)", text).group(1)
    assert yes in html and no in html
    return msg, yes, no


def test_yes_link_from_the_email_lifts_the_challenge_and_suppresses_the_rule(live):
    server, responder, rec, mail = live
    _subscribe(server)
    e = event("pay-1")
    responder.on_decision(e, decision(e, "challenge", "card_velocity_1d"))
    msg, yes, no = _links(mail)
    assert msg["To"] == "holder@example.com" and msg["Subject"].startswith(
        "Was this you? ¥1,000 at a merchant (giftshop)"
    )
    assert wait_until(lambda: rec.of_type("alert.risk"))[0]["data"]["links"] == {"yes": yes, "no": no}

    page = httpx.get(yes)  # what a link preview would fetch: changes nothing
    assert page.status_code == 200 and 'method="post"' in page.text and "yes, it was me" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(yes, headers=JSON).json()["status"] == "awaiting confirmation"
    assert responder.suppressions.active("tok_1", "card_velocity_1d", time.time()) is None

    done = httpx.post(yes)
    assert done.status_code == 200 and "Thank you" in done.text
    s = responder.suppressions.active("tok_1", "card_velocity_1d", time.time() + 29 * 86400)
    assert s is not None and s.event_id == "pay-1"
    assert responder.suppressions.active("tok_1", "card_velocity_1d", time.time() + 31 * 86400) is None

    lift = wait_until(lambda: rec.of_type("action.lift_challenge"))[0]["data"]
    assert lift["event"] == "pay-1" and lift["card"] == "tok_1"
    answered = wait_until(lambda: rec.of_type("event.cardholder.answer"))[0]["data"]
    assert answered["answer"] == "yes" and answered["labelled"] == ["pay-1"]

    # single use: the same link, and the other answer of the same alert, are refused
    before = outbox.counts(responder.db.connection())
    again = httpx.post(yes)
    assert again.status_code == 409 and "Already answered" in again.text and "Nothing was changed" in again.text
    assert httpx.post(no, headers=JSON).status_code == 409
    assert httpx.get(yes).status_code == 409
    assert sum(outbox.counts(responder.db.connection()).values()) == sum(before.values())
    assert not rec.of_type("action.suspend_card")


def test_no_link_contains_the_attack_and_queues_the_case(live):
    server, responder, rec, mail = live
    _subscribe(server)
    now = time.time()
    allow = lambda e: responder.on_decision(e, decision(e, "allow"))  # noqa: E731
    acct = {"account": "acct_1", "device": "dev_evil", "ip": "198.51.100.9"}  # the attacker's
    own = {"account": "acct_1", "device": "dev_owner", "ip": "203.0.113.1"}
    allow(event("own-o", "order.placed", at=now - 900, order="ord-own", amount=5000, currency="JPY", **own))
    allow(
        event("p1", "account.profile_changed", at=now - 600, field="language", old_value="ja", new_value="en", **acct)
    )
    allow(event("p2", "account.profile_changed", at=now - 590, field="email", old_value="h@x", new_value="a@y", **acct))
    allow(event("p3", "account.2fa_removed", at=now - 580, method="totp", **acct))
    allow(event("o1", "order.placed", at=now - 500, order="ord-1", amount=1000, currency="JPY", **acct))
    allow(event("o2", "order.placed", at=now - 400, order="ord-2", amount=1000, currency="JPY", **acct))
    allow(event("o3", "order.shipped", at=now - 300, order="ord-1", account="acct_1"))
    allow(event("o4", "order.hidden", at=now - 200, order="ord-2", **acct))
    # the owner, during the attack: her own order and a phone number change stay hers
    allow(event("own-o2", "order.placed", at=now - 150, order="ord-own-2", amount=2000, currency="JPY", **own))
    allow(event("own-p", "account.profile_changed", at=now - 140, field="phone", old_value="1", new_value="2", **own))
    allow(event("old", "order.placed", at=now - 5 * 86400, order="ord-0", amount=1, currency="JPY", **acct))
    e = event("pay-2", at=now - 100, **acct)
    responder.on_decision(e, decision(e, "block", "card_velocity_1d"))
    _, yes, no = _links(mail)

    assert httpx.get(no).status_code == 200
    result = httpx.post(no, headers=JSON).json()
    assert result["answer"] == "no" and result["case"] and result["reference"].startswith("FW-")
    assert [(x["kind"], x["target"], x.get("fraud")) for x in result["events"]] == [
        ("label", "pay-2", True),
        ("cardholder.answer", "pay-2", None),
    ]
    assert result["events"][0]["device"] == "dev_evil"  # the engine watches the attacker's device and IP

    data = {
        t: wait_until(lambda t=t: rec.of_type(f"action.{t}"))[0]["data"]
        for t in (
            "suspend_card",
            "lock_account",
            "revoke_sessions",
            "force_password_reset",
            "revert_profile_changes",
            "cancel_unshipped_orders",
        )
    }
    assert data["suspend_card"]["card"] == "tok_1" and data["lock_account"]["account"] == "acct_1"
    changes = {c["field"]: c["restore_value"] for c in data["revert_profile_changes"]["changes"]}
    assert changes == {"language": "ja", "email": "h@x", "2fa": "enrolled"}
    assert [(o["order"], o["hidden"]) for o in data["cancel_unshipped_orders"]["orders"]] == [("ord-2", True)]
    assert data["cancel_unshipped_orders"]["attacker"]["devices"] == ["dev_evil"]
    assert data["revoke_sessions"]["sessions"] == "all"  # no session ids were sent: every session
    assert {d["case"] for d in data.values()} == {result["case"]}
    answered = wait_until(lambda: rec.of_type("event.cardholder.answer"))[0]["data"]
    assert answered["answer"] == "no" and answered["labelled"] == ["pay-2"]
    assert not responder.suppressions.for_card("tok_1")

    url = f"{server.url}/v1/cases/{result['case']}"
    case = wait_until(lambda: (c := httpx.get(url, headers=ADMIN).json())["contained_at"] and c)
    assert (case["status"], case["trigger"], case["priority"]) == ("open", "cardholder_no", "high")
    assert case["episode"]["events"] == ["pay-2", result["events"][-1]["id"]]
    assert case["episode"]["card"] == "tok_1" and case["reference"].startswith("FW-")
    # the status machine refuses illegal moves and records legal ones, with who
    assert httpx.post(f"{url}/status", headers=ADMIN, json={"status": "monitoring"}).status_code == 409
    assert httpx.post(f"{url}/claim", headers=ADMIN).json()["status"] == "in_review"
    closed = httpx.post(f"{url}/status", headers=ADMIN, json={"status": "closed", "note": "refund received"})
    assert closed.json()["status"] == "closed"
    history = httpx.get(url, headers=ADMIN).json()["history"]
    moves = [(h["data"]["from"], h["data"]["to"], h["actor"]) for h in history if h["type"] == "status"]
    assert moves == [
        ("monitoring", "open", "cardholder"),
        ("open", "in_review", "admin-test"),
        ("in_review", "closed", "admin-test"),
    ]


def _tamper(link: str) -> str:
    base, token = link.rsplit("/", 1)
    payload, sig = token.split(".")
    return f"{base}/{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"


def test_forged_expired_and_unknown_links_are_refused_and_change_nothing(live):
    import base64
    import json

    from fraudwatch.actions.signing import make_token

    server, responder, rec, mail = live
    _subscribe(server)
    e = event("pay-3")
    responder.on_decision(e, decision(e, "review", "amount_spike"))
    _, yes, no = _links(mail)
    # an old alert (another card's episode) whose links expired yesterday
    _subscribe(server, "tok_2")
    old = event("pay-old", card="tok_2", account="acct_2")
    responder.on_decision(old, decision(old, "review", "amount_spike"), now=time.time() - 2 * 86400)
    wait_until(lambda: len(mail.messages) >= 2)
    links = [
        re.search(r"Yes, it was me:\s+(\S+)", m.get_body(("plain",)).get_content()).group(1) for m in mail.messages
    ]
    [old_yes] = [link for link in links if link != yes]
    before = sum(outbox.counts(responder.db.connection()).values())

    forged = _tamper(yes)
    assert httpx.post(forged).status_code == 403
    assert "This link is not valid" in httpx.get(forged).text
    # the answer swapped in the payload without the key: the signature no longer matches
    base, token = no.rsplit("/", 1)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    payload["v"] = "yes"
    swapped = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    assert httpx.post(f"{base}/{swapped}.{token.split('.')[1]}", headers=JSON).status_code == 403
    # signed with another key
    other = make_token(b"another-key-0123456789abcdef", alert_id=payload["a"], answer="no", expires=payload["x"])
    assert httpx.post(f"{base}/{other}").status_code == 403
    # properly signed, but for no alert (e.g. a database restored from backup)
    key = responder.settings.link_key.get_secret_value().encode()
    ghost = make_token(key, alert_id="al_nope", answer="no", expires=time.time() + 60)
    assert httpx.post(f"{base}/{ghost}").status_code == 403
    assert httpx.post(f"{base}/not-a-token").status_code == 403
    expired = httpx.post(old_yes, headers=JSON)
    assert expired.status_code == 410 and "expired" in expired.json()["errors"][0]["msg"]
    assert httpx.get(old_yes).status_code == 410

    assert sum(outbox.counts(responder.db.connection()).values()) == before  # no new message
    assert not responder.suppressions.for_card("tok_1")
    assert (
        responder.db.connection().execute("SELECT count(*) FROM alerts WHERE answered_at IS NOT NULL").fetchone()[0]
        == 0
    )
    # the genuine link still works after all that
    assert httpx.post(yes).status_code == 200


def test_usage_alerts_only_for_opted_in_cards(live):
    server, responder, rec, mail = live
    _subscribe(server, "tok_1", usage=True)
    _subscribe(server, "tok_2", usage=False)
    for n, (card, result) in enumerate([("tok_1", "approved"), ("tok_2", "approved"), ("tok_1", "declined")]):
        e = event(f"u{n}", card=card, result=result)
        responder.on_decision(e, decision(e, "allow"))
    wait_until(lambda: len(mail.messages) >= 2)
    time.sleep(0.3)
    subjects = sorted(m["Subject"] for m in mail.messages)
    assert subjects == [
        "Card used: ¥1,000 at a merchant (giftshop) (approved)",
        "Card used: ¥1,000 at a merchant (giftshop) (declined)",
    ]
    assert {
        m["data"]["card"]
        for m in wait_until(lambda: len(rec.of_type("alert.usage")) == 2 and rec.of_type("alert.usage"))
    } == {"tok_1"}


def test_operator_routes_need_the_admin_key_and_retry_dead_letters(live):
    server, responder, rec, mail = live
    assert httpx.get(f"{server.url}/v1/outbox").status_code == 401
    assert httpx.get(f"{server.url}/v1/outbox", headers={"Authorization": "Bearer nope"}).status_code == 401
    with responder.db.unit_of_work() as conn:
        outbox.enqueue(
            conn,
            id="msg_manual",
            channel="webhook",
            destination="default",
            type="action.lock_account",
            payload={"account": "acct_9"},
            now=time.time(),
        )
        conn.execute(
            "UPDATE outbox SET status = 'dead', attempts = 10, last_error = 'HTTP 500' WHERE id = 'msg_manual'"
        )
    dead = httpx.get(f"{server.url}/v1/outbox/dead-letters", headers=ADMIN).json()["messages"]
    assert [m["id"] for m in dead] == ["msg_manual"]
    assert httpx.post(f"{server.url}/v1/outbox/msg_manual/retry", headers=ADMIN).json()["status"] == "pending"
    wait_until(lambda: rec.of_type("action.lock_account"))
    listed = httpx.get(f"{server.url}/v1/outbox", params={"status": "delivered"}, headers=ADMIN).json()
    assert [m["id"] for m in listed["messages"]] == ["msg_manual"] and listed["counts"]["dead"] == 0
    assert httpx.post(f"{server.url}/v1/outbox/msg_manual/retry", headers=ADMIN).status_code == 409
