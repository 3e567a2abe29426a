"""SQLite backend: the embedded default. WAL journal, one writer at a time.

Durability: with ``synchronous=FULL`` in WAL mode SQLite fsyncs the WAL at every commit, so
a committed transaction survives a process crash and a power loss. The service acknowledges
an event only after the commit of the group it was written in (group commit: one fsync for
many events). ``NORMAL`` skips that fsync: it survives a process crash (SIGKILL) but may
lose the last transactions on power loss; it is offered for tests and benchmarks only.

Checkpoints (copying the WAL into the database file, with fsyncs) would run inside
whichever commit crosses 1000 WAL pages and stall every request waiting on it; automatic
checkpoints are off and :meth:`maintain` runs a passive one from a background thread.

The entries' JSON is compressed (``codec.py``); the schema comes from the migrations of
the ``log`` and ``snapshots`` sets (``schema.py``), checked when a store is opened.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from fraudwatch.storage import schema
from fraudwatch.storage.records import LogEntry
from fraudwatch.storage.sql import Dialect, Sql, SqlSnapshots, SqlStore

DIALECT = Dialect(
    name="sqlite",
    begin="BEGIN IMMEDIATE",
    integrity_error=sqlite3.IntegrityError,
    insertion_order="rowid",
)
# A commit writes every page it changed to the WAL, and an event changes a leaf page in
# each of its five indexes at a random place, besides its row. With 4 KiB pages the WAL
# grew 28 KiB per event under benchmarks/api_load.py, with 1 KiB pages 11 KiB (commits of
# 4 events, synchronous=FULL: 1.3 ms instead of 1.4-1.9 ms at the median, and less CPU).
PAGE_SIZE = 1024
_ONE_STATEMENT = 1000  # rows SQLite's group commit writes as one statement (12,000 parameters)


class SQLiteStore(SqlStore):
    """
    >>> import tempfile, os
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "fw.db"))
    >>> with store.unit() as uow:
    ...     uow.lists.replace("blocked_ips", ["10.0.0.1"])
    >>> store.lists.values("blocked_ips")
    ['10.0.0.1']

    ``migrate``: apply pending schema migrations when opening (False: refuse to open until
    ``fraudwatch migrate`` ran); a database with migrations this release does not know is
    refused either way. Handles made by ``connect()`` skip the check.
    """

    dialect = DIALECT

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", migrate: bool = True, _checked: bool = False):
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are opened explicitly by unit()
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file only: an existing one keeps its own
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA wal_autocheckpoint=0")  # see maintain()
        self._page_size = db.execute("PRAGMA page_size").fetchone()[0]
        self.snapshot_path = self.path.with_name(f"{self.path.stem}-snapshots{self.path.suffix}")
        if not _checked:
            schema.ensure(db, schema.sqlite_uri(self.path), ["log"], "sqlite", apply=migrate)
        self._bind(db)
        # Snapshots live in a file of their own beside the log: a snapshot is megabytes, and
        # in the log's file its commit held up every group commit behind it (28-117 ms
        # measured, growing with the state). Opened on first use.
        self._migrate = migrate
        self._snapshot_checked = _checked
        self._snapshot_lock = threading.Lock()
        self._snapshot_store: SqlSnapshots | None = None

    @property
    def snapshots(self) -> SqlSnapshots:  # type: ignore[override]
        with self._snapshot_lock:
            if self._snapshot_store is None:
                db = sqlite3.connect(self.snapshot_path, isolation_level=None, check_same_thread=False, timeout=30.0)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={'FULL' if self.synchronous == 'FULL' else 'NORMAL'}")
                if not self._snapshot_checked:
                    schema.ensure(
                        db, schema.sqlite_uri(self.snapshot_path), ["snapshots"], "sqlite", apply=self._migrate
                    )
                self._snapshot_store = SqlSnapshots(Sql(db, threading.RLock(), DIALECT, lambda: False))
            return self._snapshot_store

    # ------------------------------------------------------------ lifecycle
    def connect(self, durable: bool = True) -> SQLiteStore:
        return SQLiteStore(self.path, synchronous=self.synchronous if durable else "NORMAL", _checked=True)

    def close(self) -> None:
        self._db.close()
        if self._snapshot_store is not None:
            self._snapshot_store.sql.db.close()

    def opener(self) -> Callable[[], SQLiteStore]:
        return partial(SQLiteStore, self.path, synchronous="NORMAL", _checked=True)

    def checkpoint(self) -> int:
        """Passive WAL checkpoint: never blocks the writer or readers. Returns the WAL's
        size in bytes (it starts over only after a checkpoint with no commit running:
        see ``GroupCommitWriter.request_checkpoint``)."""
        with self._lock:
            _, frames, _ = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return max(frames, 0) * self._page_size

    def log(self, entries: Sequence[LogEntry]) -> None:
        if len(entries) > _ONE_STATEMENT:
            return super().log(entries)
        with self._lock:
            if self._in_unit:
                raise RuntimeError("log() is a unit of its own")
            # one statement outside a transaction is one: begin, rows and commit with its
            # fsync in a single step, so the writer thread gives the GIL up once (see
            # Codec.encode) instead of three times
            self.events.insert(self._db, entries)


class MemoryStore(SQLiteStore):
    """A throwaway store: SQLite in a temporary directory, removed when the store is closed
    or collected, never synced to disk. For tests and trial runs; nothing survives the
    process. Its handles live in this process only (no ``opener``).

    >>> store = MemoryStore()
    >>> with store.unit() as uow:
    ...     uow.lists.add("vip", ["acct_1"])
    >>> store.lists.values("vip")
    ['acct_1']
    >>> store.close()
    """

    def __init__(self) -> None:
        folder = tempfile.mkdtemp(prefix="fraudwatch-memory-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)
        super().__init__(Path(folder) / "fraudwatch.db", synchronous="OFF")
        self._db.execute("PRAGMA synchronous=OFF")

    def connect(self, durable: bool = True) -> SQLiteStore:
        handle = SQLiteStore(self.path, synchronous="OFF", _checked=True)
        handle._db.execute("PRAGMA synchronous=OFF")
        return handle

    def opener(self) -> None:  # type: ignore[override]
        return None

    def close(self) -> None:
        super().close()
        self._cleanup()
