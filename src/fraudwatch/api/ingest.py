"""The hot path, ``POST /v1/events``, as a plain ASGI app in front of FastAPI.

FastAPI's routing and dependency injection cost more per request than deciding the event,
so this one route is answered here: key check, size limit, JSON, PAN tokenizing,
validation, engine, group commit, orjson bytes out. The FastAPI route of the same path
(``events.submit_event``) documents it in OpenAPI and calls the same :func:`ingest_one`.
"""

from __future__ import annotations

import logging
import time

import orjson

from fraudwatch.api.body import PayloadTooLarge, parse_json
from fraudwatch.errors import FraudwatchError, Unauthorized
from fraudwatch.events import may_hold_card_number

log = logging.getLogger("fraudwatch.api")

PATH = "/v1/events"
_JSON_HEADERS = [(b"content-type", b"application/json")]
_RESENT = (b"fraudwatch-resent", b"true")


async def ingest_one(state, authorization: str | None, body: bytes) -> tuple[bool, bytes]:
    """Authorize, parse and decide one event; ``(resent, decision JSON)`` once durable."""
    token = authorization[7:] if authorization and authorization[:7].lower() == "bearer " else None
    state.auth.principal(token, "ingest")
    service = state.service
    resent, decision = service.submit(service.parse(parse_json(body), may_hold_card_number(body)))
    if not isinstance(decision, bytes):
        decision = await decision
    return resent, decision


def error_response(exc: FraudwatchError) -> tuple[int, bytes, list]:
    errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
    headers = list(_JSON_HEADERS)
    if isinstance(exc, Unauthorized):
        headers.append((b"www-authenticate", b"Bearer"))
    return exc.status_code, orjson.dumps({"errors": errors}), headers


class IngestFastPath:
    def __init__(self, app, state, limit: int):
        self.app = app
        self.state = state
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            if scope["type"] == "http":
                if _authorizations(scope) > 1:
                    return await _refuse_two_keys(send)
                return await self.app(scope, receive, _errors_as_json(send))
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        authorization = None
        declared = keys = 0
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                keys += 1
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        headers = _JSON_HEADERS
        try:
            if keys > 1:
                raise Unauthorized(TWO_KEYS)
            if declared > self.limit:
                raise PayloadTooLarge("body too large", [{"loc": "body", "msg": f"over {self.limit} bytes"}])
            body = await self._read(receive)
            resent, payload = await ingest_one(self.state, authorization, body)
            status = 200
            if resent:
                headers = [*_JSON_HEADERS, _RESENT]
        except FraudwatchError as exc:
            status, payload, headers = error_response(exc)
        except _Disconnected:
            return
        except Exception:
            log.exception("POST /v1/events failed")
            status, payload = 500, b'{"errors":[{"loc":"","msg":"internal error"}]}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        metrics = self.state.metrics
        metrics.child(metrics.requests, "POST", PATH, str(status)).inc()
        metrics.child(metrics.request_seconds, "POST", PATH).observe(time.perf_counter() - started)

    async def _read(self, receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise PayloadTooLarge("body too large", [{"loc": "body", "msg": f"over {self.limit} bytes"}])
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


TWO_KEYS = "more than one Authorization header: send one key"


def _authorizations(scope) -> int:
    """How many Authorization headers a request has: with two, which key counts would
    depend on the route (the first or the last); every route refuses them alike."""
    return sum(1 for name, _ in scope["headers"] if name == b"authorization")


def _errors_as_json(send):
    """``send`` with a plain-text error page (the framework's own 413 for a body over a
    router's limit) turned into the documented shape ``{"errors": [{"loc", "msg"}]}``."""
    replaced = False

    async def wrapped(message) -> None:
        nonlocal replaced
        if message["type"] == "http.response.start" and message["status"] >= 400:
            types = [v for k, v in message.get("headers", []) if k == b"content-type"]
            if types and types[0].startswith(b"text/plain"):
                replaced = True
                _, body, headers = error_response(_Plain(message["status"]))
                message = {**message, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
                await send(message)
                await send({"type": "http.response.body", "body": body})
                return
        if replaced and message["type"] == "http.response.body":
            return  # the plain-text body: already answered
        await send(message)

    return wrapped


class _Plain(FraudwatchError):
    def __init__(self, status: int):
        self.status_code = status
        text = {413: "body too large"}.get(status, "request refused")
        super().__init__(text)
        self.errors = [{"loc": "body" if status == 413 else "", "msg": text}]


async def _refuse_two_keys(send) -> None:
    status, payload, headers = error_response(Unauthorized(TWO_KEYS))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class _Disconnected(Exception):
    pass
