import random
from datetime import UTC, datetime, timedelta

import pytest

from fraudwatch.events.kinds import parse_event

START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic_events(days=40, seed=0, cards=6, terminals=3, fraud_share=0.15, label_delay_days=7.0):
    """Payments of a few cards at a few terminals, with a fraud label event for each fraud
    arriving ``label_delay_days`` later; in event-time order (dicts)."""
    rng = random.Random(seed)
    payments = []
    for i in range(days * cards * 2):
        t = START + timedelta(seconds=rng.uniform(0, days * 86400))
        payments.append((t, i))
    payments.sort()
    events = []
    for t, i in payments:
        fraud = rng.random() < fraud_share
        card = f"c{rng.randrange(cards)}"
        terminal = f"t{rng.randrange(terminals)}"
        amount = rng.randrange(500, 10000) * (5 if fraud else 1)
        events.append(
            {
                "id": f"tx{i}",
                "time": t.isoformat(),
                "kind": "payment.attempt",
                "card": card,
                "terminal": terminal,
                "amount": amount,
                "currency": "EUR",
                "result": "approved",
            }
        )
        if fraud:
            lt = t + timedelta(days=label_delay_days)
            events.append(
                {
                    "id": f"lb{i}",
                    "time": lt.isoformat(),
                    "kind": "label",
                    "card": card,
                    "terminal": terminal,
                    "target": f"tx{i}",
                    "fraud": True,
                    "source": "dataset",
                }
            )
    events.sort(key=lambda e: e["time"])
    return events


def parsed(events):
    return [parse_event(e) for e in events]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Compiled models and feature caches go to a per-test directory."""
    monkeypatch.setenv("FRAUDWATCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def make_events():
    """``make_events(**kw)`` -> typed events of :func:`synthetic_events`; ``.dicts(**kw)`` the dicts."""

    class Maker:
        def __call__(self, **kw):
            return parsed(synthetic_events(**kw))

        dicts = staticmethod(synthetic_events)
        parse = staticmethod(parsed)

    return Maker()
