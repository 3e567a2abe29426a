"""The engine's behaviour beyond single values: the default set on real events, crash
recovery, bounded memory, lateness."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from fraudwatch.events.kinds import parse_event
from fraudwatch.features import FeatureEngine, FeatureSet, FeatureSpec, SnapshotError, default_feature_set
from fraudwatch.sim.synthetic import synthetic_events

from .features_reference import ev

T0 = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)


class Stream:
    """Real events at minutes after T0, through one engine."""

    def __init__(self, fs: FeatureSet | None = None) -> None:
        self.engine = FeatureEngine(fs or default_feature_set())
        self.n = 0

    def send(self, minute: float, kind: str, **fields) -> dict:
        self.n += 1
        event = parse_event({"id": f"e{self.n}", "time": T0 + timedelta(minutes=minute), "kind": kind, **fields})
        return self.engine.process(event, event.ts)

    def pay(self, minute: float, **fields) -> dict:
        return self.send(minute, "payment.attempt", **{"currency": "JPY", "amount": 1000, **fields})


def test_account_takeover_reads_language_change_and_new_device_on_the_payment():
    s = Stream()
    s.send(0, "account.login", account="a1", device="home", ip="1.1.1.1", success=True)
    s.send(60 * 24, "account.login", account="a1", device="evil", ip="6.6.6.6", success=False)
    s.send(60 * 24 + 1, "account.login", account="a1", device="evil", ip="6.6.6.6", success=True)
    s.send(60 * 24 + 2, "account.profile_changed", account="a1", device="evil", field="language", new_value="en")
    got = s.pay(60 * 24 + 5, account="a1", device="evil", ip="6.6.6.6", card="tok1", items_category="digital_gift_card")
    assert got["account.minutes_since_language_change"] == 3.0
    assert got["account.device_age"] == 5 * 60.0 and got["account.failed_logins_1h"] == 1
    assert got["account.minutes_since_password_change"] is None  # never changed
    s.send(60 * 24 + 30, "account.password_changed", account="a1")
    assert s.pay(60 * 24 + 31, account="a1", card="tok1")["account.minutes_since_password_change"] == 1.0


def test_card_testing_same_amount_insufficient_funds_on_a_dormant_card():
    s = Stream()
    s.pay(0, card="pre1", amount=500)
    for hour in (13, 16, 23):  # 60 days later, the same 17,600 yen charge three times
        got = s.pay(
            60 * 24 * 60 + 60 * hour, card="pre1", amount=17600, result="declined", decline_reason="insufficient_funds"
        )
    assert (
        got["card.same_amount_24h"] == 3 and got["card.insufficient_funds_24h"] == 3 and got["card.declines_24h"] == 3
    )
    assert got["card.age"] == (60 * 24 * 60 + 60 * 23) * 60.0
    assert got["card.seconds_since_last_payment"] == 7 * 3600.0
    assert got["card.amount_ratio_30d"] == pytest.approx(17600 / 17600)


def test_terminal_fraud_rate_counts_labels_known_after_the_delay():
    s = Stream()
    for i in range(4):
        s.pay(i, card=f"c{i}", terminal="T")  # e1..e4
    s.send(60, "label", target="e1", fraud=True)
    s.send(60 * 24 * 8, "label", target="e2", fraud=True)  # 8 days later: too late to count
    got = s.pay(60 * 24 * 7 + 10, card="c9", terminal="T")
    assert got["terminal.fraud_rate_7d"] == 0.25


def test_a_label_dated_exactly_at_the_delay_counts_when_it_carries_the_entity():
    # the handbook importer dates each label exactly 7 days after its payment, with the terminal
    s = Stream()
    s.pay(0, card="c1", terminal="T")  # e1
    s.pay(1, card="c2", terminal="T")  # e2
    got = s.send(60 * 24 * 7, "label", target="e1", fraud=True, card="c1", terminal="T")
    assert got["terminal.fraud_rate_7d"] == 1.0
    assert s.pay(60 * 24 * 7 + 1, card="c3", terminal="T")["terminal.fraud_rate_7d"] == 0.5


def test_snapshot_and_restore_continue_identically():
    fs = default_feature_set()
    events = synthetic_events(3000, cards=200, seed=3, rate=0.05)
    a = FeatureEngine(fs)
    for e in events[:2000]:
        a.process(e, e.ts)
    b = FeatureEngine.restore(fs, a.snapshot())
    shape = lambda engine: [(st["entities"], st["entries"]) for st in engine.memory_report()["stores"]]  # noqa: E731
    assert shape(b) == shape(a)
    for e in events[2000:]:
        assert b.process(e, e.ts) == pytest.approx(a.process(e, e.ts), nan_ok=True)


def test_restore_refuses_other_feature_sets_and_foreign_bytes():
    fs = default_feature_set()
    blob = FeatureEngine(fs).snapshot()
    other = FeatureSet([FeatureSpec("card.n", entity="card", agg="count", window=60)])
    with pytest.raises(SnapshotError, match="features changed"):
        FeatureEngine.restore(other, blob)
    with pytest.raises(SnapshotError):
        FeatureEngine.restore(fs, b"not a snapshot")

    class Evil:
        def __reduce__(self):
            return (print, ("ran code",))

    with pytest.raises(SnapshotError, match="plain data only"):
        FeatureEngine.restore(fs, pickle.dumps(Evil()))


def test_memory_stays_bounded_once_entities_go_idle():
    fs = FeatureSet(
        [
            FeatureSpec("card.n_1h", entity="card", agg="count", window="1h"),
            FeatureSpec("card.amount_max_1h", entity="card", agg="max", field="amount", window="1h"),
            FeatureSpec("card.since", entity="card", agg="time_since_last", window="1h"),
        ]
    )
    engine = FeatureEngine(fs, lateness=60)
    for i in range(20_000):  # 2,000 cards, one event per second, cards change over time
        engine.process(ev(kind="payment.attempt", card=f"c{i // 10}", amount=i), float(i))
    report = engine.memory_report()
    # only cards active in the last 1h + lateness remain, plus those not swept yet
    assert report["by_entity"]["card"]["entities"] < 2 * (3660 // 10 + 4096 // 10)
    entries = sum(s["entries"] for s in report["stores"])
    assert entries < 3 * (3660 + 4096)
    for _ in range(2):  # (one event alone does not move the clock: two do)
        engine.process(ev(kind="payment.attempt", card="late"), 10**6)
    engine.sweep()
    assert engine.memory_report()["by_entity"]["card"]["entities"] == 1
    assert report["by_entity"]["card"]["bytes_per_entity"] > 0


def test_a_busy_entity_keeps_only_its_window():
    fs = FeatureSet([FeatureSpec("card.n_10m", entity="card", agg="count", window="10m")])
    engine = FeatureEngine(fs, lateness=60)
    for i in range(50_000):
        out = engine.process(ev(kind="payment.attempt", card="busy"), i * 0.5)
    assert out["card.n_10m"] == 1200
    assert engine.memory_report()["stores"][0]["entries"] <= 1200 + 120 + 32 + 1


def test_events_later_than_the_lateness_still_count_in_windows_that_cover_them():
    fs = FeatureSet([FeatureSpec("card.n_1h", entity="card", agg="count", window="1h")])
    engine = FeatureEngine(fs, lateness=60)
    engine.process(ev(kind="payment.attempt", card="c"), 10_000.0)
    # 30 minutes late (beyond the 60 s lateness): counted from then on, its own value is exact
    # here because nothing it needs was dropped yet
    assert engine.process(ev(kind="payment.attempt", card="c"), 8_200.0) == {"card.n_1h": 1}
    assert engine.process(ev(kind="payment.attempt", card="c"), 10_001.0) == {"card.n_1h": 3}


def test_the_engine_does_not_deduplicate_event_ids():
    fs = FeatureSet([FeatureSpec("card.n_1h", entity="card", agg="count", window="1h")])
    engine = FeatureEngine(fs)
    event = ev(id="same", kind="payment.attempt", card="c")
    engine.process(event, 1.0)
    assert engine.process(event, 1.0) == {"card.n_1h": 2}  # fraudwatch.engine.Engine drops repeats


def test_features_that_do_not_apply_are_left_out_and_empty_entities_read_zero_or_none():
    s = Stream()
    got = s.send(0, "account.login", account="a9", success=True)
    assert "card.payments_10m" not in got and "terminal.fraud_rate_7d" not in got
    assert got["account.payments_1h"] == 0 and got["account.minutes_since_language_change"] is None
    assert got["account.gift_card_share_24h"] is None


def test_memory_report_shape():
    s = Stream()
    s.pay(0, card="c1", account="a1")
    report = s.engine.memory_report()
    assert report["by_entity"]["card"]["entities"] == 1
    assert report["total_bytes"] >= sum(st["bytes"] for st in report["stores"])
    assert {"entity", "kinds", "features", "entities", "entries", "bytes"} <= report["stores"][0].keys()


def test_snapshots_keep_datetime_values():
    fs = FeatureSet([FeatureSpec("card.previous_time", entity="card", agg="previous", field="time")])
    a = Stream(fs)
    a.pay(0, card="c1")
    b = FeatureEngine.restore(fs, a.engine.snapshot())
    event = parse_event(
        {
            "id": "x",
            "time": T0 + timedelta(minutes=1),
            "kind": "payment.attempt",
            "card": "c1",
            "amount": 1,
            "currency": "JPY",
        }
    )
    assert b.process(event, event.ts) == a.engine.process(event, event.ts) == {"card.previous_time": T0}


def test_gift_card_run_hidden_orders_and_a_cart_re_add():
    s = Stream()
    gift = {"sku": "gc-1000", "category": "digital_gift_card", "unit_price": 1000}
    for i in range(3):
        s.send(i, "order.placed", account="a1", order=f"o{i}", amount=1000, currency="JPY", items=[gift])
        s.send(i + 0.5, "order.hidden", account="a1", order=f"o{i}")
    s.send(
        4,
        "order.placed",
        account="a1",
        order="o9",
        amount=1000,
        currency="JPY",
        items=[{"sku": "book", "category": "books", "unit_price": 1000}],
    )
    s.send(5, "cart.item_removed", account="a1", item=gift)
    got = s.send(8, "cart.item_added", account="a1", item=gift)
    assert got["account.seconds_since_item_removed"] == 180.0
    assert got["account.gift_card_orders_1h"] == 3 and got["account.order_hides_24h"] == 3
    assert got["account.gift_card_share_24h"] == 0.75


def test_bin_enumeration_and_credential_stuffing():
    s = Stream()
    for i in range(5):
        got = s.pay(
            i,
            card=f"tok{i}",
            card_bin="411111",
            device="d1",
            ip="9.9.9.9",
            result="declined",
            decline_reason="invalid_card",
        )
    assert got["device.distinct_cards_same_bin_24h"] == 5 and got["device.declined_cards_1h"] == 5
    assert got["ip.distinct_cards_same_bin_1h"] == 5 and got["ip.declined_cards_1h"] == 5
    for i in range(6):
        got = s.send(10 + i, "account.login", account=f"victim{i}", ip="9.9.9.9", success=False)
    assert got["ip.distinct_accounts_failed_login_1h"] == 6 and got["ip.failed_logins_1h"] == 6
    assert got["account.failed_logins_1h"] == 1


def test_an_entity_in_use_longer_than_its_retention_is_kept_and_forgotten_once_idle():
    fs = FeatureSet([FeatureSpec("card.n_1h", entity="card", agg="count", window="1h")])
    engine = FeatureEngine(fs, lateness=60, sweep_every=1)
    for i in range(48):  # every 30 minutes for a day: queued once, checked every retention
        out = engine.process(ev(kind="payment.attempt", card="steady"), i * 1800.0)
        assert out["card.n_1h"] == (1 if i == 0 else 2)
    assert engine.memory_report()["by_entity"]["card"]["entities"] == 1
    for _ in range(2):  # two retentions later (one event alone does not move the clock: two do)
        engine.process(ev(kind="payment.attempt", card="other"), 48 * 1800.0 + 2 * 3660)
    assert engine.memory_report()["by_entity"]["card"]["entities"] == 1  # only "other"
