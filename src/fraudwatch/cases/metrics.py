"""Figures of the review queue and the disputes, for ``GET /v1/cases/stats`` and
Prometheus (``/metrics``): queue depth, the oldest case's age, SLA breaches, disputes by
scheme and stage, won and lost amounts.

>>> import sqlite3
>>> from fraudwatch.cases.store import SCHEMA
>>> conn = sqlite3.connect(":memory:"); conn.row_factory = sqlite3.Row; _ = conn.executescript(SCHEMA)
>>> queue_stats(conn, now=0.0)["queue"]
{'open': 0, 'in_review': 0, 'oldest_age_seconds': None, 'sla_breaches': 0}
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fraudwatch.cases import store


def queue_stats(conn: sqlite3.Connection, *, now: float) -> dict[str, Any]:
    q = store.queue_figures(conn, now=now)
    disputes: dict[str, Any] = {"open": {}, "won": {}, "lost": {}, "breached": store.breached_disputes(conn)}
    for r in store.dispute_counts(conn):
        if r["outcome"] is None:
            disputes["open"].setdefault(r["scheme"], {})[r["state"]] = (
                disputes["open"].get(r["scheme"], {}).get(r["state"], 0) + r["n"]
            )
        else:
            by = disputes[r["outcome"]].setdefault(r["currency"], {"count": 0, "amount": 0})
            by["count"] += r["n"]
            by["amount"] += r["amount"]
    return {
        "queue": {
            "open": q["open"],
            "in_review": q["in_review"],
            "oldest_age_seconds": None if q["oldest"] is None else round(now - q["oldest"], 3),
            "sla_breaches": q["breaches"],
        },
        "disputes": disputes,
    }


class QueueCollector:
    """A Prometheus collector reading the figures at each scrape (a few indexed counts)."""

    def __init__(self, connection, clock):
        self._connection = connection  # () -> sqlite3.Connection of the calling thread
        self._clock = clock

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        stats = queue_stats(self._connection(), now=self._clock())
        q = stats["queue"]
        depth = GaugeMetricFamily("fraudwatch_cases_queue", "cases in the review queue", labels=["status"])
        depth.add_metric(["open"], q["open"])
        depth.add_metric(["in_review"], q["in_review"])
        yield depth
        yield GaugeMetricFamily(
            "fraudwatch_cases_oldest_age_seconds", "age of the oldest queued case", value=q["oldest_age_seconds"] or 0
        )
        yield GaugeMetricFamily(
            "fraudwatch_cases_sla_breaches", "queued cases past their due date", value=q["sla_breaches"]
        )
        stages = GaugeMetricFamily("fraudwatch_disputes_open", "open disputes", labels=["scheme", "stage"])
        for scheme, by_stage in stats["disputes"]["open"].items():
            for stage, n in by_stage.items():
                stages.add_metric([scheme, stage], n)
        yield stages
        decided = GaugeMetricFamily(
            "fraudwatch_disputes_amount", "decided disputes' amounts", labels=["outcome", "currency"]
        )
        for outcome in ("won", "lost"):
            for currency, figures in stats["disputes"][outcome].items():
                decided.add_metric([outcome, currency], figures["amount"])
        yield decided
        yield GaugeMetricFamily(
            "fraudwatch_disputes_breached",
            "disputes with a deadline of ours missed",
            value=stats["disputes"]["breached"],
        )
