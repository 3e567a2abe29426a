"""The responder without HTTP: answers, the episode's case, suppressions by account."""

from __future__ import annotations

from fraudwatch.actions import apply_suppressions, outbox
from fraudwatch.cases import get_episode
from fraudwatch.cases.service import get_case

from .helpers import T0, decision, event, responder


def _answer(r, event_id, reply, now):
    return r.answer(r.links_for_event(event_id)[reply].rsplit("/", 1)[1], now=now)


def test_one_alert_per_episode_and_answering_it_answers_the_episode(tmp_path, receiver):
    import pytest

    from fraudwatch.actions.signing import TokenUsed

    r = responder(tmp_path, receiver=receiver)
    for n in range(3):
        e = event(f"pay-{n}", at=T0 + n * 60)
        r.on_decision(e, decision(e, "block", "card_velocity"), now=T0 + n * 60)
    assert r.links_for_event("pay-0") == r.links_for_event("pay-2")  # one alert: the episode's
    first = _answer(r, "pay-0", "no", T0 + 200)
    with pytest.raises(TokenUsed):  # a second "no" about the same attack sends nothing again
        _answer(r, "pay-2", "no", T0 + 300)
    [(count,)] = r.db.connection().execute("SELECT count(*) FROM cases").fetchall()
    episode = get_episode(r.db.connection(), first.case)
    assert count == 1 and episode.events[:3] == ("pay-0", "pay-1", "pay-2") and episode.worst_outcome == "block"
    assert [(e.kind, e.target) for e in first.events] == [
        ("label", "pay-0"),
        ("label", "pay-1"),
        ("label", "pay-2"),
        ("cardholder.answer", "pay-0"),
    ]
    assert episode.escalation == 3  # the card suspended
    types = [m.type for m in outbox.list_messages(r.db.connection())]
    assert types.count("action.suspend_card") == 1 and types.count("alert.risk") == 1
    assert types.count("alert.risk.updated") == 0  # within the hour: the cardholder was just told


def test_yes_on_an_order_without_card_suppresses_the_rule_for_the_account(tmp_path):
    r = responder(tmp_path)
    o = event("ord-1", "order.placed", account="acct_7", order="o1", amount=5000, currency="JPY")
    r.on_decision(o, decision(o, "review", "hidden_gift_card_orders"), now=T0)
    result = _answer(r, "ord-1", "yes", T0 + 10)
    assert [(s.card, s.rule) for s in result.suppressions] == [("account:acct_7", "hidden_gift_card_orders")]
    later = event("ord-2", "order.placed", at=T0 + 3600, account="acct_7", order="o2", amount=5000, currency="JPY")
    d = apply_suppressions(decision(later, "review", "hidden_gift_card_orders"), later, r.suppressions)
    assert d.outcome.value == "allow" and d.shadow_rules[0].values["suppressed_until"] == T0 + 10 + 30 * 86400
    other = event("ord-3", "order.placed", at=T0 + 3600, account="acct_8", order="o3", amount=5000, currency="JPY")
    assert (
        apply_suppressions(decision(other, "review", "hidden_gift_card_orders"), other, r.suppressions).outcome.value
        == "review"
    )


def test_suppressions_survive_a_restart(tmp_path):
    r = responder(tmp_path)
    e = event("pay-1")
    r.on_decision(e, decision(e, "challenge", "card_velocity"), now=T0)
    _answer(r, "pay-1", "yes", T0)
    again = responder(tmp_path)  # a new process over the same file
    assert again.suppressions.active("tok_1", "card_velocity", T0 + 86400) is not None


def test_duplicate_decisions_and_allowed_events_send_nothing(tmp_path, receiver):
    r = responder(tmp_path, receiver=receiver)
    e = event("pay-1")
    d = decision(e, "block", "card_velocity")
    d.duplicate = True
    assert r.on_decision(e, d, now=T0) == []
    assert r.on_decision(e, decision(e, "allow"), now=T0) == []  # no opt-in: no usage alert
    assert outbox.counts(r.db.connection())["pending"] == 0


def test_refund_and_chargeback_of_a_payment_in_a_case_join_it(tmp_path):
    r = responder(tmp_path)
    e = event("pay-1")
    r.on_decision(e, decision(e, "review", "amount_far_above_history"), now=T0)
    case = _answer(r, "pay-1", "no", T0 + 60).case
    assert get_case(r.db.connection(), case).trigger == "review"  # queued by the review, before the "no"
    refund = event("ref-1", "payment.refund", at=T0 + 120, payment="pay-1", amount=1000, currency="JPY")
    r.on_decision(refund, decision(refund, "allow"), now=T0 + 120)
    cb = event("cb-1", "chargeback", at=T0 + 200, payment="pay-1", amount=1000, currency="JPY")
    r.on_decision(cb, decision(cb, "allow"), now=T0 + 200)
    episode = get_episode(r.db.connection(), case)
    assert {"pay-1", "ref-1", "cb-1"} <= set(episode.events) and episode.last_seen == T0


def test_yes_never_waives_the_operators_deny_lists(tmp_path):
    r = responder(tmp_path)
    e = event("pay-1")
    r.on_decision(e, decision(e, "block", "blocked_card", "card_velocity"), now=T0)
    result = _answer(r, "pay-1", "yes", T0)
    assert [s.rule for s in result.suppressions] == ["card_velocity"]
