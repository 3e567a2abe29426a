"""Events from Kafka topics, read by a consumer group (``stream.url`` ``kafka://host:port``;
the loop and the deciding are :mod:`fraudwatch.api.stream`'s).

Each record's value is one event as JSON (its key is the producer's choice: the card or
account, so that one entity's events stay in order in one partition). Once a batch is
durable in the log, every record's decision (or error) is published to
``stream.decisions_topic`` and acknowledged by the broker (``acks=all``), and only then are
the records' offsets committed for ``stream.group``:

- A record read and not committed when the process died is read again after a restart (the
  group's committed offsets), and answered from the log when its event is there.
- Its decision is not published twice: at start (and when a partition is assigned) the
  consumer reads the tail of the decisions topic, the records of the batch that was in
  flight, and leaves out the records whose decision is already there. This needs the
  decisions topic to be written by this group alone.
- A record whose value is not a valid event gets an error record; it never stops the stream.

A decision record's key is the event id, its value
``{"id", "topic", "partition", "offset", "decision"}`` (or ``"error"`` instead of
``"decision"``: ``{"errors": [...]}``, as the HTTP API's 4xx body), in the decisions
partition ``partition % (partitions of the decisions topic)``: one entity's decisions stay
in order too.

``stream.assign`` reads every partition of the topics by assignment instead of joining the
group (no rebalance at a start or takeover; one replica decides at a time anyway); offsets
are committed under the group either way.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from fraudwatch.api.service import DecisionService, ServiceUnavailable
from fraudwatch.api.stream import Published, Record, StreamConsumer, log
from fraudwatch.settings import StreamSettings

__all__ = ["KafkaConsumer"]

_MISSING = "a record holds its event as JSON in its value"
# the most records one batch can publish (stream.batch's bound): the tail of each decisions
# partition read at start holds every decision the batch in flight at a crash published
_TAIL = 10_000
_LAG_EVERY = 1.0  # seconds between end-offset requests (the lag metrics and the broker's health)
_REQUEST_TIMEOUT = 10.0  # a broker that does not answer this long makes the replica not ready


class KafkaConsumer(StreamConsumer):
    """Reads ``settings.topics`` as ``settings.group`` until :meth:`stop`."""

    def __init__(self, service: DecisionService, settings: StreamSettings, max_event_bytes: int = 65_536) -> None:
        super().__init__(service, settings, max_event_bytes)
        self.bootstrap = (settings.url or "").removeprefix("kafka://").rstrip("/")
        self.name = f"kafka topics {','.join(settings.topics)}"
        self._consumer: Any = None
        self._producer: Any = None
        self._outputs: list[int] = []  # the decisions topic's partitions
        self._recovered: set[Any] = set()  # partitions whose published decisions were looked up
        self._published: dict[tuple[str, int], set[int]] = {}  # offsets published and not committed
        self._last_lag = 0.0

    # ------------------------------------------------------------ connection
    async def _connect(self) -> None:
        s = self.settings
        # a standby joins no group: partitions assigned to it would wait until it takes over
        await self._wait_ready()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id=s.consumer,
            acks="all",
            request_timeout_ms=int(_REQUEST_TIMEOUT * 1000),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=s.group,
            client_id=s.consumer,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group reads the events sent before it ran too
            max_poll_records=s.batch,
            request_timeout_ms=int(_REQUEST_TIMEOUT * 1000),
        )
        await self._producer.start()
        await self._consumer.start()
        self._outputs = sorted(await self._producer.partitions_for(s.decisions_topic))
        if s.assign:
            partitions = []
            for topic in s.topics:
                partitions += [TopicPartition(topic, p) for p in sorted(await self._producer.partitions_for(topic))]
            self._consumer.assign(partitions)
        else:
            self._consumer.subscribe(topics=list(s.topics), listener=_Revoked(self._recovered))
        log.info("%s: connected to %s as %s in group %s", self.name, self.bootstrap, s.consumer, s.group)

    async def _reset(self) -> None:
        await self._close()

    async def _close(self) -> None:
        consumer, producer = self._consumer, self._producer
        self._consumer = self._producer = None
        self._recovered.clear()
        self._published.clear()
        for client in (consumer, producer):
            if client is not None:
                try:
                    await client.stop()
                except Exception as exc:  # noqa: BLE001 - a broker gone away: nothing left to close
                    log.debug("%s: closing: %s", self.name, exc)

    # ------------------------------------------------------------ reading
    async def _consume(self) -> None:
        s = self.settings
        while True:
            if not self.service.ready:
                raise ServiceUnavailable("the service stopped deciding")
            batch = await self._consumer.getmany(timeout_ms=1000, max_records=s.batch)
            if any(tp not in self._recovered for tp in batch):
                await self._recover()
            records = [
                Record((tp.topic, tp.partition, m.offset), f"{tp.topic}/{tp.partition}/{m.offset}", m.value, _MISSING)
                for tp, messages in batch.items()
                for m in messages
            ]
            if records:
                await self._handle(records)
            if time.monotonic() - self._last_lag >= _LAG_EVERY:
                await self._observe_lag()

    async def _recover(self) -> None:
        """Read the tail of every decisions partition: the records already published for
        offsets that may not be committed (the batch in flight when the last run stopped)."""
        started = time.perf_counter()
        self._recovered.update(self._consumer.assignment())
        tail = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=f"{self.settings.consumer}-recovery",
            enable_auto_commit=False,
            request_timeout_ms=int(_REQUEST_TIMEOUT * 1000),
        )
        await tail.start()
        found = 0
        try:
            partitions = [TopicPartition(self.settings.decisions_topic, p) for p in self._outputs]
            tail.assign(partitions)
            ends = await tail.end_offsets(partitions)
            starts = await tail.beginning_offsets(partitions)
            todo = set()
            for tp in partitions:
                if ends[tp] > starts[tp]:
                    tail.seek(tp, max(starts[tp], ends[tp] - _TAIL))
                    todo.add(tp)
            # to the end, as the fetches' high watermark tells it (a broker may report an end
            # offset short of its last records: Tansu's is one producer batch short)
            while todo:
                batch = await tail.getmany(*todo, timeout_ms=500)
                for messages in batch.values():
                    for m in messages:
                        source = _source(m.value)
                        if source is not None:
                            self._published.setdefault(source[:2], set()).add(source[2])
                            found += 1
                todo = {tp for tp in todo if not _at_end(tail.highwater(tp), await tail.position(tp), ends[tp])}
        finally:
            await tail.stop()
        log.info(
            "%s: %d decisions of the last batches found on %s in %.2f s",
            self.name,
            found,
            self.settings.decisions_topic,
            time.perf_counter() - started,
        )

    # ------------------------------------------------------------ publishing
    async def _publish(self, published: list[Published]) -> None:
        s = self.settings
        metrics = self.service.metrics
        started = time.perf_counter()
        sends = []
        commits: dict[Any, int] = {}
        for p in published:
            topic, partition, offset = p.record.ref
            tp = TopicPartition(topic, partition)
            commits[tp] = max(commits.get(tp, 0), offset + 1)
            done = self._published.get((topic, partition))
            if done is not None and offset in done:
                metrics.stream_already_published.inc()
                continue  # published before the last stop, not committed: not again
            value = b'{"id":%b,"topic":%b,"partition":%d,"offset":%d,"%b":%b}' % (
                orjson.dumps(p.event_id),
                orjson.dumps(topic),
                partition,
                offset,
                p.kind.encode(),
                p.body,
            )
            output = self._outputs[partition % len(self._outputs)]
            sends.append(await self._producer.send(s.decisions_topic, value, key=p.event_id.encode(), partition=output))
            metrics.child(metrics.stream_published, p.kind).inc()
        await asyncio.gather(*sends)  # every decision acknowledged by the broker before the offsets move
        await self._consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in commits.items()})
        for tp, offset in commits.items():  # forget what is committed now
            done = self._published.get((tp.topic, tp.partition))
            if done:
                done.difference_update([o for o in done if o < offset])
        metrics.stream_publish_seconds.observe(time.perf_counter() - started)

    async def _observe_lag(self) -> None:
        """Per partition: the records not yet committed by the group (the log end offset minus
        the position, which is committed after every batch). Asking the broker for the end
        offsets also tells whether it answers (readiness)."""
        self._last_lag = time.monotonic()
        metrics = self.service.metrics
        partitions = list(self._consumer.assignment())
        if not partitions:
            return
        ends = await asyncio.wait_for(self._consumer.end_offsets(partitions), _REQUEST_TIMEOUT)
        total = 0
        for tp in partitions:
            end = max(ends[tp], self._consumer.highwater(tp) or 0)  # the fetches' high watermark is exact
            lag = max(0, end - await self._consumer.position(tp))
            total += lag
            metrics.child(metrics.stream_partition_lag, tp.topic, str(tp.partition)).set(lag)
        metrics.stream_lag.set(total)


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    """A rebalance listener: a partition assigned again is looked up again."""

    def __init__(self, recovered: set[Any]) -> None:
        self.recovered = recovered

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.recovered.difference_update(revoked)

    def on_partitions_assigned(self, assigned: Any) -> None:
        pass


def _at_end(highwater: int | None, position: int, end: int) -> bool:
    return highwater is not None and position >= max(highwater, end)


def _source(value: bytes | None) -> tuple[str, int, int] | None:
    try:
        record = orjson.loads(value or b"")
        return record["topic"], record["partition"], record["offset"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
