"""The actions domain's own SQLite file: outbox, alerts, subscriptions, suppressions,
recent events, and the cases domain's tables (``fraudwatch.cases.store``). One connection
per thread, WAL, explicit units of work.

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

from fraudwatch.cases import SCHEMA as CASES_SCHEMA
from fraudwatch.errors import InvalidValue

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,                 -- also the idempotency key sent to receivers
    channel TEXT NOT NULL,               -- webhook | email
    destination TEXT NOT NULL,           -- endpoint name or e-mail address
    type TEXT NOT NULL,
    payload TEXT NOT NULL,               -- JSON
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0,    -- lease of the dispatcher sending it
    last_error TEXT,
    delivered_at REAL,
    incident TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_incident ON outbox(incident, status);

CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    outcome TEXT NOT NULL,
    rules TEXT NOT NULL,                 -- JSON list of rule names that stopped the event
    summary TEXT NOT NULL,               -- JSON: amount, currency, merchant, time
    created REAL NOT NULL,
    expires REAL NOT NULL,
    answered_at REAL,
    answer TEXT,
    language TEXT,                       -- of the alert's messages and answer pages
    episode TEXT,                        -- the episode (case) the alert is about: one alert each
    events TEXT,                         -- JSON: the episode's stopped events with their entities
    last_ts REAL,                        -- event time of the latest of them
    told INTEGER NOT NULL DEFAULT 1,     -- how many of them the cardholder has been told about
    summary_latest TEXT,                 -- JSON summary of the latest
    applied TEXT                         -- the cardholder.answer event whose effects were applied
);

CREATE TABLE IF NOT EXISTS cardholder_messages (  -- for the rate limit per cardholder, in event time
    subject TEXT NOT NULL,
    ts REAL NOT NULL,
    alert TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cardholder_messages_by_subject ON cardholder_messages(subject, ts);

CREATE TABLE IF NOT EXISTS episode_actions (     -- each action once per episode (and per order, field, session)
    episode TEXT NOT NULL,
    action TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    target TEXT NOT NULL,                -- '' for the action itself, else an order, field or session
    event TEXT NOT NULL,                 -- the event or answer that caused it
    ts REAL NOT NULL,
    PRIMARY KEY (episode, action, endpoint, target)
);

CREATE TABLE IF NOT EXISTS subscriptions (
    subject TEXT PRIMARY KEY,            -- card token or account id
    email TEXT,
    usage_alerts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    language TEXT                        -- of the cardholder's messages (ja, en); null: the default
);

CREATE TABLE IF NOT EXISTS suppressions (
    card TEXT NOT NULL,
    rule TEXT NOT NULL,
    until REAL NOT NULL,
    event_id TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (card, rule)
);

CREATE TABLE IF NOT EXISTS recent_events (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    card TEXT,
    account TEXT,
    data TEXT NOT NULL                   -- JSON of the event
);
CREATE INDEX IF NOT EXISTS recent_by_card ON recent_events(card, ts);
CREATE INDEX IF NOT EXISTS recent_by_account ON recent_events(account, ts);

CREATE TABLE IF NOT EXISTS synced (      -- one row, written by Database.sync
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL
);
"""


# columns added since a table was first created: files made by an earlier version get them
ADDED_COLUMNS = {
    "subscriptions": {"language": "TEXT"},
    "alerts": {
        "language": "TEXT",
        "episode": "TEXT",
        "events": "TEXT",
        "last_ts": "REAL",
        "told": "INTEGER NOT NULL DEFAULT 1",
        "summary_latest": "TEXT",
        "applied": "TEXT",
    },
}


def _add_columns(conn: sqlite3.Connection, columns: dict[str, dict[str, str]]) -> None:
    for table, wanted in columns.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        for name, decl in wanted.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


class Database:
    """A path to the actions SQLite file; hands each thread its own connection."""

    def __init__(self, path: str | os.PathLike[str]):
        path = os.fspath(path)
        if path == ":memory:":
            raise InvalidValue("the actions database needs a file path (threads share it)")
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._local = threading.local()
        conn = self.connection()
        conn.executescript(SCHEMA + CASES_SCHEMA)
        _add_columns(conn, ADDED_COLUMNS)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
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
        if durable:
            conn.execute("PRAGMA synchronous=FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
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
        not fsynced on their own; the WAL this one syncs holds the earlier ones too)."""
        with self.unit_of_work(durable=True) as conn:
            conn.execute("INSERT OR REPLACE INTO synced(id, at) VALUES (1, ?)", (time.time(),))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
