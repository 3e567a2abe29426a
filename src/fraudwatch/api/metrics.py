"""Prometheus metrics of one app, in a registry of its own (nothing global at import)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from fraudwatch.decisions import Decision

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
DECISION_BUCKETS = (0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "fraudwatch_http_requests",
            "HTTP requests by route, method and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "fraudwatch_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decisions = Counter("fraudwatch_decisions", "decisions by outcome", ["outcome"], registry=r)
        self.decision_seconds = Histogram(
            "fraudwatch_decision_seconds", "engine time per decision", buckets=DECISION_BUCKETS, registry=r
        )
        self.rule_hits = Counter("fraudwatch_rule_hits", "rule hits", ["rule", "shadow"], registry=r)
        self.duplicates = Counter("fraudwatch_duplicate_events", "resent event ids answered from the log", registry=r)
        self.failed_events = Counter(
            "fraudwatch_failed_events",
            "events the engine failed on (not logged; the logged state restored)",
            registry=r,
        )
        self.group_commit_events = Histogram(
            "fraudwatch_group_commit_events",
            "events per group commit",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
            registry=r,
        )
        self.log_position = Gauge("fraudwatch_log_position", "last log position handed to the writer", registry=r)
        self.snapshot_position = Gauge("fraudwatch_snapshot_position", "log position of the last snapshot", registry=r)
        self.recovery_seconds = Gauge(
            "fraudwatch_recovery_seconds", "time the last recovery from the snapshot and the log took", registry=r
        )
        self.leader = Gauge("fraudwatch_leader", "1 while this replica decides and logs, 0 standing by", registry=r)
        # the stream consumer (api/stream.py)
        self.stream_entries = Counter(
            "fraudwatch_stream_entries", "stream entries by result: decided, resent, invalid", ["result"], registry=r
        )
        self.stream_claimed = Counter(
            "fraudwatch_stream_claimed_entries", "pending entries taken over from other consumers", registry=r
        )
        self.stream_failures = Counter(
            "fraudwatch_stream_failures",
            "times the broker or the log failed and the unacknowledged records were read again",
            registry=r,
        )
        self.stream_published = Counter(
            "fraudwatch_stream_published",
            "records published to the decisions stream or topic, by kind: decision, error",
            ["kind"],
            registry=r,
        )
        self.stream_already_published = Counter(
            "fraudwatch_stream_already_published",
            "Kafka records read again after a restart whose decision was published before it (not published again)",
            registry=r,
        )
        self.stream_publish_seconds = Histogram(
            "fraudwatch_stream_publish_seconds",
            "Kafka: publishing a batch's decisions and committing its offsets",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stream_lag = Gauge(
            "fraudwatch_stream_lag",
            "records not yet done by the group: Redis, entries not yet read; Kafka, the sum over partitions",
            registry=r,
        )
        self.stream_partition_lag = Gauge(
            "fraudwatch_stream_partition_lag",
            "Kafka: records of a partition not yet committed by the group (log end offset - committed offset)",
            ["topic", "partition"],
            registry=r,
        )
        self.stream_pending = Gauge(
            "fraudwatch_stream_pending", "entries the group read and has not acknowledged", registry=r
        )
        self.redis_seconds = Histogram(
            "fraudwatch_redis_seconds",
            "Redis round trips by operation",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        r.register(_RuleErrors())
        self._children: dict = {}  # labelled children are cached: labels() takes a lock

    def child(self, metric, *labels):
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe_decision(self, decision: Decision) -> None:
        self.child(self.decisions, decision.outcome.value).inc()
        self.decision_seconds.observe(decision.processing_us / 1e6)
        for hit in decision.rules:
            self.child(self.rule_hits, hit.rule, "false").inc()
        for hit in decision.shadow_rules:
            self.child(self.rule_hits, hit.rule, "true").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RuleErrors:
    """``fraudwatch_rule_errors_total{where, rule}``: unexpected errors inside rule
    evaluation (``fraudwatch.rules.failures``), counted by the engine without Prometheus."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        from fraudwatch.rules.failures import FAILURES

        family = CounterMetricFamily(
            "fraudwatch_rule_errors",
            "unexpected errors in rule evaluation (a bug; see the log)",
            labels=["where", "rule"],
        )
        for (where, rule), n in sorted(FAILURES.items()):
            family.add_metric([where, rule], n)
        yield family


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times requests by route template (not raw path, so
    ids in paths do not create one series each)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            m = self.metrics
            m.child(m.requests, scope["method"], template, str(status)).inc()
            m.child(m.request_seconds, scope["method"], template).observe(time.perf_counter() - started)
