"""The console's routes under ``/console``: sign-in and sign-out, preferences, search, one
event with its decision, the static files; the other pages come from their own modules
(entity, rules, dashboards, cases), included here.

Page handlers are plain functions (run in worker threads, so a page never holds up the
event loop that decides events); form handlers check the CSRF token first.
"""

from __future__ import annotations

import re
from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from fraudwatch.console import i18n
from fraudwatch.console.session import COOKIE, COOKIE_PATH, SIGNIN_COOKIE, csrf_matches, new_csrf_token
from fraudwatch.console.web import (
    Viewer,
    check_csrf,
    console,
    has_queue,
    install_error_pages,
    redirect,
    render,
    static_response,
)
from fraudwatch.errors import Forbidden, FraudwatchError, NotFound

router = APIRouter(prefix="/console", include_in_schema=False)

ENTITY_TYPES = ("card", "account", "device", "ip")


def install(app) -> None:
    """Called by ``create_app`` after the routers: HTML error pages under /console."""
    install_error_pages(app)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a path inside the console (never another site: no open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


# ------------------------------------------------------------------ sign-in
@router.get("/signin")
def signin_page(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None):
    token = request.cookies.get(SIGNIN_COOKIE) or new_csrf_token()
    response = render(request, "signin.html", csrf=token, next=_safe_next(next), error=None)
    response.set_cookie(
        SIGNIN_COOKIE, token, max_age=3600, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.post("/signin")
def signin(
    request: Request,
    key: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=256)] = "",
    tz: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
):
    expected = request.cookies.get(SIGNIN_COOKIE)
    if not csrf_matches(expected, csrf):
        raise Forbidden("the form's security token is missing or wrong: reload the page and try again")
    try:
        token, session = console(request).sessions.sign_in(key, timezone=tz if i18n.valid_timezone(tz) else None)
    except FraudwatchError as exc:
        status = exc.status_code if exc.status_code in (401, 403) else 401
        return render(request, "signin.html", status=status, csrf=expected, next=_safe_next(next), error=str(exc))
    response = redirect(_safe_next(next))
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(session.expires - session.created),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(SIGNIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/signout")
async def signout(request: Request, session: Viewer):
    await check_csrf(request, session)
    console(request).sessions.sign_out(request.cookies.get(COOKIE))
    response = redirect("/console/signin")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.post("/preferences")
async def preferences(request: Request, session: Viewer):
    form = await check_csrf(request, session)
    language = form.get("language")
    timezone = form.get("timezone")
    console(request).sessions.set_preferences(
        session,
        language=language if language in i18n.LANGUAGES else None,
        timezone=timezone if isinstance(timezone, str) and i18n.valid_timezone(timezone) else None,
    )
    return redirect(_safe_next(str(form.get("next") or "")))


# ------------------------------------------------------------------ home, search, events
@router.get("")
def home(request: Request, session: Viewer):
    return redirect("/console/queue" if has_queue(request.app) else "/console/dashboards")


@router.get("/search")
def search(request: Request, session: Viewer, q: Annotated[str, Query(max_length=256)] = ""):
    q = q.strip()
    if not q:
        return redirect("/console")
    storage = request.app.state.storage
    if storage.events.get(q) is not None:
        return redirect(f"/console/events/{_path(q)}")
    from fraudwatch.events import looks_like_pan

    if looks_like_pan(q):
        return redirect(f"/console/entities/card/{_path(request.app.state.service.tokenizer.token(q))}")
    typed = re.match(r"^(card|account|device|ip):(.+)$", q)
    candidates = [typed.groups()] if typed else [(t, q) for t in ENTITY_TYPES]
    conn = console(request).db.connection()
    for entity, value in candidates:
        if conn.execute("SELECT 1 FROM nodes WHERE id = ?", (f"{entity}:{value}",)).fetchone():
            return redirect(f"/console/entities/{entity}/{_path(value)}")
    return render(request, "notfound.html", status=404, query=q)


def _path(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@router.get("/events/{event_id}")
def event_page(request: Request, event_id: str, session: Viewer):
    entry = request.app.state.storage.events.get(event_id)
    if entry is None:
        raise NotFound(f"no event {event_id!r}")
    event = orjson.loads(entry.event)
    decision = orjson.loads(entry.decision)
    label = (
        console(request)
        .db.connection()
        .execute("SELECT fraud, ts FROM labels WHERE target = ?", (event_id,))
        .fetchone()
    )
    entities = [(t, event[t]) for t in ENTITY_TYPES if event.get(t)]
    return render(
        request,
        "event.html",
        entry=entry,
        event=event,
        decision=decision,
        label=label,
        entities=entities,
        fields=[(k, v) for k, v in event.items() if k not in ("id", "time", "kind")],
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    return static_response(name)


from fraudwatch.console import admin_views, case_views, dashboard_views, entity_views, rule_views  # noqa: E402

for _module in (case_views, entity_views, rule_views, admin_views, dashboard_views):
    router.include_router(_module.router)
