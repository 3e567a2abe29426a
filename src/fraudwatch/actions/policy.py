"""The response policy: which decisions and answers trigger which actions and alerts.

A YAML file validated once, with errors that name the field:

>>> Policy.from_yaml("version: 1\\nresponses:\\n  - name: x\\n    when: {outcomes: [block]}\\n"
...                  "    actions: [lok_account]\\n")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
fraudwatch.actions.policy.PolicyError: invalid policy <string>:
  responses[0].actions[0]: unknown action 'lok_account'; known: cancel_unshipped_orders, ..., lock_account, ...
>>> p = default_policy()
>>> p.answers.on_yes.suppress_for
2592000.0
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable
from importlib import resources
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import ValidationFailed

ACTIONS: tuple[str, ...] = (
    "suspend_card",
    "reissue_card",
    "lock_account",
    "revoke_sessions",
    "force_password_reset",
    "revert_profile_changes",
    "cancel_unshipped_orders",
    "release_payment",
    "lift_challenge",
)
CARD_ACTIONS = frozenset({"suspend_card", "reissue_card"})
ACCOUNT_ACTIONS = frozenset(
    {"lock_account", "revoke_sessions", "force_password_reset", "revert_profile_changes", "cancel_unshipped_orders"}
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"24h"``, ``"30d"``, ``"2w"`` -> seconds.

    >>> parse_duration("30d"), parse_duration(90)
    (2592000.0, 90.0)
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 15m, 24h, 30d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration; use seconds or text like 15m, 24h, 30d")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def _check_action(name: str) -> str:
    if name not in ACTIONS:
        raise ValueError(f"unknown action {name!r}; known: {', '.join(sorted(ACTIONS))}")
    return name


ActionName = Annotated[str, BeforeValidator(_check_action)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Model):
    """All given conditions must hold; ``rules`` matches if any fired rule matches any pattern."""

    outcomes: list[Outcome] = Field(..., min_length=1)
    rules: list[str] = Field(default_factory=list, description="rule names or glob patterns (ato_*)")
    kinds: list[str] = Field(default_factory=list, description="event kinds; empty: any")

    def may_match(self, kind: str, outcome: Outcome) -> bool:
        """Whether a decision of this kind and outcome can match, whatever rules fired."""
        return outcome in self.outcomes and (not self.kinds or kind in self.kinds)

    def matches(self, kind: str, decision: Decision) -> bool:
        if not self.may_match(kind, decision.outcome):
            return False
        if self.rules:
            fired = [h.rule for h in decision.rules if not h.shadow]
            return any(fnmatch.fnmatchcase(r, p) for r in fired for p in self.rules)
        return True


class Response(_Model):
    name: str = Field(..., min_length=1)
    when: When
    actions: list[ActionName] = Field(..., min_length=1)
    endpoint: str = "default"


class UsageAlerts(_Model):
    """Per-card opt-in: a message for every matching event."""

    enabled: bool = True
    kinds: list[str] = Field(default_factory=lambda: ["payment.attempt"])


class RiskAlerts(_Model):
    """ "Was this you?" with yes/no links: one alert per episode, with updates."""

    enabled: bool = True
    outcomes: list[Outcome] = Field(default_factory=lambda: [Outcome.CHALLENGE, Outcome.REVIEW, Outcome.BLOCK])
    kinds: list[str] = Field(default_factory=lambda: ["payment.attempt"])
    link_ttl: Duration = 86400.0
    max_per_hour: int = Field(
        1,
        ge=1,
        description="messages to one cardholder per hour of event time: the alert, then updates "
        "('3 more attempts were stopped') at most this often",
    )

    def applies(self, kind: str, outcome: Outcome) -> bool:
        return self.enabled and outcome in self.outcomes and kind in self.kinds


class Alerts(_Model):
    endpoint: str | None = Field("default", description="webhook endpoint that also receives alerts; null: e-mail only")
    usage: UsageAlerts = UsageAlerts()
    risk: RiskAlerts = RiskAlerts()


class YesAnswer(_Model):
    actions: dict[Outcome, list[ActionName]] = Field(
        default_factory=lambda: {
            Outcome.CHALLENGE: ["lift_challenge"],
            Outcome.REVIEW: ["release_payment"],
            Outcome.BLOCK: ["release_payment"],
        }
    )
    suppress_for: Duration = 30 * 86400.0
    never_suppress: list[str] = Field(
        default_factory=lambda: ["blocked_*", "card_reported_*"],
        description="rules (names or globs) a cardholder's yes never waives: an operator's lists, an issuer's "
        "lost or stolen statement",
    )

    def suppressible(self, rule: str) -> bool:
        return not any(fnmatch.fnmatchcase(rule, p) for p in self.never_suppress)


class NoAnswer(_Model):
    actions: list[ActionName] = Field(default_factory=lambda: ["suspend_card"])


class Answers(_Model):
    # not "yes"/"no": YAML 1.1 reads those keys as booleans
    endpoint: str = "default"
    on_yes: YesAnswer = YesAnswer()
    on_no: NoAnswer = NoAnswer()


LabelSource = Literal["cardholder", "analyst", "issuer", "chargeback", "merchant", "simulator", "dataset"]


class ContainmentSettings(_Model):
    """What a confirmed fraud puts on the engine's lists (``fraudwatch.actions.containment``)."""

    suspend_for: Duration = Field(180 * 86400.0, description="how long a card token stays on @suspended_cards")
    watch_for: Duration = Field(
        30 * 86400.0, description="how long an attacker's device and IP stay on @watched_devices / @watched_ips"
    )
    label_sources: list[LabelSource] = Field(
        default_factory=lambda: ["cardholder", "analyst", "issuer"],
        description="label sources whose fraud: true confirms a fraud",
    )


class Policy(_Model):
    version: Literal[1] = 1
    lookback: Duration = Field(
        72 * 3600.0, description="how far back an attack's events are gathered (profile changes, orders)"
    )
    alerts: Alerts = Alerts()
    containment: ContainmentSettings = ContainmentSettings()
    responses: list[Response] = Field(default_factory=list)
    answers: Answers = Answers()

    @field_validator("responses")
    @classmethod
    def _unique_names(cls, value: list[Response]) -> list[Response]:
        seen: set[str] = set()
        for r in value:
            if r.name in seen:
                raise ValueError(f"two responses named {r.name!r}")
            seen.add(r.name)
        return value

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> Policy:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"invalid policy {source}: not YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise PolicyError(f"invalid policy {source}: expected a mapping at the top")
        booleans = _boolean_keys(data)
        if booleans:
            lines = "\n".join(
                f"  {b}: a key YAML reads as true/false (yes, no, on, off); answers use on_yes and on_no"
                for b in booleans
            )
            raise PolicyError(
                f"invalid policy {source}:\n{lines}", [{"field": b, "message": "boolean key"} for b in booleans]
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = [
                {"field": _path(e["loc"]), "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors()
            ]
            lines = "\n".join(f"  {e['field']}: {e['message']}" for e in errors)
            raise PolicyError(f"invalid policy {source}:\n{lines}", errors) from None

    @classmethod
    def from_path(cls, path: str) -> Policy:
        with open(path, encoding="utf-8") as f:
            return cls.from_yaml(f.read(), source=path)

    def responses_for(self, kind: str, decision: Decision) -> list[tuple[str, str, str]]:
        """``(action, endpoint, response name)`` for a decision, first response wins per action."""
        out: dict[tuple[str, str], str] = {}
        for r in self.responses:
            if r.when.matches(kind, decision):
                for a in r.actions:
                    out.setdefault((a, r.endpoint), r.name)
        return [(a, e, n) for (a, e), n in out.items()]

    def may_act(self, kind: str, outcome: Outcome) -> bool:
        """Whether a decision of this kind and outcome can raise a risk alert or a response
        (usage alerts depend on the card's subscription, not on the decision)."""
        return self.alerts.risk.applies(kind, outcome) or any(r.when.may_match(kind, outcome) for r in self.responses)

    def rule_problems(self, rule_names: Iterable[str]) -> list[dict[str, str]]:
        """Rule names and globs of the policy that name no rule of ``rule_names``, each as
        ``{"field", "message"}`` with the closest existing names (``never_suppress`` is
        checked when the file sets it). Names starting with
        ``model`` are the model's threshold hits (``model.score>=0.9``), not rules.

        >>> p = Policy.from_yaml("responses:\\n  - {name: a, when: {outcomes: [block], rules: [card_tests, 'bin_*']},"
        ...                      " actions: [suspend_card]}")
        >>> for e in p.rule_problems(["card_testing", "card_rapid_declines", "blocked_card", "bins_enumeration"]):
        ...     print(e["field"], "-", e["message"])
        responses[0].when.rules[0] - unknown rule 'card_tests'; closest: card_testing, card_rapid_declines, blocked_card
        responses[0].when.rules[1] - 'bin_*' matches no rule; closest: bins_enumeration
        """
        names = sorted(set(rule_names))
        places = [
            (f"responses[{i}].when.rules[{j}]", p)
            for i, r in enumerate(self.responses)
            for j, p in enumerate(r.when.rules)
        ]
        yes = self.answers.on_yes
        if "never_suppress" in yes.model_fields_set:  # the default (blocked_*) guards rules that may not exist
            places += [(f"answers.on_yes.never_suppress[{j}]", p) for j, p in enumerate(yes.never_suppress)]
        problems = []
        for where, pattern in places:
            if pattern.startswith(MODEL_PREFIX):
                continue
            if _is_glob(pattern):
                if not fnmatch.filter(names, pattern):
                    problems.append(
                        {"field": where, "message": f"{pattern!r} matches no rule{_closest(pattern, names)}"}
                    )
            elif pattern not in names:
                problems.append({"field": where, "message": f"unknown rule {pattern!r}{_closest(pattern, names)}"})
        return problems

    def check_rules(self, rule_names: Iterable[str], *, source: str = "the policy", rules: str = "the rules") -> None:
        """Raise ``PolicyError`` (422) when a response names a rule that is not in
        ``rule_names`` (or a glob matches none): at start and on every rules change."""
        problems = self.rule_problems(rule_names)
        if problems:
            lines = "\n".join(f"  {e['field']}: {e['message']}" for e in problems)
            raise PolicyError(f"{source} does not fit {rules}:\n{lines}", problems)

    def check_rules_of(self, ruleset: Any, *, source: str = "the policy", rules: str | None = None) -> None:
        """``check_rules`` for a ``RuleSet`` (the model's threshold hits count as rules)."""
        self.check_rules((r.name for r in ruleset), source=source, rules=rules or f"rules version {ruleset.version!r}")

    def endpoints(self) -> set[str]:
        names = {r.endpoint for r in self.responses} | {self.answers.endpoint}
        if self.alerts.endpoint:
            names.add(self.alerts.endpoint)
        return names


class PolicyError(ValidationFailed):
    """A policy file that does not validate; ``errors`` lists field and message."""


MODEL_PREFIX = "model"  # the model's threshold hits are named model.score>=0.9


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _closest(name: str, names: list[str], n: int = 3) -> str:
    """``"; closest: a, b"``: the most similar names, by spelling and by shared words."""
    bare = re.sub(r"[*?\[\]]", "", name).strip("_")
    words = set(filter(None, bare.split("_")))

    def score(candidate: str) -> float:
        shared = sum(1 for w in candidate.split("_") if any(w.startswith(x) or x.startswith(w) for x in words))
        return shared / max(len(words), 1) + difflib.SequenceMatcher(None, bare, candidate).ratio()

    found = [c for c in sorted(names, key=lambda c: -score(c)) if score(c) >= 0.6][:n]
    return f"; closest: {', '.join(found)}" if found else ""


def _boolean_keys(node: Any, path: tuple = ()) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, bool):
                found.append(_path((*path, str(k).lower())))
            found += _boolean_keys(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _boolean_keys(v, (*path, i))
    return found


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_policy(path: Any = None) -> Policy:
    """The policy file at ``path`` (``actions.policy``), or the packaged default."""
    return Policy.from_path(str(path)) if path else default_policy()


def default_policy() -> Policy:
    text = resources.files("fraudwatch.actions").joinpath("default_policy.yaml").read_text(encoding="utf-8")
    return Policy.from_yaml(text, source="default_policy.yaml")
