"""The review queue and the case file, on the cases domain's own work
(``fraudwatch.cases.CaseWork``: the code of the ``/v1/cases`` and ``/v1/disputes`` routes,
with their checks, case log and audit lines under the signed-in analyst's name).

Analysts and admins work cases: claim, release, assign, status moves, notes, verdicts,
attachments, the police report, dispute moves, the evidence pack. The queue refreshes
without a reload (``/console/queue.json``, polled by ``console.js``) and is worked from the
keyboard (j/k to move, Enter to open, c to claim).
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from fraudwatch.api import Principal
from fraudwatch.cases import TRANSITIONS, CaseStatus, CaseWork, FraudType, Priority, Trigger
from fraudwatch.console.session import Session
from fraudwatch.console.web import Page, Viewer, check_csrf, environment, redirect, render, svg
from fraudwatch.errors import FraudwatchError, ValidationFailed

router = APIRouter()
CaseId = Annotated[str, Path(min_length=1, max_length=64)]
DisputeId = Annotated[str, Path(min_length=1, max_length=64)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PAGE = 50
STATUSES = [s.value for s in CaseStatus]
PRIORITIES = [p.value for p in Priority]
TRIGGERS = [t.value for t in Trigger]
FRAUD_TYPES = [t.value for t in FraudType]
SORTS = ("priority", "due", "age", "amount", "score", "recent")
# a case file's attachment, with its multipart overhead; cases.attachment_max_bytes is
# checked by the cases domain (413 naming it)
ATTACHMENT_FORM_LIMIT = 64 * 2**20


def analyst(session: Session) -> Principal:
    """The signed-in person as the cases domain knows callers: the key's name and its role's scopes."""
    scopes = {"analyst", "read"} | ({"admin"} if session.is_admin else set())
    return Principal(session.key_id, session.name, frozenset(scopes))


def _work(request: Request, session: Session) -> CaseWork:
    return CaseWork(request, analyst(session))


# ------------------------------------------------------------------ the queue
def _filters(request: Request) -> dict[str, Any]:
    """The queue's filters from the query string; a value that does not fit is ignored."""
    q = request.query_params
    f: dict[str, Any] = {
        "status": [s for s in q.getlist("status") if s in STATUSES],
        "priority": q.get("priority") if q.get("priority") in PRIORITIES else None,
        "trigger": q.get("trigger") if q.get("trigger") in TRIGGERS else None,
        "rule": (q.get("rule") or "").strip()[:128] or None,
        "scenario": (q.get("scenario") or "").strip()[:64] or None,
        "assignee": (q.get("assignee") or "").strip()[:128] or None,
        "overdue": q.get("overdue") == "1",
        "sort": q.get("sort") if q.get("sort") in SORTS else "priority",
    }
    for name, bound in (("min_amount", 2**53), ("min_age_hours", 10**5)):
        raw = (q.get(name) or "").strip()
        f[name] = int(raw) if raw.isdigit() and 0 <= int(raw) <= bound else None
    return f


def _queue(work: CaseWork, f: dict[str, Any]) -> list[dict[str, Any]]:
    assignee = f["assignee"]
    return work.queue(
        status=f["status"] or None,
        assignee=None if assignee in (None, "none") else assignee,
        unassigned=assignee == "none",
        rule=f["rule"],
        trigger=f["trigger"],
        priority=f["priority"],
        scenario=f["scenario"],
        min_amount=f["min_amount"],
        min_age=f"{f['min_age_hours']}h" if f["min_age_hours"] else None,
        overdue=f["overdue"],
        sort=f["sort"],
        limit=PAGE,
    )["cases"]


def _queue_data(request: Request, session: Session) -> dict[str, Any]:
    work = _work(request, session)
    f = _filters(request)
    counts = work.counts(status=f["status"] or None)
    query = request.url.query
    back = "/console/queue" + (f"?{query}" if query else "")  # where a row's form returns to
    return {"cases": _queue(work, f), "counts": counts, "f": f, "now": time.time(), "back": back}


@router.get("/queue")
def queue_page(request: Request, session: Viewer):
    return render(
        request,
        "queue.html",
        **_queue_data(request, session),
        sorts=SORTS,
        statuses=STATUSES,
        priorities=PRIORITIES,
        triggers=TRIGGERS,
        active_nav="queue",
    )


@router.get("/queue.json")
def queue_json(request: Request, session: Viewer):
    """The queue's rows (rendered as on the page) and counts, for the refresh without reload."""
    started = request.state.console_started
    data = _queue_data(request, session)
    page = Page(request, session)
    rows = environment().get_template("_queue_rows.html").render(page=page, t=page.t, session=session, **data)
    counts = data["counts"]
    return JSONResponse(
        {
            "version": hashlib.sha256(rows.encode()).hexdigest()[:16],
            "rows": rows,
            "summary": page.t("queue_counts", total=counts["total"], overdue=counts["overdue"]),
            "counts": {
                **{f"status:{k}": v for k, v in counts["status"].items()},
                **{f"priority:{p}": counts["priority"].get(p, 0) for p in PRIORITIES},
                **{f"trigger:{t}": counts["trigger"].get(t, 0) for t in TRIGGERS},
                **{f"rule:{k}": v for k, v in counts["rule"].items()},
                **{f"scenario:{k}": v for k, v in counts["scenario"].items()},
                f"assignee:{session.name}": 0,
                **{f"assignee:{k}": v for k, v in counts["assignee"].items()},
                "assignee:none": counts["unassigned"],
                "overdue": counts["overdue"],
            },
        },
        headers={"Cache-Control": "no-store", "Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.1f}"},
    )


# ------------------------------------------------------------------ the case file
@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: CaseId, session: Viewer):
    work = _work(request, session)
    file = work.case_file(case_id)
    case = file["case"]
    status = CaseStatus(case["status"])
    now = time.time()
    stages: dict[str, list[dict[str, Any]]] = {}
    for entry in file["timeline"]:
        if entry["type"] == "dispute":
            stages.setdefault(entry["dispute"], []).append(entry)
    return render(
        request,
        "case.html",
        file=file,
        case=case,
        episode=file["episode"],
        timeline=file["timeline"],
        moves=sorted(s.value for s in TRANSITIONS[status]),
        fraud_types=FRAUD_TYPES,
        stages=stages,
        now=now,
        clock=max((e["at"] for e in file["timeline"] if e["type"] in ("event", "context")), default=now),
        active_nav="queue",
    )


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _act(request: Request, session: Session, case_id: str, apply) -> Response:
    """Check the form's CSRF token, run ``apply(work, form)``, then go back to the case (or
    to the form's ``next``, inside the console); a fetch from the queue gets JSON."""
    form = await check_csrf(request, session)
    try:
        result = await apply(_work(request, session), form)
    except FraudwatchError as exc:
        if _wants_json(request):
            errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
            return JSONResponse({"errors": errors}, status_code=exc.status_code)
        raise
    if _wants_json(request):
        return JSONResponse({"ok": True, "case": result.get("id") if isinstance(result, dict) else None})
    back = str(form.get("next") or "")
    if back.startswith("/console/") and not back.startswith("//"):
        return redirect(back)
    return redirect(f"/console/cases/{case_id}")


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post("/cases/{case_id}/claim")
async def claim(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.claim(case_id)

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/release")
async def release(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.release(case_id)

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/assign")
async def assign(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.assign(case_id, analyst=_text(form, "analyst"))

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/status")
async def move(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.move(case_id, status=_text(form, "status"), note=_text(form, "note"))

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/notes")
async def note(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.note(case_id, text=_text(form, "text"))

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/verdict")
async def verdict(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.verdict(
            case_id,
            verdict=_text(form, "verdict"),
            fraud_type=_text(form, "fraud_type") or None,
            note=_text(form, "note"),
        )

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/police-report")
async def police_report(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        return await work.police_report(case_id, reference=_text(form, "reference"), authority=_text(form, "authority"))

    return await _act(request, session, case_id, apply)


@router.post("/cases/{case_id}/attachments", max_body_size=ATTACHMENT_FORM_LIMIT)
async def attach(request: Request, case_id: CaseId, session: Viewer):
    async def apply(work, form):
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed("file: choose a file", [{"loc": "file", "msg": "required"}])
        data = await upload.read()
        content_type = upload.content_type or "application/octet-stream"
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
        from fastapi.concurrency import run_in_threadpool

        return await run_in_threadpool(work.attach, case_id, name=name, content_type=content_type, data=data)

    return await _act(request, session, case_id, apply)


@router.get("/cases/{case_id}/attachments/{sha256}")
def attachment(request: Request, case_id: CaseId, sha256: Sha256, session: Viewer):
    response = _work(request, session).attachment(case_id, sha256)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/cases/{case_id}/evidence")
def evidence(
    request: Request,
    case_id: CaseId,
    session: Viewer,
    payment: Annotated[str | None, Query(max_length=128)] = None,
    format: Annotated[str, Query(pattern="^(html|json)$")] = "html",
):
    """The evidence pack of a disputed payment, as the cases domain builds it: the printable
    page (print it to PDF from the browser) or its JSON, as a download."""
    pack = _work(request, session).evidence(case_id, payment=payment, format=format)
    if format == "html":
        pack.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        pack.headers["Cache-Control"] = "no-store"
        return pack
    name = f"evidence-{case_id}{'-' + payment if payment else ''}.json".replace('"', "_")
    return JSONResponse(
        pack, headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    )


@router.post("/disputes/{dispute_id}/moves")
async def dispute_move(request: Request, dispute_id: DisputeId, session: Viewer):
    form = await check_csrf(request, session)
    page = Page(request, session)
    at = None
    if _text(form, "at"):
        from fraudwatch.console.rule_views import parse_local

        at = datetime.fromtimestamp(parse_local(_text(form, "at"), page.timezone), UTC)
    work = _work(request, session)
    after = await work.dispute_move(dispute_id, move=_text(form, "move"), at=at, note=_text(form, "note"))
    return redirect(f"/console/cases/{after['case_id']}")


# ------------------------------------------------------------------ the dashboards' queue plot
def queue_plots(request: Request, session: Session, t) -> dict[str, Any]:
    """Queue depth by priority, within and past the SLA, and the figures beside it."""
    from fraudwatch.console import plots

    work = _work(request, session)
    counts = work.counts()
    overdue = {p: 0 for p in PRIORITIES}
    for c in work.queue(overdue=True, sort="due", limit=500)["cases"]:  # the SLA breaches, by priority
        overdue[c["priority"]] += 1
    within = {p: max(0, counts["priority"].get(p, 0) - overdue[p]) for p in PRIORITIES}
    picture = plots.bars(
        [t(f"priority_{p}") for p in PRIORITIES],
        {"within": [within[p] for p in PRIORITIES], "overdue": [overdue[p] for p in PRIORITIES]},
        title=t("plot_queue"),
        unit=t("cases"),
        names={"within": t("within_sla"), "overdue": t("past_sla")},
        classes={"within": "o-allow-good", "overdue": "o-block"},
        empty_text=t("queue_empty"),
    )
    return {"queue": svg(picture), "queue_stats": work.stats()}
