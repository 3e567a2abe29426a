"""The audit log and API keys (admin scope). Keys are usually made with
``fraudwatch keys create``; the same operations are here for automation."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.api import auth
from fraudwatch.api.auth import Admin

router = APIRouter(prefix="/v1", tags=["administration"])


@router.get("/audit", summary="Changes of rules, lists, features, models and keys, oldest first")
async def audit(
    request: Request,
    who: Admin,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    records = request.app.state.storage.audit.records(after_id=after_id, limit=limit)
    items = [
        {
            "id": r.id,
            "at": r.at,
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "before": r.before,
            "after": r.after,
        }
        for r in records
    ]
    return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=128)
    scopes: list[Literal["ingest", "read", "analyst", "admin"]] = Field(..., min_length=1, max_length=4)


@router.get("/keys", summary="API keys (never their secrets)")
async def list_keys(request: Request, who: Admin) -> dict:
    return {"keys": [auth.key_view(k) for k in request.app.state.storage.keys.all()]}


@router.post("/keys", status_code=201, summary="Create an API key; the key is shown only in this answer")
async def create_key(request: Request, body: NewKey, who: Admin) -> dict:
    state = request.app.state
    with state.storage.unit() as uow:
        clear, key = auth.create_key(
            uow,
            name=body.name,
            scopes=body.scopes,
            actor=who.actor,
            pepper=state.settings.security.key_pepper.get_secret_value().encode(),
        )
    return {**auth.key_view(key), "key": clear}


@router.delete("/keys/{key_id}", summary="Revoke an API key", responses={404: {"description": "no such key"}})
async def revoke_key(request: Request, key_id: Annotated[str, Path(max_length=64)], who: Admin) -> dict:
    with request.app.state.storage.unit() as uow:
        key = auth.revoke_key(uow, key_id=key_id, actor=who.actor)
    request.app.state.auth.forget()
    return auth.key_view(key)
