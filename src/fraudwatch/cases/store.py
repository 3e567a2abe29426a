"""Persistence of the cases domain: every SQL statement of cases, disputes and
attachments is in this module, so that moving to another storage port touches nothing
else. Functions take a connection (``sqlite3.Row`` rows) and never commit: the caller's
unit of work does.

The tables live in the actions database (``fraudwatch-actions.db``): a decision's alert,
its outbox messages and its episode are written in one unit of work.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

# The cases tables: the migrations actions-0003-cases and -0005-queue-tally, which every database
# gets; read here for throwaway in-memory databases (the doctests').
SCHEMA = "".join(
    resources.files("fraudwatch.storage").joinpath(f"migrations/actions/sqlite/{name}").read_text(encoding="utf-8")
    for name in ("actions-0003-cases.sql", "actions-0005-queue-tally.sql")
)

_PRIORITY_SORTS = {
    # name -> ORDER BY; each has an index beginning with status
    "priority": "priority DESC, due_at ASC, id",
    "due": "due_at ASC, id",
    "age": "queued_at ASC, id",
    "amount": "amount_at_risk DESC, id",
    "score": "max_score DESC, id",
    "recent": "last_seen DESC, id",
}
SORTS = tuple(_PRIORITY_SORTS)


# ------------------------------------------------------------------ cases
def insert_case(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    cols = ", ".join(row)
    conn.execute(f"INSERT INTO cases({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


def update_case(conn: sqlite3.Connection, case_id: str, changes: dict[str, Any], *, version: int | None = None) -> bool:
    """Set ``changes`` and bump the version; with ``version``, only if the row still has it
    (False: someone else changed it first)."""
    sets = ", ".join(f"{k} = ?" for k in changes)
    sql = f"UPDATE cases SET {sets}, version = version + 1 WHERE id = ?"
    params: list[Any] = [*changes.values(), case_id]
    if version is not None:
        sql += " AND version = ?"
        params.append(version)
    return conn.execute(sql, params).rowcount == 1


def get_case(conn: sqlite3.Connection, case_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()


def case_by_reference(conn: sqlite3.Connection, reference: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM cases WHERE reference = ?", (reference,)).fetchone()


def find_active(
    conn: sqlite3.Connection, *, card: str | None, account: str | None, since: float, until: float
) -> sqlite3.Row | None:
    """The active case of ``card`` or ``account`` whose span reaches into ``[since, until]``
    (``last_seen >= since`` and ``started <= until``), latest first."""
    best = None
    for column, value in (("card", card), ("account", account)):
        if value is None:
            continue
        row = conn.execute(
            f"SELECT * FROM cases WHERE {column} = ? AND last_seen >= ? AND started <= ?"
            " AND status != 'closed' ORDER BY last_seen DESC LIMIT 1",
            (value, since, until),
        ).fetchone()
        if row is not None and (best is None or row["last_seen"] > best["last_seen"]):
            best = row
    return best


def cases_of_subject(conn: sqlite3.Connection, *, card: str | None, account: str | None, limit: int = 100) -> list:
    rows: dict[str, sqlite3.Row] = {}
    for column, value in (("card", card), ("account", account)):
        if value is not None:
            for r in conn.execute(
                f"SELECT * FROM cases WHERE {column} = ? ORDER BY last_seen DESC LIMIT ?", (value, limit)
            ):
                rows[r["id"]] = r
    return sorted(rows.values(), key=lambda r: r["last_seen"], reverse=True)[:limit]


def awaiting(conn: sqlite3.Connection, *, before: float, limit: int = 1000) -> list[sqlite3.Row]:
    """Monitored cases with a challenge unanswered since before ``before`` (event time)."""
    return conn.execute(
        "SELECT * FROM cases WHERE awaiting_since IS NOT NULL AND awaiting_since <= ? AND status = 'monitoring'"
        " ORDER BY awaiting_since LIMIT ?",
        (before, limit),
    ).fetchall()


def list_cases(
    conn: sqlite3.Connection,
    *,
    statuses: Sequence[str],
    assignee: str | None = None,
    unassigned: bool = False,
    rule: str | None = None,
    entity: tuple[str, str] | None = None,
    trigger: str | None = None,
    priority: int | None = None,
    scenario: str | None = None,
    min_amount: int | None = None,
    queued_before: float | None = None,
    due_before: float | None = None,
    sort: str = "priority",
    limit: int = 50,
    offset: int = 0,
) -> list[sqlite3.Row]:
    where, params = _status_where(statuses)
    order = _PRIORITY_SORTS[sort]
    # SQLite's planner knows no value distribution: a filter that keeps few cases should lead
    # (its index, then a sort of those few); one that keeps many should not, so the sort's own
    # index is walked and stops after ``limit`` rows. A count stopped at _FEW tells which is which.
    queue = where == ["in_queue = 1"]
    narrow_rule = queue and rule is not None and _fewer(conn, "SELECT 1 FROM case_rules WHERE rule = ?", (rule,))
    narrow_amount = (
        queue
        and min_amount is not None
        and sort != "amount"
        and _fewer(conn, "SELECT 1 FROM cases WHERE in_queue = 1 AND amount_at_risk >= ?", (min_amount,))
    )
    if narrow_rule or narrow_amount:
        order = "+" + order  # (unary plus: an expression, which no index sorts)
    if narrow_rule:
        where = ["+in_queue = 1"]  # the rule's case ids lead, looked up by primary key
    if unassigned:
        where.append("assignee IS NULL")
    amount = "amount_at_risk >= ?" if narrow_amount or sort == "amount" or not queue else "+amount_at_risk >= ?"
    _filter(
        where,
        params,
        ("assignee = ?", assignee),
        ("id IN (SELECT case_id FROM case_rules WHERE rule = ?)", rule),
        ("id IN (SELECT case_id FROM case_entities WHERE type = ? AND value = ?)", entity),
        ("trigger = ?", trigger),
        ("priority = ?", priority),
        ("scenario = ?", scenario),
        (amount, min_amount),
        ("queued_at <= ?", queued_before),
        ("due_at < ?", due_before),
    )
    sql = f"SELECT * FROM cases WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ? OFFSET ?"
    return conn.execute(sql, (*params, limit, offset)).fetchall()


def _filter(where: list[str], params: list[Any], *terms: tuple[str, Any]) -> None:
    """Add each ``(condition, value)`` whose value is not None; a tuple value fills several
    placeholders."""
    for condition, value in terms:
        if value is not None:
            where.append(condition)
            params.extend(value if isinstance(value, tuple) else (value,))


_FEW = 2000  # rows: sorting this many takes a few milliseconds


def _fewer(conn: sqlite3.Connection, query: str, params: tuple) -> bool:
    """Whether ``query`` has fewer than ``_FEW`` rows (counted no further)."""
    return conn.execute(f"SELECT count(*) FROM ({query} LIMIT {_FEW}) AS few", params).fetchone()[0] < _FEW


def _status_where(statuses: Sequence[str]) -> tuple[list[str], list[Any]]:
    if set(statuses) == {"open", "in_review"}:
        return ["in_queue = 1"], []  # the leading column of the queue's indexes
    return [f"status IN ({', '.join('?' * len(statuses))})"], list(statuses)


def queue_counts(conn: sqlite3.Connection, *, statuses: Sequence[str], due_before: float) -> dict[str, Any]:
    """How many cases of these statuses per value of each filter of the queue: status,
    priority rank, trigger, assignee (None: unassigned), scenario, rule, and queued past due.
    Read from ``queue_tally`` (kept by triggers, migration actions-0005): a few dozen rows."""
    counts: dict[str, Any] = {facet: {} for facet in _FACETS}
    marks = ", ".join("?" * len(statuses))
    rows = conn.execute(
        "SELECT facet, value, CAST(sum(n) AS BIGINT) AS n FROM queue_tally"
        f" WHERE status IN ({marks}) GROUP BY facet, value",
        tuple(statuses),
    )
    for r in rows:
        if r["n"]:
            counts[r["facet"]][_FACETS[r["facet"]](r["value"])] = r["n"]
    counts["total"] = sum(counts["status"].values())
    where, params = _status_where(statuses)
    counts["overdue"] = conn.execute(
        f"SELECT count(*) AS n FROM cases WHERE {' AND '.join(where)} AND in_queue = 1 AND due_at < ?",
        (*params, due_before),
    ).fetchone()["n"]
    return counts


# facet of queue_tally -> its value as the cases table has it ('' stands for none)
_FACETS: dict[str, Any] = {
    "status": str,
    "priority": int,
    "trigger": lambda v: v or None,
    "assignee": lambda v: v or None,
    "scenario": lambda v: v or None,
    "rule": str,
}


def count_cases(conn: sqlite3.Connection, *, statuses: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        f"SELECT status, count(*) FROM cases WHERE status IN ({', '.join('?' * len(statuses))}) GROUP BY status",
        tuple(statuses),
    )
    return {r[0]: r[1] for r in rows}


# ------------------------------------------------------------------ events, entities, rules
def case_of_event(conn: sqlite3.Connection, event_id: str) -> str | None:
    row = conn.execute("SELECT case_id FROM case_events WHERE event_id = ?", (event_id,)).fetchone()
    return None if row is None else row[0]


def add_event(conn: sqlite3.Connection, case_id: str, row: dict[str, Any]) -> bool:
    """False if the event is in an episode already."""
    cur = conn.execute(
        "INSERT INTO case_events(event_id, case_id, ts, kind, role, outcome, score, amount, currency, seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            row["event_id"],
            case_id,
            row["ts"],
            row["kind"],
            row["role"],
            row.get("outcome"),
            row.get("score"),
            row.get("amount"),
            row.get("currency"),
            row.get("seq"),
        ),
    )
    return cur.rowcount == 1


def events_of(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM case_events WHERE case_id = ? ORDER BY ts, event_id", (case_id,)).fetchall()


def add_entities(conn: sqlite3.Connection, case_id: str, items: Iterable[tuple[str, str, bool, float]]) -> None:
    """``(type, value, attacker, ts)``; an entity once seen as the attacker's stays so."""
    conn.executemany(
        "INSERT INTO case_entities(type, value, case_id, attacker, first_seen) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(type, value, case_id) DO UPDATE SET"  # (CASE, not max/min: the same SQL on PostgreSQL)
        " attacker = CASE WHEN excluded.attacker > case_entities.attacker THEN excluded.attacker"
        " ELSE case_entities.attacker END,"
        " first_seen = CASE WHEN excluded.first_seen < case_entities.first_seen THEN excluded.first_seen"
        " ELSE case_entities.first_seen END",
        [(t, v, case_id, int(a), ts) for t, v, a, ts in items],
    )


def entities_of(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM case_entities WHERE case_id = ? ORDER BY first_seen, type, value", (case_id,)
    ).fetchall()


def cases_sharing(conn: sqlite3.Connection, case_id: str, *, limit: int = 50) -> list[sqlite3.Row]:
    """Other cases with one of this case's card, account or attacker device, IP or session:
    ``(case_id, type, value)`` rows."""
    return conn.execute(
        "SELECT DISTINCT other.case_id, other.type, other.value FROM case_entities AS mine"
        " JOIN case_entities AS other ON other.type = mine.type AND other.value = mine.value"
        " WHERE mine.case_id = ? AND other.case_id != ? AND (mine.attacker = 1 OR mine.type IN ('card', 'account'))"
        " LIMIT ?",
        (case_id, case_id, limit),
    ).fetchall()


def add_rules(conn: sqlite3.Connection, case_id: str, rules: Iterable[str]) -> None:
    conn.executemany(
        "INSERT INTO case_rules(rule, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [(r, case_id) for r in rules]
    )


def rules_of(conn: sqlite3.Connection, case_id: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT rule FROM case_rules WHERE case_id = ? ORDER BY rule", (case_id,))]


# ------------------------------------------------------------------ the case's own log
def add_log(conn: sqlite3.Connection, case_id: str, *, at: float, actor: str, type: str, data: dict) -> int:
    cur = conn.execute(
        "INSERT INTO case_log(case_id, at, actor, type, data) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (case_id, at, actor, type, json.dumps(data, separators=(",", ":"), default=str)),
    )
    return int(cur.fetchone()[0])


def log_of(conn: sqlite3.Connection, case_id: str) -> list[dict[str, Any]]:
    return [
        {"id": r["id"], "at": r["at"], "actor": r["actor"], "type": r["type"], "data": json.loads(r["data"])}
        for r in conn.execute("SELECT * FROM case_log WHERE case_id = ? ORDER BY id", (case_id,))
    ]


def messages_of(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    """The outbox messages (actions, notifications) sent for a case, with delivery status."""
    return conn.execute(
        "SELECT id, channel, destination, type, payload, created, status, attempts, last_error, delivered_at"
        " FROM outbox WHERE incident = ? ORDER BY created, id",
        (case_id,),
    ).fetchall()


# ------------------------------------------------------------------ disputes
def insert_dispute(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    cols = ", ".join(row)
    cur = conn.execute(
        f"INSERT INTO disputes({cols}) VALUES ({', '.join('?' * len(row))}) ON CONFLICT DO NOTHING", tuple(row.values())
    )
    return cur.rowcount == 1


def get_dispute(conn: sqlite3.Connection, dispute_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM disputes WHERE id = ?", (dispute_id,)).fetchone()


def update_dispute(conn: sqlite3.Connection, dispute_id: str, changes: dict[str, Any], *, version: int) -> bool:
    sets = ", ".join(f"{k} = ?" for k in changes)
    return (
        conn.execute(
            f"UPDATE disputes SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
            (*changes.values(), dispute_id, version),
        ).rowcount
        == 1
    )


def disputes_of_case(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM disputes WHERE case_id = ? ORDER BY opened, id", (case_id,)).fetchall()


def open_disputes_of_payment(conn: sqlite3.Connection, payment: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM disputes WHERE payment = ? AND outcome IS NULL", (payment,)).fetchall()


def disputes_due(conn: sqlite3.Connection, *, before: float, limit: int = 1000) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM disputes WHERE outcome IS NULL AND deadline < ? ORDER BY deadline LIMIT ?", (before, limit)
    ).fetchall()


def list_disputes(
    conn: sqlite3.Connection,
    *,
    open_only: bool | None = None,
    scheme: str | None = None,
    stage: str | None = None,
    outcome: str | None = None,
    case_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[sqlite3.Row]:
    where: list[str] = ["1"]
    params: list[Any] = []
    if open_only is True:
        where.append("outcome IS NULL")
    _filter(
        where, params, ("scheme = ?", scheme), ("stage = ?", stage), ("outcome = ?", outcome), ("case_id = ?", case_id)
    )
    sql = f"SELECT * FROM disputes WHERE {' AND '.join(where)} ORDER BY coalesce(deadline, 1e300), id LIMIT ? OFFSET ?"
    return conn.execute(sql, (*params, limit, offset)).fetchall()


def dispute_counts(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Open disputes per scheme and stage, and decided ones per outcome with their amounts."""
    return conn.execute(
        "SELECT scheme, coalesce(stage, outcome) AS state, outcome, currency, count(*) AS n, sum(amount) AS amount"
        " FROM disputes GROUP BY scheme, state, outcome, currency"
    ).fetchall()


def add_stage(conn: sqlite3.Connection, dispute_id: str, row: dict[str, Any]) -> None:
    n = conn.execute("SELECT coalesce(max(n), 0) + 1 FROM dispute_stages WHERE dispute_id = ?", (dispute_id,))
    conn.execute(
        "INSERT INTO dispute_stages(dispute_id, n, stage, party, started, deadline) VALUES (?, ?, ?, ?, ?, ?)",
        (dispute_id, n.fetchone()[0], row["stage"], row["party"], row["started"], row["deadline"]),
    )


def end_stage(conn: sqlite3.Connection, dispute_id: str, *, ended: float, move: str, actor: str) -> None:
    conn.execute(
        "UPDATE dispute_stages SET ended = ?, move = ?, actor = ? WHERE dispute_id = ? AND ended IS NULL",
        (ended, move, actor, dispute_id),
    )


def stages_of(conn: sqlite3.Connection, dispute_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM dispute_stages WHERE dispute_id = ? ORDER BY n", (dispute_id,)).fetchall()


def deadline_overrides(conn: sqlite3.Connection, acquirer: str) -> dict[str, dict[str, float]]:
    """``{scheme: {stage: seconds}}`` of one acquirer ({} if none)."""
    row = conn.execute("SELECT deadlines FROM dispute_deadlines WHERE acquirer = ?", (acquirer,)).fetchone()
    return {} if row is None else json.loads(row[0])


def all_deadline_overrides(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM dispute_deadlines ORDER BY acquirer").fetchall()


def set_deadline_overrides(conn: sqlite3.Connection, acquirer: str, deadlines: dict, *, now: float, by: str) -> None:
    conn.execute(
        "INSERT INTO dispute_deadlines(acquirer, deadlines, updated, updated_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(acquirer) DO UPDATE SET deadlines = excluded.deadlines, updated = excluded.updated,"
        " updated_by = excluded.updated_by",
        (acquirer, json.dumps(deadlines, sort_keys=True), now, by),
    )


def delete_deadline_overrides(conn: sqlite3.Connection, acquirer: str) -> bool:
    return conn.execute("DELETE FROM dispute_deadlines WHERE acquirer = ?", (acquirer,)).rowcount == 1


# ------------------------------------------------------------------ money
def add_money(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    cols = ", ".join(row)
    cur = conn.execute(
        f"INSERT INTO money({cols}) VALUES ({', '.join('?' * len(row))}) ON CONFLICT DO NOTHING", tuple(row.values())
    )
    return cur.rowcount == 1


def money_of_payment(conn: sqlite3.Connection, payment: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM money WHERE payment = ? ORDER BY at, id", (payment,)).fetchall()


def money_of_case(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM money WHERE case_id = ? ORDER BY at, id", (case_id,)).fetchall()


def requested_refund(conn: sqlite3.Connection, payment: str, kind: str, amount: int) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT * FROM money WHERE payment = ? AND kind = ? AND amount = ? AND status = 'requested'"
        " ORDER BY at LIMIT 1",
        (payment, kind, amount),
    ).fetchone()


def set_money_status(conn: sqlite3.Connection, money_id: str, status: str, source: str) -> None:
    conn.execute("UPDATE money SET status = ?, source = ? WHERE id = ?", (status, source, money_id))


# ------------------------------------------------------------------ attachments
def add_attachment(conn: sqlite3.Connection, row: dict[str, Any]) -> bool:
    cols = ", ".join(row)
    cur = conn.execute(
        f"INSERT INTO attachments({cols}) VALUES ({', '.join('?' * len(row))}) ON CONFLICT DO NOTHING",
        tuple(row.values()),
    )
    return cur.rowcount == 1


def attachments_of(conn: sqlite3.Connection, case_id: str) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM attachments WHERE case_id = ? ORDER BY at", (case_id,)).fetchall()


def attachment(conn: sqlite3.Connection, case_id: str, sha256: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM attachments WHERE case_id = ? AND sha256 = ?", (case_id, sha256)).fetchone()


def blob_in_use(conn: sqlite3.Connection, sha256: str) -> bool:
    return conn.execute("SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1", (sha256,)).fetchone() is not None


def alerts_for_events(conn: sqlite3.Connection, event_ids: list[str]) -> list[sqlite3.Row]:
    """The risk alerts (actions domain) raised about these events."""
    if not event_ids:
        return []
    return conn.execute(
        "SELECT id, event_id, outcome, rules, created, answered_at, answer FROM alerts"
        " WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY created",
        (json.dumps(event_ids),),
    ).fetchall()


def queue_figures(conn: sqlite3.Connection, *, now: float) -> dict[str, Any]:
    counts = count_cases(conn, statuses=("open", "in_review"))
    oldest = conn.execute("SELECT min(queued_at) FROM cases WHERE in_queue = 1 AND queued_at IS NOT NULL").fetchone()[0]
    breaches = conn.execute("SELECT count(*) FROM cases WHERE in_queue = 1 AND due_at < ?", (now,)).fetchone()[0]
    return {
        "open": counts.get("open", 0),
        "in_review": counts.get("in_review", 0),
        "oldest": oldest,
        "breaches": breaches,
    }


def breached_disputes(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM disputes WHERE breached = 1").fetchone()[0]


# ------------------------------------------------------------------ retention
_KEEP_CASES = (
    "SELECT id FROM cases WHERE status != 'closed' UNION SELECT case_id FROM disputes"
    " WHERE outcome IS NULL OR (deadline IS NOT NULL AND deadline >= :now)"
)
_CASE_TABLES = ("case_events", "case_entities", "case_rules", "case_log", "money", "attachments")


def purge(
    conn: sqlite3.Connection,
    *,
    cases_before: float,
    outbox_before: float,
    alerts_before: float,
    now: float,
    dry_run: bool,
) -> dict[str, int]:
    params = {"cases_before": cases_before, "outbox_before": outbox_before, "alerts_before": alerts_before, "now": now}
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS purge_cases(id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM purge_cases")
    conn.execute(
        f"INSERT INTO purge_cases SELECT id FROM cases WHERE status = 'closed' AND closed_at < :cases_before"
        f" AND id NOT IN ({_KEEP_CASES})",
        params,
    )
    kept = "SELECT id FROM cases WHERE id NOT IN (SELECT id FROM purge_cases)"
    outbox_where = (
        "status IN ('delivered', 'dead') AND created < :outbox_before"
        f" AND (incident IS NULL OR incident NOT IN ({kept}))"
    )
    alerts_where = (
        "created < :alerts_before AND (answered_at IS NOT NULL OR expires < :now)"
        " AND event_id NOT IN (SELECT event_id FROM case_events WHERE case_id IN"
        " (SELECT id FROM cases WHERE status != 'closed'))"
    )
    counts = {
        "cases": conn.execute("SELECT count(*) FROM purge_cases").fetchone()[0],
        "outbox": conn.execute(f"SELECT count(*) FROM outbox WHERE {outbox_where}", params).fetchone()[0],
        "alerts": conn.execute(f"SELECT count(*) FROM alerts WHERE {alerts_where}", params).fetchone()[0],
    }
    if not dry_run:
        conn.execute(f"DELETE FROM outbox WHERE {outbox_where}", params)
        conn.execute(f"DELETE FROM alerts WHERE {alerts_where}", params)
        for table in _CASE_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE case_id IN (SELECT id FROM purge_cases)")
        conn.execute(
            "DELETE FROM dispute_stages WHERE dispute_id IN"
            " (SELECT id FROM disputes WHERE case_id IN (SELECT id FROM purge_cases))"
        )
        conn.execute("DELETE FROM disputes WHERE case_id IN (SELECT id FROM purge_cases)")
        conn.execute("DELETE FROM cases WHERE id IN (SELECT id FROM purge_cases)")
    conn.execute("DELETE FROM purge_cases")
    return counts
