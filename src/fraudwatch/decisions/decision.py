"""The decision the engine returns for one event.

Precedence, as in Stripe Radar (allow rules run first): an enforced ``allow`` rule that
fires wins over every other rule and the model's thresholds, whose hits are kept in the
decision's shadow hits with ``allowed_by``; without one, the most severe outcome wins,
``block > challenge > review``; without any hit, the event is allowed.

>>> Outcome.worst([Outcome.REVIEW, Outcome.BLOCK])
<Outcome.BLOCK: 'block'>
>>> Outcome.decide([Outcome.REVIEW, Outcome.BLOCK, Outcome.ALLOW])
<Outcome.ALLOW: 'allow'>
>>> kept, overridden = allow_overrides([RuleHit("velocity", Outcome.BLOCK, {}),
...                                     RuleHit("trusted_reseller", Outcome.ALLOW, {})])
>>> [h.rule for h in kept], [(h.rule, h.shadow, h.values["allowed_by"]) for h in overridden]
(['trusted_reseller'], [('velocity', True, 'trusted_reseller')])
>>> decided_by([RuleHit("review_big", Outcome.REVIEW, {}), RuleHit("card_testing", Outcome.BLOCK, {})])
'card_testing'
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any


class Outcome(str, Enum):
    """What to do with the event. Precedence when several rules fire: the most
    severe wins, ``block > challenge > review > allow``.

    ``challenge`` maps to a step-up: an EMV 3-D Secure challenge request for a
    payment, a second factor for a login.
    """

    ALLOW = "allow"
    REVIEW = "review"
    CHALLENGE = "challenge"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @classmethod
    def worst(cls, outcomes: Any) -> Outcome:
        """The most severe outcome (``allow`` when there is none)."""
        best = cls.ALLOW
        for o in outcomes:
            if _SEVERITY[o] > _SEVERITY[best]:
                best = o
        return best

    @classmethod
    def decide(cls, outcomes: Any) -> Outcome:
        """The winner among enforced hits' outcomes: ``allow`` when any is ``allow`` (an
        explicit allow overrides), else the most severe."""
        outcomes = list(outcomes)
        return cls.ALLOW if cls.ALLOW in outcomes else cls.worst(outcomes)


_SEVERITY = {Outcome.ALLOW: 0, Outcome.REVIEW: 1, Outcome.CHALLENGE: 2, Outcome.BLOCK: 3}


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition held, with the values that made it fire."""

    rule: str
    outcome: Outcome
    values: dict[str, Any]
    shadow: bool = False
    step_up: str | None = None  # what a challenge rule asks for (rules.ruleset.STEP_UPS)


def allow_overrides(hits: list[RuleHit]) -> tuple[list[RuleHit], list[RuleHit]]:
    """``(kept, overridden)``: when an enforced ``allow`` hit is among ``hits``, the allow
    hits are kept and every other hit is overridden: returned as a shadow hit whose values
    name the first allow rule (``allowed_by``). Otherwise ``(hits, [])``."""
    allows = [h for h in hits if h.outcome is Outcome.ALLOW and not h.shadow]
    if not allows:
        return hits, []
    by = allows[0].rule
    overridden = [
        RuleHit(h.rule, h.outcome, {**h.values, "allowed_by": by}, True, h.step_up)
        for h in hits
        if h.outcome is not Outcome.ALLOW
    ]
    return allows, overridden


def decided_by(hits: list[RuleHit]) -> str | None:
    """The rule whose outcome won: the first enforced hit with the winning outcome."""
    outcome = Outcome.decide(h.outcome for h in hits if not h.shadow)
    for h in hits:
        if h.outcome is outcome and not h.shadow:
            return h.rule
    return None


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's contribution to the model score."""

    feature: str
    value: Any
    contribution: float


@dataclass(slots=True)
class Decision:
    """The engine's answer for one event. ``event_time`` is the event's own time: JSON
    carries it as ISO 8601 text (``to_dict``, and orjson's dataclass support, give the
    same text), formatted only when a decision is written out."""

    event_id: str
    kind: str
    event_time: datetime
    outcome: Outcome
    score: float | None = None
    rules: list[RuleHit] = field(default_factory=list)
    shadow_rules: list[RuleHit] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    processing_us: float = 0.0
    duplicate: bool = False
    shadow_scores: dict[str, float] = field(default_factory=dict)
    # account takeover defence (fraudwatch.ato): what a challenge asks for
    # ({"method": "three_ds", "challenge_indicator": "03", "rule": ...}), whether the payment's
    # 3-D Secure result shifts liability, how long the caller should wait before another
    # attempt (seconds), and the account's takeover episode when one is open
    step_up: dict[str, Any] | None = None
    liability_shift: bool | None = None
    retry_after: float | None = None
    takeover: dict[str, Any] | None = None
    # the rule whose outcome won (an allow rule overriding the others, else the first rule of
    # the most severe outcome, or a model threshold's ``model.score>=0.9``); None: no rule fired
    decided_by: str | None = None

    def to_dict(self, features: dict[str, Any] | None = None) -> dict[str, Any]:
        """The decision as plain data, as ``dataclasses.asdict`` gives it (the same keys in
        the same order, copies of every container) with the time as text and the outcomes
        as their names; built field by field, since asdict's deep copy of every feature
        value took most of a replay's time. ``features``: a copy of the features made by
        the caller (``fraudwatch.replay.decision_record`` orders them), used as it is."""
        out: dict[str, Any] = {}
        for name, convert in _CONVERTERS:  # in the fields' order, as asdict
            out[name] = features if name == "features" and features is not None else convert(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        d = dict(d)
        d["event_time"] = datetime.fromisoformat(d["event_time"])
        d["outcome"] = Outcome(d["outcome"])
        for key in ("rules", "shadow_rules"):
            d[key] = [RuleHit(**{**h, "outcome": Outcome(h["outcome"])}) for h in d.get(key, [])]
        d["reasons"] = [Reason(**r) for r in d.get("reasons", [])]
        return cls(**d)


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """A copy of ``value`` as ``asdict`` makes it (scalars as they are)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        return _plain_dict(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if type(value) in (list, tuple):
        return type(value)(_plain(v) for v in value)
    return deepcopy(value)


def _plain_dict(values: dict[str, Any]) -> dict[str, Any]:
    for v in values.values():
        if not isinstance(v, _SCALARS):
            return {k: _plain(v) for k, v in values.items()}
    return dict(values)  # the usual case: numbers, text and None only


def _hit(hit: RuleHit) -> dict[str, Any]:
    out = {name: _plain(getattr(hit, name)) for name in _HIT_FIELDS}
    out["outcome"] = hit.outcome.value
    return out


def _hits(hits: list[RuleHit]) -> list[dict[str, Any]]:
    return [_hit(h) for h in hits]


def _reasons(reasons: list[Reason]) -> list[dict[str, Any]]:
    return [{"feature": r.feature, "value": _plain(r.value), "contribution": r.contribution} for r in reasons]


_HIT_FIELDS = tuple(f.name for f in fields(RuleHit))
_SPECIAL: dict[str, Callable[[Any], Any]] = {
    "event_time": datetime.isoformat,
    "outcome": lambda outcome: outcome.value,
    "rules": _hits,
    "shadow_rules": _hits,
    "reasons": _reasons,
}
# per field of Decision in order: how to_dict converts it (plain copies of the others)
_CONVERTERS = tuple((f.name, _SPECIAL.get(f.name, _plain)) for f in fields(Decision))
