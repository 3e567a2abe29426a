"""What every console page shares: the Jinja2 templates (autoescaped: a ``<script>`` in an
event field or a rule description is shown as text), the session dependencies, CSRF checks,
the security headers and the HTML error pages.

Pages are server-rendered; ``static/console.js`` adds keyboard navigation, refresh
without reload, the rule editor's live check and the backtest's progress bar, and every
page works without it. The Content-Security-Policy allows scripts, styles, images and
fetches from the console itself only: the console runs inside closed networks, and
nothing it shows comes from anywhere else.
"""

from __future__ import annotations

import hashlib
import math
import time
from functools import cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from fraudwatch.console import i18n
from fraudwatch.console.session import COOKIE, Session, csrf_matches
from fraudwatch.errors import Forbidden, FraudwatchError

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC_FILES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


class SignInNeeded(Exception):
    """No live session: pages send the browser to the sign-in page, JSON gets a 401."""


def console(request: Request):
    """The :class:`~fraudwatch.console.service.Console` of this app (404 when it is off)."""
    state = getattr(request.app.state, "console", None)
    if state is None:
        from fraudwatch.errors import NotFound

        raise NotFound("the console is not running (server.console: false)")
    return state


def current_session(request: Request) -> Session:
    request.state.console_started = time.perf_counter()
    session = console(request).sessions.find(request.cookies.get(COOKIE))
    if session is None:
        raise SignInNeeded()
    request.state.session = session
    return session


def admin_session(session: Annotated[Session, Depends(current_session)]) -> Session:
    if not session.is_admin:
        raise Forbidden("only an admin can change rules, lists and models")
    return session


Viewer = Annotated[Session, Depends(current_session)]
AdminViewer = Annotated[Session, Depends(admin_session)]


async def check_csrf(request: Request, session: Session) -> dict[str, Any]:
    """The form's fields once its CSRF token is the session's (403 otherwise). A JSON
    request sends the token in the ``X-CSRF-Token`` header instead."""
    form = await request.form()
    given = request.headers.get("x-csrf-token") or form.get("csrf")
    if not csrf_matches(session.csrf, given if isinstance(given, str) else None):
        raise Forbidden("the form's security token is missing or wrong: reload the page and try again")
    return form


def language_of(request: Request, session: Session | None) -> str:
    return i18n.pick_language(session.language if session else None, request.headers.get("accept-language"))


def timezone_of(session: Session | None, language: str) -> str:
    if session is not None and session.timezone and i18n.valid_timezone(session.timezone):
        return session.timezone
    return i18n.DEFAULT_TIMEZONE[language]


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fraudwatch.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.globals["static"] = static_url
    return env


@cache
def _static(name: str) -> tuple[bytes, str]:
    data = resources.files("fraudwatch.console").joinpath("static", name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/console/static/{name}?v={_static(name)[1]}"


def static_response(name: str) -> Response:
    if name not in STATIC_FILES:
        from fraudwatch.errors import NotFound

        raise NotFound(f"no file {name!r}")
    data, digest = _static(name)
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{digest}"'}
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(data, media_type=STATIC_FILES[name], headers=headers)


class Page:
    """What a template reads besides its own data: who is signed in, their language and
    time zone, and the formatting helpers."""

    def __init__(self, request: Request, session: Session | None):
        self.request = request
        self.session = session
        self.language = language_of(request, session)
        self.timezone = timezone_of(session, self.language)

    def t(self, key: str, **values) -> str:
        return i18n.translate(self.language, key, **values)

    def maybe(self, key: str, fallback) -> str:
        """The message ``key``, or ``fallback`` (as text) when there is none: for values
        from data (a log entry's type, a dispute's party) that may be new."""
        return self.t(key) if key in i18n.MESSAGES else str(fallback if fallback is not None else "")

    def money(self, amount, currency) -> str:
        return i18n.format_amount(amount, currency, self.language)

    def when(self, ts, seconds: bool = False) -> str:
        return i18n.format_time(ts, self.timezone, seconds=seconds)

    def local_input(self, ts: float) -> str:
        """``ts`` for a ``datetime-local`` input in the user's time zone, rounded up to the
        minute (the input has no seconds; rounding down could name a time before ``ts``)."""
        from datetime import datetime

        return datetime.fromtimestamp(math.ceil(ts / 60) * 60, i18n.zone(self.timezone)).strftime("%Y-%m-%dT%H:%M")

    def day(self, ts) -> str:
        return i18n.format_time(ts, self.timezone, date_only=True)

    def duration(self, seconds) -> str:
        return i18n.format_duration(seconds, self.language)

    def number(self, value) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and not value.is_integer():
            return f"{value:,.3f}".rstrip("0").rstrip(".")
        return f"{int(value):,}" if isinstance(value, int | float) else str(value)


def render(request: Request, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    page = Page(request, session)
    html = (
        environment()
        .get_template(template)
        .render(page=page, t=page.t, session=session, has_queue=has_queue(request.app), **data)
    )
    headers = dict(SECURITY_HEADERS)
    started = getattr(request.state, "console_started", None)
    if started is not None:
        headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return HTMLResponse(html, status_code=status, headers=headers)


def routes(router, prefix: str = ""):
    """``(path, methods)`` of every route, through included routers."""
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from routes(inner, prefix + getattr(router, "prefix", ""))
        elif hasattr(route, "path"):
            yield prefix + route.path, getattr(route, "methods", None) or set()


def has_queue(app) -> bool:
    """Whether the review queue's pages are installed (they come with the cases domain)."""
    known = getattr(app.state, "console_has_queue", None)
    if known is None:
        known = app.state.console_has_queue = any(path == "/console/queue" for path, _ in routes(app.router))
    return known


def svg(markup: str) -> Markup:
    """An SVG string built by ``plots`` or ``graph`` (which escape every text they put in)."""
    return Markup(markup)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, status_code=status, message=message)


def install_error_pages(app) -> None:
    """Under /console, errors are pages (a 401 a trip to the sign-in page); elsewhere the
    API's JSON answers are kept."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def sign_in_needed(request: Request, exc: SignInNeeded):
        if request.url.path.endswith(".json") or "application/json" in request.headers.get("accept", ""):
            from fraudwatch.api import JSONResponse

            return JSONResponse({"errors": [{"loc": "", "msg": "sign in first"}]}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/console/signin?next={quote(target, safe='')}")

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    for exc_type in (FraudwatchError, StarletteHTTPException, RequestValidationError):
        api_handler = app.exception_handlers.get(exc_type)
        if api_handler is None:
            continue

        def handler_for(api_handler):
            async def handler(request: Request, exc: Exception):
                if not request.url.path.startswith("/console") or request.url.path.endswith(".json"):
                    return await api_handler(request, exc)
                status = getattr(exc, "status_code", 422)
                if isinstance(exc, RequestValidationError):
                    message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                else:
                    message = str(getattr(exc, "detail", None) or exc)
                return error_page(request, status, message)

            return handler

        app.add_exception_handler(exc_type, handler_for(api_handler))
