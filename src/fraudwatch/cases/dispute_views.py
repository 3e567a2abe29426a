"""HTTP routes of disputes: ``/v1/disputes`` (each dispute's stage, deadline and moves) and
the deadline overrides per acquirer or PSP (``/v1/disputes/deadlines``, admin scope: they
are configuration). A chargeback event opens a dispute; moves are made here."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.api import Admin, Analyst
from fraudwatch.cases import disputes, store
from fraudwatch.cases.schemas import DisputeList, DisputeOut
from fraudwatch.cases.views import Bench, parse_time
from fraudwatch.errors import NotFound, ValidationFailed

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])
DisputeId = Annotated[str, Path(min_length=1, max_length=64)]
Acquirer = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    move: str = Field(..., min_length=1, max_length=64, description="one of the current stage's moves")
    at: datetime | None = Field(None, description="the date the move was made (default: now)")
    note: str = Field("", max_length=4000)


class DeadlinesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadlines: dict[str, dict[str, Any]] = Field(
        ..., description="{scheme: {stage: duration}}, e.g. {'visa': {'dispute': '7d'}}"
    )


@router.get("/deadlines", summary="Deadline overrides per acquirer or PSP, and the schemes' defaults")
def get_deadlines(bench: Bench, who: Analyst) -> dict[str, Any]:
    rules = disputes.lifecycles()
    defaults = {
        scheme: {f.name: {s.name: s.deadline for s in f.stages} for f in r.flows} for scheme, r in rules.schemes.items()
    }
    overrides = {
        r["acquirer"]: {"deadlines": json.loads(r["deadlines"]), "updated": r["updated"], "by": r["updated_by"]}
        for r in store.all_deadline_overrides(bench.read())
    }
    return {"defaults": defaults, "acquirers": overrides}


@router.put("/deadlines/{acquirer}", summary="Set an acquirer's or PSP's deadline overrides (seconds or 7d, 48h)")
def put_deadlines(acquirer: Acquirer, body: DeadlinesIn, bench: Bench, who: Admin) -> dict[str, Any]:
    checked = disputes.check_overrides({acquirer: body.deadlines}).get(acquirer)  # 422 naming the field
    if not checked:
        raise ValidationFailed("deadlines: empty", [{"loc": "deadlines", "msg": "give at least one scheme and stage"}])
    before = store.deadline_overrides(bench.read(), acquirer) or None
    with bench.change(who, "deadlines", f"disputes/deadlines/{acquirer}", before) as (conn, done):
        store.set_deadline_overrides(conn, acquirer, checked, now=time.time(), by=who.name)
        done(checked)
    return {"acquirer": acquirer, "deadlines": checked}


@router.delete("/deadlines/{acquirer}", status_code=204, summary="Back to the schemes' defaults for an acquirer")
def delete_deadlines(acquirer: Acquirer, bench: Bench, who: Admin) -> None:
    before = store.deadline_overrides(bench.read(), acquirer)
    if not before:
        raise NotFound(f"no deadline overrides for {acquirer!r}")
    with bench.change(who, "deadlines", f"disputes/deadlines/{acquirer}", before) as (conn, done):
        store.delete_deadline_overrides(conn, acquirer)
        done(None)


@router.get("", response_model=DisputeList, summary="Disputes, open ones first by deadline")
def list_disputes(
    bench: Bench,
    who: Analyst,
    state: Literal["open", "decided", "all"] = "open",
    scheme: Annotated[str | None, Query(max_length=16)] = None,
    stage: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Literal["won", "lost"] | None = None,
    case: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    rows = disputes.list_disputes(
        bench.read(),
        open_only=True if state == "open" else None,
        scheme=scheme,
        stage=stage,
        outcome=outcome if state != "open" else None,
        case_id=case,
        limit=limit,
        offset=offset,
    )
    if state == "decided":
        rows = [d for d in rows if d.outcome is not None]
    return {"disputes": [d.to_dict() for d in rows], "next_offset": offset + limit if len(rows) == limit else None}


@router.get(
    "/{dispute_id}", response_model=DisputeOut, summary="A dispute with its stages, deadlines and the moves allowed now"
)
def get_dispute(dispute_id: DisputeId, bench: Bench, who: Analyst) -> dict[str, Any]:
    return disputes.get_dispute(bench.read(), dispute_id).to_dict()


@router.post(
    "/{dispute_id}/moves",
    response_model=DisputeOut,
    summary="Make a move of the current stage (accept, pre_arbitration, second_presentment, ...)",
    responses={409: {"description": "not a move of this stage, decided, or past the deadline"}},
)
async def make_move(dispute_id: DisputeId, body: MoveIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    def apply() -> dict[str, Any]:
        before = disputes.get_dispute(bench.read(), dispute_id)
        now = time.time()
        at = parse_time(body.at, now)
        with bench.change(who, "dispute", f"disputes/{dispute_id}", before.to_dict()) as (conn, done):
            after = disputes.move(conn, dispute_id, body.move, at=at, actor=who.name, now=now, note=body.note)
            bench.flow.status_changed(conn, after.case_id, now=now, origin=f"{dispute_id}:{body.move}")
            done(after.to_dict())
        return after.to_dict()

    return await run_in_threadpool(apply)
