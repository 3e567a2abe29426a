"""Named lists (``@name`` in rules): read, add, remove, replace. Changes are stored, audited
and applied to the running engine at once.

The engine also keeps lists of its own from confirmed frauds (``@suspended_cards``,
``@watched_devices``, ``@watched_ips``: ``fraudwatch.actions.containment``); their entries
hold for a span of event time and are shown as ``entries`` beside the stored ``values``."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.api.auth import Admin, Principal, Reader
from fraudwatch.errors import NotFound
from fraudwatch.storage import AuditRecord, Lists, Store

BODY_LIMIT = "max_admin_body_bytes"  # the server setting limiting this router's bodies
router = APIRouter(prefix="/v1/lists", tags=["lists"])

ListName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Value = Annotated[str, Field(min_length=1, max_length=256)]


class Values(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: list[Value] = Field(..., max_length=100_000)


def _values_or_404(lists: Lists, name: str) -> list[str]:
    values = lists.values(name)
    if values is None:
        raise NotFound(f"no list {name!r}")
    return values


def _entries(request: Request, name: str) -> list[dict]:
    return [e.to_dict() for e in request.app.state.service.engine.lists.entries(name)]


def change_list(request: Request, name: str, who: Principal, action: str, apply, comment: str | None = None) -> dict:
    """Apply ``apply(lists)`` (the unit of work's lists port) to list ``name``, audit it (with
    the author's comment, if any) and hand the new values to the running engine."""
    store: Store = request.app.state.storage
    before = store.lists.values(name)
    with store.unit() as uow:
        apply(uow.lists)
        after = uow.lists.values(name)
        recorded = {"values": after, "comment": comment} if comment else after
        uow.audit.add(AuditRecord(time.time(), who.actor, action, f"lists/{name}", before, recorded))
    request.app.state.service.engine.lists.replace(name, after or [])
    return {"name": name, "values": after or [], "entries": _entries(request, name)}


@router.get("", summary="Names of all lists")
async def list_names(request: Request, who: Reader) -> dict:
    lists = request.app.state.service.engine.lists
    kept = [n for n in lists.names() if lists.entries(n)]
    return {"lists": sorted(set(request.app.state.storage.lists.names()) | set(kept))}


@router.get("/{name}", summary="One list's values", responses={404: {"description": "no such list"}})
async def get_list(request: Request, name: ListName, who: Reader) -> dict:
    values, entries = request.app.state.storage.lists.values(name), _entries(request, name)
    if values is None and name not in request.app.state.service.engine.lists.names():
        raise NotFound(f"no list {name!r}")
    return {"name": name, "values": values or [], "entries": entries}


@router.post("/{name}/add", summary="Add values (creates the list)")
async def add_values(request: Request, name: ListName, body: Values, who: Admin) -> dict:
    return change_list(request, name, who, "lists.add", lambda lists: lists.add(name, body.values))


@router.post("/{name}/remove", summary="Remove values", responses={404: {"description": "no such list"}})
async def remove_values(request: Request, name: ListName, body: Values, who: Admin) -> dict:
    _values_or_404(request.app.state.storage.lists, name)
    return change_list(request, name, who, "lists.remove", lambda lists: lists.remove(name, body.values))


@router.put("/{name}", summary="Replace all values (creates the list)")
async def replace_list(request: Request, name: ListName, body: Values, who: Admin) -> dict:
    return change_list(request, name, who, "lists.replace", lambda lists: lists.replace(name, body.values))
