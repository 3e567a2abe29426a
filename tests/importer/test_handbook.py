"""The handbook's mapping on the real public data set (first rows only)."""

from datetime import datetime
from pathlib import Path

import pytest

from fraudwatch.events import parse_event
from fraudwatch.importer import handbook_mapping, iter_events

PARQUET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "handbook" / "transactions.parquet"


@pytest.mark.skipif(not PARQUET.exists(), reason="shared data set not beside the checkout")
def test_payments_and_delayed_labels_in_time_order():
    events = [parse_event(e) for e in iter_events(PARQUET, handbook_mapping(7), limit=60_000)]
    payments = {e.id: e for e in events if e.kind == "payment.attempt"}
    labels = [e for e in events if e.kind == "label"]
    assert len(payments) == 60_000 and labels
    times = [e.ts for e in events]
    assert times == sorted(times)
    for label in labels:
        paid = payments[label.target]
        assert label.ts - paid.ts == pytest.approx(7 * 86400)
        assert paid.scenario.startswith("handbook:") and label.card == paid.card
    assert all(p.currency == "EUR" and p.amount >= 0 for p in payments.values())
    first = payments["tx0"]
    assert first.time == datetime.fromisoformat("2018-04-01T00:00:31+00:00") and first.amount == 5716
