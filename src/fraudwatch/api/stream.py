"""Events from a stream, read by a consumer group beside the HTTP API: one consumer, two
transports (:mod:`~fraudwatch.api.redis_stream` for Redis or Valkey streams,
:mod:`~fraudwatch.api.kafka_stream` for Kafka topics), chosen by ``stream.url``'s scheme.

Each record holds one event as JSON. The consumer hands it to the same
:class:`~fraudwatch.api.service.DecisionService` as ``POST /v1/events`` and, once the event
is durable in the log, publishes its decision (or, for a record that is not a valid event,
an error) and only then acknowledges the record (Redis: ``XACK``; Kafka: the committed
offset). At least once in, exactly once in effect:

- A record read but not acknowledged when the process died is read again after a restart.
- An event read again whose id is in the log is answered from the log (``resent``): the
  features, the log and the responses count it once.
- A record that is not a valid event gets an error record and is acknowledged: it never
  blocks the stream and changes no state.
- While the log cannot be written (the database is down) nothing is acknowledged; the
  records are read again once the service is ready.

What each transport adds (pending entries and ``XAUTOCLAIM`` on Redis; partitions, offsets
and the decisions already published before a crash on Kafka) is in its module.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson

from fraudwatch.api.body import parse_json
from fraudwatch.api.service import DecisionService, ServiceUnavailable
from fraudwatch.errors import FraudwatchError
from fraudwatch.settings import StreamSettings

log = logging.getLogger("fraudwatch.stream")

__all__ = ["Published", "Record", "StreamConsumer", "open_consumer"]

_RETRY_SECONDS = 1.0  # after the transport or the log failed: wait, then read the unacknowledged records again


class Record:
    """One record read from the stream: ``ref`` is the transport's handle (the Redis entry
    id, Kafka's topic, partition and offset), ``name`` names it in an error or when the event
    has no id, ``raw`` is the event's JSON, or None with ``missing`` saying what was missing."""

    __slots__ = ("ref", "name", "raw", "missing")

    def __init__(self, ref: Any, name: str, raw: bytes | None, missing: str = "") -> None:
        self.ref = ref
        self.name = name
        self.raw = raw
        self.missing = missing


class Published:
    """What is published for one record: its event id, and ``kind`` ``decision`` (the
    decision JSON, as the HTTP API returns it) or ``error`` (``{"errors": [...]}``, as the
    HTTP API's 4xx body)."""

    __slots__ = ("record", "event_id", "kind", "body")

    def __init__(self, record: Record, event_id: str, kind: str, body: bytes) -> None:
        self.record = record
        self.event_id = event_id
        self.kind = kind
        self.body = body


class StreamConsumer:
    """The loop shared by the transports: connect, read and decide batches until :meth:`stop`,
    and after any failure (the transport unreachable, the log not writable) start again from
    the records not acknowledged. A transport implements :meth:`_connect`, :meth:`_consume`
    (reading batches and passing them to :meth:`_handle`), :meth:`_publish` and :meth:`_close`."""

    name = "stream"

    def __init__(self, service: DecisionService, settings: StreamSettings, max_event_bytes: int = 65_536) -> None:
        if settings.url is None:
            raise ValueError("stream.url is not set")
        self.service = service
        self.settings = settings
        self.max_event_bytes = max_event_bytes
        self.connected = False  # the last exchange with the broker worked
        self._task: asyncio.Task[None] | None = None

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
        await self._close()

    async def _run(self) -> None:
        metrics = self.service.metrics
        while True:
            try:
                await self._connect()
                self.connected = True
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker unreachable, or the log not writable: read again later
                self.connected = False
                metrics.stream_failures.inc()
                log.warning("%s: %s; reading its unacknowledged records again", self.name, exc)
                await self._reset()
                await asyncio.sleep(_RETRY_SECONDS)

    async def _wait_ready(self) -> None:
        while not self.service.ready:  # a standby reads nothing: its records wait for a takeover
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------ the transport's part
    async def _connect(self) -> None:
        raise NotImplementedError

    async def _consume(self) -> None:
        raise NotImplementedError

    async def _publish(self, published: list[Published]) -> None:
        """Publish every record's decision or error, then acknowledge the records."""
        raise NotImplementedError

    async def _reset(self) -> None:
        """After a failure: forget what was read and not acknowledged (read again next)."""

    async def _close(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ shared
    async def _handle(self, records: list[Record]) -> None:
        """Decide a batch, wait until it is durable, then publish and acknowledge it."""
        service = self.service
        metrics = service.metrics
        results: list[tuple[Record, str, Any]] = []  # (record, event id, decision bytes | awaitable | error)
        for record in records:
            event_id = record.name
            try:
                raw = record.raw
                if raw is None:
                    raise _invalid(record.missing)
                if len(raw) > self.max_event_bytes:
                    raise _invalid(f"over {self.max_event_bytes} bytes (server.max_body_bytes)")
                value = parse_json(raw)
                if isinstance(value, dict) and isinstance(value.get("id"), str):
                    event_id = value["id"]
                resent, decision = service.submit(service.parse(value))
                metrics.child(metrics.stream_entries, "resent" if resent else "decided").inc()
                results.append((record, event_id, decision))
            except ServiceUnavailable:
                raise  # nothing of this batch is acknowledged: read again once the log is writable
            except FraudwatchError as exc:
                metrics.child(metrics.stream_entries, "invalid").inc()
                errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
                results.append((record, event_id, _Error(orjson.dumps({"errors": errors}))))
        published = []
        for record, event_id, decision in results:
            if isinstance(decision, _Error):
                published.append(Published(record, event_id, "error", decision.body))
                continue
            body = decision if isinstance(decision, bytes) else await decision  # durable from here on
            published.append(Published(record, event_id, "decision", body))
        if published:
            await self._publish(published)


def open_consumer(service: DecisionService, settings: StreamSettings, max_event_bytes: int = 65_536) -> StreamConsumer:
    """The consumer of ``settings.url``'s transport: ``redis://`` or ``rediss://`` (a Redis or
    Valkey stream), ``kafka://`` (Kafka topics)."""
    url = settings.url or ""
    if url.startswith("kafka://"):
        from fraudwatch.api.kafka_stream import KafkaConsumer

        return KafkaConsumer(service, settings, max_event_bytes)
    from fraudwatch.api.redis_stream import RedisConsumer

    return RedisConsumer(service, settings, max_event_bytes)


class _Error:
    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def _invalid(msg: str) -> FraudwatchError:
    from fraudwatch.errors import ValidationFailed

    return ValidationFailed("invalid stream entry", [{"loc": "event", "msg": msg}])
