"""Versioned definitions: rule sets and feature sets (validate, create a version, list,
activate, roll back), and the engine built from the active ones.

Every version is kept; activating one is recorded in the activation history and the audit
log, so a rollback is "activate the version that was active before".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.api.auth import Admin, Principal, Reader
from fraudwatch.api.ml_models import load_models
from fraudwatch.errors import Conflict, FraudwatchError, NotFound, ValidationFailed
from fraudwatch.storage import Activation, AuditRecord, Definition, Store

RULES, FEATURES = "rules", "features"
SYSTEM = "system"
MAX_TEXT = 1_000_000


# ------------------------------------------------------------------ parsing
def parse_rules(text: str, version: str):
    from fraudwatch.rules import RuleSet

    return RuleSet.parse(text, version=version)


def parse_features(text: str, version: str | None = None):
    from fraudwatch.features import FeatureSet

    fs = FeatureSet.from_yaml(text)
    if version is not None and fs.version != version:
        raise ValidationFailed("version mismatch", [{"loc": "version", "msg": f"the text says version {fs.version!r}"}])
    return fs


PARSERS: dict[str, Callable[[str, str | None], Any]] = {RULES: parse_rules, FEATURES: parse_features}


def validation_errors(exc: Exception) -> list[dict]:
    """A definition's errors as ``[{"loc", "msg", "line"?, "column"?, "hint"?}]``."""
    from fraudwatch.rules import RuleSyntaxError

    if isinstance(exc, RuleSyntaxError):
        out = []
        for err in getattr(exc, "errors", None) or [exc]:
            item = {"loc": f"text:{err.line}:{err.column}", "msg": err.message, "line": err.line, "column": err.column}
            if err.hint:
                item["hint"] = err.hint
            out.append(item)
        return out
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        return errors
    return [{"loc": "text", "msg": str(exc)}]


def check(kind: str, text: str, version: str | None, known: dict | None = None) -> Any:
    """Parse and check a definition; for rules, ``known`` (``features``, ``lists``) are the
    names they may read: each unknown name is an error (a rule reading one never fires)."""
    from fraudwatch.rules.resolve import check_names

    try:
        parsed = PARSERS[kind](text, version)
        if kind == RULES and known is not None:
            check_names(parsed, **known)
        return parsed
    except (FraudwatchError, ValueError) as exc:  # the text does not fit; anything else is a bug: a 500, logged
        raise ValidationFailed(f"invalid {kind}", validation_errors(exc)) from None


def known_names(request: Request, features: Any = None) -> dict:
    """What rules may read on this service: the active feature set's names (or those of
    ``features``) and the named lists."""
    engine = request.app.state.service.engine
    feature_set = features if features is not None else engine.feature_set
    return {"features": frozenset(feature_set.names), "lists": frozenset(request.app.state.storage.lists.names())}


async def checked(request: Request, kind: str, text: str, version: str | None) -> Any:
    """``check`` in a worker thread: a large rule file takes a second to parse, and the event
    loop keeps answering meanwhile."""
    known = known_names(request) if kind == RULES else None
    return await run_in_threadpool(check, kind, text, version, known)


def check_rules_against(rules: Any, known: dict) -> None:
    """The active rules checked against another feature set (before it goes live)."""
    from fraudwatch.rules.resolve import check_names

    try:
        check_names(rules, **known)
    except FraudwatchError as exc:
        errors = [
            {**e, "msg": f"the active rules read {e['msg'][len('unknown ') :]}, which this feature set lacks"}
            for e in validation_errors(exc)
        ]
        raise ValidationFailed("the active rules need features this set lacks", errors) from None


# ------------------------------------------------------------------ the engine
def _seed_defaults(store: Store) -> None:
    """On first start, store the shipped default rules and features as active versions."""
    from importlib import resources

    from fraudwatch.definitions import DEFAULT_RULES_VERSION, load_features

    seeds = []
    lists: list[str] = []
    if store.definitions.active_version(RULES) is None:
        text = resources.files("fraudwatch.rules").joinpath("default.rules").read_text()
        seeds.append(Definition(RULES, DEFAULT_RULES_VERSION, text, time.time(), SYSTEM))
        # the lists the default rules read, empty: their names resolve (see rules.resolve)
        have = set(store.lists.names())
        lists = sorted(n for n in parse_rules(text, DEFAULT_RULES_VERSION).list_names if n not in have)
    if store.definitions.active_version(FEATURES) is None:
        fs = load_features()
        seeds.append(Definition(FEATURES, fs.version, fs.to_yaml(), time.time(), SYSTEM))
    if seeds:
        with store.unit() as uow:
            for d in seeds:
                if uow.definitions.get(d.kind, d.version) is None:
                    uow.definitions.add(d)
                uow.definitions.activate(Activation(d.kind, d.version, d.created_at, SYSTEM))
            for name in lists:
                uow.lists.add(name, [])


def active(store: Store, kind: str) -> Any:
    version = store.definitions.active_version(kind)
    d = store.definitions.get(kind, version)
    return PARSERS[kind](d.text, version if kind == RULES else None)


def engine_factory(settings, store: Store, suppressions: Any = None, containment: Any = None) -> Callable[[], Any]:
    """A function building an engine from the active definitions, lists and model;
    ``suppressions`` (behaviour confirmed genuine by cardholders) is shared by every
    engine it builds, so a rebuild keeps them; ``containment`` keeps the lists a confirmed
    fraud changes (``fraudwatch.actions.containment``)."""

    def build():
        from fraudwatch.engine import Engine
        from fraudwatch.rules import ListStore

        _seed_defaults(store)
        lists = ListStore({name: store.lists.values(name) or [] for name in store.lists.names()})
        champion, challengers = load_models(settings)
        configured = settings.engine.thresholds
        thresholds = configured.as_dict() if configured is not None else getattr(champion, "thresholds", None)
        return Engine(
            features=active(store, FEATURES),
            rules=active(store, RULES),
            model=champion,
            challengers=challengers,
            lists=lists,
            thresholds=thresholds,
            suppressions=suppressions,
            containment=containment,
        )

    return build


# ------------------------------------------------------------------ the API
BODY_LIMIT = "max_admin_body_bytes"  # the server setting limiting this router's bodies
router = APIRouter(prefix="/v1", tags=["definitions"])


class DefinitionText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., max_length=MAX_TEXT, description="rule file text, or feature set YAML")
    version: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:@+-]+$",
        description="rules: default v<n>; features: the YAML's own version",
    )


class NewVersion(DefinitionText):
    activate: bool = False


def _view(d: Definition, active_version: str | None, text: bool = False) -> dict:
    out = {
        "version": d.version,
        "created_at": d.created_at,
        "created_by": d.created_by,
        "active": d.version == active_version,
    }
    if text:
        out["text"] = d.text
    return out


async def _apply(request: Request, kind: str, parsed: Any) -> None:
    service = request.app.state.service
    if kind == RULES:
        service.engine.swap_rules(parsed)
    else:  # a new feature set: rebuild the state by replaying the log under it
        factory = request.app.state.service.engine_factory
        await service.rebuild(factory)


def _noted(after: dict, comment: str | None) -> dict:
    """An audit record's ``after`` with the author's comment, when one was given."""
    return {**after, "comment": comment} if comment else after


def check_against_policies(request: Request, ruleset: Any) -> None:
    """Refuse a rule set that another domain's configuration cannot live with (the response
    policy naming a rule it lacks): ``app.state.rule_checks``, each raising to refuse."""
    for check_rules in getattr(request.app.state, "rule_checks", ()):
        try:
            check_rules(ruleset)
        except ValidationFailed as exc:
            errors = [{"loc": f"policy.{e['field']}", "msg": e["message"]} for e in exc.errors if "field" in e]
            raise ValidationFailed(str(exc), errors or [{"loc": "policy", "msg": str(exc)}]) from None


async def activate(
    request: Request, kind: str, version: str, who: Principal, action: str, comment: str | None = None
) -> dict:
    store: Store = request.app.state.storage
    d = store.definitions.get(kind, version)
    if d is None:
        raise NotFound(f"no {kind} version {version!r}")
    before = store.definitions.active_version(kind)
    parsed = await checked(request, kind, d.text, version if kind == RULES else None)
    if kind == FEATURES:  # the active rules must still find every feature they read
        rules = request.app.state.service.engine.rules
        await run_in_threadpool(check_rules_against, rules, known_names(request, parsed))
    if kind == RULES:
        check_against_policies(request, parsed)
    with store.unit() as uow:
        uow.definitions.activate(Activation(kind, version, time.time(), who.actor))
        uow.audit.add(
            AuditRecord(
                time.time(), who.actor, action, kind, {"version": before}, _noted({"version": version}, comment)
            )
        )
    await _apply(request, kind, parsed)
    return {"kind": kind, "active": version, "previous": before}


async def create_version(
    request: Request,
    kind: str,
    text: str,
    version: str | None,
    who: Principal,
    activate_it: bool,
    comment: str | None = None,
) -> dict:
    store: Store = request.app.state.storage
    if kind == RULES:
        version = version or f"v{len(store.definitions.versions(kind)) + 1}"
        parsed = await checked(request, kind, text, version)
        if activate_it:
            check_against_policies(request, parsed)
    else:
        version = (await checked(request, kind, text, version)).version
    if store.definitions.get(kind, version) is not None:
        raise Conflict(f"{kind} version {version!r} exists already")
    d = Definition(kind, version, text, time.time(), who.actor)
    with store.unit() as uow:
        uow.definitions.add(d)
        uow.audit.add(
            AuditRecord(
                d.created_at,
                who.actor,
                f"{kind}.create",
                f"{kind}/{version}",
                None,
                _noted({"version": version, "text": text}, comment),
            )
        )
    result = _view(d, store.definitions.active_version(kind))
    if activate_it:
        await activate(request, kind, version, who, f"{kind}.activate", comment)
        result["active"] = True
    return result


def previous_version(store: Store, kind: str) -> str:
    """The version that was live before the current one (what a rollback activates)."""
    history = [a.version for a in store.definitions.activations(kind)]
    current = history[-1] if history else None
    previous = next((v for v in reversed(history) if v != current), None)
    if previous is None:
        raise Conflict(f"no earlier {kind} version to roll back to")
    return previous


def _routes(kind: str) -> None:
    @router.post(f"/{kind}/validate", summary=f"Check {kind} text without storing it", name=f"validate_{kind}")
    async def validate(request: Request, body: DefinitionText, who: Admin) -> dict:
        version = body.version if kind == FEATURES else (body.version or "check")
        parsed = await checked(request, kind, body.text, version)
        if kind == RULES:
            check_against_policies(request, parsed)
        return {"valid": True, "version": getattr(parsed, "version", body.version)}

    @router.post(
        f"/{kind}/versions", status_code=201, summary=f"Store a new {kind} version", name=f"create_{kind}_version"
    )
    async def create(request: Request, body: NewVersion, who: Admin) -> dict:
        return await create_version(request, kind, body.text, body.version, who, body.activate)

    @router.get(f"/{kind}/versions", summary=f"All {kind} versions, oldest first", name=f"list_{kind}_versions")
    async def versions(request: Request, who: Reader) -> dict:
        definitions = request.app.state.storage.definitions
        current = definitions.active_version(kind)
        history = [{"version": a.version, "at": a.at, "by": a.by} for a in definitions.activations(kind)]
        return {
            "active": current,
            "versions": [_view(d, current) for d in definitions.versions(kind)],
            "activations": history,
        }

    @router.get(
        f"/{kind}/versions/{{version}}", summary=f"One {kind} version with its text", name=f"get_{kind}_version"
    )
    async def one(request: Request, version: str, who: Reader) -> dict:
        definitions = request.app.state.storage.definitions
        d = definitions.get(kind, version)
        if d is None:
            raise NotFound(f"no {kind} version {version!r}")
        return _view(d, definitions.active_version(kind), text=True)

    @router.post(
        f"/{kind}/versions/{{version}}/activate",
        summary=f"Make a {kind} version the live one",
        name=f"activate_{kind}_version",
    )
    async def activate_version(request: Request, version: str, who: Admin) -> dict:
        return await activate(request, kind, version, who, f"{kind}.activate")

    @router.post(
        f"/{kind}/rollback", summary=f"Re-activate the {kind} version that was live before", name=f"rollback_{kind}"
    )
    async def rollback(request: Request, who: Admin) -> dict:
        return await activate(request, kind, previous_version(request.app.state.storage, kind), who, f"{kind}.rollback")


_routes(RULES)
_routes(FEATURES)


class ShadowFlags(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: dict[str, bool] = Field(..., min_length=1, description="rule name -> run in shadow (record, never enforce)")
    version: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:@+-]+$")


@router.post(
    "/rules/shadow",
    status_code=201,
    summary="Set rules' shadow flags: a new, active rules version",
    responses={422: {"description": "unknown rule"}},
)
async def set_shadow(request: Request, body: ShadowFlags, who: Admin) -> dict:
    """Copies the active rule text, adds or removes ``[shadow]`` on the named rules' header
    lines, stores that as a new version and activates it (so a rollback undoes it)."""
    definitions = request.app.state.storage.definitions
    current = definitions.get(RULES, definitions.active_version(RULES))
    ruleset = parse_rules(current.text, current.version)
    by_name = {r.name: r for r in ruleset.rules}
    unknown = sorted(set(body.rules) - set(by_name))
    if unknown:
        raise ValidationFailed(
            "unknown rules", [{"loc": f"rules.{n}", "msg": "no such rule in the active version"} for n in unknown]
        )
    lines = current.text.splitlines(keepends=True)
    for name, shadow in body.rules.items():
        i = by_name[name].line - 1
        header = re.compile(rf"^(\s*rule\s+{re.escape(name)})\s*(\[\s*shadow\s*\])?\s*:")
        marker = " [shadow]" if shadow else ""
        lines[i] = header.sub(lambda m, marker=marker: m.group(1) + marker + ":", lines[i], count=1)
    return await create_version(request, RULES, "".join(lines), body.version, who, True)
