"""Followers of the event log: other domains (actions: alerts, webhooks) get every logged
event with its decision, in log order, after it is durable, so the requests never wait
for them.

A follower runs in a process of its own (``FollowerProcess``) when the storage can be
opened from another process (SQLite): its CPU work then never holds the service's GIL.
In a thread, it took the GIL from the event loop for up to the switch interval at a
time, several times per request: with the alerts follower on, p99 under
``benchmarks/api_load.py`` was 10-10.6 ms, with it off 6-8 ms. The process polls the log
every ``ROUND_INTERVAL`` and dies with the service (Linux: ``PR_SET_PDEATHSIG``;
elsewhere it notices within half a second), as a thread would.

A handler takes a page of log entries (``LogEntry``: the event and decision as JSON, with
kind, outcome, card and account as columns), so it can skip the parsing and the
per-event work for the many events it has nothing to do for.

Delivery is at least once: the position a follower has handled is stored (``cursors``)
at most once per ``CURSOR_INTERVAL`` and when it stops, and after a crash the events
since then are handed over again, so a handler must be idempotent per event id
(``Responder.on_logged`` is). The position is written through a handle whose commits
are not fsynced on their own (it only saves work after a crash), so it never holds the
log's write lock through an fsync. A follower seen for the first time starts at the end
of the log: it is not handed the past.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from fraudwatch.storage import LogEntry, Store

log = logging.getLogger("fraudwatch.api")

Handler = Callable[[list[LogEntry]], object]
BATCH = 500
ATTEMPTS = 3  # a handler failing this often on one event: logged and skipped
CURSOR_INTERVAL = 1.0  # seconds between two writes of the position
ROUND_INTERVAL = 0.05  # seconds between two rounds: a page costs about as much as its events, so gather a few commits


def register(store: Store, name: str) -> int:
    """The stored position of follower ``name``; the end of the log for a new one."""
    position = store.cursors.get(name)
    if position is None:
        position = store.events.last_seq()
        with store.unit() as uow:
            uow.cursors.set(name, position)
    return position


class LogFollower:
    """``sync``, when given, makes what the handler did durable; it is called before each
    write of the position, so a power loss never leaves the position ahead of the work.
    ``poll``: seconds between two looks at the log when ``notify`` is not called."""

    def __init__(
        self,
        name: str,
        storage: Store,
        handle: Handler,
        sync: Callable[[], object] | None = None,
        poll: float = 1.0,
    ):
        self.name = name
        self._storage = storage  # a handle of its own, used only by the follower thread
        self._handle = handle
        self._sync = sync
        self._poll = poll
        self._wake = threading.Event()
        self._stopping = False
        self.position = self._saved = register(storage, name)
        self._saved_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"fraudwatch-follower-{name}", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """New events are durable (called by the writer thread after a commit)."""
        self._wake.set()

    def alive(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._save_position()
        self._storage.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(timeout=self._poll)
            self._wake.clear()
            started = time.monotonic()
            try:
                self._catch_up()
                self._save_position(due=True)
            except Exception:
                log.exception("follower %s failed; retrying", self.name)
                time.sleep(1.0)
            time.sleep(max(0.0, ROUND_INTERVAL - (time.monotonic() - started)))

    def _catch_up(self) -> None:
        while not self._stopping:
            page = self._storage.events.after(self.position, BATCH)
            if not page:
                return
            self._deliver(page)
            self.position = page[-1].seq
            self._save_position(due=True)

    def _deliver(self, page: list[LogEntry]) -> None:
        try:
            self._handle(page)
            return
        except Exception:
            log.exception(
                "follower %s: page after position %d failed; handing its events over one by one",
                self.name,
                self.position,
            )
        for entry in page:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._handle([entry])
                    break
                except Exception:
                    log.exception(
                        "follower %s: event %s, attempt %d of %d", self.name, entry.event_id, attempt, ATTEMPTS
                    )
                    time.sleep(0.2 * attempt)

    def _save_position(self, due: bool = False) -> None:
        """Store the position; with ``due``, only if the last write is ``CURSOR_INTERVAL`` old."""
        if due and time.monotonic() - self._saved_at < CURSOR_INTERVAL:
            return
        if self.position != self._saved:
            if self._sync is not None:
                self._sync()
            with self._storage.unit() as uow:
                uow.cursors.set(self.name, self.position)
            self._saved = self.position
        self._saved_at = time.monotonic()


class LoggedHandler(Protocol):
    """What a follower process runs: built in the child by a picklable factory, which is
    given a handle of the log to read."""

    def on_logged(self, entries: list[LogEntry]) -> object: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...


class FollowerProcess:
    """A ``LogFollower`` in a child process. ``open_storage()`` opens the log there (a
    picklable callable, like ``make_handler``); the follower must have been ``register``-ed
    first, so that events logged while the child starts are not skipped."""

    def __init__(self, name: str, open_storage: Callable[[], Store], make_handler: Callable[[Store], LoggedHandler]):
        self.name = name
        context = multiprocessing.get_context("spawn")  # never fork a process with threads running
        self._stop = context.Event()
        self._process = context.Process(
            target=_follow,
            name=f"fraudwatch-follower-{name}",
            daemon=True,
            args=(name, open_storage, make_handler, self._stop, os.getpid(), logging.getLogger().level),
        )
        self._process.start()

    def notify(self) -> None:
        """Nothing to do: the child polls the log."""

    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        if self._process.is_alive():
            log.error("follower %s did not stop in 30 s; killing it", self.name)
            self._process.kill()
            self._process.join()


def _follow(name, open_storage, make_handler, stop, parent: int, level: int) -> None:  # in the child
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the service stops us
    if sys.platform == "linux":
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # died before prctl
        return
    if hasattr(os, "nice"):
        os.nice(10)  # on a busy machine the requests go first; the follower catches up when it is idle
    while True:  # the database may be restarting while this process starts: try again
        try:
            handler = make_handler(open_storage())
            follower = LogFollower(name, open_storage(), handler.on_logged, sync=handler.sync, poll=ROUND_INTERVAL)
            break
        except Exception:
            log.exception("follower %s could not open the log; trying again", name)
            if stop.wait(1.0) or os.getppid() != parent:
                return
    try:
        while not stop.wait(0.5):
            if os.getppid() != parent:
                log.warning("follower %s: the service is gone; stopping", name)
                break
    finally:
        follower.close()
        handler.close()
