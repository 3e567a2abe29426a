"""PostgreSQL backend: the system of record for several replicas (``storage.type: postgresql``).

The ports are the SQL ones (``sql.py``) over a psycopg 3 connection in autocommit mode
(units open their transactions); snapshots go to a table of the same database through a
connection of their own. The schema comes from the ``log`` migrations (PostgreSQL dialect).

Group commit: ``log`` writes a group in one transaction that first takes a transaction-level
advisory lock, so that log positions are handed out in commit order across every replica
writing to this database: a follower that has read position N has seen everything before
it. With ``synchronous_commit`` on (PostgreSQL's default) the commit returns once the WAL is
flushed, and the service acknowledges the group's events only then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from functools import partial

from fraudwatch.errors import FraudwatchError
from fraudwatch.storage import schema
from fraudwatch.storage.ports import LeaderLock
from fraudwatch.storage.records import LogEntry
from fraudwatch.storage.sql import Dialect, Sql, SqlSnapshots, SqlStore, _percent

LOG_LOCK = 0x66776C6F67  # advisory lock key of the log's writers ("fwlog")
LEADER_LOCK = 0x66776C64  # advisory lock key of the one deciding service ("fwld"; below 2^32: objid alone)


def _dialect() -> Dialect:
    import psycopg

    return Dialect(
        name="postgresql",
        begin="BEGIN",
        integrity_error=psycopg.errors.IntegrityError,
        insertion_order="id",
        percent_params=True,
        max_params=65_535,
        unavailable_error=psycopg.OperationalError,
    )


def yoyo_uri(url: str) -> str:
    """yoyo's name for the same database, through psycopg 3."""
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


def connect(url: str, *, durable: bool = True, row_factory=None):
    import psycopg

    db = psycopg.connect(url, autocommit=True, **({"row_factory": row_factory} if row_factory else {}))
    if not durable:  # its commits ride on the next flushed one (see Store.connect)
        db.execute("SET synchronous_commit = off")
    return db


class Reconnecting:
    """A connection that opens a new one when the last was lost (a restart or failover of
    the server). A transaction that met the loss fails as a whole: its statements raise
    until its ROLLBACK, which is where the new connection is made, so no statement of a
    lost transaction ever runs on its own (and nothing is acknowledged that was not stored)."""

    def __init__(self, url: str, *, durable: bool = True, row_factory=None):
        self.url = url
        self.durable = durable
        self._row_factory = row_factory
        self._db = connect(url, durable=durable, row_factory=row_factory)
        self._in_transaction = False

    def execute(self, statement, params=None):
        word = statement.lstrip()[:8].upper()
        ends = word.startswith(("COMMIT", "ROLLBACK"))
        if self._db.closed or self._db.broken:
            if self._in_transaction and not ends:
                import psycopg

                raise psycopg.OperationalError("the connection to PostgreSQL was lost during this transaction")
            self._in_transaction = False
            self._db.close()
            self._db = connect(self.url, durable=self.durable, row_factory=self._row_factory)
            if ends:
                return None  # (the lost transaction is gone with its connection)
        try:
            return self._db.execute(statement, params)
        finally:
            if word.startswith("BEGIN"):
                self._in_transaction = True
            elif ends:
                self._in_transaction = False

    def cursor(self):
        if self._db.closed or self._db.broken:
            self.execute("SELECT 1")  # raises inside a lost transaction, else reconnects
        return self._db.cursor()

    def close(self) -> None:
        self._db.close()


class PostgresStore(SqlStore):
    """``url``: ``postgresql://user@host:port/database`` (a password is better given in
    ``PGPASSWORD`` or ``~/.pgpass`` than in the URL). ``migrate`` as for ``SQLiteStore``."""

    def __init__(self, url: str, *, migrate: bool = True, durable: bool = True, _checked: bool = False):
        self.url = url
        self.durable = durable
        self.dialect = _dialect()
        db = Reconnecting(url, durable=durable)
        if not _checked:
            schema.ensure(db, yoyo_uri(url), ["log"], "postgresql", apply=migrate)
        self._bind(db)
        self._snapshot_store: SqlSnapshots | None = None
        self.fence_pid: int | None = None  # see PostgresLeaderLock.fence

    @property
    def snapshots(self) -> SqlSnapshots:  # type: ignore[override]
        with self._lock:
            if self._snapshot_store is None:
                import threading

                self._snapshot_store = SqlSnapshots(
                    Sql(Reconnecting(self.url), threading.RLock(), self.dialect, lambda: False)
                )
            return self._snapshot_store

    def connect(self, durable: bool = True) -> PostgresStore:
        return PostgresStore(self.url, durable=durable, _checked=True)

    def leader_lock(self) -> PostgresLeaderLock:
        return PostgresLeaderLock(self.url)

    def opener(self) -> Callable[[], PostgresStore]:
        return partial(PostgresStore, self.url, durable=False, _checked=True)

    def close(self) -> None:
        self._db.close()
        if self._snapshot_store is not None:
            self._snapshot_store.sql.db.close()

    def log(self, entries: Sequence[LogEntry]) -> None:
        """One transaction under the log's advisory lock. Entries with ``seq`` 0 get the
        next positions here (replicas sharing the log); others keep theirs."""
        with self.unit() as uow:
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
            if (
                self.fence_pid is not None
                and not self._db.execute(_HOLDS_LEADER, (LEADER_LOCK, self.fence_pid)).fetchone()
            ):
                raise NotLeader("this service no longer holds the leader lock: another one decides and logs now")
            if entries and entries[0].seq == 0:
                last = self._db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
                entries = [dataclasses.replace(e, seq=last + i) for i, e in enumerate(entries, 1)]
            uow.events.append(entries)


_HOLDS_LEADER = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid::bigint = %s "
    "AND objsubid = 1 AND pid = %s AND granted"
)


class NotLeader(FraudwatchError):
    status_code = 503


class PostgresLeaderLock(LeaderLock):
    """A session advisory lock on a connection of its own. It is released when the holder's
    session ends: a clean stop, a killed process (its socket closes), or a lost connection
    (PostgreSQL restarted). Group commits of a fenced store check, inside their transaction,
    that the lock is still held by this session, so a service that lost it cannot log an
    event beside the one that took it over."""

    def __init__(self, url: str):
        self.url = url
        self._db = None
        self.pid: int | None = None

    def acquire(self) -> bool | None:
        import psycopg

        try:
            if self._db is None or self._db.closed or self._db.broken:
                self._db = connect(self.url)
                self.pid = self._db.info.backend_pid
            return bool(self._db.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()[0])
        except psycopg.OperationalError:
            self.close()
            return None

    def held(self) -> bool:
        import psycopg

        if self._db is None or self._db.closed or self._db.broken:
            return False
        try:
            return self._db.execute(_HOLDS_LEADER, (LEADER_LOCK, self.pid)).fetchone() is not None
        except psycopg.OperationalError:
            self.close()
            return False

    def fence(self, store) -> None:
        store.fence_pid = self.pid

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None


class Row:
    """A row by position or by column name, like ``sqlite3.Row``."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence, index: dict[str, int]):
        self._values = values
        self._index = index

    def __getitem__(self, key):
        return self._values[key] if isinstance(key, int | slice) else self._values[self._index[key]]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor):
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class Connection(Reconnecting):
    """What the domains' SQL services use of a ``sqlite3.Connection`` (``execute`` with ``?``
    parameters, rows by name or position, ``rowcount``), on psycopg, so the same service
    code runs on both; it reconnects as ``Reconnecting`` does. ``lock_rows`` is appended to
    a claim's subquery: dispatchers on several replicas skip the rows another one is
    claiming instead of waiting for them."""

    lock_rows = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str):
        super().__init__(url, row_factory=_rows)

    def execute(self, statement: str, params: Sequence = ()):
        return super().execute(_percent(statement), params)

    def executemany(self, statement: str, rows) -> None:
        self.cursor().executemany(_percent(statement), list(rows))
