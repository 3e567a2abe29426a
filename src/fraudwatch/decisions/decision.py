"""The decision the engine returns for one event.

>>> Outcome.worst([Outcome.REVIEW, Outcome.BLOCK, Outcome.ALLOW])
<Outcome.BLOCK: 'block'>
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import asdict, dataclass, field, is_dataclass
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
        best = cls.ALLOW
        for o in outcomes:
            if _SEVERITY[o] > _SEVERITY[best]:
                best = o
        return best


_SEVERITY = {Outcome.ALLOW: 0, Outcome.REVIEW: 1, Outcome.CHALLENGE: 2, Outcome.BLOCK: 3}


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition held, with the values that made it fire."""

    rule: str
    outcome: Outcome
    values: dict[str, Any]
    shadow: bool = False
    step_up: str | None = None  # what a challenge rule asks for (rules.ruleset.STEP_UPS)


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

    def to_dict(self, features: dict[str, Any] | None = None) -> dict[str, Any]:
        """The decision as plain data, as ``dataclasses.asdict`` gives it (the same keys in
        the same order, copies of every container) with the time as text and the outcomes
        as their names; built field by field, since asdict's deep copy of every feature
        value took most of a replay's time. ``features``: a copy of the features made by
        the caller (``fraudwatch.replay.decision_record`` orders them), used as it is."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "event_time": self.event_time.isoformat(),
            "outcome": self.outcome.value,
            "score": self.score,
            "rules": [_hit(h) for h in self.rules],
            "shadow_rules": [_hit(h) for h in self.shadow_rules],
            "reasons": [
                {"feature": r.feature, "value": _plain(r.value), "contribution": r.contribution} for r in self.reasons
            ],
            "features": _plain_dict(self.features) if features is None else features,
            "versions": dict(self.versions),
            "processing_us": self.processing_us,
            "duplicate": self.duplicate,
            "shadow_scores": dict(self.shadow_scores),
            "step_up": None if self.step_up is None else _plain_dict(self.step_up),
            "liability_shift": self.liability_shift,
            "retry_after": self.retry_after,
            "takeover": None if self.takeover is None else _plain_dict(self.takeover),
        }

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
    return {
        "rule": hit.rule,
        "outcome": hit.outcome.value,
        "values": _plain_dict(hit.values),
        "shadow": hit.shadow,
        "step_up": hit.step_up,
    }
