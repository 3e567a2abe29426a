"""The persisted outbox: messages enqueued in the same unit of work as the decision or
answer that caused them, then sent at least once by a dispatcher.

Message ids are derived from what caused the message, so processing the same event or
answer twice enqueues nothing new; the id is also the idempotency key receivers use.
Functions here take a connection and never commit.

>>> [round(backoff(n, base=1.0, cap=600.0, rng=random.Random(0)), 2) for n in (1, 5, 20)]
[0.92, 14.76, 553.33]
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from dataclasses import dataclass
from typing import Any

from fraudwatch.errors import Conflict, NotFound

STATUSES = ("pending", "delivered", "dead")


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    channel: str
    destination: str
    type: str
    payload: dict[str, Any]
    created: float
    status: str
    attempts: int
    next_attempt: float
    last_error: str | None
    delivered_at: float | None
    incident: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def message_id(*parts: str) -> str:
    """A stable id from what caused the message (event or alert, type, destination)."""
    return "msg_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def backoff(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential delay after ``attempts`` failures, with "equal jitter" (half fixed,
    half random) so many failed messages do not retry in lockstep."""
    delay = min(cap, base * 2 ** (attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def enqueue(
    conn: sqlite3.Connection,
    *,
    id: str,
    channel: str,
    destination: str,
    type: str,
    payload: dict[str, Any],
    now: float,
    incident: str | None = None,
) -> bool:
    """Add a message; False if a message with this id exists already."""
    cur = conn.execute(
        "INSERT INTO outbox(id, channel, destination, type, payload, created, next_attempt, incident)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (id, channel, destination, type, json.dumps(payload, separators=(",", ":")), now, now, incident),
    )
    return cur.rowcount == 1


def claim(conn: sqlite3.Connection, *, now: float, lease: float, limit: int) -> list[Message]:
    """Lease due pending messages to the caller (hidden from other dispatchers until the
    lease ends: a dispatcher that dies mid-send leaves them to be sent again). On
    PostgreSQL the rows another dispatcher is claiming at this moment are skipped, not
    waited for (``FOR UPDATE SKIP LOCKED``), so dispatchers on several replicas share the
    due messages; SQLite has one writer at a time anyway."""
    rows = conn.execute(
        "UPDATE outbox SET locked_until = ? WHERE id IN ("
        " SELECT id FROM outbox WHERE status = 'pending' AND next_attempt <= ? AND locked_until <= ?"
        f" ORDER BY next_attempt LIMIT ?{getattr(conn, 'lock_rows', '')}) RETURNING *",
        (now + lease, now, now, limit),
    ).fetchall()
    return sorted((_message(r) for r in rows), key=lambda m: (m.next_attempt, m.created))


def mark_delivered(conn: sqlite3.Connection, msg_id: str, *, now: float) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, locked_until = 0,"
        " last_error = NULL WHERE id = ? AND status = 'pending'",
        (now, msg_id),
    )


def mark_failed(
    conn: sqlite3.Connection, msg_id: str, *, now: float, error: str, max_attempts: int, delay: float
) -> str:
    """Count a failed attempt; the message waits ``delay`` or, out of attempts, becomes dead."""
    row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (msg_id,)).fetchone()
    if row is None:
        raise NotFound(f"no outbox message {msg_id!r}")
    attempts = row["attempts"] + 1
    status = "dead" if attempts >= max_attempts else "pending"
    conn.execute(
        "UPDATE outbox SET attempts = ?, status = ?, next_attempt = ?, locked_until = 0, last_error = ?"
        " WHERE id = ? AND status = 'pending'",
        (attempts, status, now + delay, error[:1000], msg_id),
    )
    return status


def get(conn: sqlite3.Connection, msg_id: str) -> Message:
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (msg_id,)).fetchone()
    if row is None:
        raise NotFound(f"no outbox message {msg_id!r}")
    return _message(row)


def list_messages(conn: sqlite3.Connection, *, status: str | None = None, limit: int = 100) -> list[Message]:
    if status is not None and status not in STATUSES:
        raise NotFound(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    if status is None:
        rows = conn.execute("SELECT * FROM outbox ORDER BY created DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute("SELECT * FROM outbox WHERE status = ? ORDER BY created DESC LIMIT ?", (status, limit))
    return [_message(r) for r in rows.fetchall()]


def retry(conn: sqlite3.Connection, msg_id: str, *, now: float) -> Message:
    """Send a dead letter again, with a fresh set of attempts."""
    msg = get(conn, msg_id)
    if msg.status != "dead":
        raise Conflict(f"message {msg_id} is {msg.status}; only dead letters are retried")
    conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt = ?, locked_until = 0 WHERE id = ?",
        (now, msg_id),
    )
    return get(conn, msg_id)


def retry_dead(conn: sqlite3.Connection, *, now: float) -> int:
    cur = conn.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt = ?, locked_until = 0 WHERE status = 'dead'",
        (now,),
    )
    return cur.rowcount


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for r in conn.execute("SELECT status, count(*) AS n FROM outbox GROUP BY status"):
        out[r["status"]] = r["n"]
    return out


def pending_for_incident(conn: sqlite3.Connection, incident: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM outbox WHERE incident = ? AND status != 'delivered'", (incident,)
    ).fetchone()[0]


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        channel=row["channel"],
        destination=row["destination"],
        type=row["type"],
        payload=json.loads(row["payload"]),
        created=row["created"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt=row["next_attempt"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        incident=row["incident"],
    )
