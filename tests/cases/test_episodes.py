"""Episodes: one per card or account within a window of event time, the attacker's devices,
IPs and sessions, idempotent joins; and what the flow does with reviews, challenges,
answers and chargebacks."""

from __future__ import annotations

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases import CasesSettings, episode_for, escalate, get_episode, open_or_join
from fraudwatch.cases.flows import CaseFlow
from fraudwatch.cases.service import get_case, transition
from fraudwatch.decisions import Decision, Outcome, RuleHit
from fraudwatch.events import parse_event

T0 = 1795233600.0  # 2026-11-21T13:00:00+09:00
HOUR = 3600.0
WINDOW = 24 * HOUR


@pytest.fixture
def db(tmp_path):
    return Database(str(tmp_path / "cases.db"))


def _event(id, at, kind="payment.attempt", **fields):
    from datetime import UTC, datetime

    data = {"id": id, "kind": kind, "time": datetime.fromtimestamp(at, UTC).isoformat()}
    if kind == "payment.attempt":
        data.update(amount=1000, currency="JPY")
    return parse_event({**data, **fields})


def _decision(e, outcome, *rules, score=None):
    o = Outcome(outcome)
    return Decision(e.id, e.kind, e.time, o, score=score, rules=[RuleHit(r, o, {}) for r in rules])


def test_an_account_takeover_burst_is_one_episode_with_the_attackers_devices(db):
    """40 gift-card payments in 90 minutes on the victim's account from the attacker's
    device, the owner active meanwhile from her own phone: one episode, and the owner's
    device is not the attacker's."""
    flow = CaseFlow(CasesSettings())
    with db.unit_of_work() as conn:
        for n in range(40):
            e = _event(
                f"gift-{n}",
                T0 + n * 135,
                card="tok_victim",
                account="acct_v",
                device="dev_attacker",
                ip="198.51.100.7",
                session="s_att",
            )
            flow.on_decision(conn, e, _decision(e, "block" if n >= 3 else "allow", "gift_card_burst"), now=T0)
            own = _event(
                f"own-{n}",
                T0 + n * 135 + 10,
                "cart.item_removed",
                account="acct_v",
                device="dev_owner",
                item={"sku": "g", "category": "digital_gift_card", "unit_price": 1000},
            )
            flow.on_decision(conn, own, _decision(own, "allow"), now=T0)
    [(count,)] = db.connection().execute("SELECT count(*) FROM cases").fetchall()
    assert count == 1
    [row] = db.connection().execute("SELECT id FROM cases").fetchall()
    episode = get_episode(db.connection(), row[0])
    assert len(episode.events) == 37 and episode.events[0] == "gift-3"
    assert (episode.devices, episode.ips, episode.sessions) == (("dev_attacker",), ("198.51.100.7",), ("s_att",))
    assert episode.started == T0 + 3 * 135 and episode.last_seen == T0 + 39 * 135
    assert episode.worst_outcome == "block" and episode.amount_at_risk == 0  # every one of them blocked


def test_the_window_is_event_time_and_late_events_join_their_episode(db):
    with db.unit_of_work() as conn:
        kw = {"kind": "payment.attempt", "card": "tok_1", "outcome": "challenge", "window": WINDOW, "now": 0.0}
        a = open_or_join(conn, event_id="e13", ts=T0, **kw)
        b = open_or_join(conn, event_id="e16", ts=T0 + 3 * HOUR, **kw)
        c = open_or_join(conn, event_id="e23", ts=T0 + 10 * HOUR, **kw)
        late = open_or_join(conn, event_id="e12", ts=T0 - 5 * HOUR, **kw)  # arrives last, happened first
        apart = open_or_join(conn, event_id="next-week", ts=T0 + 7 * 24 * HOUR, **kw)
        again = open_or_join(conn, event_id="e16", ts=T0 + 3 * HOUR, **kw)
    assert a.id == b.id == c.id == late.id == again.id != apart.id
    assert apart.created and not again.created
    episode = get_episode(db.connection(), a.id)
    assert episode.events == ("e12", "e13", "e16", "e23") and episode.started == T0 - 5 * HOUR
    assert episode_for(db.connection(), card="tok_1", at=T0 + 30 * HOUR, window=WINDOW).id == a.id
    assert episode_for(db.connection(), card="tok_1", at=T0 + 40 * HOUR, window=WINDOW) is None
    assert episode_for(db.connection(), card="tok_2", at=T0, window=WINDOW) is None


def test_a_card_and_an_account_meet_in_one_episode_and_a_closed_one_takes_nothing(db):
    with db.unit_of_work() as conn:
        kw = {"kind": "payment.attempt", "outcome": "block", "window": WINDOW, "now": 0.0}
        a = open_or_join(conn, event_id="p1", ts=T0, card="tok_leaked", account="acct_stranger", **kw)
        b = open_or_join(conn, event_id="p2", ts=T0 + HOUR, card="tok_leaked", account=None, **kw)
        c = open_or_join(conn, event_id="p3", ts=T0 + 2 * HOUR, card=None, account="acct_stranger", **kw)
        assert a.id == b.id == c.id
        transition(conn, a.id, "closed", actor="analyst", now=1.0)
        d = open_or_join(conn, event_id="p4", ts=T0 + 3 * HOUR, card="tok_leaked", **kw)
    assert d.id != a.id and d.created


def test_escalation_only_goes_up(db):
    with db.unit_of_work() as conn:
        e = open_or_join(conn, event_id="p1", ts=T0, kind="payment.attempt", card="tok_1", window=WINDOW, now=0.0)
        assert escalate(conn, e.id, 2, now=1.0) and not escalate(conn, e.id, 1, now=2.0)
        assert not escalate(conn, e.id, 2, now=3.0)
    assert get_episode(db.connection(), e.id).escalation == 2


def test_amount_at_risk_counts_what_got_through_in_one_currency(db):
    with db.unit_of_work() as conn:
        kw = {"kind": "payment.attempt", "card": "tok_1", "window": WINDOW, "now": 0.0}
        open_or_join(conn, event_id="held", ts=T0, outcome="review", amount=5000, currency="JPY", **kw)
        open_or_join(conn, event_id="blocked", ts=T0 + 1, outcome="block", amount=7000, currency="JPY", **kw)
        open_or_join(
            conn,
            event_id="approved",
            ts=T0 + 2,
            outcome="challenge",
            result="approved",
            amount=300,
            currency="JPY",
            **kw,
        )
        e = open_or_join(conn, event_id="usd", ts=T0 + 3, outcome="review", amount=99, currency="USD", **kw)
    assert (e.amount_at_risk, e.currency) == (5300, "JPY")


def test_review_queues_the_case_and_an_unanswered_challenge_waits_in_event_time(db):
    flow = CaseFlow(CasesSettings(challenge_timeout="1h"))
    with db.unit_of_work() as conn:
        r = _event("r1", T0, card="tok_r", amount=250_000)
        review = flow.on_decision(conn, r, _decision(r, "review", "amount_far_above_history", score=0.95), now=100.0)
        c = _event("c1", T0, card="tok_c")
        challenged = flow.on_decision(conn, c, _decision(c, "challenge", "card_velocity"), now=100.0)
        flow.advance(T0 + 59 * 60)  # an hour of event time has not passed yet
        assert flow.sweep(conn, now=200.0) == []
        y = _event("y1", T0, card="tok_y")
        answered = flow.on_decision(conn, y, _decision(y, "challenge", "card_velocity"), now=100.0)
        flow.on_decision(
            conn,
            _event("ans-y1", T0 + 600, "cardholder.answer", card="tok_y", target="y1", answer="yes"),
            None,
            now=150.0,
        )
        flow.advance(T0 + 3601)
        assert flow.sweep(conn, now=300.0) == [challenged.id]
    case = get_case(db.connection(), review.id)
    # review: normal, raised twice (250,000 at risk, score 0.95): critical, due within its SLA
    assert (case.status.value, case.trigger, case.priority.value) == ("open", "review", "critical")
    assert case.due_at == 100.0 + 3600 and case.rules == ("amount_far_above_history",)
    case = get_case(db.connection(), challenged.id)
    assert (case.status.value, case.trigger, case.queued_at) == ("open", "challenge_unanswered", 300.0)
    case = get_case(db.connection(), answered.id)  # "yes" answered the episode: closed as genuine
    assert (case.status.value, case.verdict, case.verdict_by) == ("closed", "genuine", "cardholder")


def test_a_chargeback_opens_a_case_around_the_disputed_payment(db):
    payment = {
        "id": "pay-old",
        "time": "2026-10-01T10:00:00+09:00",
        "kind": "payment.attempt",
        "card": "tok_cb",
        "account": "acct_stranger",
        "device": "dev_fraudster",
        "ip": "203.0.113.50",
        "amount": 12000,
        "currency": "JPY",
        "result": "approved",
    }
    flow = CaseFlow(CasesSettings(), lookup={"pay-old": payment}.get)
    cb = _event(
        "cb-1", T0, "chargeback", card="tok_cb", payment="pay-old", amount=12000, currency="JPY", reason_code="10.4"
    )
    with db.unit_of_work() as conn:
        episode = flow.on_decision(conn, cb, _decision(cb, "allow"), now=500.0)
        again = flow.on_decision(conn, cb, _decision(cb, "allow"), now=600.0)
    assert again.id == episode.id and episode.events == ("pay-old", "cb-1")
    assert episode.devices == ("dev_fraudster",) and episode.ips == ("203.0.113.50",)
    assert (
        episode.amount_at_risk == 12000 and episode.last_seen == episode.started
    )  # the chargeback does not stretch it
    case = get_case(db.connection(), episode.id)
    assert (case.status.value, case.trigger, case.priority.value) == ("open", "chargeback", "high")
