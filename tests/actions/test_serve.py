"""Against ``fraudwatch serve`` in a process of its own: events sent to the API reach the
cardholder by e-mail through the log follower, the links work through the service, and a
kill of the service in the middle of delivery loses no pending message."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import httpx
import pytest

from fraudwatch.client import ClientError

from .conftest import Mailbox, Receiver, wait_until
from .served import Service

pytest.importorskip("fraudwatch.cli.api")
pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path, request):
    policy = getattr(request, "param", None)
    with Receiver() as rec, Mailbox() as mail:
        service = Service(tmp_path, rec, mail, policy=policy)
        try:
            yield service.start(), rec, mail
        finally:
            service.stop()


def _told(mail) -> list:
    """The messages as a mail client shows them: a resend after a lapsed lease (at least once)
    keeps its Message-ID and is merged."""
    return list({m["Message-ID"]: m for m in mail.messages}.values())


def _link(mail, n, answer):
    msg = wait_until(lambda: len(_told(mail)) >= n and _told(mail)[n - 1], timeout=20)
    label = "Yes, it was me" if answer == "yes" else "No, it wasn't me"
    return re.search(rf"{label}:\s+(\S+)", msg.get_body(("plain",)).get_content()).group(1)


def test_alert_email_and_answers_through_fraudwatch_serve(served):
    service, rec, mail = served
    fw = service.client
    for card in ("tok_yes", "tok_no"):
        assert fw.subscribe(card, email=f"{card}@example.com")["email"] == f"{card}@example.com"
    # paying online from abroad, from a device the card never paid from: challenged
    # (dated now, as live traffic is: the answers are dated when they are given)
    now = datetime.now(UTC).isoformat()
    abroad = {"channel": "ecommerce", "country": "US", "card_country": "JP", "device": "dev_new", "time": now}
    # a card on the operator's deny list is blocked, and nobody is asked about it: a "yes"
    # could not lift the list
    fw.list_add("blocked_cards", ["tok_deny"])
    assert service.send(id="serve-deny", card="tok_deny", account="acct_deny")["outcome"] == "block"

    assert service.send(id="serve-yes", card="tok_yes", account="acct_yes", **abroad)["outcome"] == "challenge"
    yes = _link(mail, 1, "yes")
    assert yes.startswith(service.url) and mail.messages[0]["To"] == "tok_yes@example.com"
    assert httpx.get(yes).status_code == 200  # the page a link preview fetches
    assert fw.check_answer(yes)["status"] == "awaiting confirmation"
    done = fw.answer(yes)
    assert done["answer"] == "yes" and [s["rule"] for s in done["suppressions"]] == ["card_abroad_new_device"]
    assert wait_until(lambda: rec.of_type("action.lift_challenge"))[0]["data"]["event"] == "serve-yes"

    assert service.send(id="serve-no", card="tok_no", account="acct_no", **abroad)["outcome"] == "challenge"
    no = _link(mail, 2, "no")
    result = fw.answer(no)
    assert result["case"]
    assert wait_until(lambda: rec.of_type("action.suspend_card"))[0]["data"]["card"] == "tok_no"
    case = fw.case(result["case"])
    assert case["trigger"] == "cardholder_no" and case["episode"]["events"][0] == "serve-no"
    # the answers' labels are in the service's event log
    for answer, label_id in ((done, done["events"][0]["id"]), (result, result["events"][0]["id"])):
        logged = fw.event(label_id)
        assert logged is not None
        assert logged["event"]["fraud"] is (answer["answer"] == "no")
    with pytest.raises(ClientError) as again:
        fw.answer(no)
    assert again.value.status_code == 409
    # nobody was asked about the deny list's block; the "no" tells its cardholder where the case stands
    assert not [m for m in rec.of_type("alert.risk") if m["data"]["card"] == "tok_deny"]
    wait_until(lambda: len(_told(mail)) >= 3, timeout=20)
    told = _told(mail)
    assert [m["To"] for m in told] == ["tok_yes@example.com", "tok_no@example.com", "tok_no@example.com"]
    assert told[2]["Subject"].startswith(f"Your case {result['reference']}")


def test_killing_the_service_mid_delivery_loses_no_message(tmp_path):
    with Receiver(fail_first=10**6) as rec, Mailbox() as mail:
        service = Service(tmp_path, rec, mail)
        try:
            service.start()
            service.client.subscribe("tok_k", email="k@example.com", usage_alerts=True)
            for n in range(5):
                service.send(id=f"kill-{n}", card="tok_k", account="acct_k", result="approved")
            wait_until(lambda: len(rec.requests) >= 10, timeout=20)  # usage alerts failing and retried
            service.kill()
            rec.fail_first = 0
            before = len(rec.applied)
            assert before == 0
            service.start()  # a new process over the same files
            wait_until(lambda: len(rec.of_type("alert.usage")) == 5, timeout=30)
            assert sorted(m["data"]["event"]["event_id"] for m in rec.of_type("alert.usage")) == [
                f"kill-{n}" for n in range(5)
            ]
            wait_until(lambda: len(_told(mail)) >= 5, timeout=20)
            assert len(rec.effects) == 5
        finally:
            service.stop()


# the test's own rule set replaces the default one: its policy names no rule
@pytest.mark.parametrize("served", ["responses: []\n"], indirect=True)
def test_a_yes_through_the_service_lets_the_same_behaviour_through_next_time(served):
    """The reseller's case: challenged once, answers "yes, it was me", and the same
    behaviour on that card is not stopped again (the service's engine reads the
    confirmation)."""
    service, rec, mail = served
    rules = "rule big_ticket:\n    challenge if event.amount >= 150_000\n"
    r = httpx.post(
        f"{service.url}/v1/rules/versions",
        headers=service.auth,
        json={"text": rules, "version": "big-ticket", "activate": True},
    )
    assert r.status_code in (200, 201), r.text
    service.client.subscribe("tok_res", email="reseller@example.com")

    first = service.send(id="res-1", card="tok_res", account="acct_res", amount=180_000)
    assert first["outcome"] == "challenge"
    done = service.client.answer(_link(mail, 1, "yes"))
    assert done["answer"] == "yes" and [s["rule"] for s in done["suppressions"]] == ["big_ticket"]

    again = service.send(
        id="res-2", time="2026-11-21T15:00:00+09:00", card="tok_res", account="acct_res", amount=180_000
    )
    assert again["outcome"] == "allow"
    assert [h["rule"] for h in again["shadow_rules"]] == ["big_ticket"]  # waived, still on record
    other = service.send(id="other-1", card="tok_other", account="acct_other", amount=180_000)
    assert other["outcome"] == "challenge"  # another card's behaviour is not confirmed


def test_the_service_refuses_to_start_on_a_policy_naming_an_unknown_rule(tmp_path):
    policy = (
        "responses:\n  - {name: cards, when: {outcomes: [block], rules: [bin_enumeration]}, actions: [suspend_card]}\n"
    )
    with Receiver() as rec, Mailbox() as mail:
        service = Service(tmp_path, rec, mail, policy=policy)
        done = subprocess.run(service._cli("serve"), env=service.env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "responses[0].when.rules[0]: unknown rule 'bin_enumeration'; closest: bin_enumeration_ip" in done.stderr


def test_a_rules_change_the_policy_cannot_live_with_is_refused(served):
    service, rec, mail = served
    rules = "rule big_ticket:\n    challenge if event.amount >= 150_000\n"
    for path, body in (
        ("/v1/rules/validate", {"text": rules}),
        ("/v1/rules/versions", {"text": rules, "version": "lean", "activate": True}),
    ):
        r = httpx.post(f"{service.url}{path}", headers=service.auth, json=body)
        assert r.status_code == 422, r.text
        errors = {e["loc"]: e["msg"] for e in r.json()["errors"]}
        assert errors["policy.responses[0].when.rules[0]"] == "'ato_*' matches no rule"
    assert httpx.get(f"{service.url}/v1/rules/versions", headers=service.auth).json()["active"] == "default"
    # stored without activating it is fine; activating it is refused
    r = httpx.post(f"{service.url}/v1/rules/versions", headers=service.auth, json={"text": rules, "version": "lean"})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{service.url}/v1/rules/versions/lean/activate", headers=service.auth)
    assert r.status_code == 422 and "ato_*" in r.text
