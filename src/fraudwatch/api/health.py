"""Liveness, readiness and Prometheus metrics (no key needed: bind to a private interface)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Recovered and able to log events", responses={503: {"description": "not ready"}})
async def readyz(request: Request, response: Response) -> dict:
    service = request.app.state.service
    writer = service.writer
    writer_ok = writer is not None and writer.failure is None and not writer.stuck()
    ready = service.ready and writer_ok
    body = {
        "ready": ready,
        "role": service.role,  # leader, standby (another replica holds the database's leader lock)
        "writer": "stuck" if writer is not None and writer.stuck() else "ok" if writer_ok else "failed",
        "log_position": service.seq,
        "snapshot_position": service.snapshot_seq,
    }
    stream = request.app.state.stream
    if stream is not None:  # a consumer that cannot reach its broker makes the replica not ready
        body["stream"] = {"connected": stream.connected}
        ready = body["ready"] = ready and stream.connected
    if not ready:
        response.status_code = 503
    return body


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
