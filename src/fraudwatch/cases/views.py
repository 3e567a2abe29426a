"""HTTP routes of the cases domain: ``/v1/cases`` (the review queue and the work on a case).

Thin: the work is in ``fraudwatch.cases.service``. Keys need the ``analyst`` scope
(``admin`` implies it). The analyst is the key's name. Every change is written, with the
state before and after, in the case's own log and in the service's audit log.

The tables live in the actions database; the routes find it through the service's
responder (``fraudwatch.actions.views.responder_for``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.api.auth import Analyst, Principal
from fraudwatch.cases import service
from fraudwatch.cases.case import Case, CaseStatus, Priority, Trigger
from fraudwatch.cases.episodes import get_episode
from fraudwatch.cases.store import SORTS
from fraudwatch.errors import ValidationFailed
from fraudwatch.storage import AuditRecord

router = APIRouter(prefix="/v1/cases", tags=["cases"])

CaseId = Annotated[str, Path(min_length=1, max_length=64, description="case id or the FW-XXXX-XXXX reference")]


class Workbench:
    """What a request needs: the cases database and the settings, and a unit of work that
    also writes the audit log."""

    def __init__(self, request: Request):
        from fraudwatch.actions.views import responder_for

        responder = responder_for(request.app)
        self.db = responder.db
        self.flow = responder.cases
        self.settings = responder.cases.settings
        self.storage = getattr(request.app.state, "storage", None)

    def read(self):
        return self.db.connection()

    @contextmanager
    def change(
        self, who: Principal, action: str, case_id: str, before: Any
    ) -> Iterator[tuple[Any, Callable[[Any], None]]]:
        """A unit of work on the cases: ``(connection, done)``; ``done(after)`` records the
        audit line, committed with it (if the audit cannot be written, the change rolls back)."""
        audit: list[Any] = []
        with self.db.unit_of_work() as conn:
            yield conn, audit.append
            if self.storage is not None:
                with self.storage.unit():
                    self.storage.add_audit(
                        AuditRecord(time.time(), who.name, f"cases.{action}", f"cases/{case_id}", before, audit[-1])
                    )


def workbench(request: Request) -> Workbench:
    return Workbench(request)


Bench = Annotated[Workbench, Depends(workbench)]


def _load(bench: Workbench, case_id: str) -> Case:
    """Load or 404, by id or reference."""
    return service.find_case(bench.read(), case_id)


def case_view(case: Case) -> dict[str, Any]:
    return case.to_dict()


# ------------------------------------------------------------------ queue
@router.get("", summary="The review queue, or any cases by status, with filters and sorting")
def list_cases(
    bench: Bench,
    who: Analyst,
    status: Annotated[list[CaseStatus] | None, Query(description="default: open and in_review")] = None,
    assignee: Annotated[str | None, Query(max_length=128, description="'me': the caller")] = None,
    unassigned: bool = False,
    rule: Annotated[str | None, Query(max_length=128)] = None,
    trigger: Trigger | None = None,
    priority: Priority | None = None,
    scenario: Annotated[str | None, Query(max_length=64)] = None,
    card: Annotated[str | None, Query(max_length=128)] = None,
    account: Annotated[str | None, Query(max_length=128)] = None,
    device: Annotated[str | None, Query(max_length=128)] = None,
    ip: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[Literal[SORTS], Query(description="priority (then due date), due, age, amount, score, recent")] = (  # type: ignore[valid-type]
        "priority"
    ),
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    entities = [(t, v) for t, v in (("card", card), ("account", account), ("device", device), ("ip", ip)) if v]
    if len(entities) > 1:
        raise ValidationFailed(
            "one entity at a time", [{"loc": "query", "msg": "give one of card, account, device, ip"}]
        )
    cases = service.list_cases(
        bench.read(),
        status=status,
        assignee=who.name if assignee == "me" else assignee,
        unassigned=unassigned,
        rule=rule,
        entity=entities[0] if entities else None,
        trigger=trigger,
        priority=priority,
        scenario=scenario,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return {
        "cases": [case_view(c) for c in cases],
        "next_offset": offset + limit if len(cases) == limit else None,
    }


@router.get("/{case_id}", summary="A case with its episode (attacker devices, IPs, sessions) and its log")
def get_case(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    case = _load(bench, case_id)
    conn = bench.read()
    return {
        **case_view(case),
        "episode": get_episode(conn, case.id).to_dict(),
        "history": service.history(conn, case.id),
    }


# ------------------------------------------------------------------ work on a case
class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    analyst: str = Field(..., min_length=1, max_length=128, description="who takes the case (an API key's name)")


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CaseStatus
    note: str = Field("", max_length=4000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=1, max_length=20_000)


def _work(bench: Workbench, who: Principal, action: str, case_id: str, apply) -> dict[str, Any]:
    before = _load(bench, case_id)
    with bench.change(who, action, before.id, case_view(before)) as (conn, done):
        after = apply(conn, before.id, time.time())
        done(after if isinstance(after, dict) else case_view(after))
    return after if isinstance(after, dict) else case_view(after)


@router.post(
    "/{case_id}/claim",
    summary="Take an open case; of concurrent claims exactly one wins, the others get 409",
    responses={409: {"description": "claimed by someone else, or not open"}},
)
async def claim(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        _work, bench, who, "claim", case_id, lambda c, i, now: service.claim(c, i, analyst=who.name, now=now)
    )


@router.post("/{case_id}/release", summary="Give a claimed case back to the queue (its owner only)")
async def release(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        _work, bench, who, "release", case_id, lambda c, i, now: service.release(c, i, analyst=who.name, now=now)
    )


@router.post("/{case_id}/assign", summary="Hand a case to an analyst")
async def assign(case_id: CaseId, body: AssignIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        _work,
        bench,
        who,
        "assign",
        case_id,
        lambda c, i, now: service.assign(c, i, analyst=body.analyst, by=who.name, now=now),
    )


@router.post("/{case_id}/status", summary="Move a case (the allowed moves are a table: docs/cases.md)")
async def move(case_id: CaseId, body: StatusIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        _work,
        bench,
        who,
        "status",
        case_id,
        lambda c, i, now: service.transition(c, i, body.status, actor=who.name, now=now, note=body.note),
    )


@router.post("/{case_id}/notes", status_code=201, summary="Add an analyst's note to the case file")
async def add_note(case_id: CaseId, body: NoteIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        _work,
        bench,
        who,
        "note",
        case_id,
        lambda c, i, now: service.add_note(c, i, author=who.name, text=body.text, now=now),
    )
