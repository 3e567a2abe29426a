"""Events in, decisions out; reading decisions and searching by entity and time."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter

from fraudwatch.api.auth import Ingest, Reader
from fraudwatch.api.body import parse_json, read_body
from fraudwatch.api.ingest import ingest_one
from fraudwatch.decisions import Decision
from fraudwatch.errors import FraudwatchError, NotFound, ValidationFailed
from fraudwatch.events import EVENT_ADAPTER, looks_like_pan, may_hold_card_number
from fraudwatch.storage import ENTITY_FIELDS, LogEntry

log = logging.getLogger("fraudwatch.api")
BODY_LIMIT = "max_batch_bytes"  # the server setting limiting this router's bodies
router = APIRouter(prefix="/v1", tags=["events and decisions"])

JSON = "application/json"
_ref = {"$ref": "#/components/schemas/Event"}
_decision_ref = {"$ref": "#/components/schemas/Decision"}
_errors = {"description": 'invalid input: `{"errors": [{"loc": "amount", "msg": ...}]}`'}
MAX_CURSOR = 2**62


def _json(body: bytes, headers: dict | None = None) -> Response:
    return Response(body, media_type=JSON, headers=headers)


@router.post(
    "/events",
    summary="Send one event, get its decision",
    description="The decision is returned once the event is durably logged. Resending an event id returns "
    "the original decision (header `fraudwatch-resent: true`); the same id with another body is a 409. "
    "A card number in `pan` or `card` is replaced by a keyed token, `card_bin` and `card_last4`.",
    openapi_extra={"requestBody": {"required": True, "content": {JSON: {"schema": _ref}}}},
    responses={
        200: {"description": "the decision", "content": {JSON: {"schema": _decision_ref}}},
        400: _errors,
        409: {"description": "id already used by another event"},
        413: {"description": "too large"},
        422: _errors,
    },
    response_class=Response,
)
async def submit_event(request: Request, principal: Ingest) -> Response:
    # served by fraudwatch.api.ingest.IngestFastPath in front of FastAPI; kept for in-process use
    state = request.app.state
    body = await read_body(request, state.settings.server.max_body_bytes)
    resent, decision = await ingest_one(state, request.headers.get("authorization"), body)
    return _json(decision, {"fraudwatch-resent": "true"} if resent else None)


@router.post(
    "/events/batch",
    summary="Send many events; one result per event, in order",
    description="Each event is decided on its own: a bad event gets `status` 4xx and `errors`, the others "
    "are decided and logged. The response comes once all are durable.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "additionalProperties": False,
                        "properties": {"events": {"type": "array", "items": _ref}},
                    }
                }
            },
        }
    },
    responses={
        200: {"description": '`{"results": [{"index", "status", "decision" | "errors"}]}`'},
        400: _errors,
        413: {"description": "too large"},
        422: _errors,
    },
    response_class=Response,
)
async def submit_batch(request: Request, principal: Ingest) -> Response:
    state = request.app.state
    limits = state.settings.server
    body = await read_body(request, limits.max_batch_bytes)
    raw = parse_json(body)
    scan = may_hold_card_number(body)
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list) or set(raw) != {"events"}:
        raise ValidationFailed('expected {"events": [...]}', [{"loc": "events", "msg": "expected a list of events"}])
    events = raw["events"]
    if len(events) > limits.max_batch_events:
        raise ValidationFailed("batch too large", [{"loc": "events", "msg": f"at most {limits.max_batch_events}"}])
    results: list[dict[str, Any]] = []
    waiting: list[tuple[int, Any]] = []
    for index, item in enumerate(events):
        # each event on its own: whatever one of them does, the others get their results
        try:
            resent, decision = state.service.submit(state.service.parse(item, scan))
        except FraudwatchError as exc:
            errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
            results.append({"index": index, "status": exc.status_code, "errors": errors})
            continue
        except Exception:
            log.exception("event %d of a batch failed", index)
            results.append({"index": index, "status": 500, "errors": [{"loc": "", "msg": "internal error"}]})
            continue
        results.append({"index": index, "status": 200, "resent": resent})
        if isinstance(decision, bytes):
            results[-1]["decision"] = orjson.Fragment(decision)
        else:
            waiting.append((index, decision))
    done = await asyncio.gather(*(d for _, d in waiting), return_exceptions=True)
    for (index, _), outcome in zip(waiting, done, strict=False):
        if isinstance(outcome, BaseException):
            status = getattr(outcome, "status_code", 500)
            results[index] = {"index": index, "status": status, "errors": [{"loc": "", "msg": str(outcome)}]}
        else:
            results[index]["decision"] = orjson.Fragment(outcome)
    return _json(orjson.dumps({"results": results}))


def _entry_or_404(request: Request, event_id: str) -> LogEntry:
    # an id that held a card number was stored with its token in its place
    event_id = request.app.state.service.tokenizer.scrub_text(event_id, "id")
    entry = request.app.state.storage.events.get(event_id)
    if entry is None:
        raise NotFound(f"no event {event_id!r}")
    return entry


@router.get(
    "/decisions/{event_id}",
    summary="The decision of one event",
    responses={200: {"content": {JSON: {"schema": _decision_ref}}}, 404: {"description": "unknown id"}},
    response_class=Response,
)
async def get_decision(request: Request, event_id: str, principal: Reader) -> Response:
    return _json(_entry_or_404(request, event_id).decision)


@router.get(
    "/events/{event_id}", summary="One logged event with its decision and log position", response_class=Response
)
async def get_event(request: Request, event_id: str, principal: Reader) -> Response:
    e = _entry_or_404(request, event_id)
    return _json(
        orjson.dumps({"seq": e.seq, "event": orjson.Fragment(e.event), "decision": orjson.Fragment(e.decision)})
    )


Since = Annotated[datetime | None, Query(description="event time from (inclusive), ISO 8601; UTC if no zone")]
Until = Annotated[datetime | None, Query(description="event time until (exclusive)")]
EntityValue = Annotated[str | None, Query(max_length=256)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[int | None, Query(ge=1, le=MAX_CURSOR, description="`next_cursor` of the previous page")]


async def _search(
    request: Request, card, account, device, ip, since, until, limit, cursor
) -> tuple[list[LogEntry], str | None]:
    given = {k: v for k, v in zip(ENTITY_FIELDS, (card, account, device, ip), strict=False) if v is not None}
    if len(given) != 1:
        raise ValidationFailed(
            "name one entity", [{"loc": "query", "msg": "give exactly one of card, account, device, ip"}]
        )
    ((entity, value),) = given.items()
    tokenizer = request.app.state.service.tokenizer
    if entity == "card" and looks_like_pan(value):  # search by card number: its token is stored
        value = tokenizer.token(value)
    else:  # as stored: a card number in the value replaced by its token
        value = tokenizer.scrub_text(value, entity)
    # in a worker thread: a large page should not hold up the events being decided
    entries = await run_in_threadpool(
        request.app.state.storage.events.search,
        entity,
        value,
        since=_ts(since),
        until=_ts(until),
        before_seq=cursor,
        limit=limit,
    )
    return entries, (str(entries[-1].seq) if len(entries) == limit else None)


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


@router.get(
    "/events", summary="Events of one entity (card, account, device or ip), newest first", response_class=Response
)
async def search_events(
    request: Request,
    principal: Reader,
    card: EntityValue = None,
    account: EntityValue = None,
    device: EntityValue = None,
    ip: EntityValue = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    entries, next_cursor = await _search(request, card, account, device, ip, since, until, limit, cursor)
    items = [{"seq": e.seq, "event": orjson.Fragment(e.event), "outcome": e.outcome} for e in entries]
    return _json(orjson.dumps({"items": items, "next_cursor": next_cursor}))


@router.get(
    "/decisions",
    summary="Decisions about one entity (card, account, device or ip), newest first",
    response_class=Response,
)
async def search_decisions(
    request: Request,
    principal: Reader,
    card: EntityValue = None,
    account: EntityValue = None,
    device: EntityValue = None,
    ip: EntityValue = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Response:
    entries, next_cursor = await _search(request, card, account, device, ip, since, until, limit, cursor)
    items = [orjson.Fragment(e.decision) for e in entries]
    return _json(orjson.dumps({"items": items, "next_cursor": next_cursor}))


ERROR_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {"loc": {"type": "string"}, "msg": {"type": "string"}, "hint": {"type": "string"}},
            },
        }
    },
}
_ERROR_STATUSES = {
    "400": "malformed JSON",
    "401": "missing, unknown or revoked API key (or more than one Authorization header)",
    "403": "the key lacks the scope",
    "404": "not found",
    "409": "conflict with the current state",
    "413": "body too large",
    "422": "invalid input: which field, and why",
    "503": "starting, stopping, or the event log cannot be written",
}


def document_errors(doc: dict) -> None:
    """Every operation's error statuses in the one error shape (``{"errors": [{"loc", "msg"}]}``),
    and a JSON object, not a string, for answers that had no schema."""
    doc["components"]["schemas"]["Errors"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Errors"}
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            for status, response in responses.items():
                content = response.get("content", {}).get(JSON)
                if content is not None and content.get("schema", {}).get("type") == "string":
                    content["schema"] = {"type": "object"}
                elif status.startswith("2") and status != "204" and not response.get("content"):
                    response["content"] = {JSON: {"schema": {"type": "object"}}}
            public = path.startswith("/v1/answers") or not path.startswith("/v1/")
            wanted = [] if public else ["401", "403", "503"]
            if method in ("post", "put", "patch"):
                wanted += ["400", "413", "422"]
            if "{" in path or op.get("parameters"):
                wanted += ["404", "422"]
            for status in wanted:
                if status not in responses:
                    responses[status] = {"description": _ERROR_STATUSES[status]}
            for status, response in responses.items():
                if status[0] in "45":
                    response.setdefault("description", _ERROR_STATUSES.get(status, "error"))
                    response["content"] = {JSON: {"schema": ref}}


def install_openapi(app: FastAPI) -> None:
    """Put the event and decision schemas into the OpenAPI components the routes refer to."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            template = "#/components/schemas/{model}"
            event = EVENT_ADAPTER.json_schema(ref_template=template)
            schemas.update(event.pop("$defs", {}))
            schemas["Event"] = event
            decision = TypeAdapter(Decision).json_schema(ref_template=template, mode="serialization")
            schemas.update(decision.pop("$defs", {}))
            schemas["Decision"] = decision
            document_errors(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
