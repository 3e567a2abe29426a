"""Events from a Redis (or Valkey) stream, read by a consumer group beside the HTTP API.

Each stream entry holds one event as JSON in its ``event`` field. The consumer hands it to
the same :class:`~fraudwatch.api.service.DecisionService` as ``POST /v1/events`` and, once
the event is durable in the log, publishes its decision to the decisions stream and
acknowledges the entry in one ``MULTI``/``EXEC`` transaction: an entry is acknowledged if
and only if its decision was published.

At least once in, exactly once in effect:

- An entry read but not acknowledged when the process died stays in the group's pending
  list. At start the consumer first reads its own pending entries again (a restart keeps its
  name), and it takes over entries another consumer has left pending for
  ``claim_idle_seconds`` (``XAUTOCLAIM``: a replica that died for good).
- An event read again whose id is in the log is answered from the log (``resent``): the
  features, the log and the responses count it once, and its decision is published once.
- An entry that is not a valid event gets an ``error`` entry on the decisions stream and
  is acknowledged: it never blocks the stream and changes no state.
- While the log cannot be written (the database is down) nothing is acknowledged; the
  entries are read again once the service is ready.

Decisions stream entries: ``id`` (the event id, or the stream entry id when the event had
none), ``entry`` (the events stream entry id) and either ``decision`` (the decision JSON, as
the HTTP API returns it) or ``error`` (``{"errors": [...]}``, as the HTTP API's 4xx body).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson

from fraudwatch.api.body import parse_json
from fraudwatch.api.service import DecisionService, ServiceUnavailable
from fraudwatch.errors import FraudwatchError
from fraudwatch.settings import StreamSettings

log = logging.getLogger("fraudwatch.stream")

__all__ = ["StreamConsumer"]

_RETRY_SECONDS = 1.0  # after Redis or the log failed: wait, then read the pending entries again


class StreamConsumer:
    """Reads ``settings.stream`` with the consumer group ``settings.group`` as
    ``settings.consumer`` until :meth:`stop`."""

    def __init__(self, service: DecisionService, settings: StreamSettings, max_event_bytes: int = 65_536) -> None:
        import redis.asyncio as redis

        if settings.url is None:
            raise ValueError("stream.url is not set")
        self.service = service
        self.settings = settings
        self.max_event_bytes = max_event_bytes
        self.redis = redis.Redis.from_url(settings.url, socket_timeout=30, socket_connect_timeout=5)
        self.connected = False  # the group exists and the last exchange with Redis worked
        self._task: asyncio.Task[None] | None = None
        self._last_claim = 0.0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stream-consumer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.redis.aclose()

    async def _run(self) -> None:
        metrics = self.service.metrics
        while True:
            try:
                await self._ensure_group()
                self.connected = True
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable, or the log not writable: read again later
                self.connected = False
                metrics.stream_failures.inc()
                log.warning("stream %s: %s; reading its pending entries again", self.settings.stream, exc)
                await asyncio.sleep(_RETRY_SECONDS)

    async def _ensure_group(self) -> None:
        from redis.exceptions import ResponseError

        try:
            # from the stream's start: events sent before the first consumer ran are read too
            await self.redis.xgroup_create(self.settings.stream, self.settings.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _consume(self) -> None:
        s = self.settings
        while not self.service.ready:  # a standby reads nothing: its entries would wait for a takeover
            await asyncio.sleep(0.2)
        # this consumer's own pending entries first (read before a crash, never acknowledged)
        while entries := await self._read("0"):
            await self._handle(entries)
        while True:
            if time.monotonic() - self._last_claim >= min(s.claim_idle_seconds, 10.0):
                await self._claim()
            if not self.service.ready:
                raise ServiceUnavailable("the service stopped deciding")
            entries = await self._read(">", block_ms=1000)
            if entries:
                await self._handle(entries)
            await self._observe_lag()

    async def _read(self, start: str, block_ms: int | None = None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        s = self.settings
        started = time.perf_counter()
        reply = await self.redis.xreadgroup(s.group, s.consumer, {s.stream: start}, count=s.batch, block=block_ms)
        self.service.metrics.redis_seconds.labels("xreadgroup").observe(time.perf_counter() - started)
        if not reply:
            return []
        # RESP2: [[stream, [(id, fields), ...]]]; RESP3: {stream: [[(id, fields), ...]]}
        if isinstance(reply, dict):
            (batches,) = reply.values()
            entries = batches[0] if batches else []
        else:
            entries = reply[0][1]
        # a pending entry trimmed from the stream comes back without fields: nothing to decide
        return [(entry_id, fields or {}) for entry_id, fields in entries]

    async def _claim(self) -> None:
        """Take over the entries a dead consumer left pending, and decide them."""
        s = self.settings
        self._last_claim = time.monotonic()
        start = "0-0"
        while True:
            reply = await self.redis.xautoclaim(
                s.stream,
                s.group,
                s.consumer,
                min_idle_time=int(s.claim_idle_seconds * 1000),
                start_id=start,
                count=s.batch,
            )
            start, claimed = reply[0], reply[1]
            if claimed:
                self.service.metrics.stream_claimed.inc(len(claimed))
                log.info("stream %s: took over %d pending entries of other consumers", s.stream, len(claimed))
                await self._handle([(entry_id, fields or {}) for entry_id, fields in claimed])
            if start in (b"0-0", "0-0"):
                return

    async def _handle(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """Decide a batch, wait until it is durable, then publish and acknowledge it at once."""
        service = self.service
        metrics = service.metrics
        results: list[tuple[bytes, str, Any]] = []  # (entry id, event id, decision bytes | awaitable | error)
        for entry_id, fields in entries:
            event_id = entry_id.decode()
            try:
                raw = fields.get(b"event")
                if raw is None:
                    raise _invalid("an entry holds its event as JSON in the field 'event'")
                if len(raw) > self.max_event_bytes:
                    raise _invalid(f"over {self.max_event_bytes} bytes (server.max_body_bytes)")
                value = parse_json(raw)
                if isinstance(value, dict) and isinstance(value.get("id"), str):
                    event_id = value["id"]
                resent, decision = service.submit(service.parse(value))
                metrics.stream_entries.labels("resent" if resent else "decided").inc()
                results.append((entry_id, event_id, decision))
            except ServiceUnavailable:
                raise  # nothing of this batch is acknowledged: read again once the log is writable
            except FraudwatchError as exc:
                metrics.stream_entries.labels("invalid").inc()
                errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
                results.append((entry_id, event_id, _Error(orjson.dumps({"errors": errors}))))
        published = []
        for entry_id, event_id, decision in results:
            if isinstance(decision, _Error):
                published.append((entry_id, event_id, b"error", decision.body))
                continue
            body = decision if isinstance(decision, bytes) else await decision  # durable from here on
            published.append((entry_id, event_id, b"decision", body))
        if published:
            await self._publish(published)

    async def _publish(self, published: list[tuple[bytes, str, bytes, bytes]]) -> None:
        s = self.settings
        started = time.perf_counter()
        async with self.redis.pipeline(transaction=True) as tx:
            for entry_id, event_id, field, body in published:
                tx.xadd(
                    s.decisions,
                    {b"id": event_id.encode(), b"entry": entry_id, field: body},
                    maxlen=s.decisions_maxlen,
                    approximate=True,
                )
            tx.xack(s.stream, s.group, *[entry_id for entry_id, *_ in published])
            await tx.execute()
        self.service.metrics.redis_seconds.labels("publish").observe(time.perf_counter() - started)

    async def _observe_lag(self) -> None:
        """The group's lag (entries not yet delivered) and pending count, for the metrics."""
        s = self.settings
        for group in await self.redis.xinfo_groups(s.stream):
            name = group.get("name", group.get(b"name"))
            if name in (s.group, s.group.encode()):
                lag = group.get("lag", group.get(b"lag"))
                if lag is not None:
                    self.service.metrics.stream_lag.set(lag)
                self.service.metrics.stream_pending.set(group.get("pending", group.get(b"pending")) or 0)


class _Error:
    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def _invalid(msg: str) -> FraudwatchError:
    from fraudwatch.errors import ValidationFailed

    return ValidationFailed("invalid stream entry", [{"loc": "event", "msg": msg}])
