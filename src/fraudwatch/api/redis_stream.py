"""Events from a Redis (or Valkey) stream, read by a consumer group (``stream.url``
``redis://...``; the loop and the deciding are :mod:`fraudwatch.api.stream`'s).

Each stream entry holds one event as JSON in its ``event`` field. Once the batch is durable
in the log, its decisions are published to the decisions stream and its entries
acknowledged in one ``MULTI``/``EXEC`` transaction: an entry is acknowledged if and only if
its decision was published.

- An entry read but not acknowledged when the process died stays in the group's pending
  list. At start the consumer first reads its own pending entries again (a restart keeps its
  name), and it takes over entries another consumer has left pending for
  ``claim_idle_seconds`` (``XAUTOCLAIM``: a replica that died for good).

Decisions stream entries: ``id`` (the event id, or the stream entry id when the event had
none), ``entry`` (the events stream entry id) and either ``decision`` (the decision JSON, as
the HTTP API returns it) or ``error`` (``{"errors": [...]}``, as the HTTP API's 4xx body).
"""

from __future__ import annotations

import time

from fraudwatch.api.service import DecisionService, ServiceUnavailable
from fraudwatch.api.stream import Published, Record, StreamConsumer, log
from fraudwatch.settings import StreamSettings

__all__ = ["RedisConsumer"]

_MISSING = "an entry holds its event as JSON in the field 'event'"


class RedisConsumer(StreamConsumer):
    """Reads ``settings.stream`` with the consumer group ``settings.group`` as
    ``settings.consumer`` until :meth:`stop`."""

    name = "redis stream"

    def __init__(self, service: DecisionService, settings: StreamSettings, max_event_bytes: int = 65_536) -> None:
        import redis.asyncio as redis

        super().__init__(service, settings, max_event_bytes)
        self.name = f"stream {settings.stream}"
        self.redis = redis.Redis.from_url(settings.url, socket_timeout=30, socket_connect_timeout=5)
        self._last_claim = 0.0

    async def _close(self) -> None:
        await self.redis.aclose()

    async def _connect(self) -> None:
        from redis.exceptions import ResponseError

        try:
            # from the stream's start: events sent before the first consumer ran are read too
            await self.redis.xgroup_create(self.settings.stream, self.settings.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _consume(self) -> None:
        s = self.settings
        await self._wait_ready()
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

    async def _read(self, start: str, block_ms: int | None = None) -> list[Record]:
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
        return [_record(entry_id, fields) for entry_id, fields in entries]

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
                await self._handle([_record(entry_id, fields) for entry_id, fields in claimed])
            if start in (b"0-0", "0-0"):
                return

    async def _publish(self, published: list[Published]) -> None:
        s = self.settings
        metrics = self.service.metrics
        started = time.perf_counter()
        async with self.redis.pipeline(transaction=True) as tx:
            for p in published:
                tx.xadd(
                    s.decisions,
                    {b"id": p.event_id.encode(), b"entry": p.record.ref, p.kind.encode(): p.body},
                    maxlen=s.decisions_maxlen,
                    approximate=True,
                )
            tx.xack(s.stream, s.group, *[p.record.ref for p in published])
            await tx.execute()
        metrics.redis_seconds.labels("publish").observe(time.perf_counter() - started)
        for p in published:
            metrics.child(metrics.stream_published, p.kind).inc()

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


def _record(entry_id: bytes, fields: dict[bytes, bytes] | None) -> Record:
    raw = (fields or {}).get(b"event")
    return Record(entry_id, entry_id.decode(), raw, _MISSING)
