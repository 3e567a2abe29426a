"""Case services: the review queue and the work on a case. Plain functions over a
connection inside the caller's unit of work; they never commit.

Every change writes a line in the case's own log (who, when, what), which the case file
shows; the API and the CLI also write the service's audit log.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from fraudwatch.cases import store
from fraudwatch.cases.case import (
    QUEUED,
    Case,
    CaseStatus,
    IllegalTransition,
    Priority,
    Trigger,
    check_move,
    refused,
)
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.errors import Conflict, NotFound

SYSTEM = "fraudwatch"  # the actor of automatic changes


def get_case(conn: sqlite3.Connection, case_id: str) -> Case:
    """Raises ``NotFound`` (404)."""
    row = store.get_case(conn, case_id)
    if row is None:
        raise refused(NotFound, f"no case {case_id!r}", "case_id")
    return _case(row, store.rules_of(conn, case_id))


def find_case(conn: sqlite3.Connection, id_or_reference: str) -> Case:
    """A case by its id or by the reference the cardholder quotes (``FW-XXXX-XXXX``)."""
    row = store.get_case(conn, id_or_reference) or store.case_by_reference(conn, id_or_reference.upper())
    if row is None:
        raise refused(NotFound, f"no case {id_or_reference!r}", "case_id")
    return _case(row, store.rules_of(conn, row["id"]))


def list_cases(
    conn: sqlite3.Connection,
    *,
    status: list[CaseStatus] | None = None,
    assignee: str | None = None,
    unassigned: bool = False,
    rule: str | None = None,
    entity: tuple[str, str] | None = None,
    trigger: Trigger | None = None,
    priority: Priority | None = None,
    scenario: str | None = None,
    min_amount: int | None = None,
    min_age: float | None = None,
    overdue: bool = False,
    now: float | None = None,
    sort: str = "priority",
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """A page of cases; by default the review queue (open and in review), most urgent
    first. ``sort``: priority (then due date), due, age, amount, score, recent.
    ``min_amount``: at least this amount at risk; ``min_age``: queued at least this many
    seconds before ``now``; ``overdue``: past its due date at ``now`` (wall time)."""
    statuses = _statuses(status)
    if now is None:
        now = time.time()
    rows = store.list_cases(
        conn,
        statuses=statuses,
        assignee=assignee,
        unassigned=unassigned,
        rule=rule,
        entity=entity,
        trigger=None if trigger is None else Trigger(trigger).value,
        priority=None if priority is None else Priority(priority).rank,
        scenario=scenario,
        min_amount=min_amount,
        queued_before=None if min_age is None else now - min_age,
        due_before=now if overdue else None,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return [_case(r) for r in rows]


def queue_counts(conn: sqlite3.Connection, *, status: list[CaseStatus] | None = None, now: float) -> dict[str, Any]:
    """How many cases (by default of the queue) there are per value of each filter, for
    the counts beside the queue's filters: ``total``, ``status``, ``priority``,
    ``trigger``, ``assignee`` (and ``unassigned``), ``scenario``, ``rule``, ``overdue``
    (past the due date at ``now``)."""
    raw = store.queue_counts(conn, statuses=_statuses(status), due_before=now)
    assignees = raw["assignee"]
    return {
        "total": raw["total"],
        "status": raw["status"],
        "priority": {Priority.of_rank(rank).value: n for rank, n in sorted(raw["priority"].items(), reverse=True)},
        "trigger": {k: n for k, n in raw["trigger"].items() if k is not None},
        "assignee": {k: n for k, n in sorted(assignees.items(), key=lambda kv: -kv[1]) if k is not None},
        "unassigned": assignees.get(None, 0),
        "scenario": {k: n for k, n in raw["scenario"].items() if k is not None},
        "rule": dict(sorted(raw["rule"].items(), key=lambda kv: -kv[1])),
        "overdue": raw["overdue"],
    }


def _statuses(status: list[CaseStatus] | None) -> list[str]:
    return [CaseStatus(s).value for s in (status or sorted(QUEUED, key=lambda s: s.value))]


def queue(
    conn: sqlite3.Connection,
    case_id: str,
    *,
    trigger: Trigger,
    settings: CasesSettings,
    now: float,
    actor: str = SYSTEM,
    event: str | None = None,
) -> Case:
    """Put a case in the review queue because of ``trigger`` (idempotent). A monitored case
    opens; a closed one reopens; a case already in the queue or recovering keeps its
    status and owner, and a more urgent trigger raises its priority and brings its due
    date forward."""
    case = get_case(conn, case_id)
    trigger = Trigger(trigger)
    priority = settings.priority_for(trigger, amount_at_risk=case.amount_at_risk, score=case.max_score)
    if case.status in (CaseStatus.MONITORING, CaseStatus.CLOSED):
        due = now + settings.sla_for(priority)
        changes: dict[str, Any] = {
            "status": CaseStatus.OPEN.value,
            "trigger": trigger.value,
            "priority": priority.rank,
            "queued_at": now,
            "due_at": due,
            "updated": now,
            "closed_at": None,
            "awaiting_since": None,
        }
        if case.status is CaseStatus.CLOSED:
            changes.update(assignee=None, claimed_at=None)
        store.update_case(conn, case_id, changes)
        _status_log(conn, case, CaseStatus.OPEN, actor=actor, now=now, trigger=trigger.value, event=event)
    elif priority.rank > case.priority.rank:
        due = min(case.due_at or float("inf"), (case.queued_at or now) + settings.sla_for(priority))
        store.update_case(conn, case_id, {"priority": priority.rank, "due_at": due, "updated": now})
        store.add_log(
            conn,
            case_id,
            at=now,
            actor=actor,
            type="priority",
            data={"from": case.priority.value, "to": priority.value, "trigger": trigger.value, "event": event},
        )
    else:
        store.add_log(
            conn, case_id, at=now, actor=actor, type="trigger", data={"trigger": trigger.value, "event": event}
        )
    return get_case(conn, case_id)


def claim(conn: sqlite3.Connection, case_id: str, *, analyst: str, now: float) -> Case:
    """Take an open case. Of two analysts claiming the same case, exactly one wins; the other
    gets ``Conflict`` (409) naming the owner. Claiming a case one holds already is a no-op."""
    moved = conn.execute(
        "UPDATE cases SET status = ?, assignee = ?, claimed_at = ?, updated = ?, version = version + 1"
        " WHERE id = ? AND status = ?",
        (CaseStatus.IN_REVIEW.value, analyst, now, now, case_id, CaseStatus.OPEN.value),
    ).rowcount
    if moved == 0:
        case = get_case(conn, case_id)
        if case.status is CaseStatus.IN_REVIEW and case.assignee == analyst:
            return case
        if case.status is CaseStatus.IN_REVIEW:
            raise refused(Conflict, f"case {case_id} is claimed by {case.assignee}", "case_id")
        raise refused(IllegalTransition, f"a {case.status.value} case cannot be claimed; only an open one", "case_id")
    store.add_log(
        conn, case_id, at=now, actor=analyst, type="status", data={"from": "open", "to": "in_review", "claim": True}
    )
    return get_case(conn, case_id)


def assign(conn: sqlite3.Connection, case_id: str, *, analyst: str, by: str, now: float) -> Case:
    """Hand a queued case to ``analyst`` (a lead's move: it may take it from another)."""
    case = get_case(conn, case_id)
    if case.status not in QUEUED and case.status is not CaseStatus.RECOVERING:
        raise refused(IllegalTransition, f"a {case.status.value} case cannot be assigned; reopen it first", "case_id")
    changes: dict[str, Any] = {"assignee": analyst, "claimed_at": now, "updated": now}
    if case.status is CaseStatus.OPEN:
        changes["status"] = CaseStatus.IN_REVIEW.value
    if not store.update_case(conn, case_id, changes, version=case.version):
        raise Conflict(f"case {case_id} changed meanwhile; try again")
    store.add_log(conn, case_id, at=now, actor=by, type="assign", data={"from": case.assignee, "to": analyst})
    return get_case(conn, case_id)


def release(conn: sqlite3.Connection, case_id: str, *, analyst: str, now: float, force: bool = False) -> Case:
    """Give a claimed case back to the queue; only its owner may, unless ``force``."""
    case = get_case(conn, case_id)
    if case.status is not CaseStatus.IN_REVIEW:
        raise refused(IllegalTransition, f"a {case.status.value} case is not claimed; nothing to release", "case_id")
    if case.assignee != analyst and not force:
        raise refused(Conflict, f"case {case_id} is claimed by {case.assignee}, not {analyst}", "case_id")
    store.update_case(
        conn,
        case_id,
        {"status": CaseStatus.OPEN.value, "assignee": None, "claimed_at": None, "updated": now},
        version=case.version,
    )
    _status_log(conn, case, CaseStatus.OPEN, actor=analyst, now=now, release=True)
    return get_case(conn, case_id)


def transition(
    conn: sqlite3.Connection, case_id: str, target: CaseStatus, *, actor: str, now: float, note: str = ""
) -> Case:
    """Move a case to ``target``; ``IllegalTransition`` (409) if the table forbids it."""
    case = get_case(conn, case_id)
    target = CaseStatus(target)
    check_move(case.status, target)
    changes: dict[str, Any] = {"status": target.value, "updated": now}
    if target is CaseStatus.CLOSED:
        changes["closed_at"] = now
    if target is CaseStatus.OPEN:
        changes.update(assignee=None, claimed_at=None, closed_at=None)
        if case.queued_at is None:
            changes["queued_at"] = now
    if target is CaseStatus.IN_REVIEW and case.assignee is None:
        changes.update(assignee=actor, claimed_at=now)
    if not store.update_case(conn, case_id, changes, version=case.version):
        raise Conflict(f"case {case_id} changed meanwhile; try again")
    _status_log(conn, case, target, actor=actor, now=now, note=note or None)
    return get_case(conn, case_id)


def add_note(conn: sqlite3.Connection, case_id: str, *, author: str, text: str, now: float) -> dict[str, Any]:
    get_case(conn, case_id)
    note_id = store.add_log(conn, case_id, at=now, actor=author, type="note", data={"text": text})
    store.update_case(conn, case_id, {"updated": now})
    return {"id": note_id, "at": now, "actor": author, "type": "note", "data": {"text": text}}


def set_police_report(
    conn: sqlite3.Connection, case_id: str, *, reference: str, authority: str, actor: str, now: float
) -> Case:
    """The police report's reference number and the authority it was made to."""
    case = get_case(conn, case_id)
    store.update_case(
        conn,
        case_id,
        {"police_reference": reference, "police_authority": authority, "updated": now},
        version=case.version,
    )
    store.add_log(
        conn,
        case_id,
        at=now,
        actor=actor,
        type="police_report",
        data={"reference": reference, "authority": authority, "before": case.police_reference},
    )
    return get_case(conn, case_id)


def mark_contained(conn: sqlite3.Connection, case_id: str, *, now: float) -> None:
    """Every containment action of the case reached its receiver (called by the dispatcher)."""
    row = store.get_case(conn, case_id)
    if row is not None and row["contained_at"] is None:
        store.update_case(conn, case_id, {"contained_at": now, "updated": now})
        store.add_log(conn, case_id, at=now, actor=SYSTEM, type="contained", data={})


def history(conn: sqlite3.Connection, case_id: str) -> list[dict[str, Any]]:
    """The case's own log: status changes, assignments, notes, verdicts, with who and when."""
    get_case(conn, case_id)
    return store.log_of(conn, case_id)


def _status_log(conn, case: Case, target: CaseStatus, *, actor: str, now: float, **data: Any) -> None:
    entry = {"from": case.status.value, "to": target.value, **{k: v for k, v in data.items() if v is not None}}
    store.add_log(conn, case.id, at=now, actor=actor, type="status", data=entry)


def _case(row: sqlite3.Row, rules: list[str] | None = None) -> Case:
    return Case(
        id=row["id"],
        reference=row["reference"],
        status=CaseStatus(row["status"]),
        card=row["card"],
        account=row["account"],
        started=row["started"],
        last_seen=row["last_seen"],
        worst_outcome=row["worst_outcome"],
        max_score=row["max_score"],
        escalation=row["escalation"],
        amount_at_risk=row["amount_at_risk"],
        currency=row["currency"],
        trigger=row["trigger"],
        priority=Priority.of_rank(row["priority"]),
        queued_at=row["queued_at"],
        due_at=row["due_at"],
        assignee=row["assignee"],
        claimed_at=row["claimed_at"],
        verdict=row["verdict"],
        fraud_type=row["fraud_type"],
        verdict_by=row["verdict_by"],
        verdict_at=row["verdict_at"],
        contained_at=row["contained_at"],
        scenario=row["scenario"],
        police_reference=row["police_reference"],
        police_authority=row["police_authority"],
        created=row["created"],
        updated=row["updated"],
        closed_at=row["closed_at"],
        version=row["version"],
        rules=tuple(rules or ()),
    )
