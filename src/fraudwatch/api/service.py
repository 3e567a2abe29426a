"""The decision service: owns the engine, the log position and the group-commit writer.

One event loop (one worker) owns the engine; ``submit`` runs the engine synchronously, so
the order in which events get their log position (``seq``) is the order the engine saw
them, and replaying the log in ``seq`` order rebuilds the same state.

Recovery at start: load the latest snapshot (engine state covering the log up to its
``seq``), then replay the log after it. An event is acknowledged only after the group
commit that wrote it, so every acknowledged event is in the log; an event that was
processed but not committed when the process died is not, and its sender (who got no
answer) sends it again. Resending a logged id returns the logged decision and does not
touch the engine, so nothing is counted twice.

On a shared store (PostgreSQL) one service at a time decides and logs: it holds the
store's leader lock. Others started on the same database stand by (``role`` ``standby``:
503 to events, ``/readyz`` 503) and try the lock every ``standby_poll_seconds``; the one
that gets it recovers from the snapshot and the log as at a start and takes over. A
leader that loses the lock (its connection to the database was lost) steps down to
standby, and its group commits fail from the moment it lost the lock (fenced), so two
services never log beside each other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import gc
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError

from fraudwatch.api.follower import FollowerProcess, LogFollower, LoggedHandler, register
from fraudwatch.api.idfilter import IdFilter
from fraudwatch.api.metrics import Metrics
from fraudwatch.api.writer import GroupCommitWriter
from fraudwatch.errors import Conflict, FraudwatchError, ValidationFailed
from fraudwatch.events import EVENT_ADAPTER, Envelope, Tokenizer, format_errors, parse_event
from fraudwatch.settings import IngestSettings
from fraudwatch.storage import LogEntry, Snapshot, Store

log = logging.getLogger("fraudwatch.api")

REPLAY_PAGE = 5000


class ServiceUnavailable(FraudwatchError):
    status_code = 503


class DecisionService:
    def __init__(
        self,
        *,
        storage: Store,
        engine_factory: Callable[[], Any],
        tokenizer: Tokenizer,
        metrics: Metrics,
        snapshot_every_events: int = 50_000,
        snapshot_interval_seconds: float = 60.0,
        group_commit_max: int = 2000,
        id_filter_capacity: int = 10_000_000,
        wal_limit_bytes: int = 256 * 2**20,
        standby_poll_seconds: float = 0.5,
        ingest: IngestSettings | None = None,
        writer_stuck_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ):
        self.storage = storage
        self.engine_factory = engine_factory
        self.tokenizer = tokenizer
        self.metrics = metrics
        self.snapshot_every_events = snapshot_every_events
        self.snapshot_interval_seconds = snapshot_interval_seconds
        self.group_commit_max = group_commit_max
        self.wal_limit_bytes = wal_limit_bytes
        self.ingest = ingest or IngestSettings()
        self.writer_stuck_seconds = writer_stuck_seconds
        self.clock = clock
        self._rollback: asyncio.Task | None = None  # restoring the logged state after a failed event
        self.engine: Any = None
        self.writer: GroupCommitWriter | None = None
        self.ready = False
        self.leadership = storage.leader_lock()
        self.role = "starting"  # leader (deciding), standby (waiting for the leader lock), stopping
        self.standby_poll_seconds = standby_poll_seconds
        self.seq = 0  # last log position handed out
        self.snapshot_seq = 0
        self._pending: dict[str, tuple[bytes, asyncio.Future, bytes]] = {}
        self.id_filter_capacity = id_filter_capacity
        self._logged = IdFilter(id_filter_capacity)  # rebuilt from the log at start
        self._gate: asyncio.Event | None = None  # set while events flow; cleared during a rebuild
        self._periodic_task: asyncio.Task | None = None
        self._followers: dict[str, LogFollower | FollowerProcess] = {}  # by name
        self._handlers: dict[str, LoggedHandler] = {}  # of the followers in threads
        self._follow: list[tuple[str, Callable[[Store], LoggedHandler]]] = []  # what follow() asked for
        self._last_snapshot_at = time.monotonic()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._gate = asyncio.Event()
        self._gate.set()
        if self.leadership is None or self.leadership.acquire():
            self._lead()
        else:
            self.role = "standby"
            self.engine = self.engine_factory()  # the definitions, for the routes that read them; no state
            log.info("standing by: another service holds the leader lock of this database")
        self._periodic_task = asyncio.create_task(self._periodic())

    def _lead(self) -> None:
        """Recover the engine from the snapshot and the log, and start writing."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        self.engine, replayed = self._recover(self.engine_factory)
        log.info(
            "recovered at log position %d (snapshot %d, %d events replayed) in %.2fs",
            self.seq,
            self.snapshot_seq,
            replayed,
            time.perf_counter() - started,
        )
        self.metrics.recovery_seconds.set(time.perf_counter() - started)
        _freeze_long_lived()
        self.writer = GroupCommitWriter(
            self._writer_storage(),
            loop,
            max_batch=self.group_commit_max,
            on_commit=self._committed,
            stuck_after=self.writer_stuck_seconds,
        )
        self._last_snapshot_at = time.monotonic()
        self.role = "leader"
        self.metrics.leader.set(1)
        # followers still running when this process lost the lock and took it again go on;
        # those that died (e.g. starting while the database restarted) start again
        for name, make_handler in self._follow:
            follower = self._followers.get(name)
            if follower is None or not follower.alive():
                if follower is not None:
                    follower.close()
                    handler = self._handlers.pop(name, None)
                    if handler is not None:
                        handler.close()
                self._start_follower(name, make_handler)
        self.ready = True

    def _writer_storage(self) -> Store:
        storage = self.storage.connect()
        if self.leadership is not None:
            self.leadership.fence(storage)  # its commits fail once the lock is lost
        return storage

    async def _step_down(self) -> None:
        """The leader lock was lost: stop deciding (the events waiting for a commit get 503)."""
        log.warning("the leader lock of this database was lost: standing by")
        self.ready = False
        self.role = "standby"
        self.metrics.leader.set(0)
        if self.writer is not None:
            await self.writer.close()
            self.writer = None
        self._pending.clear()
        # the followers stop once another replica is seen leading (a database restart takes
        # the lock from everyone: most often this process takes it back)

    def follow(self, name: str, make_handler: Callable[[Store], LoggedHandler]) -> None:
        """Hand every event logged from now on, with its decision, to
        ``make_handler(log).on_logged(entries)`` (pages of ``LogEntry``, in log order), in a
        process of its own when the storage allows it, else in a thread (see
        :mod:`fraudwatch.api.follower`). Followers run on the leader only (a standby's start
        when it takes over): two would handle each entry twice."""
        self._follow.append((name, make_handler))
        if self.role == "leader":
            self._start_follower(name, make_handler)

    def _start_follower(self, name: str, make_handler: Callable[[Store], LoggedHandler]) -> None:
        register(self.storage, name)  # before the child starts: nothing logged meanwhile is skipped
        opener = self.storage.opener()
        if opener is not None:
            self._followers[name] = FollowerProcess(name, opener, make_handler)
            return
        handler = make_handler(self.storage.connect(durable=False))
        self._followers[name] = LogFollower(
            name, self.storage.connect(durable=False), handler.on_logged, sync=handler.sync
        )
        self._handlers[name] = handler

    def _committed(self, count: int) -> None:  # in the writer thread
        self.metrics.group_commit_events.observe(count)
        for follower in tuple(self._followers.values()):  # (a tuple: the loop thread may change the dict)
            follower.notify()

    async def stop(self) -> None:
        self.ready = False
        self.role = "stopping"
        if self._periodic_task:
            self._periodic_task.cancel()
        if self.writer:
            try:
                if self.writer.failure is None and self.seq > self.snapshot_seq:
                    await self.snapshot()  # a faster next start; the log alone would do
            except Exception:
                log.exception("final snapshot failed")
            await self.writer.close()
        await self._stop_followers()
        if self.leadership is not None:
            self.leadership.close()

    async def _stop_followers(self) -> None:
        for follower in self._followers.values():
            await asyncio.get_running_loop().run_in_executor(None, follower.close)
        for handler in self._handlers.values():
            handler.close()
        self._followers, self._handlers = {}, {}

    def _recover(self, engine_factory) -> tuple[Any, int]:
        self._logged = IdFilter(self.id_filter_capacity)
        for event_id in self.storage.events.ids():
            self._logged.add(event_id)
        engine = engine_factory()
        after = 0
        snap = self.storage.snapshots.latest()
        if snap is not None:
            try:
                engine.restore(snap.data)
                after = snap.seq
            except ValueError as exc:  # e.g. taken with another feature set: replay all
                log.warning("snapshot at %d not used (%s); replaying the whole log", snap.seq, exc)
                engine = engine_factory()
        replayed = 0
        position = after
        while True:
            page = self.storage.events.after(position, REPLAY_PAGE)
            if not page:
                break
            for entry in page:
                engine.process(EVENT_ADAPTER.validate_json(entry.event))
            position = page[-1].seq
            replayed += len(page)
        self.seq = position
        self.snapshot_seq = after
        self.metrics.log_position.set(position)
        self.metrics.snapshot_position.set(after)
        return engine, replayed

    async def rebuild(self, engine_factory: Callable[[], Any]) -> int:
        """Swap in a new engine built by ``engine_factory`` (e.g. a new feature set) and
        rebuild its state by replaying the whole log. Events wait meanwhile."""
        assert self._gate is not None
        self._gate.clear()
        try:
            await self._barrier()
            new = engine_factory()
            position, replayed = 0, 0
            while page := self.storage.events.after(position, REPLAY_PAGE):
                for entry in page:
                    new.process(EVENT_ADAPTER.validate_json(entry.event))
                position = page[-1].seq
                replayed += len(page)
            self.engine = new
            await self.snapshot()
            return replayed
        finally:
            self._gate.set()

    async def _barrier(self) -> None:
        """Wait until every event handed to the writer is committed (a failed commit
        raises: nothing is durable any more)."""
        if self.writer is not None and self._pending:
            await asyncio.shield(self.writer.flushed())

    def _roll_back(self, event: Envelope, exc: BaseException) -> ServiceUnavailable:
        """After the engine failed on ``event`` (its state may be half-updated): stop the
        events, and restore the state of the logged events (the latest snapshot and the log
        after it), as at a restart. Snapshots wait meanwhile, so a snapshot never holds a
        failed event; the id was not logged, so its resend is decided afresh."""
        log.error("deciding event %r failed; restoring the logged state", event.id, exc_info=exc)
        self.metrics.failed_events.inc()
        assert self._gate is not None
        self._gate.clear()
        if self._rollback is None or self._rollback.done():
            self._rollback = asyncio.get_running_loop().create_task(self._restore())
        return ServiceUnavailable(f"event {event.id!r} could not be decided and was not logged; send it again")

    async def _restore(self) -> None:
        assert self._gate is not None
        try:
            await self._barrier()
            started = time.perf_counter()
            engine, replayed = await asyncio.get_running_loop().run_in_executor(None, self._restored_engine)
            self.engine = engine
            log.info("logged state restored (%d events replayed) in %.2fs", replayed, time.perf_counter() - started)
        except Exception:
            log.exception("restoring the logged state failed; the service stops taking events")
            self.ready = False
        finally:
            self._gate.set()

    def _restored_engine(self) -> tuple[Any, int]:
        storage = self.storage.connect(durable=False)  # a handle of this thread's own
        try:
            engine = self.engine_factory()
            after = 0
            snap = storage.snapshots.latest()
            if snap is not None:
                try:
                    engine.restore(snap.data)
                    after = snap.seq
                except ValueError:
                    engine = self.engine_factory()
            replayed = 0
            while page := storage.events.after(after, REPLAY_PAGE):
                for entry in page:
                    engine.process(EVENT_ADAPTER.validate_json(entry.event))
                after = page[-1].seq
                replayed += len(page)
            return engine, replayed
        finally:
            storage.close()

    # ------------------------------------------------------------ ingest
    def parse(self, raw: Any, scan: bool = True) -> Envelope:
        """A raw JSON value to an event; card numbers are tokenized before anything else
        (``scan=False``: no field but ``pan`` and ``card`` can hold one, see
        ``fraudwatch.events.may_hold_card_number``)."""
        if not isinstance(raw, dict):
            raise ValidationFailed("an event is a JSON object", [{"loc": "(event)", "msg": "expected a JSON object"}])
        raw = self.tokenizer.sanitize(raw, scan)
        try:
            event = parse_event(raw)
        except ValidationError as exc:
            raise ValidationFailed("invalid event", format_errors(exc)) from None
        self._check_bounds(event)
        return event

    def _check_bounds(self, event: Envelope) -> None:
        """Bounds from the settings: event time near the server's clock (unless this
        service replays history) and the amount under its currency's maximum."""
        ingest = self.ingest
        if not ingest.history:
            now = self.clock()
            ts = event.ts
            if ts > now + ingest.max_ahead_seconds or ts < now - ingest.max_behind_seconds:
                ahead = ts > now
                limit = ingest.max_ahead_seconds if ahead else ingest.max_behind_seconds
                raise ValidationFailed(
                    "event time out of bounds",
                    [
                        {
                            "loc": "time",
                            "msg": f"more than {limit:g} s {'ahead of' if ahead else 'behind'} the server's clock "
                            "(ingest.max_ahead_seconds / max_behind_seconds; a replay of history sets ingest.history)",
                        }
                    ],
                )
        amount = getattr(event, "amount", None)
        if amount is not None:
            limits = ingest.max_amount
            limit = limits.get(event.currency) or limits["*"]
            if amount > limit:
                raise ValidationFailed(
                    "amount out of bounds",
                    [{"loc": "amount", "msg": f"at most {limit} minor units of {event.currency} (ingest.max_amount)"}],
                )

    def submit(self, event: Envelope) -> tuple[bool, Awaitable[bytes] | bytes]:
        """Decide ``event`` and hand it to the writer. Returns ``(resent, decision)`` where
        ``decision`` is JSON bytes, or an awaitable of them that completes once durable."""
        if self._gate is None or not self.ready:
            if self.role == "standby":
                raise ServiceUnavailable("this replica stands by: another one holds the leader lock and decides")
            raise ServiceUnavailable("the service is starting or stopping")
        if not self._gate.is_set():
            return False, self._submit_later(event)
        stored = event.__pydantic_serializer__.to_json(event, exclude_none=True)
        digest = hashlib.blake2b(stored, digest_size=16).digest()
        pending = self._pending.get(event.id)
        if pending is not None:
            if pending[0] != digest:
                raise _body_conflict(event.id)
            self.metrics.duplicates.inc()
            return True, self._wait(event.id, pending[1], pending[2])
        logged = self.storage.events.get(event.id) if event.id in self._logged else None
        if logged is not None:
            if logged.digest != digest:
                raise _body_conflict(event.id)
            self.metrics.duplicates.inc()
            return True, logged.decision
        writer = self.writer
        if writer is None or writer.failure is not None:
            raise ServiceUnavailable("the event log cannot be written; restart the service")
        try:
            decision = self.engine.process(event)
            if decision.duplicate:  # the engine knows an id the log does not: its state is not the log's
                raise RuntimeError(f"the engine saw {event.id!r} before, the log did not")
            decision_json = decision_to_json(decision)
        except Exception as exc:
            raise self._roll_back(event, exc) from None
        self.seq += 1
        done = writer.write(
            LogEntry(
                self.seq,
                event.id,
                event.kind,
                event.ts,
                digest,
                stored,
                decision_json,
                decision.outcome.value,
                event.card,
                event.account,
                event.device,
                event.ip,
            )
        )
        self._pending[event.id] = (digest, done, decision_json)
        self._logged.add(event.id)
        self.metrics.observe_decision(decision)
        return False, self._wait(event.id, done, decision_json)

    async def _submit_later(self, event: Envelope) -> bytes:
        assert self._gate is not None
        await self._gate.wait()
        _, result = self.submit(event)
        return result if isinstance(result, bytes) else await result

    async def _wait(self, event_id: str, done: asyncio.Future, decision_json: bytes) -> bytes:
        try:
            await asyncio.shield(done)
        except ServiceUnavailable:
            raise
        except Exception as exc:
            raise ServiceUnavailable(f"the event was not logged: {exc}") from None
        finally:
            self._pending.pop(event_id, None)
        return decision_json

    # ------------------------------------------------------------ snapshots
    async def snapshot(self) -> int:
        """Write the engine state with the log position it covers (after the events before it)."""
        assert self.writer is not None
        if self._rollback is not None and not self._rollback.done():
            raise ServiceUnavailable("no snapshot while the logged state is being restored")
        seq = self.seq
        blob = await self._engine_state()
        await asyncio.shield(self.writer.flushed())  # the events up to seq are durable
        snapshot = Snapshot(seq=seq, data=blob, created_at=time.time())
        await asyncio.get_running_loop().run_in_executor(None, self.storage.snapshots.save, snapshot)
        self.snapshot_seq = seq
        self._last_snapshot_at = time.monotonic()
        self.metrics.snapshot_position.set(seq)
        return seq

    async def _engine_state(self) -> bytes:
        """``engine.snapshot()`` computed in a forked child, a copy-on-write image of this
        moment: pickling a large state takes a second or more, during which the event loop
        would answer nothing. The child only pickles and writes to a pipe, touching no
        lock, database or event loop. Without fork (Windows): in-line."""
        if not hasattr(os, "fork"):
            return self.engine.snapshot()
        gc.freeze()  # the child's collector then leaves the shared pages alone
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(self.engine.snapshot())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        loop = asyncio.get_running_loop()

        def collect() -> tuple[bytes, int]:
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            return data, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

        data, code = await loop.run_in_executor(None, collect)
        if code != 0:
            raise RuntimeError(f"the snapshot process failed (exit code {code})")
        return data

    async def _checkpoint(self, loop, housekeeping: Store) -> None:
        """Copy the WAL into the database in the background (blocking no one). Once the WAL
        is larger than ``wal_limit_bytes``: again until little is left to copy, then the
        rest in the writer thread, so the WAL starts over (see ``writer.py``)."""
        wal = await loop.run_in_executor(None, housekeeping.maintain)
        if wal <= self.wal_limit_bytes or self.writer is None:
            return
        for _ in range(3):
            started = time.monotonic()
            await loop.run_in_executor(None, housekeeping.checkpoint)
            if time.monotonic() - started < 0.005:
                break
        self.writer.request_checkpoint()

    async def _periodic(self) -> None:
        """Once a second: storage housekeeping (a WAL checkpoint, in a worker thread) and a
        snapshot when enough events came since the last one."""
        loop = asyncio.get_running_loop()
        housekeeping = self.storage.connect()
        try:
            while True:
                await asyncio.sleep(self.standby_poll_seconds if self.role == "standby" else 1.0)
                if self.leadership is not None:
                    try:
                        if self.role == "standby":
                            got = await loop.run_in_executor(None, self.leadership.acquire)
                            if got:
                                log.warning("took the leader lock: recovering from the log and taking over")
                                self._lead()
                            elif got is False and self._followers:  # another replica leads: its followers run
                                await self._stop_followers()
                            continue
                        if not await loop.run_in_executor(None, self.leadership.held):
                            await self._step_down()
                            continue
                    except Exception:
                        log.exception("taking over failed; standing by and trying again")
                        await self._step_down()
                        self.leadership.close()  # let another replica take the lock meanwhile
                        continue
                self.metrics.log_position.set(self.seq)
                _freeze_long_lived(full=False)
                if self.writer is not None and self.writer.failure is not None:
                    try:
                        await self._recover_from_write_failure(loop)
                    except Exception:
                        log.exception("rebuilding after a write failure failed; trying again")
                    continue
                try:
                    await self._checkpoint(loop, housekeeping)
                    behind = self.seq - self.snapshot_seq
                    due = time.monotonic() - self._last_snapshot_at >= self.snapshot_interval_seconds
                    if behind >= self.snapshot_every_events or (behind and due):
                        await self.snapshot()
                except Exception:
                    log.exception("periodic snapshot or housekeeping failed")
        finally:
            housekeeping.close()

    async def _recover_from_write_failure(self, loop) -> None:
        """After a failed group commit (the database restarted, or the disk failed) the
        engine has run ahead of the log, and every event is refused (503) meanwhile. Once
        the log can be read again, the engine is rebuilt from it (snapshot, then the log
        after it) with a new writer: the refused events, sent again, are decided afresh
        and counted once."""
        assert self.writer is not None
        try:
            await loop.run_in_executor(None, self.storage.events.last_seq)  # reconnects, or raises
        except Exception as exc:
            log.warning("the event log is still unavailable: %s", exc)
            return
        old = self.writer
        await old.close()
        self._pending.clear()  # their requests got 503 with the failed commit
        self.engine, replayed = self._recover(self.engine_factory)
        self.writer = GroupCommitWriter(
            self._writer_storage(),
            loop,
            max_batch=self.group_commit_max,
            on_commit=self._committed,
            stuck_after=self.writer_stuck_seconds,
        )
        log.warning(
            "the event log is writable again: engine rebuilt at log position %d (%d replayed)", self.seq, replayed
        )


def decision_to_json(decision: Any) -> bytes:
    """The decision as JSON. Feature values are exact Python numbers; one outside JSON
    encoders' 64-bit range (a sum of sums over a long window, say) is written as a float
    rather than failing the event."""
    try:
        return orjson.dumps(decision, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:
        return orjson.dumps(_plain(decision), option=orjson.OPT_SERIALIZE_NUMPY)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _freeze_long_lived(full: bool = True) -> None:
    """Move the objects alive now (mostly the engine state) out of the cyclic collector's
    sight. The feature state is large and grows with every event; a full collection
    scanning it pauses every request for tens of milliseconds (measured: 44 ms after 40,000
    events), which is the p99.9. Done at start and then every second, after a young
    collection. Frozen objects are still freed by reference counting; only a reference
    cycle that outlived two collections and died later is never collected."""
    gc.collect(2 if full else 1)
    gc.freeze()


def _body_conflict(event_id: str) -> Conflict:
    return Conflict(f"event id {event_id!r} was already logged with another body; an id names one event")
