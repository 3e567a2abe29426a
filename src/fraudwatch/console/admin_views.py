"""Named lists, models and the audit log in the console. Lists are edited like rules: the
values one per line, a backtest of the edit over a period, then "save" with a required
comment (audited); a rollback puts back the values before the last change. Models: the
registry with its champion and challengers; promote, make a challenger, retire, roll back.
Every form is for admins."""

from __future__ import annotations

import re
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request

from fraudwatch.api import change_list, change_models, registry
from fraudwatch.console.rule_views import _comment, period, principal
from fraudwatch.console.web import AdminViewer, Viewer, check_csrf, console, redirect, render
from fraudwatch.errors import NotFound, ValidationFailed

router = APIRouter()
NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
ListName = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME)]
ModelVersion = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")]
MAX_VALUES = 100_000


def audit_tail(storage, limit: int, target: str | None = None) -> list:
    """The newest ``limit`` audit records (of ``target`` only, if given), oldest first."""
    out: list = []
    after = 0
    while page := storage.audit.records(after_id=after, limit=1000):
        out.extend(r for r in page if target is None or r.target == target)
        out = out[-limit:]
        after = page[-1].id
        if len(page) < 1000:
            break
    return out


@router.get("/lists")
def lists_page(request: Request, session: Viewer):
    storage = request.app.state.storage
    lists = [(name, len(storage.lists.values(name) or [])) for name in storage.lists.names()]
    from fraudwatch.api import RULES, parse_rules

    active = storage.definitions.get(RULES, storage.definitions.active_version(RULES))
    used = sorted(parse_rules(active.text, active.version).list_names) if active else []
    return render(request, "lists.html", lists=lists, used=[u for u in used if u not in dict(lists)])


def _values(form) -> list[str]:
    values = [v.strip() for v in str(form.get("values") or "").splitlines() if v.strip()]
    if len(values) > MAX_VALUES or any(len(v) > 256 for v in values):
        raise ValidationFailed("too many or too long values", [{"loc": "values", "msg": "at most 100,000 of 256"}])
    return list(dict.fromkeys(values))


@router.get("/lists/{name}")
def list_page(request: Request, name: ListName, session: Viewer):
    values = request.app.state.storage.lists.values(name) or []
    from fraudwatch.console.rule_views import _period_defaults

    since, until = _period_defaults(request, session)
    history = audit_tail(request.app.state.storage, 10, f"lists/{name}")
    return render(
        request, "list_edit.html", name=name, values=values, since=since, until=until, history=history, message=None
    )


@router.post("/lists/{name}/save")
async def save_list(request: Request, name: ListName, session: AdminViewer):
    form = await check_csrf(request, session)
    values = _values(form)
    comment = _comment(form)
    change_list(
        request, name, principal(session), "lists.replace", lambda lists: lists.replace(name, values), comment=comment
    )
    return redirect(f"/console/lists/{name}")


@router.post("/lists/{name}/rollback")
async def rollback_list(request: Request, name: ListName, session: AdminViewer):
    form = await check_csrf(request, session)
    comment = _comment(form)
    last = audit_tail(request.app.state.storage, 1, f"lists/{name}")
    if not last:
        raise NotFound(f"no change of list {name!r} to roll back")
    before = list(last[0].before or [])
    change_list(
        request, name, principal(session), "lists.rollback", lambda lists: lists.replace(name, before), comment=comment
    )
    return redirect(f"/console/lists/{name}")


@router.post("/lists/{name}/backtest")
async def backtest_list(request: Request, name: ListName, session: AdminViewer):
    form = await check_csrf(request, session)
    values = _values(form)
    since, until = period(request, session, form)
    job = console(request).backtests.submit(
        created_by=session.name,
        subject=f"lists/{name}",
        draft="\n".join(values),
        base_version=None,
        since=since,
        until=until,
    )
    return redirect(f"/console/backtests/{job}")


@router.post("/lists")
async def new_list(request: Request, session: AdminViewer):
    form = await check_csrf(request, session)
    name = str(form.get("name") or "").strip().lstrip("@")
    if not re.match(NAME, name) or len(name) > 64:
        raise ValidationFailed("a list name is letters, digits and _", [{"loc": "name", "msg": "e.g. blocked_ips"}])
    return redirect(f"/console/lists/{name}")


# ------------------------------------------------------------------ models
@router.get("/models")
def models_page(request: Request, session: Viewer):
    models_dir = request.app.state.settings.models_dir
    if not FilePath(models_dir).exists():
        info = {"champion": None, "challengers": [], "versions": [], "history": []}
    else:
        reg = registry(request.app.state.settings)
        info = {"champion": reg.champion, "challengers": reg.challengers, "versions": reg.versions()}
    return render(request, "models.html", info=info)


async def _model_change(request: Request, session, action: str, change) -> None:
    form = await check_csrf(request, session)
    comment = _comment(form)
    change_models(request, principal(session), action, change, comment=comment)


@router.post("/models/{version}/promote")
async def promote(request: Request, version: ModelVersion, session: AdminViewer):
    await _model_change(request, session, "models.promote", lambda reg: reg.promote(version, challenger=False))
    return redirect("/console/models")


@router.post("/models/{version}/challenger")
async def challenger(request: Request, version: ModelVersion, session: AdminViewer):
    await _model_change(request, session, "models.challenger", lambda reg: reg.promote(version, challenger=True))
    return redirect("/console/models")


@router.post("/models/{version}/retire")
async def retire(request: Request, version: ModelVersion, session: AdminViewer):
    await _model_change(request, session, "models.retire", lambda reg: reg.retire(version))
    return redirect("/console/models")


@router.post("/models/rollback")
async def rollback_models(request: Request, session: AdminViewer):
    await _model_change(request, session, "models.rollback", lambda reg: reg.rollback())
    return redirect("/console/models")


# ------------------------------------------------------------------ audit
@router.get("/audit")
def audit_page(request: Request, session: AdminViewer):
    records = audit_tail(request.app.state.storage, 200)
    return render(request, "audit.html", records=list(reversed(records)))
