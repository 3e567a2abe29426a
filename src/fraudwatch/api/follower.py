"""Followers of the event log: other domains (actions: alerts, webhooks) get every logged
event with its decision, in log order, after it is durable, in a thread of their own so
the requests never wait for them.

Delivery is at least once: the position a follower has handled is stored (``cursors``)
after each batch, and after a crash the events since then are handed over again, so a
handler must be idempotent per event id (``Responder.on_decision`` is). A follower seen for
the first time starts at the end of the log: it is not handed the past.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import orjson

from fraudwatch.decisions import Decision
from fraudwatch.events import EVENT_ADAPTER, Envelope
from fraudwatch.storage import Storage

log = logging.getLogger("fraudwatch.api")

Handler = Callable[[Envelope, Decision], object]
BATCH = 500
ATTEMPTS = 3  # a handler failing this often on one event: logged and skipped


class LogFollower:
    def __init__(self, name: str, storage: Storage, handle: Handler):
        self.name = name
        self._storage = storage  # a handle of its own, used only by the follower thread
        self._handle = handle
        self._wake = threading.Event()
        self._stopping = False
        position = storage.cursor(name)
        if position is None:
            position = storage.last_seq()
            with storage.unit():
                storage.set_cursor(name, position)
        self.position = position
        self._thread = threading.Thread(target=self._run, name=f"fraudwatch-follower-{name}", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """New events are durable (called by the writer thread after a commit)."""
        self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._storage.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self._catch_up()
            except Exception:
                log.exception("follower %s failed; retrying", self.name)
                time.sleep(1.0)

    def _catch_up(self) -> None:
        while not self._stopping:
            page = self._storage.entries_after(self.position, BATCH)
            if not page:
                return
            for entry in page:
                event = EVENT_ADAPTER.validate_json(entry.event)
                decision = Decision.from_dict(orjson.loads(entry.decision))
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        self._handle(event, decision)
                        break
                    except Exception:
                        log.exception("follower %s: event %s, attempt %d of %d", self.name, entry.event_id,
                                      attempt, ATTEMPTS)  # fmt: skip
                        time.sleep(0.2 * attempt)
            self.position = page[-1].seq
            with self._storage.unit():
                self._storage.set_cursor(self.name, self.position)
