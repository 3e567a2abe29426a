"""Group commit: the events of one event-loop tick are handed to one writer thread, which
writes everything waiting in one transaction and fsyncs once, then wakes the requests.

An event is acknowledged only when the future of its group is done, that is after the
commit returned. ``flushed()`` goes through the same ordered queue: the service writes a
snapshot covering log position N (elsewhere, see ``DecisionService.snapshot``) only once
the events up to N are durable.

WAL checkpoints: the service's housekeeping copies the WAL into the database in the
background once a second (a passive checkpoint, blocking no one). Under steady load that
never lets the WAL start over, since commits keep adding to it while it copies (it grew
by about 20 MB/s): once the WAL passes ``storage.wal_limit_mb`` the service asks for a
checkpoint here, between two commits, in the only thread that writes. It copies the
little written since the last background one, so the whole WAL is copied and the next
commit starts it over; the commits wait meanwhile (3-40 ms measured, mostly an fsync of
the database file).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time

from fraudwatch.storage import LogEntry, Store

log = logging.getLogger("fraudwatch.api")

_STOP = object()


class GroupCommitWriter:
    def __init__(
        self,
        storage: Store,
        loop: asyncio.AbstractEventLoop,
        max_batch: int = 2000,
        on_commit=None,
        stuck_after: float = 10.0,
    ):
        self._storage = storage  # a handle of its own: used only by the writer thread
        self._loop = loop
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._group: tuple[list[LogEntry], asyncio.Future] | None = None
        self.failure: BaseException | None = None
        self.commits = 0
        self._on_commit = on_commit  # called in the writer thread with the number of items committed
        self._checkpoint = threading.Event()
        self.stuck_after = stuck_after
        self._busy_since: float | None = None  # when the running commit started (the watchdog)
        self._thread = threading.Thread(target=self._run, name="fraudwatch-group-commit", daemon=True)
        self._thread.start()

    def write(self, entry: LogEntry) -> asyncio.Future:
        """Queue ``entry`` for the group of this tick; the future is done once it is durable."""
        group = self._group
        if group is None:
            group = self._group = ([], self._loop.create_future())
            self._loop.call_soon(self._flush)
        group[0].append(entry)
        return group[1]

    def flushed(self) -> asyncio.Future:
        """A future done once everything written so far is committed."""
        self._flush()
        done = self._loop.create_future()
        self._queue.put(([], done))
        return done

    def stuck(self) -> bool:
        """True while one commit has run longer than ``stuck_after`` seconds (a disk that
        does not answer, a lock held elsewhere): ``/readyz`` then answers 503."""
        since = self._busy_since
        return since is not None and time.monotonic() - since > self.stuck_after

    def request_checkpoint(self) -> None:
        """Checkpoint the WAL in the writer thread after its next commit (see above)."""
        self._checkpoint.set()

    def _flush(self) -> None:
        if self._group is not None:
            self._queue.put(self._group)
            self._group = None

    async def close(self) -> None:
        self._flush()
        self._queue.put(_STOP)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        self._storage.close()

    # ------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            groups, stop, count = [first], False, len(first[0])
            while count < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                groups.append(item)
                count += len(item[0])
            self._commit(groups)
            if stop:
                return
            if self._checkpoint.is_set():
                self._checkpoint.clear()
                try:
                    self._storage.checkpoint()
                except Exception:  # the WAL is copied by the next one
                    log.exception("WAL checkpoint failed")

    def _commit(self, groups: list) -> None:
        error: BaseException | None = None
        try:
            entries = [entry for items, _ in groups for entry in items]
            if entries:
                self._busy_since = time.monotonic()
                self._storage.log(entries)
                self.commits += 1
                if self._on_commit is not None:
                    self._on_commit(len(entries))
        except BaseException as exc:  # the service stops taking events: see DecisionService
            log.exception("group commit failed")
            error = self.failure = exc
        finally:
            self._busy_since = None
        error = error or self.failure  # after a failure nothing is durable any more, flushed() neither
        try:
            self._loop.call_soon_threadsafe(_resolve, [fut for _, fut in groups], error)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


def _resolve(futures: list[asyncio.Future], error: BaseException | None) -> None:
    for fut in futures:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
