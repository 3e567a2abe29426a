"""Reading request bodies with a size limit (413) and clear JSON errors (400)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response

from fraudwatch.errors import FraudwatchError, ValidationFailed


class JSONResponse(Response):
    """orjson-rendered JSON (FastAPI's ORJSONResponse is deprecated)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class PayloadTooLarge(FraudwatchError):
    status_code = 413


class BadRequest(ValidationFailed):
    status_code = 400


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes", [{"loc": "body", "msg": f"over {limit} bytes"}])
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes", [{"loc": "body", "msg": f"over {limit} bytes"}])
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    if not body:
        raise BadRequest("empty body", [{"loc": "body", "msg": "empty body: expected JSON"}])
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("invalid JSON", [{"loc": "body", "msg": f"invalid JSON: {exc}"}]) from None
