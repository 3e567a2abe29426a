"""Analyst verdicts: fraud (with a type) or genuine, written back as ``label`` events.

The labels go through the engine like any event (the API submits them to the decision
service before the verdict is committed), so features with delays, training and the
backtest learn from them, and the case timeline shows them. One label per flagged or
disputed event of the episode, with an id derived from the case and the event, so a
retry sends the same labels.

A genuine verdict on a stopped payment releases it like the cardholder's "yes":
``release_payment`` for a held or blocked payment, ``lift_challenge`` for a challenged one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

from fraudwatch.cases import store
from fraudwatch.cases.case import Case, CaseStatus, FraudType, Role, Verdict, refused
from fraudwatch.cases.service import get_case
from fraudwatch.errors import Conflict, ValidationFailed
from fraudwatch.events.kinds import Label

RELEASES = {"review": "release_payment", "block": "release_payment", "challenge": "lift_challenge"}


def check_verdict(case: Case, *, verdict: Verdict, fraud_type: FraudType | None, actor: str) -> None:
    if case.verdict is not None:
        raise refused(Conflict, f"case {case.id} has a verdict already: {case.verdict} by {case.verdict_by}", "verdict")
    if case.status is CaseStatus.CLOSED:
        raise refused(Conflict, f"case {case.id} is closed; reopen it (status open) before a verdict", "status")
    if case.status is CaseStatus.IN_REVIEW and case.assignee not in (None, actor):
        raise refused(Conflict, f"case {case.id} is claimed by {case.assignee}", "case_id")
    if verdict is Verdict.FRAUD and fraud_type is None:
        raise ValidationFailed(
            "fraud_type: a fraud verdict needs its type",
            [{"loc": "fraud_type", "msg": f"required with fraud; one of {', '.join(t.value for t in FraudType)}"}],
        )
    if verdict is Verdict.GENUINE and fraud_type is not None:
        raise ValidationFailed(
            "fraud_type: a genuine verdict has no fraud type", [{"loc": "fraud_type", "msg": "only with fraud"}]
        )


def labels_for(conn: sqlite3.Connection, case: Case, *, verdict: Verdict, now: float) -> list[Label]:
    """The label events a verdict writes: one per flagged or disputed event of the episode."""
    when = datetime.fromtimestamp(now, UTC)
    out = []
    for r in store.events_of(conn, case.id):
        if r["role"] not in (Role.FLAGGED.value, Role.DISPUTED.value):
            continue
        label_id = "label-" + hashlib.sha256(f"{case.id}\x1f{r['event_id']}".encode()).hexdigest()[:24]
        out.append(
            Label(
                id=label_id,
                time=when,
                kind="label",
                target=r["event_id"],
                fraud=verdict is Verdict.FRAUD,
                source="analyst",
                card=case.card,
                account=case.account,
            )
        )
    return out


def give_verdict(
    conn: sqlite3.Connection,
    case_id: str,
    *,
    verdict: Verdict,
    fraud_type: FraudType | None,
    actor: str,
    now: float,
    note: str = "",
    labels: list[Label] = (),  # type: ignore[assignment]
) -> tuple[Case, list[dict[str, Any]]]:
    """Record the verdict and move the case: genuine closes it; fraud closes it too unless
    money is at risk or a dispute is open (then ``recovering``). Returns the case and the
    releases a genuine verdict asks for (``{"action", "event"}``)."""
    case = get_case(conn, case_id)
    verdict = Verdict(verdict)
    fraud_type = None if fraud_type is None else FraudType(fraud_type)
    check_verdict(case, verdict=verdict, fraud_type=fraud_type, actor=actor)
    open_disputes = [d for d in store.disputes_of_case(conn, case.id) if d["outcome"] is None]
    recovering = verdict is Verdict.FRAUD and (case.amount_at_risk > 0 or open_disputes)
    target = CaseStatus.RECOVERING if recovering else CaseStatus.CLOSED
    changes: dict[str, Any] = {
        "verdict": verdict.value,
        "fraud_type": None if fraud_type is None else fraud_type.value,
        "verdict_by": actor,
        "verdict_at": now,
        "status": target.value,
        "awaiting_since": None,
        "updated": now,
    }
    if target is CaseStatus.CLOSED:
        changes["closed_at"] = now
    if case.assignee is None:
        changes.update(assignee=actor, claimed_at=now)
    if not store.update_case(conn, case.id, changes, version=case.version):
        raise Conflict(f"case {case.id} changed meanwhile; try again")
    data: dict[str, Any] = {"verdict": verdict.value, "labels": [lb.id for lb in labels]}
    if fraud_type is not None:
        data["fraud_type"] = fraud_type.value
    if note:
        data["note"] = note
    store.add_log(conn, case.id, at=now, actor=actor, type="verdict", data=data)
    store.add_log(
        conn, case.id, at=now, actor=actor, type="status", data={"from": case.status.value, "to": target.value}
    )
    releases = []
    if verdict is Verdict.GENUINE:
        for r in store.events_of(conn, case.id):
            action = RELEASES.get(r["outcome"] or "")
            if r["role"] == Role.FLAGGED.value and action and r["kind"] == "payment.attempt":
                releases.append({"action": action, "event": r["event_id"]})
    return get_case(conn, case.id), releases
