"""Rules in the console: the live rules with their hits and shadow hits over the last day
and week; the editor (errors shown in place, as ``fraudwatch rules check`` prints them);
backtests of a draft over a chosen period; "save as shadow" or "activate" with a required
comment (kept in the audit log); rollback. Reading is for everyone signed in; every form
here is for admins."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from fraudwatch.api import RULES, Principal, activate, create_version, parse_rules, previous_version
from fraudwatch.console.drafts import shadow_text
from fraudwatch.console.i18n import zone
from fraudwatch.console.session import Session
from fraudwatch.console.store import DAY
from fraudwatch.console.web import AdminViewer, Viewer, check_csrf, console, redirect, render
from fraudwatch.errors import NotFound, ValidationFailed

router = APIRouter()
MAX_TEXT = 1_000_000
MAX_COMMENT = 2000


def principal(session: Session) -> Principal:
    """The signed-in admin as the API's services know callers (the audit log's actor)."""
    return Principal(session.key_id, session.name, frozenset({"admin", "analyst", "read"}))


def rule_errors(text: str) -> list[dict]:
    """The draft's problems as ``rules check`` reports them (line, column, message, hint,
    the source line and a caret), or ``[]`` when it parses."""
    from fraudwatch.rules import RuleSyntaxError

    try:
        parse_rules(text, "draft")
    except RuleSyntaxError as exc:
        return [
            {
                "line": e.line,
                "column": e.column,
                "message": e.message,
                "hint": e.hint,
                "source_line": e.source_line,
                "length": e.length,
                "text": e.format(),
            }
            for e in exc.errors
        ]
    except ValidationFailed as exc:
        return [{"line": 1, "column": 1, "message": str(exc), "hint": None, "source_line": "", "length": 1}]
    return []


def _hits(conn, latest: float | None) -> dict[tuple[str, int], tuple[int, int]]:
    """``{(rule, shadow): (hits last day, hits last week)}``, up to the latest event seen."""
    if latest is None:
        return {}
    rows = conn.execute(
        "SELECT rule, shadow, sum(CASE WHEN t >= ? THEN n ELSE 0 END), sum(n) FROM rule_hits_hour"
        " WHERE t >= ? GROUP BY rule, shadow",
        (latest - DAY, latest - 7 * DAY),
    ).fetchall()
    return {(r, s): (day or 0, week or 0) for r, s, day, week in rows}


@router.get("/rules")
def rules_page(request: Request, session: Viewer):
    state = request.app.state
    storage = state.storage
    active = storage.definitions.active_version(RULES)
    definition = storage.definitions.get(RULES, active) if active else None
    ruleset = parse_rules(definition.text, active) if definition else None
    db = console(request).db
    latest = db.position()[2]
    hits = _hits(db.connection(), latest)
    rows = [
        {
            "rule": r,
            "hits": hits.get((r.name, 0), (0, 0)),
            "shadow_hits": hits.get((r.name, 1), (0, 0)),
        }
        for r in (ruleset.rules if ruleset else ())
    ]
    return render(
        request,
        "rules.html",
        active=active,
        rows=rows,
        versions=list(reversed(storage.definitions.versions(RULES)))[:20],
        activations=list(reversed(storage.definitions.activations(RULES)))[:20],
        backtests=console(request).backtests.recent(),
        latest=latest,
    )


@router.get("/rules/versions/{version}")
def version_page(request: Request, version: Annotated[str, Path(max_length=64)], session: Viewer):
    d = request.app.state.storage.definitions.get(RULES, version)
    if d is None:
        raise NotFound(f"no rules version {version!r}")
    return render(
        request, "rule_version.html", definition=d, active=request.app.state.storage.definitions.active_version(RULES)
    )


def _period_defaults(request: Request, session: Session) -> tuple[str, str]:
    """The editor's backtest period: the last 7 days of logged events, as the user's dates."""
    latest = console(request).db.position()[2] or time.time()
    from fraudwatch.console.web import Page

    tz = zone(Page(request, session).timezone)
    end = datetime.fromtimestamp(latest, tz)
    start = datetime.fromtimestamp(latest - 7 * DAY, tz)
    return start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")


def _editor(request: Request, session: Session, text: str, errors: list[dict], status: int = 200, **extra):
    since, until = _period_defaults(request, session)
    return render(
        request,
        "rule_edit.html",
        status=status,
        text=text,
        errors=errors,
        base=request.app.state.storage.definitions.active_version(RULES),
        since=extra.pop("since", since),
        until=extra.pop("until", until),
        message=extra.pop("message", None),
        **extra,
    )


@router.get("/rules/edit")
def edit_page(
    request: Request,
    session: AdminViewer,
    source: Annotated[str | None, Query(alias="from", max_length=64)] = None,
):
    storage = request.app.state.storage
    text = None
    if source and source.startswith("bt_"):
        job = console(request).backtests.get(source)
        if job and job["subject"] == RULES:
            text = job["draft"]
    elif source:
        d = storage.definitions.get(RULES, source)
        text = d.text if d else None
    if text is None:
        d = storage.definitions.get(RULES, storage.definitions.active_version(RULES))
        text = d.text if d else ""
    return _editor(request, session, text, [])


def _text(form) -> str:
    text = form.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValidationFailed("text: expected the rule file's text", [{"loc": "text", "msg": "missing or too long"}])
    return text.replace("\r\n", "\n")


@router.post("/rules/check")
async def check_rules(request: Request, session: AdminViewer):
    form = await check_csrf(request, session)
    text = _text(form)
    errors = rule_errors(text)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"valid": not errors, "errors": errors})
    return _editor(request, session, text, errors, status=422 if errors else 200, message=None if errors else "valid")


def parse_local(value: str, timezone: str) -> float:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        problem = [{"loc": "period", "msg": "expected a date"}]
        raise ValidationFailed(f"not a date and time: {value!r}", problem) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(timezone))
    return when.timestamp()


def period(request: Request, session: Session, form) -> tuple[float, float]:
    from fraudwatch.console.web import Page

    tz = Page(request, session).timezone
    since = parse_local(str(form.get("since") or ""), tz)
    until = parse_local(str(form.get("until") or ""), tz)
    if until <= since:
        raise ValidationFailed("the period ends before it starts", [{"loc": "until", "msg": "after since"}])
    return since, until


@router.post("/rules/backtest")
async def start_backtest(request: Request, session: AdminViewer):
    form = await check_csrf(request, session)
    text = _text(form)
    errors = rule_errors(text)
    if errors:
        return _editor(request, session, text, errors, status=422)
    try:
        since, until = period(request, session, form)
    except ValidationFailed as exc:
        return _editor(request, session, text, [], status=422, message=str(exc))
    job = console(request).backtests.submit(
        created_by=session.name,
        subject=RULES,
        draft=text,
        base_version=request.app.state.storage.definitions.active_version(RULES),
        since=since,
        until=until,
    )
    return redirect(f"/console/backtests/{job}")


@router.get("/backtests/{job_id}.json")
def backtest_progress(request: Request, job_id: Annotated[str, Path(max_length=64)], session: Viewer):
    job = console(request).backtests.get(job_id)
    if job is None:
        raise NotFound(f"no backtest {job_id!r}")
    return JSONResponse({"state": job["state"], "progress": job["progress"]}, headers={"Cache-Control": "no-store"})


@router.get("/backtests/{job_id}")
def backtest_page(request: Request, job_id: Annotated[str, Path(max_length=64)], session: Viewer):
    job = console(request).backtests.get(job_id)
    if job is None:
        raise NotFound(f"no backtest {job_id!r}")
    return render(request, "backtest.html", job=job, result=job["result"] if job["state"] == "done" else None)


def _comment(form) -> str:
    comment = " ".join(str(form.get("comment") or "").split())
    if not comment:
        raise ValidationFailed("a comment is required", [{"loc": "comment", "msg": "say why, for the audit log"}])
    return comment[:MAX_COMMENT]


@router.post("/rules/save")
async def save_rules(request: Request, session: AdminViewer):
    form = await check_csrf(request, session)
    text = _text(form)
    mode = form.get("mode")
    if mode not in ("shadow", "activate"):
        raise ValidationFailed("mode: expected shadow or activate")
    errors = rule_errors(text)
    if errors:
        return _editor(request, session, text, errors, status=422)
    try:
        comment = _comment(form)
        storage = request.app.state.storage
        if mode == "shadow":
            live = storage.definitions.get(RULES, storage.definitions.active_version(RULES))
            text = shadow_text(live.text if live else "", text, note=comment)
        result = await create_version(request, RULES, text, None, principal(session), True, comment=comment)
    except ValidationFailed as exc:
        return _editor(request, session, _text(form), [], status=422, message=str(exc))
    return redirect(f"/console/rules?saved={result['version']}")


@router.post("/rules/rollback")
async def rollback_rules(request: Request, session: AdminViewer):
    form = await check_csrf(request, session)
    comment = _comment(form)
    storage = request.app.state.storage
    await activate(request, RULES, previous_version(storage, RULES), principal(session), f"{RULES}.rollback", comment)
    return redirect("/console/rules")
