"""SQLite backend: the embedded default. WAL journal, one writer at a time.

Durability: with ``synchronous=FULL`` in WAL mode SQLite fsyncs the WAL at every commit, so
a committed transaction survives a process crash and a power loss. The service acknowledges
an event only after the commit of the group it was written in (group commit: one fsync for
many events). ``NORMAL`` skips that fsync: it survives a process crash (SIGKILL) but may
lose the last transactions on power loss; it is offered for tests and benchmarks only.

Checkpoints (copying the WAL into the database file, with fsyncs) would run inside
whichever commit crosses 1000 WAL pages and stall every request waiting on it; automatic
checkpoints are off and :meth:`maintain` runs a passive one from a background thread.

Compression: the event and decision JSON of each log entry are stored as zstd frames,
with a dictionary trained on this log's own entries (:class:`_Codec`). A decision's JSON
repeats every feature name, so with a dictionary an entry takes about 230 bytes instead
of 2 KB: a commit then writes a few pages to the WAL instead of two or three per entry,
and the file is about a ninth of the size. A frame names its dictionary; entries written
before the first dictionary (or before compression) read as they are.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache, partial
from pathlib import Path

import zstandard

from fraudwatch.errors import Conflict, ValidationFailed
from fraudwatch.storage.base import (
    ENTITY_FIELDS,
    Activation,
    ApiKey,
    AuditRecord,
    Definition,
    Entity,
    LogEntry,
    Snapshot,
    Storage,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    ts REAL NOT NULL,
    outcome TEXT,
    card TEXT, account TEXT, device TEXT, ip TEXT,
    digest BLOB NOT NULL,
    event BLOB NOT NULL,
    decision BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_card ON events(card, seq) WHERE card IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_account ON events(account, seq) WHERE account IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_device ON events(device, seq) WHERE device IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_ip ON events(ip, seq) WHERE ip IS NOT NULL;
CREATE TABLE IF NOT EXISTS dictionaries(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, created_at REAL NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS definitions(
    kind TEXT NOT NULL, version TEXT NOT NULL, text TEXT NOT NULL,
    created_at REAL NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY(kind, version));
CREATE TABLE IF NOT EXISTS activations(
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL, at REAL NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS list_values(
    name TEXT NOT NULL REFERENCES lists(name), value TEXT NOT NULL, PRIMARY KEY(name, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, before TEXT, after TEXT);
CREATE TABLE IF NOT EXISTS api_keys(
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, hash BLOB NOT NULL UNIQUE,
    created_at REAL NOT NULL, revoked_at REAL);
"""

# Snapshots live in a file of their own beside the log (``<name>-snapshots.db``): a
# snapshot is megabytes, and in the log's file its commit held up every group commit
# behind it (28-117 ms measured, growing with the state). Compressed with zstd.
SNAPSHOT_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS snapshots(seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, data BLOB NOT NULL)"
)
_ENTRY_COLUMNS = "seq, id, kind, ts, digest, event, decision, outcome, card, account, device, ip"
KEEP_SNAPSHOTS = 2
_ENTRY_WIDTH = 12  # columns of an entry
_ROWS_PER_INSERT = 1000  # 12,000 parameters: under SQLite's limit of 32,766
# A commit writes every page it changed to the WAL, and an event changes a leaf page in
# each of its five indexes at a random place, besides its row. With 4 KiB pages the WAL
# grew 28 KiB per event under benchmarks/api_load.py, with 1 KiB pages 11 KiB (commits of
# 4 events, synchronous=FULL: 1.3 ms instead of 1.4-1.9 ms at the median, and less CPU).
PAGE_SIZE = 1024
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a JSON text starts with "{": never with this
DICTIONARY_BYTES = 16 * 1024
DICTIONARY_SAMPLES = 2000  # entries the first dictionary is trained on (about 135 ms)
RETRAIN_EVERY = 1_000_000  # entries logged between two dictionaries: events and features change
DICTIONARY_CHECK_EVERY = 1000  # entries a handle appends between two looks for a newer dictionary


@lru_cache(maxsize=64)
def _insert_rows(count: int) -> str:
    row = "(" + ",".join("?" * _ENTRY_WIDTH) + ")"
    return f"INSERT INTO events({_ENTRY_COLUMNS}) VALUES " + ",".join([row] * count)


class _Codec:
    """zstd level 1 with the newest dictionary this handle knows; reads any of them.

    >>> c = _Codec()
    >>> [c.decode(frame) for frame in c.encode([b'{"a":1}', b'{}'])], c.decode(b'{"a":1}')
    ([b'{"a":1}', b'{}'], b'{"a":1}')
    """

    def __init__(self):
        self.newest = 0  # dictionary id; 0: none
        self._compressor = zstandard.ZstdCompressor(level=1)
        self._decompressors = {0: zstandard.ZstdDecompressor()}

    def add(self, dictionary_id: int, data: bytes) -> None:
        d = zstandard.ZstdCompressionDict(data)
        self._decompressors[dictionary_id] = zstandard.ZstdDecompressor(dict_data=d)
        if dictionary_id > self.newest:
            self.newest = dictionary_id
            self._compressor = zstandard.ZstdCompressor(level=1, dict_data=d)

    def encode(self, blobs: list[bytes]) -> list[bytes]:
        """All of ``blobs`` in one call: zstd lets go of the GIL in a call and the writer
        thread then waits to get it back, up to the switch interval while the event loop
        runs, so once per commit rather than twice per entry."""
        if all(blobs):  # (the batch call refuses an empty input)
            return [bytes(frame) for frame in self._compressor.multi_compress_to_buffer(blobs)]
        return [self._compressor.compress(b) for b in blobs]

    def decode(self, data: bytes) -> bytes:
        """Raises ``KeyError`` for a frame of a dictionary this handle does not know yet."""
        if data[:4] != ZSTD_MAGIC:
            return data
        return self._decompressors[zstandard.get_frame_parameters(data).dict_id].decompress(data)


class SQLiteStorage(Storage):
    """
    >>> import tempfile, os
    >>> s = SQLiteStorage(os.path.join(tempfile.mkdtemp(), "fw.db"))
    >>> with s.unit():
    ...     s.replace_list("blocked_ips", ["10.0.0.1"])
    >>> s.list_values("blocked_ips")
    ['10.0.0.1']
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL"):
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: transactions are opened explicitly by unit()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # a new file only: an existing one keeps its own
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA wal_autocheckpoint=0")  # see maintain()
        self._page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        self._lock = threading.RLock()  # one handle is used by one thread at a time
        self._in_unit = False
        self._db.executescript(SCHEMA)
        self._codec = _Codec()
        self._appended = 0
        self._load_dictionaries()
        self.snapshot_path = self.path.with_name(f"{self.path.stem}-snapshots{self.path.suffix}")
        self._snapshot_db: sqlite3.Connection | None = None  # opened on first use
        self._snapshot_lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle
    @contextmanager
    def unit(self) -> Iterator[SQLiteStorage]:
        with self._lock:
            if self._in_unit:
                raise RuntimeError("units do not nest")
            self._db.execute("BEGIN IMMEDIATE")
            self._in_unit = True
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_unit = False

    def connect(self, durable: bool = True) -> SQLiteStorage:
        return SQLiteStorage(self.path, synchronous=self.synchronous if durable else "NORMAL")

    def close(self) -> None:
        self._db.close()
        if self._snapshot_db is not None:
            self._snapshot_db.close()

    def opener(self) -> Callable[[], SQLiteStorage]:
        return partial(SQLiteStorage, self.path, synchronous="NORMAL")

    def maintain(self) -> int:
        """The housekeeping: a checkpoint, and a compression dictionary when one is due."""
        wal = self.checkpoint()
        self._train_dictionary()
        return wal

    def checkpoint(self) -> int:
        """Passive WAL checkpoint: never blocks the writer or readers. Returns the WAL's
        size in bytes (it starts over only after a checkpoint with no commit running:
        see ``GroupCommitWriter.request_checkpoint``)."""
        with self._lock:
            _, frames, _ = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return max(frames, 0) * self._page_size

    # ------------------------------------------------------------ compression
    def _load_dictionaries(self) -> None:
        for dictionary_id, data in self._all(
            "SELECT id, data FROM dictionaries WHERE id > ? ORDER BY id", (self._codec.newest,)
        ):
            self._codec.add(dictionary_id, data)

    def _train_dictionary(self) -> None:
        """Train a dictionary on the latest entries once there are enough of them, and
        again every ``RETRAIN_EVERY`` entries (training releases the GIL)."""
        last = self.last_seq()
        row = self._one("SELECT seq FROM dictionaries ORDER BY id DESC LIMIT 1")
        if last < DICTIONARY_SAMPLES or (row is not None and last - row[0] < RETRAIN_EVERY):
            return
        samples = [
            blob
            for entry in self.entries_after(last - DICTIONARY_SAMPLES, DICTIONARY_SAMPLES)
            for blob in (entry.event, entry.decision)
        ]
        dictionary_id = self._one("SELECT coalesce(max(id), 0) + 1 FROM dictionaries")[0]
        data = zstandard.train_dictionary(DICTIONARY_BYTES, samples, dict_id=dictionary_id).as_bytes()
        with self.unit():  # (the housekeeping is the only trainer)
            self._write().execute(
                "INSERT INTO dictionaries(id, seq, created_at, data) VALUES (?,?,?,?)",
                (dictionary_id, last, time.time(), data),
            )
        self._codec.add(dictionary_id, data)

    def _entry(self, row) -> LogEntry:
        decode = self._codec.decode
        try:
            event, decision = decode(row[5]), decode(row[6])
        except KeyError:  # written with a dictionary newer than this handle's
            self._load_dictionaries()
            event, decision = decode(row[5]), decode(row[6])
        return LogEntry(row[0], row[1], row[2], row[3], row[4], event, decision, *row[7:])

    def _all(self, sql: str, args: tuple | list = ()) -> list:
        with self._lock:  # a handle may be shared by the event loop and worker threads
            return self._db.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple | list = ()):
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _write(self) -> sqlite3.Connection:
        if not self._in_unit:
            raise RuntimeError("writes happen inside 'with storage.unit():'")
        return self._db

    # ------------------------------------------------------------ event log
    def append(self, entries: Sequence[LogEntry]) -> None:
        self._insert(self._write(), entries)

    def log(self, entries: Sequence[LogEntry]) -> None:
        if len(entries) > _ROWS_PER_INSERT:
            return super().log(entries)
        with self._lock:
            if self._in_unit:
                raise RuntimeError("log() is a unit of its own")
            # one statement outside a transaction is one: begin, rows and commit with its
            # fsync in a single step, so the writer thread gives the GIL up once (see
            # _Codec.encode) instead of three times
            self._insert(self._db, entries)

    def _insert(self, db: sqlite3.Connection, entries: Sequence[LogEntry]) -> None:
        self._appended += len(entries)
        if self._appended >= DICTIONARY_CHECK_EVERY:
            self._appended = 0
            self._load_dictionaries()
        blobs = self._codec.encode([blob for e in entries for blob in (e.event, e.decision)])
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
        try:
            # one statement for many rows, not executemany: each row's step would give
            # the GIL up and wait to get it back
            for start in range(0, len(entries), _ROWS_PER_INSERT):
                count = min(_ROWS_PER_INSERT, len(entries) - start)
                db.execute(_insert_rows(count), rows[start * _ENTRY_WIDTH : (start + count) * _ENTRY_WIDTH])
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"event id or log position already logged: {exc}") from exc

    def last_seq(self) -> int:
        return self._one("SELECT coalesce(max(seq), 0) FROM events")[0]

    def entries_after(self, seq: int, limit: int = 1000) -> list[LogEntry]:
        rows = self._all(f"SELECT {_ENTRY_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [self._entry(r) for r in rows]

    def get_entry(self, event_id: str) -> LogEntry | None:
        row = self._one(f"SELECT {_ENTRY_COLUMNS} FROM events WHERE id = ?", (event_id,))
        return self._entry(row) if row else None

    def event_ids(self) -> Iterator[str]:
        position = 0
        while True:
            rows = self._all("SELECT seq, id FROM events WHERE seq > ? ORDER BY seq LIMIT 10000", (position,))
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
        sql = f"SELECT {_ENTRY_COLUMNS} FROM events WHERE {entity} = ?"
        args: list = [value]
        if since is not None:
            sql += " AND ts >= ?"
            args.append(since)
        if until is not None:
            sql += " AND ts < ?"
            args.append(until)
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        return [self._entry(r) for r in self._all(sql, args)]

    # ------------------------------------------------------------ followers
    def cursor(self, name: str) -> int | None:
        row = self._one("SELECT seq FROM cursors WHERE name = ?", (name,))
        return row[0] if row else None

    def set_cursor(self, name: str, seq: int) -> None:
        self._write().execute("INSERT OR REPLACE INTO cursors(name, seq) VALUES (?, ?)", (name, seq))

    # ------------------------------------------------------------ snapshots
    def _snapshots(self) -> sqlite3.Connection:
        if self._snapshot_db is None:
            db = sqlite3.connect(self.snapshot_path, isolation_level=None, check_same_thread=False, timeout=30.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if self.synchronous == 'FULL' else 'NORMAL'}")
            db.execute(SNAPSHOT_SCHEMA)
            self._snapshot_db = db
        return self._snapshot_db

    def save_snapshot(self, snapshot: Snapshot) -> None:
        data = zstandard.ZstdCompressor(level=1).compress(snapshot.data)  # (releases the GIL)
        with self._snapshot_lock:
            db = self._snapshots()
            with db:  # one transaction
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT OR REPLACE INTO snapshots(seq, created_at, data) VALUES (?,?,?)",
                    (snapshot.seq, snapshot.created_at, data),
                )
                db.execute(
                    "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                    (KEEP_SNAPSHOTS,),
                )

    def latest_snapshot(self) -> Snapshot | None:
        with self._snapshot_lock:
            row = (
                self._snapshots()
                .execute("SELECT seq, data, created_at FROM snapshots ORDER BY seq DESC LIMIT 1")
                .fetchone()
            )
        return Snapshot(row[0], zstandard.ZstdDecompressor().decompress(row[1]), row[2]) if row else None

    # ------------------------------------------------------------ definitions
    def add_definition(self, definition: Definition) -> None:
        d = definition
        try:
            self._write().execute(
                "INSERT INTO definitions(kind, version, text, created_at, created_by) VALUES (?,?,?,?,?)",
                (d.kind, d.version, d.text, d.created_at, d.created_by),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"{d.kind} version {d.version!r} exists already") from exc

    def get_definition(self, kind: str, version: str) -> Definition | None:
        row = self._one(
            "SELECT kind, version, text, created_at, created_by FROM definitions WHERE kind = ? AND version = ?",
            (kind, version),
        )
        return Definition(*row) if row else None

    def definitions(self, kind: str) -> list[Definition]:
        rows = self._all(
            "SELECT kind, version, text, created_at, created_by FROM definitions WHERE kind = ? "
            "ORDER BY created_at, rowid",
            (kind,),
        )
        return [Definition(*r) for r in rows]

    def activate(self, activation: Activation) -> None:
        a = activation
        self._write().execute(
            "INSERT INTO activations(kind, version, at, by) VALUES (?,?,?,?)", (a.kind, a.version, a.at, a.by)
        )

    def activations(self, kind: str) -> list[Activation]:
        rows = self._all("SELECT kind, version, at, by FROM activations WHERE kind = ? ORDER BY id", (kind,))
        return [Activation(*r) for r in rows]

    # ------------------------------------------------------------ lists
    def list_names(self) -> list[str]:
        return [r[0] for r in self._all("SELECT name FROM lists ORDER BY name")]

    def list_values(self, name: str) -> list[str] | None:
        with self._lock:
            if self._one("SELECT 1 FROM lists WHERE name = ?", (name,)) is None:
                return None
            return [r[0] for r in self._all("SELECT value FROM list_values WHERE name = ? ORDER BY value", (name,))]

    def add_values(self, name: str, values: Iterable[str]) -> None:
        db = self._write()
        db.execute("INSERT OR IGNORE INTO lists(name) VALUES (?)", (name,))
        db.executemany("INSERT OR IGNORE INTO list_values(name, value) VALUES (?,?)", [(name, v) for v in values])

    def remove_values(self, name: str, values: Iterable[str]) -> None:
        self._write().executemany("DELETE FROM list_values WHERE name = ? AND value = ?", [(name, v) for v in values])

    def replace_list(self, name: str, values: Iterable[str]) -> None:
        db = self._write()
        db.execute("DELETE FROM list_values WHERE name = ?", (name,))
        self.add_values(name, values)

    # ------------------------------------------------------------ audit
    def add_audit(self, record: AuditRecord) -> None:
        r = record
        self._write().execute(
            "INSERT INTO audit(at, actor, action, target, before, after) VALUES (?,?,?,?,?,?)",
            (r.at, r.actor, r.action, r.target, json.dumps(r.before), json.dumps(r.after)),
        )

    def audit(self, *, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        rows = self._all(
            "SELECT at, actor, action, target, before, after, id FROM audit WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [AuditRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6]) for r in rows]

    # ------------------------------------------------------------ API keys
    def add_key(self, key: ApiKey) -> None:
        k = key
        try:
            self._write().execute(
                "INSERT INTO api_keys(key_id, name, scopes, hash, created_at, revoked_at) VALUES (?,?,?,?,?,?)",
                (k.key_id, k.name, " ".join(k.scopes), k.hash, k.created_at, k.revoked_at),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"key {k.key_id!r} exists already") from exc

    @staticmethod
    def _key(row) -> ApiKey:
        return ApiKey(row[0], row[1], tuple(row[2].split()), row[3], row[4], row[5])

    def keys(self) -> list[ApiKey]:
        rows = self._all(
            "SELECT key_id, name, scopes, hash, created_at, revoked_at FROM api_keys ORDER BY created_at, key_id"
        )
        return [self._key(r) for r in rows]

    def key_by_hash(self, digest: bytes) -> ApiKey | None:
        row = self._one(
            "SELECT key_id, name, scopes, hash, created_at, revoked_at FROM api_keys WHERE hash = ?", (digest,)
        )
        return self._key(row) if row else None

    def revoke_key(self, key_id: str, at: float) -> ApiKey | None:
        db = self._write()
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (at, key_id))
        row = db.execute(
            "SELECT key_id, name, scopes, hash, created_at, revoked_at FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return self._key(row) if row else None
