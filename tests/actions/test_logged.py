"""``Responder.on_logged`` (pages of the decision service's log, as its follower hands
them over) leaves the actions database exactly as ``on_decision`` per event does."""

from __future__ import annotations

import json
from types import SimpleNamespace

import orjson

from fraudwatch.actions import Responder
from fraudwatch.actions.history import LogHistory
from fraudwatch.actions.service import set_subscription
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import SQLiteStore

from .helpers import T0, decision, event, settings

NO_DELIVERY = SimpleNamespace(url="http://127.0.0.1:9/hooks", secret=b"whsec_test_0123456789abcdef")


def _stream():
    """(event, decision) pairs: mostly allowed events, and each way an event can lead to
    something (usage alert, risk alert, responses that read the lookback, a refund)."""
    pay = lambda id, at, **f: event(id, at=T0 + at, **{"device": "dev_evil", **f})  # noqa: E731
    pairs = []
    for n in range(40):  # allowed traffic of other cards, with and without a card
        e = pay(f"bg-{n}", n, card=f"tok_bg{n % 7}", account=f"acct_bg{n % 5}")
        pairs.append((e, decision(e, "allow")))
        login = event(f"login-{n}", "account.login", at=T0 + n, account=f"acct_bg{n % 5}", success=True)
        pairs.append((login, decision(login, "allow")))
    steps = [
        (pay("sub-1", 50, card="tok_sub"), "allow", ()),  # opted in: usage alert
        (
            event(
                "ord-1",
                "order.placed",
                at=T0 + 60,
                account="acct_1",
                device="dev_evil",
                order="o1",
                amount=900,
                currency="JPY",
            ),
            "allow",
            (),
        ),
        (
            event(
                "prof-1",
                "account.profile_changed",
                at=T0 + 70,
                account="acct_1",
                device="dev_evil",
                field="language",
                old_value="ja",
                new_value="en",
            ),
            "allow",
            (),
        ),
        (
            pay("pay-2", 90),
            "block",
            ("ato_gift_cards_after_language_switch",),
        ),  # account takeover: reverts and cancels from the lookback
        (pay("pay-1", 80), "review", ("card_velocity_1d",)),  # risk alert
        (pay("pay-3", 100), "block", ("card_testing_dormant_same_amount_again",)),  # card testing: suspend
        (event("ref-1", "payment.refund", at=T0 + 110, payment="pay-2", amount=1000, currency="JPY"), "allow", ()),
        (pay("late-1", 20, card="tok_bg1"), "allow", ()),  # logged after later events: event time runs back
        (
            event(
                "prof-2",
                "account.profile_changed",
                at=T0 + 85,
                account="acct_1",
                device="dev_evil",
                field="email",
                old_value="a@example.com",
                new_value="b@example.com",
            ),
            "allow",
            (),
        ),  # after the takeover's window was read
    ]
    for e, outcome, rules in steps:
        pairs.append((e, decision(e, outcome, *rules)))
    dup = pay("dup-1", 120)
    d = decision(dup, "block", "ato_gift_cards_after_language_switch")
    d.duplicate = True
    pairs.append((dup, d))
    return pairs


def _entries(pairs):
    out = []
    for seq, (e, d) in enumerate(pairs, 1):
        stored = e.__pydantic_serializer__.to_json(e, exclude_none=True)
        out.append(
            LogEntry(
                seq,
                e.id,
                e.kind,
                e.ts,
                b"",
                stored,
                orjson.dumps(d),
                d.outcome.value,
                e.card,
                e.account,
                e.device,
                e.ip,
            )
        )
    return out


def _state(r: Responder) -> dict:
    conn = r.db.connection()
    rows = lambda sql: [tuple(row) for row in conn.execute(sql)]  # noqa: E731
    return {
        "outbox": [(i, t, json.loads(p)) for i, t, p in rows("SELECT id, type, payload FROM outbox ORDER BY id")],
        "alerts": rows("SELECT id, event_id, outcome, rules FROM alerts ORDER BY id"),
        "recent": [(*row[:5], json.loads(row[5])) for row in rows("SELECT * FROM recent_events ORDER BY id")],
        "cases": rows("SELECT id, status, card, account, started, last_seen, worst_outcome FROM cases ORDER BY id"),
        "case_events": rows("SELECT event_id, case_id, role FROM case_events ORDER BY event_id"),
    }


def _responder(path) -> Responder:
    r = Responder(settings(path, receiver=NO_DELIVERY))
    with r.db.unit_of_work() as conn:
        set_subscription(conn, "tok_sub", email=None, usage_alerts=True, now=T0)
    return r


def test_pages_of_log_entries_do_what_decisions_one_by_one_do(tmp_path):
    pairs = _stream()
    one_by_one = _responder(tmp_path / "a")
    for e, d in pairs:
        one_by_one.on_decision(e, d, now=T0 + 500)
    paged = _responder(tmp_path / "b")
    entries = _entries(pairs)
    sent = []
    for start in range(0, len(entries), 7):  # the order, profile change and takeover in one page
        sent += paged.on_logged(entries[start : start + 7], now=T0 + 500)
    expected = _state(one_by_one)
    assert _state(paged) == expected
    types = {t for _, t, _ in expected["outbox"]}
    assert {
        "alert.usage",
        "alert.risk",
        "action.revert_profile_changes",
        "action.cancel_unshipped_orders",
        "action.suspend_card",
    } <= types
    assert sorted(sent) == [i for i, _, _ in expected["outbox"]]
    assert not any(i == "dup-1" for i, *_ in expected["recent"])


def test_a_page_handed_over_again_after_a_crash_sends_nothing_twice(tmp_path):
    r = _responder(tmp_path)
    entries = _entries(_stream())
    first = r.on_logged(entries, now=T0 + 500)
    before = _state(r)
    assert first and r.on_logged(entries, now=T0 + 600) == []
    assert _state(r) == before


def test_reading_the_lookback_from_the_log_does_what_the_kept_copy_does(tmp_path):
    pairs = _stream()
    kept = _responder(tmp_path / "a")
    entries = _entries(pairs)
    kept.on_logged(entries, now=T0 + 500)
    log = SQLiteStore(tmp_path / "fw.db")
    with log.unit() as uow:
        uow.events.append(entries)  # all of it first: the follower reads a log that is ahead of it
    from_log = Responder(settings(tmp_path / "b", receiver=NO_DELIVERY), history=LogHistory(log.events))
    with from_log.db.unit_of_work() as conn:
        set_subscription(conn, "tok_sub", email=None, usage_alerts=True, now=T0)
    for start in range(0, len(entries), 7):
        from_log.on_logged(entries[start : start + 7], now=T0 + 500)
    expected = _state(kept)
    assert expected["recent"]
    assert _state(from_log) == {**expected, "recent": []}  # the same alerts, actions and cases
