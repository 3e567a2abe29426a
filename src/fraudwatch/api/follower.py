"""Followers of the event log: other domains (actions: alerts, webhooks) get every logged
event with its decision, in log order, after it is durable, in a thread of their own so
the requests never wait for them.

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

import logging
import threading
import time
from typing import Callable

from fraudwatch.storage import LogEntry, Storage

log = logging.getLogger("fraudwatch.api")

Handler = Callable[[list[LogEntry]], object]
BATCH = 500
ATTEMPTS = 3  # a handler failing this often on one event: logged and skipped
CURSOR_INTERVAL = 1.0  # seconds between two writes of the position
ROUND_INTERVAL = 0.05  # seconds between two rounds: a page costs about as much as its events, so gather a few commits


class LogFollower:
    """``sync``, when given, makes what the handler did durable; it is called before each
    write of the position, so a power loss never leaves the position ahead of the work."""

    def __init__(self, name: str, storage: Storage, handle: Handler, sync: Callable[[], object] | None = None):
        self.name = name
        self._storage = storage  # a handle of its own, used only by the follower thread
        self._handle = handle
        self._sync = sync
        self._wake = threading.Event()
        self._stopping = False
        position = storage.cursor(name)
        if position is None:
            position = storage.last_seq()
            with storage.unit():
                storage.set_cursor(name, position)
        self.position = self._saved = position
        self._saved_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"fraudwatch-follower-{name}", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """New events are durable (called by the writer thread after a commit)."""
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._save_position()
        self._storage.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(timeout=1.0)
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
            page = self._storage.entries_after(self.position, BATCH)
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
            log.exception("follower %s: page after position %d failed; handing its events over one by one",
                          self.name, self.position)  # fmt: skip
        for entry in page:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._handle([entry])
                    break
                except Exception:
                    log.exception("follower %s: event %s, attempt %d of %d", self.name, entry.event_id,
                                  attempt, ATTEMPTS)  # fmt: skip
                    time.sleep(0.2 * attempt)

    def _save_position(self, due: bool = False) -> None:
        """Store the position; with ``due``, only if the last write is ``CURSOR_INTERVAL`` old."""
        if due and time.monotonic() - self._saved_at < CURSOR_INTERVAL:
            return
        if self.position != self._saved:
            if self._sync is not None:
                self._sync()
            with self._storage.unit():
                self._storage.set_cursor(self.name, self.position)
            self._saved = self.position
        self._saved_at = time.monotonic()
