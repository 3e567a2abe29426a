"""Models: list the registry, promote a champion or a shadow challenger, roll back, retire.
The registry (``fraudwatch.models.registry``) lives in ``settings.models_dir``; every change
is applied to the running engine and written to the audit log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict

from fraudwatch.api.auth import Admin, Principal, Reader
from fraudwatch.settings import Settings
from fraudwatch.storage import AuditRecord

router = APIRouter(prefix="/v1/models", tags=["models"])

# a version names a folder in the registry: no separators, no leading dot
Version = Annotated[str, PathParam(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")]


def registry(settings: Settings):
    from fraudwatch.models.registry import ModelRegistry

    return ModelRegistry(settings.models_dir, cache_dir=settings.cache_dir)


def load_models(settings: Settings) -> tuple[object | None, list]:
    """The champion's scorer and the challengers' (none while the registry is empty)."""
    if not (Path(settings.models_dir) / "registry.json").exists():
        return None, []
    reg = registry(settings)
    return reg.load_champion(), reg.load_challengers()


def _roles(reg) -> dict:
    return {"champion": reg.champion, "challengers": reg.challengers}


def change_models(request: Request, who: Principal, action: str, change, comment: str | None = None) -> dict:
    state = request.app.state
    reg = registry(state.settings)
    before = _roles(reg)
    change(reg)
    champion, challengers = load_models(state.settings)
    state.service.engine.swap_model(champion, challengers)
    after = _roles(reg)
    with state.storage.unit() as uow:
        recorded = {**after, "comment": comment} if comment else after
        uow.audit.add(AuditRecord(time.time(), who.actor, action, "models", before, recorded))
    return after


@router.get("", summary="Model versions in the registry, with the champion and challengers")
async def list_models(request: Request, who: Reader) -> dict:
    settings = request.app.state.settings
    if not Path(settings.models_dir).exists():
        return {"champion": None, "challengers": [], "versions": [], "history": []}
    reg = registry(settings)
    return {**_roles(reg), "versions": reg.versions(), "history": reg.history}


class Promotion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenger: bool = False


@router.post(
    "/{version}/promote",
    summary="Make a version the champion, or a shadow challenger",
    responses={404: {"description": "no such model"}, 409: {"description": "already in that role"}},
)
async def promote(request: Request, version: Version, body: Promotion, who: Admin) -> dict:
    action = "models.challenger" if body.challenger else "models.promote"
    return change_models(request, who, action, lambda reg: reg.promote(version, challenger=body.challenger))


@router.post(
    "/rollback",
    summary="Make the previous champion the champion again",
    responses={409: {"description": "no earlier champion"}},
)
async def rollback(request: Request, who: Admin) -> dict:
    return change_models(request, who, "models.rollback", lambda reg: reg.rollback())


@router.post(
    "/{version}/retire",
    summary="Stop a challenger's shadow scoring",
    responses={404: {"description": "not a challenger"}},
)
async def retire(request: Request, version: Version, who: Admin) -> dict:
    return change_models(request, who, "models.retire", lambda reg: reg.retire(version))
