"""Incident services: plain functions over a SQLite connection; they never commit. The
tables come from the ``actions`` migrations (``fraudwatch/storage/migrations/actions/``)."""

from __future__ import annotations

import json
import sqlite3
import uuid

from fraudwatch.cases.incident import Incident, IncidentStatus, check_move
from fraudwatch.errors import NotFound


def create_incident(
    conn: sqlite3.Connection,
    *,
    trigger_event: str,
    events: list[str],
    card: str | None,
    account: str | None,
    now: float,
    note: str = "",
) -> Incident:
    """Open an incident; one per trigger event (a second call returns the first)."""
    row = conn.execute("SELECT id FROM incidents WHERE trigger_event = ?", (trigger_event,)).fetchone()
    if row is not None:
        return get_incident(conn, row["id"])
    incident_id = "inc_" + uuid.uuid4().hex[:16]
    ids = list(dict.fromkeys([trigger_event, *events]))
    conn.execute(
        "INSERT INTO incidents(id, status, card, account, trigger_event, events, created, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (incident_id, IncidentStatus.OPEN.value, card, account, trigger_event, json.dumps(ids), now, now),
    )
    _history(conn, incident_id, now, None, IncidentStatus.OPEN, note)
    return get_incident(conn, incident_id)


def get_incident(conn: sqlite3.Connection, incident_id: str) -> Incident:
    row = conn.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    if row is None:
        raise NotFound(f"no incident {incident_id!r}")
    history = [
        {"at": h["at"], "from": h["from_status"], "to": h["to_status"], "note": h["note"]}
        for h in conn.execute("SELECT * FROM incident_history WHERE incident = ? ORDER BY rowid", (incident_id,))
    ]
    return Incident(
        id=row["id"],
        status=IncidentStatus(row["status"]),
        card=row["card"],
        account=row["account"],
        trigger_event=row["trigger_event"],
        events=json.loads(row["events"]),
        created=row["created"],
        updated=row["updated"],
        history=history,
    )


def list_incidents(
    conn: sqlite3.Connection, *, status: IncidentStatus | None = None, limit: int = 100
) -> list[Incident]:
    if status is None:
        rows = conn.execute("SELECT id FROM incidents ORDER BY created DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            "SELECT id FROM incidents WHERE status = ? ORDER BY created DESC LIMIT ?", (status.value, limit)
        )
    return [get_incident(conn, r["id"]) for r in rows.fetchall()]


def find_open_incident(
    conn: sqlite3.Connection, *, card: str | None, account: str | None, since: float
) -> Incident | None:
    """The newest open or contained incident of the card or account created since ``since``."""
    row = conn.execute(
        "SELECT id FROM incidents WHERE status IN ('open', 'contained') AND created >= ?"
        " AND ((card = ? AND ? IS NOT NULL) OR (account = ? AND ? IS NOT NULL)) ORDER BY created DESC LIMIT 1",
        (since, card, card, account, account),
    ).fetchone()
    return None if row is None else get_incident(conn, row["id"])


def add_events(conn: sqlite3.Connection, incident_id: str, events: list[str], *, now: float) -> Incident:
    incident = get_incident(conn, incident_id)
    ids = list(dict.fromkeys([*incident.events, *events]))
    conn.execute("UPDATE incidents SET events = ?, updated = ? WHERE id = ?", (json.dumps(ids), now, incident_id))
    return get_incident(conn, incident_id)


RECOVERY_KINDS = {
    "payment.refund": IncidentStatus.REFUNDED,
    "payment.reversal": IncidentStatus.REVERSED,
    "chargeback": IncidentStatus.CHARGED_BACK,
}


def record_recovery(conn: sqlite3.Connection, *, kind: str, event_id: str, payment: str, now: float) -> Incident | None:
    """A refund, reversal or chargeback of a payment in an incident: add the event and
    move a contained incident to the matching status (an open one keeps its status until
    contained; the event is still added as evidence)."""
    target = RECOVERY_KINDS.get(kind)
    # candidates by the payment's id as the JSON list of events spells it (the same SQL on
    # SQLite and PostgreSQL, LIKE's wildcards escaped), then checked exactly (SQLite's LIKE
    # ignores case)
    quoted = json.dumps(payment).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = conn.execute(
        "SELECT id, events FROM incidents WHERE events LIKE ? ESCAPE '\\' ORDER BY created DESC",
        (f"%{quoted}%",),
    )
    row = next((r for r in candidates if payment in json.loads(r["events"])), None)
    if target is None or row is None:
        return None
    incident = add_events(conn, row["id"], [event_id], now=now)
    if incident.status is IncidentStatus.CONTAINED:
        incident = transition(conn, incident.id, target, now=now, note=f"{kind} {event_id}")
    return incident


def transition(
    conn: sqlite3.Connection, incident_id: str, target: IncidentStatus, *, now: float, note: str = ""
) -> Incident:
    """Move an incident to ``target``; raises ``IllegalTransition`` (409) if the table forbids it."""
    incident = get_incident(conn, incident_id)
    target = IncidentStatus(target)
    check_move(incident.status, target)
    conn.execute(
        "UPDATE incidents SET status = ?, updated = ? WHERE id = ? AND status = ?",
        (target.value, now, incident_id, incident.status.value),
    )
    _history(conn, incident_id, now, incident.status, target, note)
    return get_incident(conn, incident_id)


def _history(conn, incident_id, now, source: IncidentStatus | None, target: IncidentStatus, note: str) -> None:
    conn.execute(
        "INSERT INTO incident_history(incident, at, from_status, to_status, note) VALUES (?, ?, ?, ?, ?)",
        (incident_id, now, source.value if source else None, target.value, note),
    )
