"""The ports in SQL, once for every SQL backend (SQLite, PostgreSQL).

A backend gives a DB-API connection and its ``Dialect`` (parameter style, how a write
transaction begins, which error is a constraint violation); the statements here are
written in the SQL both understand (``?`` parameters, translated for drivers that want
``%s``). A backend overrides what it does its own way: SQLite's group commit in one
statement, its snapshot file.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import zstandard

from fraudwatch.errors import Conflict, StorageUnavailable, ValidationFailed
from fraudwatch.storage.codec import (
    DICTIONARY_BYTES,
    DICTIONARY_CHECK_EVERY,
    DICTIONARY_SAMPLES,
    RETRAIN_EVERY,
    Codec,
)
from fraudwatch.storage.ports import (
    WRITE_OUTSIDE_UNIT,
    AuditLog,
    Cursors,
    Definitions,
    EventLog,
    Keys,
    Lists,
    Snapshots,
    Store,
    UnitOfWork,
)
from fraudwatch.storage.records import (
    ENTITY_FIELDS,
    Activation,
    ApiKey,
    AuditRecord,
    Definition,
    Entity,
    LogEntry,
    Snapshot,
)

ENTRY_COLUMNS = "seq, id, kind, ts, digest, event, decision, outcome, card, account, device, ip"
ENTRY_WIDTH = 12  # columns of an entry
KEEP_SNAPSHOTS = 2


@dataclass(frozen=True)
class Dialect:
    name: str  # the folder of its migrations: "sqlite", "postgresql"
    begin: str  # starts a write transaction
    integrity_error: type[BaseException] | tuple[type[BaseException], ...]
    insertion_order: str  # a column giving rows in the order they were added
    percent_params: bool = False  # the driver wants %s, not ?
    max_params: int = 32_766  # bound parameters in one statement
    unavailable_error: type[BaseException] | tuple[type[BaseException], ...] = ()  # the server cannot be reached

    def sql(self, statement: str) -> str:
        return _percent(statement) if self.percent_params else statement


@lru_cache(maxsize=1024)
def _percent(statement: str) -> str:
    return statement.replace("%", "%%").replace("?", "%s")


class Sql:
    """A connection under a lock, as the ports use it. ``unit_open`` tells whether a unit is
    open on it: writes are refused otherwise."""

    def __init__(self, db, lock: threading.RLock, dialect: Dialect, unit_open: Callable[[], bool]):
        self.db = db
        self.lock = lock
        self.dialect = dialect
        self._unit_open = unit_open
        self.writes = False  # the write side (a unit's ports) or the read side

    def writer(self) -> Sql:
        out = Sql(self.db, self.lock, self.dialect, self._unit_open)
        out.writes = True
        return out

    def all(self, statement: str, args: Sequence = ()) -> list:
        with self.lock, self._reachable():
            return self.db.execute(self.dialect.sql(statement), args).fetchall()

    def one(self, statement: str, args: Sequence = ()):
        with self.lock, self._reachable():
            return self.db.execute(self.dialect.sql(statement), args).fetchone()

    def run(self, statement: str, args: Sequence = ()):
        """A write: inside a unit only. Constraint violations become ``Conflict``."""
        self._check()
        try:
            with self._reachable():
                return self.db.execute(self.dialect.sql(statement), args)
        except self.dialect.integrity_error as exc:
            raise Conflict(str(exc).strip()) from exc

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except self.dialect.unavailable_error as exc:
            raise StorageUnavailable(f"the database cannot be reached: {str(exc).strip()}") from exc

    def many(self, statement: str, rows: Iterable[Sequence]) -> None:
        self._check()
        rows = list(rows)
        if rows:
            cursor = self.db.cursor()
            cursor.executemany(self.dialect.sql(statement), rows)

    def _check(self) -> None:
        if not (self.writes and self._unit_open()):
            raise RuntimeError(WRITE_OUTSIDE_UNIT)


# ------------------------------------------------------------------ the event log
class SqlEventLog(EventLog):
    def __init__(self, sql: Sql, codec: Codec):
        self.sql = sql
        self.codec = codec
        self._appended = 0

    def append(self, entries: Sequence[LogEntry]) -> None:
        self.sql._check()
        self.insert(self.sql.db, entries)

    def insert(self, db, entries: Sequence[LogEntry]) -> None:
        """``entries`` in as few statements as the driver takes (``db`` may be outside a
        unit: SQLite's group commit writes one statement as a transaction of its own)."""
        self._appended += len(entries)
        if self._appended >= DICTIONARY_CHECK_EVERY:
            self._appended = 0
            load_dictionaries(self.sql, self.codec)
        blobs = self.codec.encode([blob for e in entries for blob in (e.event, e.decision)])
        rows = [
            value
            for i, e in enumerate(entries)
            for value in (
                e.seq,
                e.event_id,
                e.kind,
                e.ts,
                e.digest,
                blobs[2 * i],
                blobs[2 * i + 1],
                e.outcome,
                e.card,
                e.account,
                e.device,
                e.ip,
            )
        ]
        per_statement = min(1000, self.sql.dialect.max_params // ENTRY_WIDTH)
        try:
            # one statement for many rows, not executemany: each row's step would give
            # the GIL up and wait to get it back
            for start in range(0, len(entries), per_statement):
                count = min(per_statement, len(entries) - start)
                db.execute(
                    self.sql.dialect.sql(_insert_rows(count)),
                    rows[start * ENTRY_WIDTH : (start + count) * ENTRY_WIDTH],
                )
        except self.sql.dialect.integrity_error as exc:
            raise Conflict(f"event id or log position already logged: {exc}") from exc

    def last_seq(self) -> int:
        return self.sql.one("SELECT coalesce(max(seq), 0) FROM events")[0]

    def after(self, seq: int, limit: int = 1000) -> list[LogEntry]:
        rows = self.sql.all(f"SELECT {ENTRY_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [self._entry(r) for r in rows]

    def get(self, event_id: str) -> LogEntry | None:
        row = self.sql.one(f"SELECT {ENTRY_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return self._entry(row) if row else None

    def ids(self) -> Iterator[str]:
        position = 0
        while True:
            rows = self.sql.all("SELECT seq, id FROM events WHERE seq > ? ORDER BY seq LIMIT 10000", (position,))
            if not rows:
                return
            position = rows[-1][0]
            yield from (r[1] for r in rows)

    def search(
        self,
        entity: Entity,
        value: str,
        *,
        since: float | None = None,
        until: float | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[LogEntry]:
        if entity not in ENTITY_FIELDS:
            raise ValidationFailed(f"cannot search by {entity!r}", [{"loc": "entity", "msg": "unknown entity"}])
        statement = f"SELECT {ENTRY_COLUMNS} FROM events WHERE {entity} = ?"
        args: list = [value]
        for clause, arg in (("ts >= ?", since), ("ts < ?", until), ("seq < ?", before_seq)):
            if arg is not None:
                statement += f" AND {clause}"
                args.append(arg)
        statement += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        return [self._entry(r) for r in self.sql.all(statement, args)]

    def _entry(self, row) -> LogEntry:
        decode = self.codec.decode
        try:
            event, decision = decode(row[5]), decode(row[6])
        except KeyError:  # written with a dictionary newer than this handle's
            load_dictionaries(self.sql, self.codec)
            event, decision = decode(row[5]), decode(row[6])
        return LogEntry(row[0], row[1], row[2], row[3], bytes(row[4]), event, decision, *row[7:])


@lru_cache(maxsize=64)
def _insert_rows(count: int) -> str:
    row = "(" + ",".join("?" * ENTRY_WIDTH) + ")"
    return f"INSERT INTO events({ENTRY_COLUMNS}) VALUES " + ",".join([row] * count)


def load_dictionaries(sql: Sql, codec: Codec) -> None:
    for dictionary_id, data in sql.all("SELECT id, data FROM dictionaries WHERE id > ? ORDER BY id", (codec.newest,)):
        codec.add(dictionary_id, bytes(data))


# ------------------------------------------------------------------ the small ports
class SqlCursors(Cursors):
    def __init__(self, sql: Sql):
        self.sql = sql

    def get(self, name: str) -> int | None:
        row = self.sql.one("SELECT seq FROM cursors WHERE name = ?", (name,))
        return row[0] if row else None

    def set(self, name: str, seq: int) -> None:
        self.sql.run(
            "INSERT INTO cursors(name, seq) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq",
            (name, seq),
        )


class SqlDefinitions(Definitions):
    def __init__(self, sql: Sql):
        self.sql = sql

    def add(self, definition: Definition) -> None:
        d = definition
        try:
            self.sql.run(
                "INSERT INTO definitions(kind, version, text, created_at, created_by) VALUES (?,?,?,?,?)",
                (d.kind, d.version, d.text, d.created_at, d.created_by),
            )
        except Conflict:
            raise Conflict(f"{d.kind} version {d.version!r} exists already") from None

    def get(self, kind: str, version: str) -> Definition | None:
        row = self.sql.one(
            "SELECT kind, version, text, created_at, created_by FROM definitions WHERE kind = ? AND version = ?",
            (kind, version),
        )
        return Definition(*row) if row else None

    def versions(self, kind: str) -> list[Definition]:
        rows = self.sql.all(
            "SELECT kind, version, text, created_at, created_by FROM definitions WHERE kind = ? "
            f"ORDER BY created_at, {self.sql.dialect.insertion_order}",
            (kind,),
        )
        return [Definition(*r) for r in rows]

    def activate(self, activation: Activation) -> None:
        a = activation
        self.sql.run("INSERT INTO activations(kind, version, at, by) VALUES (?,?,?,?)", (a.kind, a.version, a.at, a.by))

    def activations(self, kind: str) -> list[Activation]:
        rows = self.sql.all("SELECT kind, version, at, by FROM activations WHERE kind = ? ORDER BY id", (kind,))
        return [Activation(*r) for r in rows]


class SqlLists(Lists):
    def __init__(self, sql: Sql):
        self.sql = sql

    def names(self) -> list[str]:
        return [r[0] for r in self.sql.all("SELECT name FROM lists ORDER BY name")]

    def values(self, name: str) -> list[str] | None:
        with self.sql.lock:
            if self.sql.one("SELECT 1 FROM lists WHERE name = ?", (name,)) is None:
                return None
            rows = self.sql.all("SELECT value FROM list_values WHERE name = ? ORDER BY value", (name,))
        return [r[0] for r in rows]

    def add(self, name: str, values: Iterable[str]) -> None:
        self.sql.run("INSERT INTO lists(name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
        self.sql.many(
            "INSERT INTO list_values(name, value) VALUES (?,?) ON CONFLICT DO NOTHING", [(name, v) for v in values]
        )

    def remove(self, name: str, values: Iterable[str]) -> None:
        self.sql.many("DELETE FROM list_values WHERE name = ? AND value = ?", [(name, v) for v in values])

    def replace(self, name: str, values: Iterable[str]) -> None:
        self.sql.run("DELETE FROM list_values WHERE name = ?", (name,))
        self.add(name, values)


class SqlAuditLog(AuditLog):
    def __init__(self, sql: Sql):
        self.sql = sql

    def add(self, record: AuditRecord) -> None:
        r = record
        self.sql.run(
            "INSERT INTO audit(at, actor, action, target, before, after) VALUES (?,?,?,?,?,?)",
            (r.at, r.actor, r.action, r.target, json.dumps(r.before), json.dumps(r.after)),
        )

    def records(self, *, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        rows = self.sql.all(
            "SELECT at, actor, action, target, before, after, id FROM audit WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [AuditRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6]) for r in rows]


_KEY_COLUMNS = "key_id, name, scopes, hash, created_at, revoked_at"


class SqlKeys(Keys):
    def __init__(self, sql: Sql):
        self.sql = sql

    def add(self, key: ApiKey) -> None:
        k = key
        try:
            self.sql.run(
                f"INSERT INTO api_keys({_KEY_COLUMNS}) VALUES (?,?,?,?,?,?)",
                (k.key_id, k.name, " ".join(k.scopes), k.hash, k.created_at, k.revoked_at),
            )
        except Conflict:
            raise Conflict(f"key {k.key_id!r} exists already") from None

    @staticmethod
    def _key(row) -> ApiKey:
        return ApiKey(row[0], row[1], tuple(row[2].split()), bytes(row[3]), row[4], row[5])

    def all(self) -> list[ApiKey]:
        return [self._key(r) for r in self.sql.all(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id")]

    def by_hash(self, digest: bytes) -> ApiKey | None:
        row = self.sql.one(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE hash = ?", (digest,))
        return self._key(row) if row else None

    def revoke(self, key_id: str, at: float) -> ApiKey | None:
        self.sql.run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (at, key_id))
        row = self.sql.one(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
        return self._key(row) if row else None


class SqlSnapshots(Snapshots):
    """Snapshots through a connection of their own (``sql``), zstd-compressed, the latest
    ``KEEP_SNAPSHOTS`` kept. Each save is a transaction of its own."""

    def __init__(self, sql: Sql):
        self.sql = sql

    def save(self, snapshot: Snapshot) -> None:
        data = zstandard.ZstdCompressor(level=1).compress(snapshot.data)  # (releases the GIL)
        sql = self.sql
        with sql.lock:
            sql.db.execute(sql.dialect.begin)
            try:
                sql.db.execute(
                    sql.dialect.sql(
                        "INSERT INTO snapshots(seq, created_at, data) VALUES (?,?,?) "
                        "ON CONFLICT(seq) DO UPDATE SET created_at = excluded.created_at, data = excluded.data"
                    ),
                    (snapshot.seq, snapshot.created_at, data),
                )
                sql.db.execute(
                    sql.dialect.sql(
                        "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)"
                    ),
                    (KEEP_SNAPSHOTS,),
                )
            except BaseException:
                sql.db.execute("ROLLBACK")
                raise
            sql.db.execute("COMMIT")

    def latest(self) -> Snapshot | None:
        row = self.sql.one("SELECT seq, data, created_at FROM snapshots ORDER BY seq DESC LIMIT 1")
        return Snapshot(row[0], zstandard.ZstdDecompressor().decompress(bytes(row[1])), row[2]) if row else None


# ------------------------------------------------------------------ the store
class SqlStore(Store):
    """The ports over one connection (``db``), with units of work on it. A subclass opens
    the connection, checks the schema and gives the snapshot port."""

    dialect: Dialect

    def _bind(self, db) -> None:
        self._db = db
        self._lock = threading.RLock()  # a handle may be shared by the event loop and worker threads
        self._in_unit = False
        self._codec = Codec()
        read = Sql(db, self._lock, self.dialect, lambda: self._in_unit)
        self._read = read
        self.events = SqlEventLog(read, self._codec)
        self.cursors = SqlCursors(read)
        self.definitions = SqlDefinitions(read)
        self.lists = SqlLists(read)
        self.audit = SqlAuditLog(read)
        self.keys = SqlKeys(read)
        write = self._write = read.writer()
        self._uow = UnitOfWork(
            events=SqlEventLog(write, self._codec),
            cursors=SqlCursors(write),
            definitions=SqlDefinitions(write),
            lists=SqlLists(write),
            audit=SqlAuditLog(write),
            keys=SqlKeys(write),
        )
        load_dictionaries(read, self._codec)

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        with self._lock:
            if self._in_unit:
                raise RuntimeError("units do not nest")
            self._db.execute(self.dialect.begin)
            self._in_unit = True
            try:
                yield self._uow
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_unit = False

    def maintain(self) -> int:
        """The housekeeping: a checkpoint, and a compression dictionary when one is due."""
        wal = self.checkpoint()
        self.train_dictionary()
        return wal

    def train_dictionary(self) -> None:
        """Train a dictionary on the latest entries once there are enough of them, and
        again every ``RETRAIN_EVERY`` entries (training releases the GIL)."""
        last = self.events.last_seq()
        row = self._read.one("SELECT seq FROM dictionaries ORDER BY id DESC LIMIT 1")
        if last < DICTIONARY_SAMPLES or (row is not None and last - row[0] < RETRAIN_EVERY):
            return
        samples = [
            blob
            for entry in self.events.after(last - DICTIONARY_SAMPLES, DICTIONARY_SAMPLES)
            for blob in (entry.event, entry.decision)
        ]
        dictionary_id = self._read.one("SELECT coalesce(max(id), 0) + 1 FROM dictionaries")[0]
        data = zstandard.train_dictionary(DICTIONARY_BYTES, samples, dict_id=dictionary_id).as_bytes()
        with self.unit():  # (the housekeeping is the only trainer)
            self._write.run(
                "INSERT INTO dictionaries(id, seq, created_at, data) VALUES (?,?,?,?)",
                (dictionary_id, last, time.time(), data),
            )
        self._codec.add(dictionary_id, data)
