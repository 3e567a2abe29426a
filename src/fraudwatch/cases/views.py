"""HTTP routes of the cases domain: ``/v1/cases`` (the review queue, the case file and the
work on a case) and the cardholder's status page ``/v1/case-status/{token}``.

Thin: the work is in the services. Keys need the ``analyst`` scope (``admin`` implies
it); the analyst is the key's name. Every change is written, with the state before and
after, in the case's own log and in the service's audit log. Disputes are in
``fraudwatch.cases.dispute_views``, attachments in ``fraudwatch.cases.attachments``.

The tables live in the actions database; the routes find it through the service's
responder (``fraudwatch.actions.views.responder_for``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.actions import parse_duration
from fraudwatch.api import Analyst, Principal
from fraudwatch.cases import casefile, evidence, money, service, store, verdicts, victim
from fraudwatch.cases.case import Case, CaseStatus, FraudType, Priority, Role, Trigger, Verdict
from fraudwatch.cases.episodes import get_episode, open_or_join
from fraudwatch.cases.schemas import CaseDetail, CaseFile, CaseList, CaseOut, QueueCounts, VerdictOut
from fraudwatch.cases.store import SORTS
from fraudwatch.errors import FraudwatchError, NotFound, ValidationFailed
from fraudwatch.storage import AuditRecord

log = logging.getLogger(__name__)
router = APIRouter()
cases = APIRouter(prefix="/v1/cases", tags=["cases"])
public = APIRouter(tags=["cases"])

CaseId = Annotated[str, Path(min_length=1, max_length=64, description="case id or the FW-XXXX-XXXX reference")]
_local = threading.local()


class Workbench:
    """What a request needs: the cases database, the case flow (settings, outlet), a read
    handle of the event log, and a unit of work that also writes the audit log."""

    def __init__(self, request: Request):
        from fraudwatch.actions import responder_for

        self.app = request.app
        responder = responder_for(request.app)
        self.db = responder.db
        self.flow = responder.cases
        self.settings = responder.cases.settings
        self.storage = getattr(request.app.state, "storage", None)

    def read(self):
        return self.db.connection()

    @property
    def log(self):
        """This thread's read handle of the event log (None without a decision service)."""
        if self.storage is None:
            return None
        handles = getattr(_local, "handles", None)
        if handles is None:
            handles = _local.handles = {}
        handle = handles.get(id(self.storage))
        if handle is None:
            handle = handles[id(self.storage)] = self.storage.connect(durable=False)
        return handle.events

    def lookup(self, event_id: str) -> dict[str, Any] | None:
        import orjson

        entry = self.log.get(event_id) if self.log is not None else None
        return None if entry is None else {**orjson.loads(entry.event), "ts": entry.ts}

    @contextmanager
    def change(
        self, who: Principal, action: str, target: str, before: Any
    ) -> Iterator[tuple[Any, Callable[[Any], None]]]:
        """A unit of work on the cases: ``(connection, done)``; ``done(after)`` records the
        audit line, committed with it (if the audit cannot be written, the change rolls back)."""
        audit: list[Any] = []
        with self.db.unit_of_work() as conn:
            yield conn, audit.append
            if self.storage is not None:
                with self.storage.unit() as uow:
                    uow.audit.add(
                        AuditRecord(
                            time.time(), who.actor, f"cases.{action}", target, before, audit[-1] if audit else None
                        )
                    )


def workbench(request: Request) -> Workbench:
    return Workbench(request)


Bench = Annotated[Workbench, Depends(workbench)]


def load(bench: Workbench, case_id: str) -> Case:
    """Load or 404, by id or reference."""
    return service.find_case(bench.read(), case_id)


def case_view(case: Case) -> dict[str, Any]:
    return case.to_dict()


def work(bench: Workbench, who: Principal, action: str, case_id: str, apply) -> dict[str, Any]:
    """Apply ``apply(conn, case_id, now)`` in a unit of work with its audit line; returns the
    case (or what ``apply`` returned, if a dict)."""
    before = load(bench, case_id)
    with bench.change(who, action, f"cases/{before.id}", case_view(before)) as (conn, done):
        after = apply(conn, before.id, time.time())
        view = after if isinstance(after, dict) else case_view(after)
        done(view)
    return view


# ------------------------------------------------------------------ queue
@cases.get("/stats", summary="Queue depth, oldest case, SLA breaches, disputes by stage, won and lost amounts")
def stats(bench: Bench, who: Analyst) -> dict[str, Any]:
    from fraudwatch.cases.metrics import queue_stats

    return queue_stats(bench.read(), now=time.time())


@cases.get(
    "/counts",
    response_model=QueueCounts,
    summary="How many cases per status, priority, trigger, assignee, scenario and rule (the queue's filters)",
)
def counts(
    bench: Bench,
    who: Analyst,
    status: Annotated[list[CaseStatus] | None, Query(description="default: open and in_review")] = None,
) -> dict[str, Any]:
    return service.queue_counts(bench.read(), status=status, now=time.time())


@cases.get("", response_model=CaseList, summary="The review queue, or any cases by status, with filters and sorting")
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
    min_amount: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="amount at risk, minor units")] = None,
    min_age: Annotated[
        str | None, Query(max_length=32, description="queued at least this long ago: 90s, 15m, 4h, 2d")
    ] = None,
    overdue: Annotated[bool, Query(description="only cases past their due date")] = False,
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
    age = None
    if min_age is not None:
        try:
            age = parse_duration(min_age)
        except ValueError as e:
            raise ValidationFailed(f"min_age: {e}", [{"loc": "min_age", "msg": str(e)}]) from None
    found = service.list_cases(
        bench.read(),
        status=status,
        assignee=who.name if assignee == "me" else assignee,
        unassigned=unassigned,
        rule=rule,
        entity=entities[0] if entities else None,
        trigger=trigger,
        priority=priority,
        scenario=scenario,
        min_amount=min_amount,
        min_age=age,
        overdue=overdue,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return {"cases": [case_view(c) for c in found], "next_offset": offset + limit if len(found) == limit else None}


class OpenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    card: str | None = Field(None, min_length=1, max_length=128)
    account: str | None = Field(None, min_length=1, max_length=128)
    note: str = Field("", max_length=4000)


@cases.post(
    "",
    status_code=201,
    response_model=CaseOut,
    summary="Open a case by hand for a card or an account (trigger: analyst)",
)
def open_case(body: OpenIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    if not (body.card or body.account):
        raise ValidationFailed("card or account", [{"loc": "body", "msg": "give a card, an account or both"}])
    now = time.time()
    event_id = f"manual-{who.name}-{now:.6f}"
    with bench.change(who, "open", f"cases/{event_id}", None) as (conn, done):
        episode = open_or_join(
            conn,
            event_id=event_id,
            ts=now,
            kind="case.opened",
            card=body.card,
            account=body.account,
            role=Role.TRIGGER,
            window=bench.settings.episode_window,
            now=now,
        )
        case = service.queue(
            conn, episode.id, trigger=Trigger.ANALYST, settings=bench.settings, now=now, actor=who.name, event=event_id
        )
        if body.note:
            service.add_note(conn, case.id, author=who.name, text=body.note, now=now)
        done(case_view(case))
    return case_view(case)


@cases.get(
    "/{case_id}",
    response_model=CaseDetail,
    summary="A case with its episode (attacker devices, IPs, sessions) and its log",
)
def get_case(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    case = load(bench, case_id)
    conn = bench.read()
    return {
        **case_view(case),
        "episode": get_episode(conn, case.id).to_dict(),
        "history": service.history(conn, case.id),
    }


@cases.get(
    "/{case_id}/file",
    response_model=CaseFile,
    summary="The case file: one timeline with decisions, alerts, actions, notes, disputes",
)
def get_file(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    case = load(bench, case_id)
    return casefile.case_file(bench.read(), case.id, log=bench.log, context_before=bench.settings.context_before)


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


class VerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Verdict
    fraud_type: FraudType | None = Field(None, description="required with fraud")
    note: str = Field("", max_length=4000)


class PoliceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(..., min_length=1, max_length=64, description="the police report's reference number")
    authority: str = Field(..., min_length=1, max_length=128, description="the police station or authority")


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payment: str = Field(..., min_length=1, max_length=128, description="id of the payment.attempt event")
    amount: int = Field(..., gt=0, le=2**53, description="minor units; less than the payment for a partial refund")
    currency: str = Field(..., pattern=r"^[A-Z]{3}$")
    kind: Literal["refund", "reversal"] = "refund"
    note: str = Field("", max_length=4000)


@cases.post(
    "/{case_id}/claim",
    response_model=CaseOut,
    summary="Take an open case; of concurrent claims exactly one wins, the others get 409",
    responses={409: {"description": "claimed by someone else, or not open"}},
)
async def claim(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        work, bench, who, "claim", case_id, lambda c, i, now: service.claim(c, i, analyst=who.name, now=now)
    )


@cases.post(
    "/{case_id}/release", response_model=CaseOut, summary="Give a claimed case back to the queue (its owner only)"
)
async def release(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        work, bench, who, "release", case_id, lambda c, i, now: service.release(c, i, analyst=who.name, now=now)
    )


@cases.post("/{case_id}/assign", response_model=CaseOut, summary="Hand a case to an analyst")
async def assign(case_id: CaseId, body: AssignIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        work,
        bench,
        who,
        "assign",
        case_id,
        lambda c, i, now: service.assign(c, i, analyst=body.analyst, by=who.name, now=now),
    )


@cases.post(
    "/{case_id}/status", response_model=CaseOut, summary="Move a case (the allowed moves are a table: docs/cases.md)"
)
async def move(case_id: CaseId, body: StatusIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    def apply(c, i, now):
        case = service.transition(c, i, body.status, actor=who.name, now=now, note=body.note)
        bench.flow.status_changed(c, i, now=now, origin=f"status:{case.version}")
        return case

    return await run_in_threadpool(work, bench, who, "status", case_id, apply)


@cases.post("/{case_id}/notes", status_code=201, summary="Add an analyst's note to the case file")
async def add_note(case_id: CaseId, body: NoteIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        work,
        bench,
        who,
        "note",
        case_id,
        lambda c, i, now: service.add_note(c, i, author=who.name, text=body.text, now=now),
    )


@cases.put(
    "/{case_id}/police-report",
    response_model=CaseOut,
    summary="The police report's reference number and the reporting authority",
)
async def police_report(case_id: CaseId, body: PoliceIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    return await run_in_threadpool(
        work,
        bench,
        who,
        "police_report",
        case_id,
        lambda c, i, now: service.set_police_report(
            c, i, reference=body.reference, authority=body.authority, actor=who.name, now=now
        ),
    )


@cases.post(
    "/{case_id}/verdict",
    response_model=VerdictOut,
    summary="Fraud (with its type) or genuine; written back as label events through the engine",
    responses={409: {"description": "a verdict was given already"}, 503: {"description": "labels not logged"}},
)
async def verdict(case_id: CaseId, body: VerdictIn, request: Request, bench: Bench, who: Analyst) -> dict[str, Any]:
    case = await run_in_threadpool(load, bench, case_id)
    verdicts.check_verdict(case, verdict=body.verdict, fraud_type=body.fraud_type, actor=who.name)
    now = time.time()
    labels = await run_in_threadpool(verdicts.labels_for, bench.read(), case, verdict=body.verdict, now=now)
    await submit_events(request.app, labels)  # first: a verdict is never recorded without its labels

    def apply(c, i, at):
        after, releases = verdicts.give_verdict(
            c,
            i,
            verdict=body.verdict,
            fraud_type=body.fraud_type,
            actor=who.name,
            now=at,
            note=body.note,
            labels=labels,
        )
        outlet = bench.flow.outlet
        for r in releases if outlet is not None else ():
            data = {"event": r["event"], "card": after.card, "account": after.account}
            outlet.send_action(c, action=r["action"], data=data, case_id=i, origin=f"verdict:{i}:{r['event']}", now=at)
        bench.flow.status_changed(c, i, now=at, origin=f"verdict:{body.verdict.value}")
        return {**case_view(after), "labels": [lb.id for lb in labels], "releases": releases}

    return await run_in_threadpool(work, bench, who, "verdict", case.id, apply)


@cases.post(
    "/{case_id}/refunds",
    status_code=201,
    summary="Ask the merchant to refund or reverse (part of) a payment of the case",
    responses={409: {"description": "the payment is disputed: it would pay twice"}, 422: {"description": "amount"}},
)
async def refund(case_id: CaseId, body: RefundIn, bench: Bench, who: Analyst) -> dict[str, Any]:
    def apply(c, i, now):
        if store.case_of_event(c, body.payment) != i:
            raise ValidationFailed(
                "payment: not a payment of this case", [{"loc": "payment", "msg": f"{body.payment} is not in case {i}"}]
            )
        payment = bench.lookup(body.payment) or {}
        if payment.get("kind", "payment.attempt") != "payment.attempt" or "amount" not in payment:
            raise ValidationFailed(
                "payment: not a logged payment", [{"loc": "payment", "msg": "not a payment.attempt"}]
            )
        row = money.request(
            c,
            case_id=i,
            payment={**payment, "id": body.payment},
            amount=body.amount,
            currency=body.currency,
            kind=body.kind,
            at=now,
            actor=who.name,
            now=now,
            note=body.note,
        )
        if bench.flow.outlet is not None:
            action = "refund_payment" if body.kind == "refund" else "reverse_payment"
            data = {"payment": body.payment, "amount": body.amount, "currency": body.currency, "reason": "case"}
            bench.flow.outlet.send_action(c, action=action, data=data, case_id=i, origin=row["id"], now=now)
        bench.flow.status_changed(c, i, now=now, origin=row["id"])
        return row

    return await run_in_threadpool(work, bench, who, body.kind, case_id, apply)


@cases.get("/{case_id}/evidence", summary="Evidence pack of a disputed payment (JSON or printable HTML), CE 3.0")
def get_evidence(
    case_id: CaseId,
    bench: Bench,
    who: Analyst,
    payment: Annotated[str | None, Query(max_length=128, description="default: the first dispute's payment")] = None,
    format: Literal["json", "html"] = "json",
):
    case = load(bench, case_id)
    pack = evidence.evidence_pack(bench.read(), log=bench.log, case_id=case.id, payment=payment)
    if format == "html":
        return HTMLResponse(evidence.to_html(pack))
    return pack


@cases.post("/{case_id}/status-link", summary="A signed link to the cardholder's status page (for the support desk)")
def status_link(case_id: CaseId, bench: Bench, who: Analyst) -> dict[str, Any]:
    case = load(bench, case_id)
    outlet = bench.flow.outlet
    link = outlet.status_link(case.id, now=time.time()) if outlet is not None else None
    return {"reference": case.reference, "link": link}


# ------------------------------------------------------------------ the cardholder's page (public)
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@public.get("/v1/case-status/{token}", response_model=None, summary="The cardholder's case status page (signed link)")
def case_status(token: Annotated[str, Path(max_length=2048)], request: Request, bench: Bench):
    from fraudwatch.actions import responder_for

    key = responder_for(request.app)._key
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        case_id = victim.read_status_token(key, token)
        view = victim.status_view(bench.read(), case_id, victim.language_of(request.headers.get("accept-language")))
    except FraudwatchError as exc:
        if wants_json:
            return JSONResponse({"errors": [{"loc": "token", "msg": str(exc)}]}, exc.status_code, headers=PRIVATE)
        return HTMLResponse(f"<!doctype html><p>{exc}</p>", exc.status_code, headers=PRIVATE)
    if wants_json:
        return JSONResponse(view, headers=PRIVATE)
    return HTMLResponse(victim.status_page(view), headers=PRIVATE)


# ------------------------------------------------------------------ labels through the engine
async def submit_events(app, events) -> None:
    """Log ``events`` through the decision service (idempotent by id); raises 503 if they
    could not be logged. Without a decision service (a bare router in tests), nothing."""
    svc = getattr(app.state, "service", None)
    if svc is None or not hasattr(svc, "submit"):
        return
    for event in events:
        try:
            _, decision = svc.submit(event)
            if not isinstance(decision, bytes):
                await decision
        except FraudwatchError:
            raise
        except Exception as exc:
            log.exception("could not log %s %s", event.kind, event.id)
            raise ServiceUnavailable(f"the label {event.id} could not be logged; nothing was changed") from exc


class ServiceUnavailable(FraudwatchError):
    status_code = 503


def parse_time(value: datetime | None, default: float) -> float:
    if value is None:
        return default
    if value.tzinfo is None:
        raise ValidationFailed("at: needs a timezone", [{"loc": "at", "msg": "give a timezone, e.g. ...+09:00 or Z"}])
    return value.timestamp()


router.include_router(cases)
router.include_router(public)


def install(app) -> None:
    """The queue and dispute figures on the service's ``/metrics``."""
    from fraudwatch.cases.metrics import QueueCollector

    metrics = getattr(app.state, "metrics", None)
    if metrics is None:
        return

    def connection():
        from fraudwatch.actions import responder_for

        return responder_for(app).db.connection()

    metrics.registry.register(QueueCollector(connection, time.time))


__all__ = ["router", "install", "Workbench", "work", "load", "submit_events", "parse_time", "NotFound"]
