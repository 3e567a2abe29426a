"""The console's own SQLite file (``<data_dir>/fraudwatch-console.db``), beside the event log:
what the pages read so that none of them scans the log.

- the **index** of the log, kept by :class:`~fraudwatch.console.indexer.Indexer` (a log
  follower in a process of its own): decisions per minute and per hour by outcome, rule hits
  per hour, model score histograms per day split by label, fraud caught and missed per day,
  cardholder answers with their latency, and the entity graph (every card, account, device
  and IP with its counts, every pair of them seen in one event);
- **sessions** and **preferences** of the people signed in;
- **backtests** (their progress and their result).

All times in the index are event times, in buckets of ``MINUTE``, ``HOUR`` and ``DAY``
seconds (UTC-aligned). One connection per thread, WAL, explicit transactions.

>>> import os, tempfile
>>> db = ConsoleDB(os.path.join(tempfile.mkdtemp(), "c.db"))
>>> db.position()
(0, None, None)
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MINUTE, HOUR, DAY = 60, 3600, 86400
SCORE_BINS = 20  # model score histogram: [0, 0.05), [0.05, 0.1), ... [0.95, 1]
# cardholder answer latency buckets, upper bounds in minutes (the last is open)
LATENCY_BOUNDS = (1, 5, 15, 60, 240, 1440)

# The index is derived from the log: when its shape changes (a new INDEX_VERSION), its tables
# are dropped and the indexer rebuilds them from the log. Sessions and backtests are kept.
INDEX_VERSION = 3
INDEX_TABLES = (
    "position",
    "outcomes_minute",
    "outcomes_hour",
    "rule_hits_hour",
    "scores_day",
    "fraud_day",
    "answers_day",
    "labels",
    "nodes",
    "edges",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS position (          -- one row: the last log position indexed
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    min_ts REAL,                               -- first and last event time of the traffic
    max_ts REAL                                -- (labels and chargebacks come later)
);
CREATE TABLE IF NOT EXISTS outcomes_minute (t INTEGER, outcome TEXT, n INTEGER, PRIMARY KEY (t, outcome))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outcomes_hour (t INTEGER, outcome TEXT, n INTEGER, PRIMARY KEY (t, outcome))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rule_hits_hour (
    t INTEGER, rule TEXT, shadow INTEGER, n INTEGER, PRIMARY KEY (t, rule, shadow)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rule_hits_by_rule ON rule_hits_hour(rule, t);
CREATE TABLE IF NOT EXISTS scores_day (         -- fraud: 1 once the event is labelled fraud
    t INTEGER, model TEXT, champion INTEGER, bin INTEGER, fraud INTEGER, n INTEGER,
    PRIMARY KEY (t, model, champion, bin, fraud)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fraud_day (          -- payments labelled fraud: caught (blocked or challenged) or not
    t INTEGER, currency TEXT, caught INTEGER, n INTEGER, amount INTEGER, PRIMARY KEY (t, currency, caught)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers_day (        -- cardholder answers by day, answer and latency bucket
    t INTEGER, answer TEXT, latency INTEGER, n INTEGER, PRIMARY KEY (t, answer, latency)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS labels (target TEXT PRIMARY KEY, fraud INTEGER NOT NULL, ts REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (              -- 'card:tok_..', 'account:..', 'device:..', 'ip:..'
    id TEXT PRIMARY KEY,
    events INTEGER NOT NULL DEFAULT 0,
    declines INTEGER NOT NULL DEFAULT 0,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0,
    challenged INTEGER NOT NULL DEFAULT 0,
    fraud INTEGER NOT NULL DEFAULT 0,
    first REAL,
    last REAL,
    cards INTEGER NOT NULL DEFAULT 0,           -- how many of each it shares an event with
    accounts INTEGER NOT NULL DEFAULT 0,
    devices INTEGER NOT NULL DEFAULT 0,
    ips INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_fraud ON nodes(fraud) WHERE fraud > 0;
CREATE INDEX IF NOT EXISTS nodes_cards ON nodes(cards) WHERE cards >= 5;
CREATE INDEX IF NOT EXISTS nodes_failed_logins ON nodes(failed_logins) WHERE failed_logins >= 20;
CREATE TABLE IF NOT EXISTS edges (              -- both directions are stored
    a TEXT, b TEXT, n INTEGER, first REAL, last REAL, PRIMARY KEY (a, b)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS sessions (
    token_hash BLOB PRIMARY KEY,
    key_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS preferences (key_id TEXT PRIMARY KEY, language TEXT, timezone TEXT);

CREATE TABLE IF NOT EXISTS backtests (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    created_by TEXT NOT NULL,
    subject TEXT NOT NULL,                      -- 'rules' or 'lists/<name>'
    draft TEXT NOT NULL,                        -- rule text, or list values one per line
    base_version TEXT,
    since REAL NOT NULL,
    until REAL NOT NULL,
    state TEXT NOT NULL,                        -- queued | running | done | failed
    progress REAL NOT NULL DEFAULT 0,
    result TEXT,                                -- JSON once done; the error once failed
    finished REAL
);
"""


class ConsoleDB:
    """A path to the console's SQLite file; hands each thread its own connection."""

    def __init__(self, path: str):
        self.path = str(path)
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self.connection()
        with self.transaction():
            if conn.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
                for table in INDEX_TABLES:  # an index of another shape: rebuilt from the log
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(f"PRAGMA user_version = {INDEX_VERSION}")
        conn.executescript(SCHEMA)
        conn.execute("INSERT OR IGNORE INTO position(id, seq) VALUES (1, 0)")

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # autocommit: transactions are opened by ``transaction``
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # an index lost to a power cut is rebuilt from the log
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        if conn.in_transaction:  # nested: part of the caller's
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def position(self) -> tuple[int, float | None, float | None]:
        """``(seq, min_ts, max_ts)``: the last log position indexed and the first and last
        event times of the traffic (labels and chargebacks, which come later, left out)."""
        row = self.connection().execute("SELECT seq, min_ts, max_ts FROM position WHERE id = 1").fetchone()
        return row[0], row[1], row[2]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # made in another thread that is gone
                    pass
            self._all.clear()
        self._local = threading.local()


def console_db_path(settings) -> str:
    """Where the console's file lives for these settings (beside the log's SQLite file)."""
    return str(settings.data_dir / "fraudwatch-console.db")
