"""Replayed features are point-in-time: a row never uses later events, nor labels before they arrive."""

from datetime import datetime

import numpy as np
import pytest

from fraudwatch.models.dataset import load_feature_set, replay


@pytest.fixture(scope="module")
def rich():
    return load_feature_set("handbook_rich")


def _ts(e):
    return datetime.fromisoformat(e["time"]).timestamp()


def test_rows_do_not_depend_on_later_events(rich, make_events):
    parsed = make_events.parse
    events = make_events.dicts(days=30, seed=1)
    (full,), _ = replay(parsed(events), [rich])
    payment_positions = [i for i, e in enumerate(events) if e["kind"] == "payment.attempt"]
    for row in (5, len(payment_positions) // 2, len(payment_positions) - 3):
        cut = payment_positions[row]
        (prefix,), _ = replay(parsed(events[: cut + 1]), [rich])
        np.testing.assert_array_equal(prefix.X[-1], full.X[row])
        assert prefix.ids[-1] == full.ids[row]


def test_labels_count_only_once_arrived(rich, make_events):
    parsed = make_events.parse
    events = make_events.dicts(days=40, seed=2, fraud_share=0.3)
    (base,), _ = replay(parsed(events), [rich])
    cut = _ts(events[len(events) // 2])
    # rewrite the future: every label arriving after ``cut`` now points at another payment
    rng = np.random.default_rng(0)
    payment_ids = [e["id"] for e in events if e["kind"] == "payment.attempt"]
    changed = []
    for e in events:
        if e["kind"] == "label" and _ts(e) > cut:
            e = {**e, "target": payment_ids[rng.integers(len(payment_ids))]}
        changed.append(e)
    (other,), _ = replay(parsed(changed), [rich])
    before = base.ts <= cut
    np.testing.assert_array_equal(other.X[before], base.X[before])
    label_cols = [i for i, n in enumerate(rich.names) if "fraud" in n]
    # the rewrite is visible later on, so the comparison above could have failed
    assert not np.array_equal(other.X[~before][:, label_cols], base.X[~before][:, label_cols], equal_nan=True)


def test_terminal_fraud_rate_waits_for_the_label_delay(rich, make_events):
    parsed = make_events.parse

    # one terminal, a fraud at day 0 labelled at day 7: the 30-day known fraud rate is 0 before
    # the label has arrived and the payment is 7 days + 1 s old, then 1/2
    def pay(i, day, second=0):
        return {
            "id": f"p{i}",
            "time": f"2024-01-{1 + day:02d}T10:00:{second:02d}+00:00",
            "kind": "payment.attempt",
            "card": f"c{i}",
            "terminal": "t1",
            "amount": 1000,
            "currency": "EUR",
        }

    events = [
        pay(0, 0),
        pay(1, 1),
        {
            "id": "l0",
            "time": "2024-01-08T10:00:00+00:00",
            "kind": "label",
            "target": "p0",
            "fraud": True,
            "terminal": "t1",
        },
        pay(2, 7),
        pay(4, 7, 1),
        pay(3, 9),
    ]
    (m,), labels = replay(parsed(events), [rich])
    rate = m.X[:, rich.names.index("terminal.fraud_rate_30d_known")]
    assert np.isnan(rate[0]) and np.isnan(rate[1])  # nothing old enough yet
    assert np.isnan(rate[2])  # p2 at day 7 10:00:00: p0 is exactly 7 days old, not 7 days + 1 s
    assert rate[3] == 1.0  # one second later p0 counts, with the label that arrived at 10:00:00
    assert rate[4] == 0.5  # at day 9: p0 (fraud) and p1 (genuine) are known
    assert labels.known_fraud(np.array(["p0", "p1"]), as_of=_ts(events[2]) - 1).tolist() == [0, 0]
    assert labels.known_fraud(np.array(["p0", "p1"]), as_of=_ts(events[2])).tolist() == [1, 0]


def test_cached_replay_of_two_sets_equals_separate_replays(rich, make_events, tmp_path):
    import orjson

    from fraudwatch.models.dataset import replay_cached

    base = load_feature_set("handbook_baseline")
    events = make_events.dicts(days=20, seed=4)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    (b1, r1), labels = replay_cached(path, [base, rich], cache=tmp_path / "c", log=lambda m: None)
    (b2,), _ = replay(make_events.parse(events), [base])
    (r2,), _ = replay(make_events.parse(events), [rich])
    np.testing.assert_array_equal(b1.X, b2.X)
    np.testing.assert_array_equal(r1.X, r2.X)
    assert len(labels.target) == sum(e["kind"] == "label" for e in events)
    # a second call reads the cache
    (b3, _), _ = replay_cached(path, [base, rich], cache=tmp_path / "c", log=lambda m: pytest.fail(m))
    np.testing.assert_array_equal(b3.X, b1.X)
