"""Disputes per scheme as data: every stage with its deadline, to won and to lost, breaches,
deadline overrides per acquirer; refunds, reversals and chargebacks with their amounts."""

from __future__ import annotations

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases import CasesSettings, get_episode, money, store
from fraudwatch.cases import disputes as d
from fraudwatch.cases.flows import CaseFlow
from fraudwatch.cases.service import get_case
from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import Conflict, ValidationFailed
from fraudwatch.events import parse_event

DAY = 86400.0
T0 = 1795233600.0  # 2026-11-21T13:00:00+09:00
PAYMENT = {
    "id": "pay-1",
    "kind": "payment.attempt",
    "time": "2026-10-01T10:00:00+09:00",
    "card": "tok_1",
    "account": "acct_1",
    "device": "dev_x",
    "ip": "198.51.100.1",
    "amount": 30000,
    "currency": "JPY",
    "result": "approved",
    "card_type": "credit",
}


@pytest.fixture
def db(tmp_path):
    return Database(str(tmp_path / "cases.db"))


def _chargeback(db, *, id="cb-1", scheme=None, reason="10.4", acquirer=None, at=T0, payment=PAYMENT):
    flow = CaseFlow(CasesSettings(), lookup={payment["id"]: payment}.get)
    data = {
        "id": id,
        "time": "2026-11-21T13:00:00+09:00",
        "kind": "chargeback",
        "payment": payment["id"],
        "amount": payment["amount"],
        "currency": "JPY",
        "reason_code": reason,
        "card": payment["card"],
    }
    if scheme:
        data["scheme"] = scheme
    if acquirer:
        data["acquirer"] = acquirer
    event = parse_event(data)
    with db.unit_of_work() as conn:
        episode = flow.on_decision(conn, event, Decision(id, "chargeback", event.time, Outcome.ALLOW), now=at)
    return episode, d.get_dispute(db.connection(), d.dispute_id_for(id))


def _move(db, dispute_id, name, at):
    with db.unit_of_work() as conn:
        return d.move(conn, dispute_id, name, at=at, actor="merchant-ops", now=at)


def test_visa_10_4_through_every_stage_to_won(db):
    episode, dispute = _chargeback(db)
    assert (dispute.scheme, dispute.flow, dispute.stage, dispute.party) == ("visa", "allocation", "dispute", "merchant")
    assert dispute.deadline == T0 + 30 * DAY and set(dispute.moves) == {"accept", "pre_arbitration"}
    a = _move(db, dispute.id, "pre_arbitration", T0 + 10 * DAY)
    assert (a.stage, a.party, a.deadline) == ("pre_arbitration", "issuer", T0 + 40 * DAY)
    b = _move(db, dispute.id, "issuer_declines", T0 + 30 * DAY)
    assert (b.stage, b.deadline) == ("pre_arbitration_declined", T0 + 40 * DAY)
    c = _move(db, dispute.id, "arbitration", T0 + 35 * DAY)
    assert (c.stage, c.party, c.deadline) == ("arbitration", "scheme", T0 + 95 * DAY)
    won = _move(db, dispute.id, "merchant_wins", T0 + 80 * DAY)
    assert (won.outcome, won.stage, won.breached, won.decided) == ("won", None, False, T0 + 80 * DAY)
    assert [s["stage"] for s in won.stages] == ["dispute", "pre_arbitration", "pre_arbitration_declined", "arbitration"]
    assert [s["move"] for s in won.stages] == ["pre_arbitration", "issuer_declines", "arbitration", "merchant_wins"]
    assert money.summary(db.connection(), episode.id)["charged_back"] == 0


def test_a_missed_deadline_is_a_breach_and_the_dispute_is_lost(db):
    episode, dispute = _chargeback(db)
    with db.unit_of_work() as conn:
        assert d.sweep(conn, clock=T0 + 30 * DAY, now=0.0) == []  # on the deadline: not yet
        assert d.sweep(conn, clock=T0 + 30 * DAY + 1, now=0.0) == [dispute.id]
    lost = d.get_dispute(db.connection(), dispute.id)
    assert (lost.outcome, lost.breached, lost.stages[0]["move"]) == ("lost", True, "expired")
    assert money.summary(db.connection(), episode.id)["charged_back"] == 30000
    with pytest.raises(Conflict, match="decided already"):
        _move(db, dispute.id, "pre_arbitration", T0 + DAY)


def test_an_issuer_that_lets_its_deadline_pass_loses_without_a_breach_of_ours(db):
    _, dispute = _chargeback(db, scheme="mastercard", reason="4837")
    _move(db, dispute.id, "second_presentment", T0 + 5 * DAY)
    with db.unit_of_work() as conn:
        d.sweep(conn, clock=T0 + 51 * DAY, now=0.0)
    won = d.get_dispute(db.connection(), dispute.id)
    assert (won.outcome, won.breached) == ("won", False)


def test_jcb_546_to_lost_through_every_stage_and_to_won_early(db):
    _, dispute = _chargeback(db, reason="546")  # the scheme from the reason code
    assert (dispute.scheme, dispute.stage, dispute.deadline) == ("jcb", "first_chargeback", T0 + 45 * DAY)
    steps = [("represent", 20), ("second_chargeback", 50), ("arbitration", 60), ("issuer_wins", 100)]
    for name, day in steps:
        last = _move(db, dispute.id, name, T0 + day * DAY)
    assert last.outcome == "lost" and [s["stage"] for s in last.stages] == [
        "first_chargeback",
        "representment",
        "second_chargeback",
        "arbitration",
    ]
    _, other = _chargeback(db, id="cb-2", scheme="jcb", reason="546", payment={**PAYMENT, "id": "pay-2"})
    _move(db, other.id, "represent", T0 + DAY)
    assert _move(db, other.id, "issuer_accepts", T0 + 2 * DAY).outcome == "won"


def test_moves_outside_the_table_or_after_the_deadline_are_refused_and_change_nothing(db):
    _, dispute = _chargeback(db)
    with pytest.raises(Conflict, match="allowed: accept, pre_arbitration"):
        _move(db, dispute.id, "second_presentment", T0 + DAY)
    with pytest.raises(Conflict, match="deadline of stage dispute passed"):
        _move(db, dispute.id, "pre_arbitration", T0 + 31 * DAY)
    with pytest.raises(ValidationFailed, match="before its stage started"):
        _move(db, dispute.id, "pre_arbitration", T0 - DAY)
    assert d.get_dispute(db.connection(), dispute.id).version == dispute.version


def test_an_acquirers_deadlines_override_the_schemes(db):
    checked = d.check_overrides({"psp_fast": {"visa": {"dispute": "7d", "pre_arbitration_declined": 172800}}})
    with db.unit_of_work() as conn:
        store.set_deadline_overrides(conn, "psp_fast", checked["psp_fast"], now=0.0, by="ops")
    _, dispute = _chargeback(db, acquirer="psp_fast")
    assert dispute.deadline == T0 + 7 * DAY
    _, other = _chargeback(db, id="cb-2", acquirer="psp_slow", payment={**PAYMENT, "id": "pay-2"})
    assert other.deadline == T0 + 30 * DAY


@pytest.mark.parametrize(
    ("overrides", "loc", "msg"),
    [
        ({"psp": {"visa": {"dispute": "soon"}}}, "psp.visa.dispute", "not a duration"),
        ({"psp": {"visa": {"dispute": -5}}}, "psp.visa.dispute", "positive"),
        ({"psp": {"visa": {"second_presentment": "5d"}}}, "psp.visa.second_presentment", "known for visa: arbitration"),
        ({"psp": {"diners": {"dispute": "5d"}}}, "psp.diners", "unknown scheme"),
        ({"psp": ["7d"]}, "psp", "expected"),
    ],
)
def test_a_deadline_configuration_that_does_not_parse_names_the_field(overrides, loc, msg):
    with pytest.raises(ValidationFailed) as exc:
        d.check_overrides(overrides)
    assert exc.value.errors[0]["loc"] == loc and msg in exc.value.errors[0]["msg"]


def test_refunds_partial_and_full_and_never_on_a_disputed_payment(db):
    payment = {**PAYMENT, "id": "pay-r"}
    with db.unit_of_work() as conn:
        first = money.request(
            conn, case_id=None, payment=payment, amount=10000, currency="JPY", kind="refund", at=T0, actor="a", now=T0
        )
        money.request(
            conn, case_id=None, payment=payment, amount=5000, currency="JPY", kind="reversal", at=T0, actor="a", now=T0
        )
    assert first["status"] == "requested"
    with pytest.raises(ValidationFailed) as exc:
        with db.unit_of_work() as conn:
            money.request(
                conn,
                case_id=None,
                payment=payment,
                amount=15001,
                currency="JPY",
                kind="refund",
                at=T0,
                actor="a",
                now=T0,
            )
    assert exc.value.errors[0]["loc"] == "amount" and "15000 left" in exc.value.errors[0]["msg"]
    with pytest.raises(ValidationFailed, match="currency"):
        with db.unit_of_work() as conn:
            money.check_refund(conn, payment, amount=1, currency="USD", kind="refund")
    assert money.refundable(db.connection(), payment) == 15000
    _, dispute = _chargeback(db, payment=PAYMENT)
    with pytest.raises(Conflict, match="would pay the cardholder twice"):
        with db.unit_of_work() as conn:
            money.request(
                conn, case_id=None, payment=PAYMENT, amount=1, currency="JPY", kind="refund", at=T0, actor="a", now=T0
            )
    assert store.money_of_payment(db.connection(), "pay-1") == []


def test_an_early_warning_below_the_policy_amount_is_refunded_at_once(db):
    small = {**PAYMENT, "id": "pay-small", "amount": 3000}
    big = {**PAYMENT, "id": "pay-big", "amount": 80000}
    sent = []

    class Outlet:
        def send_action(self, conn, **kw):
            sent.append(kw)
            return []

        def notify_cardholder(self, conn, **kw):
            return []

        def status_link(self, case_id, *, now):
            return None

    flow = CaseFlow(
        CasesSettings(early_warning_refund_below=10000),
        lookup={"pay-small": small, "pay-big": big}.get,
        outlet=Outlet(),
    )
    for p in (small, big):
        e = parse_event(
            {
                "id": f"efw-{p['id']}",
                "time": "2026-10-05T10:00:00+09:00",
                "kind": "early_fraud_warning",
                "payment": p["id"],
                "amount": p["amount"],
                "currency": "JPY",
                "scheme": "visa",
            }
        )
        with db.unit_of_work() as conn:
            episode = flow.on_decision(conn, e, None, now=T0)
        assert get_case(db.connection(), episode.id).trigger == "early_fraud_warning"
    assert [s["data"]["payment"] for s in sent] == ["pay-small"] and sent[0]["action"] == "refund_payment"
    assert money.refundable(db.connection(), small) == 0 and money.refundable(db.connection(), big) == 80000
    refund = parse_event(
        {
            "id": "rf-1",
            "time": "2026-10-06T10:00:00+09:00",
            "kind": "payment.refund",
            "payment": "pay-small",
            "amount": 3000,
            "currency": "JPY",
        }
    )
    with db.unit_of_work() as conn:
        flow.on_decision(conn, refund, None, now=T0)
    [row] = store.money_of_payment(db.connection(), "pay-small")
    assert (row["status"], row["source"]) == ("done", "rf-1")  # the merchant's refund completed the request


def test_claims_outside_the_compensation_lookback_are_flagged(db):
    old = {**PAYMENT, "id": "pay-old", "time": "2026-08-01T10:00:00+09:00", "card_type": "credit"}
    prepaid = {
        **PAYMENT,
        "id": "pay-pp",
        "time": "2026-08-01T10:00:00+09:00",
        "card_type": "prepaid",
        "card": "tok_pp",
        "account": "acct_pp",
    }
    flow = CaseFlow(CasesSettings(), lookup={"pay-old": old, "pay-pp": prepaid}.get)
    for p in (old, prepaid):  # reported 82 days later: outside 60 days for credit, inside 90 for prepaid
        e = parse_event(
            {
                "id": f"fr-{p['id']}",
                "time": "2026-10-22T10:00:00+09:00",
                "kind": "fraud_report",
                "payment": p["id"],
                "amount": 30000,
                "currency": "JPY",
                "scheme": "visa",
                "report": "tc40",
            }
        )
        with db.unit_of_work() as conn:
            episode = flow.on_decision(conn, e, None, now=T0)
        flags = [x for x in store.log_of(db.connection(), episode.id) if x["type"] == "compensation"]
        if p is old:
            assert [(f["data"]["days"], f["data"]["lookback_days"]) for f in flags] == [(82, 60)]
        else:
            assert flags == []
        assert get_episode(db.connection(), episode.id).events == (p["id"], e.id)
