"""The actions domain's own database: outbox, alerts, subscriptions, suppressions, recent
events, and the cases domain's tables (``fraudwatch.cases.store``). One connection per
thread, explicit units of work. A SQLite file (WAL) by default; with a ``postgresql://``
URL, the tables of the PostgreSQL database that holds the event log (``storage.type:
postgresql``), through a connection that takes the same ``?`` statements and gives rows by
name (``fraudwatch.storage.postgresql.Connection``).
The tables come from the ``actions`` migrations (``fraudwatch/storage/migrations/actions/``),
checked when it is opened (see ``fraudwatch.storage.schema``).

Service functions take a connection and never commit; the caller's ``unit_of_work``
does, so two service calls can be atomic.

>>> import tempfile, os
>>> db = Database(os.path.join(tempfile.mkdtemp(), "a.db"))
>>> with db.unit_of_work() as conn:
...     _ = conn.execute("INSERT INTO subscriptions(subject, email, usage_alerts, updated)"
...                      " VALUES ('tok_1', 'a@example.com', 1, 0)")
>>> db.connection().execute("SELECT email FROM subscriptions").fetchone()[0]
'a@example.com'
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fraudwatch.errors import InvalidValue
from fraudwatch.storage import domain_connection, ensure_schema


class Database:
    """The actions database at ``path`` (a SQLite file, or a ``postgresql://`` URL); hands
    each thread its own connection."""

    def __init__(self, path: str | os.PathLike[str], *, migrate: bool = True):
        path = os.fspath(path)
        if path == ":memory:":
            raise InvalidValue("the actions database needs a file path (threads share it)")
        self.path = path
        self.postgresql = path.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        if not self.postgresql:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        ensure_schema(self.connection(), path, ["actions"], apply=migrate)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None and self.postgresql:
            conn = self._local.conn = domain_connection(self.path)
        if conn is None:
            # autocommit mode: transactions are opened explicitly by unit_of_work
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # the decision service's follower writes every event here (the containment
            # lookback): a checkpoint, with its fsyncs, every 40 MB of WAL rather than every
            # 4 MB keeps it from competing with the event log's commits for the disk
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            self._local.conn = conn
        return conn

    @contextmanager
    def unit_of_work(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction: commits when the block ends, rolls back on error.
        ``durable``: the commit is fsynced (survives a power loss, not only a crash of the
        process), for work whose source then forgets it, such as a page of the event log."""
        conn = self.connection()
        durable = durable and not self.postgresql  # (there every commit is)
        if durable:
            conn.execute("PRAGMA synchronous=FULL")
        try:
            conn.execute("BEGIN" if self.postgresql else "BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if durable:
                conn.execute("PRAGMA synchronous=NORMAL")

    def sync(self) -> None:
        """Make every commit so far survive a power loss: one fsynced commit (commits are
        not fsynced on their own; the WAL this one syncs holds the earlier ones too). On
        PostgreSQL every commit is durable already."""
        if self.postgresql:
            return
        with self.unit_of_work(durable=True) as conn:
            conn.execute(
                "INSERT INTO synced(id, at) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                (time.time(),),
            )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
