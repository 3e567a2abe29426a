"""Training rows are the features the engine serves: ``models.dataset.replay`` goes through
``Engine.process``, so a resent event is a duplicate in training exactly as in serving."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fraudwatch.definitions import load_features, load_rules
from fraudwatch.engine import Engine
from fraudwatch.events.kinds import parse_event
from fraudwatch.features import FeatureEngine
from fraudwatch.models.dataset import replay
from fraudwatch.sim.simulate import SimConfig, simulate


@pytest.fixture(scope="module")
def stream_with_resends():
    """A small simulated stream in which every 40th event is sent twice (a retry right after
    it) and every 97th payment is resent later with another amount (same id)."""
    raw, _ = simulate(SimConfig(seed=5, cardholders=200, days=4, warmup=2))
    out = []
    payments = 0
    for i, e in enumerate(raw):
        out.append(e)
        if i % 40 == 0:
            out.append(dict(e))
        if e["kind"] == "payment.attempt":
            payments += 1
            if payments % 97 == 0:
                out.append({**e, "amount": e["amount"] * 3 + 1})
    return [parse_event(e) for e in out]


def _served(engine: Engine, events) -> tuple[list[str], list[dict]]:
    ids, rows = [], []
    for event in events:
        decision = engine.process(event)
        if event.kind == "payment.attempt" and not decision.duplicate:
            ids.append(event.id)
            rows.append(decision.features)
    return ids, rows


def test_training_rows_equal_served_features_duplicates_included(stream_with_resends):
    events = stream_with_resends
    features = load_features()
    (matrix,), labels = replay(events, [features])

    # serving: the default policy (rules evaluated, outcomes decided) on the same stream
    ids, served = _served(Engine(features=features, rules=load_rules()), events)
    assert len(events) > len({e.id for e in events})  # the stream does hold resends
    assert matrix.ids.tolist() == ids  # one row per payment served, none for a resend
    expected = np.array([[math.nan if row.get(n) is None else float(row[n]) for n in matrix.names] for row in served])
    np.testing.assert_array_equal(matrix.X, expected)
    assert len(labels.target) == len({e.id for e in events if e.kind == "label"})


def test_feature_engine_alone_would_count_resends(stream_with_resends):
    """What the test above guards against: features computed without the engine's duplicate
    check see a resent payment twice, and training rows would differ from served ones."""
    events = stream_with_resends
    features = load_features()
    fe = FeatureEngine(features)
    naive = [fe.process(e, e.ts) for e in events]
    _, served = _served(Engine(features=features, rules=load_rules()), events)
    naive_payments = [row for e, row in zip(events, naive, strict=True) if e.kind == "payment.attempt"]
    assert len(naive_payments) > len(served)
    counts = [row.get("card.payments_24h") for row in served]
    naive_counts = {}
    for e, row in zip(events, naive, strict=True):
        if e.kind == "payment.attempt":
            naive_counts.setdefault(e.id, row.get("card.payments_24h"))
    assert sum(naive_counts.values()) > sum(counts)
