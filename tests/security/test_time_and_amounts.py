"""Findings 1-3 of the hostile review: poisoned event times and amounts, fail-open
retries, a batch that hangs the service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from fraudwatch.definitions import load_features, load_rules
from fraudwatch.engine import Engine
from fraudwatch.events import parse_event

NOW = datetime.now(UTC).replace(microsecond=0)


def at(delta: timedelta = timedelta(0)) -> str:
    return (NOW + delta).isoformat()


def decline(event_id: str, when: str, card: str = "tok_isf") -> dict:
    return {
        "id": event_id,
        "time": when,
        "kind": "payment.attempt",
        "card": card,
        "amount": 17600,
        "currency": "JPY",
        "result": "declined",
        "decline_reason": "insufficient_funds",
    }


@pytest.fixture(scope="module")
def ingest(server):
    with server.client(server.keys["ingest"]) as c:
        yield c


@pytest.fixture(scope="module")
def admin(server):
    with server.client(server.keys["admin"]) as c:
        yield c


# ------------------------------------------------------------------ 1. far-future times
@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", at(timedelta(days=3))])
def test_event_time_far_ahead_of_the_server_clock_is_refused(ingest, when):
    r = ingest.post("/v1/events", json=decline("future-" + when[:4], when))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == "time"


def test_one_far_future_event_does_not_switch_velocity_detection_off():
    """The engine core alone (as replay runs it): its clock and expiry ignore one outlier."""
    engine = Engine(features=load_features(), rules=load_rules())
    base = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    for i in range(3):
        engine.process(parse_event(decline(f"d{i}", (base + timedelta(hours=i)).isoformat())))
    engine.process(parse_event(decline("poison", "2099-12-31T23:59:59+00:00", card="tok_other")))
    # enough later events on other cards for the expiry sweeps to run
    for i in range(5000):
        engine.process(parse_event(decline(f"x{i}", (base + timedelta(hours=3)).isoformat(), card=f"tok_{i}")))
    decision = engine.process(parse_event(decline("d3", (base + timedelta(hours=4)).isoformat())))
    assert decision.features["card.insufficient_funds_24h"] == 4
    assert decision.outcome.value == "block", decision.rules


# ------------------------------------------------------------------ 2. amounts near 2^63
@pytest.mark.parametrize("amount", [2**63 - 1, 2**53, 10**16])
def test_amount_beyond_the_configured_maximum_is_refused(ingest, amount):
    r = ingest.post("/v1/events", json={**decline(f"big-{amount}", at(), card="tok_big"), "amount": amount})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == "amount"
    # the card still gets decisions, and its stolen-card decline is still blocked
    r = ingest.post("/v1/events", json={**decline(f"after-{amount}", at()), "decline_reason": "stolen_card"})
    assert r.status_code == 200 and r.json()["outcome"] == "block", r.text


def _service(tmp_path, fail_on: str):
    """A decision service on SQLite whose engine raises, once, half-way through ``fail_on``
    (after its features were updated): the shape of any engine failure."""
    from fraudwatch.api.metrics import Metrics
    from fraudwatch.api.service import DecisionService
    from fraudwatch.events import Tokenizer
    from fraudwatch.storage.sqlite import SQLiteStore

    failed = []

    class Flaky(Engine):
        def process(self, event):
            decision = super().process(event)
            if event.id == fail_on and not failed:
                failed.append(event.id)
                raise OverflowError("simulated failure after the state changed")
            return decision

    storage = SQLiteStore(tmp_path / "fw.db")
    service = DecisionService(
        storage=storage,
        engine_factory=lambda: Flaky(features=load_features(), rules=load_rules()),
        tokenizer=Tokenizer(b"k" * 32),
        metrics=Metrics(),
        snapshot_every_events=10**9,
    )
    return service, storage


async def _decide(service, raw: dict) -> dict:
    resent, decision = service.submit(service.parse(raw))
    return {"resent": resent, **orjson.loads(decision if isinstance(decision, bytes) else await decision)}


def test_a_failed_event_changes_no_state_and_its_resend_is_decided_afresh(tmp_path):
    service, storage = _service(tmp_path, fail_on="d2")
    base = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)

    async def run():
        await service.start()
        try:
            for i in range(2):
                await _decide(service, decline(f"d{i}", (base + timedelta(hours=i)).isoformat()))
            with pytest.raises(Exception) as failure:
                await _decide(service, decline("d2", (base + timedelta(hours=2)).isoformat()))
            assert getattr(failure.value, "status_code", 500) == 503
            again = await _decide(service, decline("d2", (base + timedelta(hours=2)).isoformat()))
            assert not again["resent"] and not again.get("duplicate"), again
            assert again["features"]["card.insufficient_funds_24h"] == 3  # counted once, not twice
            await service.snapshot()
        finally:
            await service.stop()
        return again

    asyncio.run(run())
    # the snapshot holds the state of the logged events only: a restart decides the same
    restarted, _ = _service(tmp_path, fail_on="never")

    async def after_restart():
        await restarted.start()
        try:
            return await _decide(restarted, decline("d3", (base + timedelta(hours=3)).isoformat()))
        finally:
            await restarted.stop()

    assert asyncio.run(after_restart())["features"]["card.insufficient_funds_24h"] == 4
    assert [e.event_id for e in storage.events.after(0)] == ["d0", "d1", "d2", "d3"]


# ------------------------------------------------------------------ 3. a batch that hangs later
def test_a_batch_with_a_bad_event_answers_per_event_and_the_service_goes_on(server, ingest, admin):
    events = [
        decline("batch-1", at(), card="tok_batch"),
        {**decline("batch-2", at(), card="tok_batch"), "amount": 2**63 - 1},
        decline("batch-3", at(), card="tok_batch"),
    ]
    r = ingest.post("/v1/events/batch", json={"events": events})
    assert r.status_code == 200, r.text
    assert [x["status"] for x in r.json()["results"]] == [200, 422, 200]
    # a feature-set activation waits for the pending events, then completes
    current = admin.get("/v1/features/versions").json()["active"]
    text = admin.get(f"/v1/features/versions/{current}").json()["text"]
    new = text.replace(f"version: {current}", "version: batch-check", 1)
    assert "version: batch-check" in new
    r = admin.post("/v1/features/versions", json={"text": new, "activate": True}, timeout=60)
    assert r.status_code == 201, r.text
    assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200


def test_readyz_fails_while_the_writer_is_stuck(tmp_path):
    import threading

    from fraudwatch.api.writer import GroupCommitWriter
    from fraudwatch.storage.sqlite import SQLiteStore

    release = threading.Event()

    class Stuck(SQLiteStore):
        def log(self, entries):
            release.wait(30)
            super().log(entries)

    async def run():
        loop = asyncio.get_running_loop()
        writer = GroupCommitWriter(Stuck(tmp_path / "w.db"), loop, stuck_after=0.2)
        assert not writer.stuck()
        from fraudwatch.storage import LogEntry

        done = writer.write(LogEntry(1, "e1", "label", 0.0, b"d", b"{}", b"{}"))
        await asyncio.sleep(0.5)
        assert writer.stuck()
        release.set()
        await done
        assert not writer.stuck()
        await writer.close()

    asyncio.run(run())
