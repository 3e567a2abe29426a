"""Disputes and chargebacks: a lifecycle per card scheme as data (``disputes.yaml``), stage
deadlines from each stage's start, overridable per acquirer or PSP.

>>> rules = lifecycles()
>>> scheme, flow = rules.flow_for(None, "10.4")      # the scheme from the reason code
>>> scheme, flow.name, [s.name for s in flow.stages]
('visa', 'allocation', ['dispute', 'pre_arbitration', 'pre_arbitration_declined', 'arbitration'])
>>> rules.flow_for("jcb", "546")[1].stage("first_chargeback").moves
{'accept': 'lost', 'represent': 'representment'}
>>> check_overrides({"psp_fast": {"visa": {"dispute": "3x days"}}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fraudwatch.errors.ValidationFailed: psp_fast.visa.dispute: '3x days' is not a duration; use seconds or ...

Service functions take a connection inside the caller's unit of work and never commit.
Times: a stage starts at a date in event time (the chargeback's own time, or the date a
move was made); its deadline is that date plus the stage's duration. ``sweep(clock)``
applies the scheme's rule to every stage whose deadline passed: when it was the
merchant's turn, that is a breach, reported on the dispute and in the metrics.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fraudwatch.actions import Duration, parse_duration
from fraudwatch.cases import store
from fraudwatch.cases.case import refused
from fraudwatch.errors import Conflict, NotFound, ValidationFailed

SCHEMES = ("visa", "mastercard", "jcb", "amex", "other")
OUTCOMES = ("won", "lost")
Party = Literal["merchant", "issuer", "scheme"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Model):
    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    party: Party = Field(..., description="whose turn it is: merchant (and its acquirer), issuer, or the scheme")
    deadline: Duration
    moves: dict[str, str] = Field(..., min_length=1, description="move -> next stage, or won / lost")
    expired: str | None = Field(None, description="what the deadline passing leads to (None: the scheme decides)")


class Flow(_Model):
    name: str
    reason_codes: list[str] = Field(default_factory=list, description="glob patterns; empty: any")
    stages: list[Stage] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _targets(self) -> Flow:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"flow {self.name}: two stages with the same name")
        known = set(names) | set(OUTCOMES)
        for s in self.stages:
            for target in [*s.moves.values(), *([s.expired] if s.expired else [])]:
                if target not in known:
                    raise ValueError(f"flow {self.name}, stage {s.name}: unknown target {target!r}")
        return self

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def matches(self, reason_code: str | None) -> bool:
        return not self.reason_codes or any(fnmatch.fnmatchcase(reason_code or "", p) for p in self.reason_codes)


class SchemeRules(_Model):
    name: str
    flows: list[Flow] = Field(..., min_length=1)


class Lifecycles(_Model):
    version: Literal[1] = 1
    schemes: dict[Literal["visa", "mastercard", "jcb", "amex", "other"], SchemeRules]

    def flow_for(self, scheme: str | None, reason_code: str | None) -> tuple[str, Flow]:
        """``(scheme, flow)`` of a chargeback; the scheme guessed from the reason code when
        not given (``10.4`` Visa, ``4837`` Mastercard, ``546`` JCB, ``F29`` Amex)."""
        scheme = scheme or guess_scheme(reason_code)
        rules = self.schemes.get(scheme) or self.schemes["other"]  # type: ignore[call-overload]
        for flow in rules.flows:
            if flow.matches(reason_code):
                return scheme, flow
        return scheme, rules.flows[-1]


_GUESS = (
    ("visa", re.compile(r"^1[0-3]\.\d{1,2}$")),
    ("mastercard", re.compile(r"^48\d\d$")),
    ("jcb", re.compile(r"^5\d\d$")),
    ("amex", re.compile(r"^[A-Z]\d\d$")),
)


def guess_scheme(reason_code: str | None) -> str:
    for scheme, pattern in _GUESS:
        if reason_code and pattern.match(reason_code):
            return scheme
    return "other"


@cache
def lifecycles() -> Lifecycles:
    text = resources.files("fraudwatch.cases").joinpath("disputes.yaml").read_text(encoding="utf-8")
    return Lifecycles.model_validate(yaml.safe_load(text))


def check_overrides(data: Any) -> dict[str, dict[str, dict[str, float]]]:
    """Validate deadline overrides ``{acquirer: {scheme: {stage: duration}}}`` against the
    lifecycles; returns them in seconds. Raises ``ValidationFailed`` (422) naming the field."""
    errors: list[dict[str, str]] = []
    out: dict[str, dict[str, dict[str, float]]] = {}
    if not isinstance(data, dict):
        raise ValidationFailed("deadlines: expected {acquirer: {scheme: {stage: duration}}}", [_err("", "a mapping")])
    rules = lifecycles()
    for acquirer, schemes in data.items():
        if not isinstance(acquirer, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", acquirer):
            errors.append(_err(str(acquirer), "an acquirer name is 1-64 letters, digits, '_', '.', '-'"))
            continue
        if not isinstance(schemes, dict):
            errors.append(_err(acquirer, "expected {scheme: {stage: duration}}"))
            continue
        for scheme, stages in schemes.items():
            if scheme not in rules.schemes:
                errors.append(_err(f"{acquirer}.{scheme}", f"unknown scheme; known: {', '.join(SCHEMES)}"))
                continue
            known = sorted({s.name for f in rules.schemes[scheme].flows for s in f.stages})
            if not isinstance(stages, dict):
                errors.append(_err(f"{acquirer}.{scheme}", "expected {stage: duration}"))
                continue
            for stage, value in stages.items():
                loc = f"{acquirer}.{scheme}.{stage}"
                if stage not in known:
                    errors.append(_err(loc, f"unknown stage; known for {scheme}: {', '.join(known)}"))
                    continue
                try:
                    out.setdefault(acquirer, {}).setdefault(scheme, {})[stage] = parse_duration(value)
                except ValueError as exc:
                    errors.append(_err(loc, str(exc)))
    if errors:
        raise ValidationFailed("; ".join(f"{e['loc']}: {e['msg']}" for e in errors), errors)
    return out


def _err(loc: str, msg: str) -> dict[str, str]:
    return {"loc": loc, "msg": msg}


# ------------------------------------------------------------------ the dispute record
@dataclass(frozen=True, slots=True)
class Dispute:
    id: str
    case_id: str
    payment: str
    opened_by: str
    scheme: str
    flow: str
    reason_code: str | None
    acquirer: str | None
    amount: int
    currency: str
    stage: str | None
    party: str | None
    stage_started: float | None
    deadline: float | None
    outcome: str | None
    breached: bool
    opened: float
    decided: float | None
    version: int
    moves: tuple[str, ...] = ()
    stages: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["moves"] = list(self.moves)
        out["stages"] = list(self.stages)
        return out


def dispute_id_for(opened_by: str) -> str:
    return "dsp_" + hashlib.sha256(opened_by.encode()).hexdigest()[:20]


def deadline_of(conn: sqlite3.Connection, scheme: str, stage: Stage, acquirer: str | None) -> float:
    """The stage's duration: the acquirer's override, else the scheme's default."""
    if acquirer:
        seconds = store.deadline_overrides(conn, acquirer).get(scheme, {}).get(stage.name)
        if seconds is not None:
            return float(seconds)
    return stage.deadline


def open_dispute(
    conn: sqlite3.Connection,
    *,
    case_id: str,
    opened_by: str,
    payment: str,
    at: float,
    amount: int,
    currency: str,
    scheme: str | None,
    reason_code: str | None,
    acquirer: str | None,
    actor: str,
    now: float,
) -> Dispute:
    """A dispute at its flow's first stage, from a chargeback (idempotent per ``opened_by``)."""
    dispute_id = dispute_id_for(opened_by)
    if store.get_dispute(conn, dispute_id) is not None:
        return get_dispute(conn, dispute_id)
    scheme, flow = lifecycles().flow_for(scheme, reason_code)
    first = flow.stages[0]
    deadline = at + deadline_of(conn, scheme, first, acquirer)
    store.insert_dispute(
        conn,
        {
            "id": dispute_id,
            "case_id": case_id,
            "payment": payment,
            "opened_by": opened_by,
            "scheme": scheme,
            "flow": flow.name,
            "reason_code": reason_code,
            "acquirer": acquirer,
            "amount": amount,
            "currency": currency,
            "stage": first.name,
            "party": first.party,
            "stage_started": at,
            "deadline": deadline,
            "opened": at,
        },
    )
    store.add_stage(conn, dispute_id, {"stage": first.name, "party": first.party, "started": at, "deadline": deadline})
    store.add_log(
        conn,
        case_id,
        at=now,
        actor=actor,
        type="dispute",
        data={
            "dispute": dispute_id,
            "scheme": scheme,
            "flow": flow.name,
            "reason_code": reason_code,
            "stage": first.name,
            "deadline": deadline,
            "amount": amount,
            "currency": currency,
        },
    )
    return get_dispute(conn, dispute_id)


def get_dispute(conn: sqlite3.Connection, dispute_id: str) -> Dispute:
    row = store.get_dispute(conn, dispute_id)
    if row is None:
        raise refused(NotFound, f"no dispute {dispute_id!r}", "dispute_id")
    return _dispute(conn, row)


def list_disputes(conn: sqlite3.Connection, **filters: Any) -> list[Dispute]:
    return [_dispute(conn, r, stages=False) for r in store.list_disputes(conn, **filters)]


def move(
    conn: sqlite3.Connection, dispute_id: str, name: str, *, at: float, actor: str, now: float, note: str = ""
) -> Dispute:
    """Make ``name``, one of the current stage's moves, on date ``at`` (event time). Refused
    (409) when the move is not allowed at this stage, when the dispute is decided, or when
    the stage's deadline passed before ``at`` (``sweep`` applies the scheme's rule then)."""
    d = get_dispute(conn, dispute_id)
    if d.outcome is not None:
        raise refused(Conflict, f"dispute {dispute_id} was decided already ({d.outcome})", "move")
    flow = _flow(d)
    stage = flow.stage(d.stage or "")
    if name not in stage.moves:
        allowed = ", ".join(sorted(stage.moves))
        raise refused(
            Conflict,
            f"{name!r} is not a move at stage {stage.name} of {d.scheme} {flow.name}; allowed: {allowed}",
            "move",
        )
    if d.deadline is not None and at > d.deadline:
        raise refused(
            Conflict, f"the deadline of stage {stage.name} passed before this move; the scheme's rule applies", "at"
        )
    if d.stage_started is not None and at < d.stage_started:
        raise ValidationFailed(
            "the move is dated before its stage started", [{"loc": "at", "msg": "before the stage's start"}]
        )
    return _advance(conn, d, flow, stage.moves[name], at=at, move=name, actor=actor, now=now, note=note)


def sweep(conn: sqlite3.Connection, *, clock: float, now: float, actor: str = "fraudwatch") -> list[str]:
    """Apply the scheme's rule to every stage whose deadline passed before ``clock`` (event
    time): its ``expired`` target, a breach when it was the merchant's turn. Returns the
    dispute ids changed."""
    changed = []
    for row in store.disputes_due(conn, before=clock):
        d = _dispute(conn, row, stages=False)
        flow = _flow(d)
        stage = flow.stage(d.stage or "")
        if stage.expired is None:
            continue  # the scheme decides; shown as overdue
        _advance(
            conn,
            d,
            flow,
            stage.expired,
            at=d.deadline or clock,
            move="expired",
            actor=actor,
            now=now,
            breach=stage.party == "merchant",
        )
        changed.append(d.id)
    return changed


def _advance(conn, d: Dispute, flow: Flow, target: str, *, at, move, actor, now, note="", breach=False) -> Dispute:
    store.end_stage(conn, d.id, ended=at, move=move, actor=actor)
    changes: dict[str, Any] = {}
    if breach:
        changes["breached"] = 1
    if target in OUTCOMES:
        changes.update(outcome=target, stage=None, party=None, deadline=None, decided=at)
    else:
        nxt = flow.stage(target)
        deadline = at + deadline_of(conn, d.scheme, nxt, d.acquirer)
        changes.update(stage=nxt.name, party=nxt.party, stage_started=at, deadline=deadline)
        store.add_stage(conn, d.id, {"stage": nxt.name, "party": nxt.party, "started": at, "deadline": deadline})
    if not store.update_dispute(conn, d.id, changes, version=d.version):
        raise Conflict(f"dispute {d.id} changed meanwhile; try again")
    entry = {"dispute": d.id, "from": d.stage, "move": move, "to": target, "at": at}
    if breach:
        entry["breach"] = True
    if note:
        entry["note"] = note
    store.add_log(conn, d.case_id, at=now, actor=actor, type="dispute", data=entry)
    if target in OUTCOMES:
        from fraudwatch.cases.money import dispute_decided

        dispute_decided(conn, get_dispute(conn, d.id), now=now)
    return get_dispute(conn, d.id)


def _flow(d: Dispute) -> Flow:
    for flow in lifecycles().schemes[d.scheme].flows:  # type: ignore[index]
        if flow.name == d.flow:
            return flow
    raise KeyError(f"{d.scheme} has no flow {d.flow}")


def _dispute(conn, row: sqlite3.Row, stages: bool = True) -> Dispute:
    moves: tuple[str, ...] = ()
    if row["stage"]:
        for flow in lifecycles().schemes[row["scheme"]].flows:  # type: ignore[index]
            if flow.name == row["flow"]:
                moves = tuple(flow.stage(row["stage"]).moves)
    history = (
        tuple(
            {k: s[k] for k in ("stage", "party", "started", "deadline", "ended", "move", "actor")}
            for s in store.stages_of(conn, row["id"])
        )
        if stages
        else ()
    )
    return Dispute(
        id=row["id"],
        case_id=row["case_id"],
        payment=row["payment"],
        opened_by=row["opened_by"],
        scheme=row["scheme"],
        flow=row["flow"],
        reason_code=row["reason_code"],
        acquirer=row["acquirer"],
        amount=row["amount"],
        currency=row["currency"],
        stage=row["stage"],
        party=row["party"],
        stage_started=row["stage_started"],
        deadline=row["deadline"],
        outcome=row["outcome"],
        breached=bool(row["breached"]),
        opened=row["opened"],
        decided=row["decided"],
        version=row["version"],
        moves=moves,
        stages=history,
    )
