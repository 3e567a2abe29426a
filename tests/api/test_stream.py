"""Events from a Redis Streams consumer group (``fraudwatch serve --stream redis://...``),
against a real Valkey or Redis server: decisions published once per event, bad entries
answered with errors, state shared with the HTTP API, no event lost or counted twice
across a SIGKILL, and a dead consumer's pending entries taken over."""

from __future__ import annotations

import time

import orjson
import redis

from conftest import Server

EVENTS = "{fraudwatch}:events"
DECISIONS = "{fraudwatch}:decisions"


def _payment(n: int, card: str = "tok_stream") -> dict:
    return {
        "id": f"p{n}",
        "time": f"2026-11-21T{13 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}+09:00",
        "kind": "payment.attempt",
        "card": card,
        "account": "u1",
        "amount": 1000,
        "currency": "JPY",
    }


def _send(r: redis.Redis, events: list[dict]) -> None:
    with r.pipeline(transaction=False) as p:
        for event in events:
            p.xadd(EVENTS, {"event": orjson.dumps(event)})
        p.execute()


def _decisions(r: redis.Redis, count: int, timeout: float = 90.0) -> list[dict[bytes, bytes]]:
    deadline = time.monotonic() + timeout
    while True:
        entries = [fields for _, fields in r.xrange(DECISIONS)]
        if len(entries) >= count:
            return entries
        assert time.monotonic() < deadline, f"{len(entries)} of {count} decisions published"
        time.sleep(0.1)


def _server(tmp_path, redis_url: str, consumer: str = "replica-1", **stream: str) -> Server:
    env = {
        "FRAUDWATCH_STREAM__URL": redis_url,
        "FRAUDWATCH_STREAM__CONSUMER": consumer,
        **{f"FRAUDWATCH_STREAM__{k.upper()}": v for k, v in stream.items()},
    }
    server = Server(tmp_path / "data", env)
    server.data_dir.mkdir(exist_ok=True)
    return server


def _count(fields: dict[bytes, bytes]) -> int:
    return orjson.loads(fields[b"decision"])["features"]["card.payments_1h"]


def test_stream_events_are_decided_once_with_errors_for_bad_entries(tmp_path, redis_server):
    r = redis.Redis.from_url(redis_server.url)
    _send(r, [_payment(n) for n in range(20)])
    r.xadd(EVENTS, {"event": b"{not json"})
    r.xadd(EVENTS, {"other": b"x"})
    _send(r, [{**_payment(20), "amount": "many"}, _payment(5)])  # an invalid event, then a resend
    server = _server(tmp_path, redis_server.url).start()
    try:
        decisions = _decisions(r, 24)
        by_id = {}
        for fields in decisions:
            by_id.setdefault(fields[b"id"].decode(), []).append(fields)
        assert [_count(by_id[f"p{n}"][0]) for n in range(20)] == list(range(1, 21))
        # the resend is answered from the log: the same decision, counted once
        assert len(by_id["p5"]) == 2 and by_id["p5"][1][b"decision"] == by_id["p5"][0][b"decision"]
        errors = [orjson.loads(f[b"error"])["errors"] for f in decisions if b"error" in f]
        assert len(errors) == 3
        assert "invalid JSON" in errors[0][0]["msg"]
        assert "field 'event'" in errors[1][0]["msg"]
        assert any("amount" in e["loc"] for e in errors[2])
        assert by_id["p20"][0][b"error"]  # its event id names the error entry
        # every entry acknowledged; the HTTP API shares the state the stream built
        assert r.xpending(EVENTS, "fraudwatch")["pending"] == 0
        server.keys["ingest"] = server.create_key("checkout", "ingest")
        with server.client(server.keys["ingest"]) as c:
            assert c.post("/v1/events", json=_payment(20)).json()["features"]["card.payments_1h"] == 21
            ready = c.get("/readyz").json()
            assert ready["ready"] and ready["stream"] == {"connected": True}
            assert 'fraudwatch_stream_entries_total{result="invalid"} 3.0' in c.get("/metrics").text
    finally:
        server.stop()


def test_a_sigkill_mid_stream_loses_no_event_and_counts_none_twice(tmp_path, redis_server):
    r = redis.Redis.from_url(redis_server.url)
    total = 300
    _send(r, [_payment(n) for n in range(total)])
    server = _server(tmp_path, redis_server.url, batch="20").start()
    _decisions(r, 40)
    server.kill()  # mid-stream: some entries read and not acknowledged, some logged and not published
    published_before = r.xlen(DECISIONS)
    assert published_before < total, "the stream was done before the kill: nothing tested"
    server.start()
    try:
        decisions = _decisions(r, total)
        time.sleep(0.5)
        decisions = [fields for _, fields in r.xrange(DECISIONS)]
        ids = [f[b"id"].decode() for f in decisions]
        assert sorted(ids) == sorted(f"p{n}" for n in range(total))  # each event's decision published once
        # each event counted once: the n-th payment sees n+1 in its hour
        assert {f[b"id"].decode(): _count(f) for f in decisions} == {f"p{n}": n + 1 for n in range(total)}
        assert r.xpending(EVENTS, "fraudwatch")["pending"] == 0
    finally:
        server.stop()


def test_a_dead_consumers_pending_entries_are_taken_over(tmp_path, redis_server):
    r = redis.Redis.from_url(redis_server.url)
    r.xgroup_create(EVENTS, "fraudwatch", id="0", mkstream=True)
    _send(r, [_payment(n) for n in range(40)])
    # a consumer that read 15 entries and died before acknowledging them
    taken = r.xreadgroup("fraudwatch", "dead-replica", {EVENTS: ">"}, count=15)
    assert len(taken[0][1]) == 15
    server = _server(tmp_path, redis_server.url, consumer="replica-2", claim_idle_seconds="1").start()
    try:
        decisions = _decisions(r, 40)
        assert sorted(f[b"id"].decode() for f in decisions) == sorted(f"p{n}" for n in range(40))
        # decided after the others, the taken-over payments still count as of their own time
        assert {f[b"id"].decode(): _count(f) for f in decisions} == {f"p{n}": n + 1 for n in range(40)}
        assert r.xpending(EVENTS, "fraudwatch")["pending"] == 0
    finally:
        server.stop()
