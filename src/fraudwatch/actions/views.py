"""HTTP routes of the actions domain (thin: the work is in ``Responder`` and the services).

Public: ``GET /v1/answers/{token}`` shows a confirmation page (link previews fetch GET,
so GET changes nothing); ``POST`` applies the answer. JSON instead of HTML when the
client sends ``Accept: application/json``.

Operator (API key with the ``admin`` scope, checked by ``app.state.auth``): the outbox
and its dead letters, alert subscriptions and suppressions (cases, which were incidents
here, are in ``fraudwatch.cases.views``).

The router finds the ``Responder`` on ``app.state.responder``; if absent it builds one
from ``app.state.settings`` on first use (see ``responder_for``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.actions import outbox, service
from fraudwatch.actions.history import LogHistory
from fraudwatch.actions.responder import Responder
from fraudwatch.errors import FraudwatchError, Unauthorized, ValidationFailed
from fraudwatch.events.pan import card_numbers, looks_like_pan
from fraudwatch.settings import ActionsSettings, Settings, load_settings
from fraudwatch.storage import AuditRecord

log = logging.getLogger(__name__)
_build_lock = threading.Lock()


def responder_for(app) -> Responder:
    """``app.state.responder``, or one built (and started) from the actions section of
    ``app.state.settings`` (``Settings.actions_resolved``).
    A ``SuppressionSet`` on ``app.state.suppressions`` (the one given to the engine) is
    filled with the stored suppressions and kept up to date by the answers."""
    responder = getattr(app.state, "responder", None)
    if responder is not None:
        return responder
    with _build_lock:
        responder = getattr(app.state, "responder", None)
        if responder is None:
            # app.state.suppressions: the set the service's engine was built with, if any
            storage = getattr(app.state, "storage", None)  # the decision service's log, if any
            responder = Responder(
                _settings_from(getattr(app.state, "settings", None)),
                suppressions=getattr(app.state, "suppressions", None),
                history=None if storage is None else LogHistory(storage.events),
                cases=getattr(getattr(app.state, "settings", None), "cases", None),
            )
            responder.start()
            app.state.responder = responder
    return responder


def _settings_from(settings: Settings | None) -> ActionsSettings:
    return (settings or load_settings()).actions_resolved()


def get_responder(request: Request) -> Responder:
    return responder_for(request.app)


def require_operator(request: Request) -> None:
    """API key with the admin scope, via the service's ``app.state.auth``."""
    auth = getattr(request.app.state, "auth", None)
    if auth is None:
        raise Unauthorized("operator routes need the service's API keys (app.state.auth)")
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else None
    request.state.principal = auth.principal(key, "admin")


def _audit(request: Request, action: str, target: str, before: Any = None, after: Any = None, actor=None) -> None:
    """An audit record in the decision service's log of changes (``GET /v1/audit``): who
    changed behaviour or where data goes, with the key's id and name."""
    storage = getattr(request.app.state, "storage", None)
    if storage is None:
        return
    principal = getattr(request.state, "principal", None)
    who = actor or (principal.actor if principal is not None else "unknown")
    with storage.unit() as uow:
        uow.audit.add(AuditRecord(time.time(), who, action, target, before, after))


ResponderDep = Annotated[Responder, Depends(get_responder)]
answers = APIRouter(tags=["answers"])
admin = APIRouter(tags=["outbox", "alerts"], dependencies=[Depends(require_operator)])


# ------------------------------------------------------------------ answers (public)
# the token is in the URL: keep it out of caches, Referer headers and search indexes
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    # the pages carry no script and post only to themselves; no other site may frame them
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=PRIVATE)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=PRIVATE)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _accepted_language(request: Request) -> str | None:
    """The first language of ``Accept-Language`` (for pages about a link no alert backs)."""
    header = request.headers.get("accept-language", "")
    return header.split(",")[0].split(";")[0].strip() or None


def _refused(request: Request, exc: FraudwatchError, responder: Responder, token: str):
    if _wants_json(request):
        return _json({"errors": [{"loc": "token", "msg": str(exc)}]}, exc.status_code)
    page = {403: "invalid", 409: "used", 410: "expired"}.get(exc.status_code, "invalid")
    language = responder.language_of(token) or _accepted_language(request)
    return _html(responder.messages.page(page, language), exc.status_code)


@answers.get("/v1/answers/{token}", response_model=None)
def show_answer(token: str, request: Request, responder: ResponderDep):
    try:
        answer, summary = responder.check(token)
    except FraudwatchError as exc:
        return _refused(request, exc, responder, token)
    if _wants_json(request):
        return _json({"answer": answer, "event": summary, "status": "awaiting confirmation"})
    language = responder.language_of(token)
    return _html(responder.messages.confirm_page(summary, language, answer=answer, action_url=str(request.url.path)))


@answers.post("/v1/answers/{token}", response_model=None)
async def apply_answer(token: str, request: Request, responder: ResponderDep):
    try:
        result = await run_in_threadpool(responder.answer, token)
    except FraudwatchError as exc:
        return _refused(request, exc, responder, token)
    if result.suppressions:  # a cardholder's "yes" changes what the rules enforce on the card
        _audit(
            request,
            "suppressions.create",
            f"suppressions/{result.suppressions[0].card}",
            None,
            [{"rule": s.rule, "since": s.since, "until": s.until} for s in result.suppressions],
            actor=f"cardholder (answer to alert {result.alert_id})",
        )
    if responder.emit is None:
        await _submit_events(request.app, result.events)
    if _wants_json(request):
        return _json(result.to_dict())
    page = "answered_yes" if result.answer == "yes" else "answered_no"
    return _html(responder.messages.page(page, result.language, reference=result.reference or ""))


async def _submit_events(app, events) -> None:
    """Feed the label and cardholder.answer events to the decision service, if there is one
    (they are also in the outbox as webhooks, so a failure here loses nothing downstream)."""
    svc = getattr(app.state, "service", None)
    if svc is None or not hasattr(svc, "submit"):
        return
    for event in events:
        try:
            _, decision = svc.submit(event)
            if not isinstance(decision, bytes):
                await decision
        except Exception:
            log.exception("could not submit %s %s to the decision service", event.kind, event.id)


# ------------------------------------------------------------------ outbox (operator)
@admin.get("/v1/outbox")
def list_outbox(
    responder: ResponderDep, status: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    conn = responder.db.connection()
    return {
        "counts": outbox.counts(conn),
        "messages": [m.to_dict() for m in outbox.list_messages(conn, status=status, limit=limit)],
    }


@admin.get("/v1/outbox/dead-letters")
def dead_letters(responder: ResponderDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    msgs = outbox.list_messages(responder.db.connection(), status="dead", limit=limit)
    return {"messages": [m.to_dict() for m in msgs]}


@admin.post("/v1/outbox/dead-letters/retry")
def retry_all(request: Request, responder: ResponderDep) -> dict[str, Any]:
    with responder.db.unit_of_work() as conn:
        n = outbox.retry_dead(conn, now=time.time())
    _audit(request, "outbox.retry_dead", "outbox", None, {"retried": n})
    responder.dispatcher.wake()
    return {"retried": n}


@admin.post("/v1/outbox/{msg_id}/retry")
def retry_one(msg_id: str, request: Request, responder: ResponderDep) -> dict[str, Any]:
    with responder.db.unit_of_work() as conn:
        msg = outbox.retry(conn, msg_id, now=time.time())
    _audit(request, "outbox.retry", f"outbox/{msg_id}", None, {"destination": msg.to_dict().get("destination")})
    responder.dispatcher.wake()
    return msg.to_dict()


# ------------------------------------------------------------------ subscriptions (operator)
class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, max_length=254)
    usage_alerts: bool = False
    language: str | None = Field(
        None, pattern=r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})?$", description="of the messages (ja, en); unset: the default"
    )


def _subject(request: Request, subject: str) -> str:
    """A subscription's card as events carry it: a card number becomes its token (with the
    decision service's key), so the number is never stored and the alerts find the card."""
    service = getattr(request.app.state, "service", None)
    tokenizer = getattr(service, "tokenizer", None)
    if looks_like_pan(subject):
        if tokenizer is None:
            raise ValidationFailed(
                "card number", [{"loc": "subject", "msg": "send the card token, not the card number"}]
            )
        return tokenizer.token(subject)
    if tokenizer is not None:
        return tokenizer.scrub_text(subject, "subject")
    if any(card_numbers(subject)):
        raise ValidationFailed("card number", [{"loc": "subject", "msg": "contains a card number"}])
    return subject


@admin.put("/v1/alerts/subscriptions/{subject}")
def put_subscription(subject: str, body: SubscriptionIn, request: Request, responder: ResponderDep) -> dict[str, Any]:
    subject = _subject(request, subject)
    if body.email and any(card_numbers(body.email)):
        raise ValidationFailed("card number", [{"loc": "email", "msg": "contains a card number"}])
    before = _subscription_or_none(responder, subject)
    with responder.db.unit_of_work() as conn:
        after = service.set_subscription(
            conn, subject, email=body.email, usage_alerts=body.usage_alerts, now=time.time(), language=body.language
        )
    _audit(request, "alerts.subscription.set", f"subscriptions/{subject}", before, after)
    return after


def _subscription_or_none(responder: Responder, subject: str) -> dict | None:
    try:
        return service.get_subscription(responder.db.connection(), subject)
    except FraudwatchError:
        return None


@admin.get("/v1/alerts/subscriptions/{subject}")
def read_subscription(subject: str, request: Request, responder: ResponderDep) -> dict[str, Any]:
    return service.get_subscription(responder.db.connection(), _subject(request, subject))


@admin.delete("/v1/alerts/subscriptions/{subject}", status_code=204)
def remove_subscription(subject: str, request: Request, responder: ResponderDep) -> None:
    subject = _subject(request, subject)
    before = _subscription_or_none(responder, subject)
    with responder.db.unit_of_work() as conn:
        service.delete_subscription(conn, subject)
    _audit(request, "alerts.subscription.delete", f"subscriptions/{subject}", before, None)


@admin.get("/v1/suppressions")
def list_suppressions(responder: ResponderDep, card: str | None = None) -> dict[str, Any]:
    items = responder.suppressions.for_card(card) if card else list(responder.suppressions)
    return {
        "suppressions": [
            {"card": s.card, "rule": s.rule, "since": s.since, "until": s.until, "event": s.event_id} for s in items
        ]
    }


router = APIRouter()
router.include_router(answers)
router.include_router(admin)
