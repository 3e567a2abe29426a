"""Rule files: parse, check and compile a versioned set of rules, evaluate them.

Syntax (one rule per block; newlines and indentation are free, ``#`` starts a
comment; a condition may span lines)::

    rule <name> [shadow]:
        description "<text>"                  # optional
        <allow|review|challenge|block> if <condition>

``challenge`` may name the step-up to ask for: ``challenge three_ds_mandated if ...``
(:data:`STEP_UPS`); without one, a login asks for a second factor and a payment or a card
registration for 3-D Secure with challenge indicator 03.

>>> from types import SimpleNamespace as Event
>>> rs = RuleSet.parse('''
... # card testing: the same amount declined again and again
... rule card_testing_same_amount:
...     block if card.declines_insufficient_funds_24h >= 2
...          and card.same_amount_24h >= 2
... rule big_first_payment [shadow]:
...     description "a new card's first payment is large"
...     review if event.amount >= 100_000 and coalesce(card.payments_30d, 0) == 0
... ''', version="2026-11-21.1")
>>> [(r.name, r.outcome.value, r.shadow, r.line) for r in rs.rules]
[('card_testing_same_amount', 'block', False, 3), ('big_first_payment', 'review', True, 6)]
>>> sorted(rs.feature_names)
['card.declines_insufficient_funds_24h', 'card.payments_30d', 'card.same_amount_24h']
>>> ctx = Context(event=Event(amount=176000), features={"card.declines_insufficient_funds_24h": 2,
...                                                   "card.same_amount_24h": 3})
>>> hits, shadow_hits = rs.evaluate(ctx)
>>> [h.rule for h in hits], [h.rule for h in shadow_hits], rs.outcome(hits).value
(['card_testing_same_amount'], ['big_first_payment'], 'block')
>>> shadow_hits[0].values
{'card.payments_30d': None, 'event.amount': 176000}
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fraudwatch import codegen
from fraudwatch.decisions.decision import Outcome, RuleHit
from fraudwatch.events.kinds import TYPE_BY_KIND, attributes
from fraudwatch.rules.applicability import for_kind, requirements
from fraudwatch.rules.context import Context
from fraudwatch.rules.errors import RuleSyntaxError
from fraudwatch.rules.expression import Expression, compile_tree
from fraudwatch.rules.failures import report
from fraudwatch.rules.inline import rules_function
from fraudwatch.rules.lexer import KEYWORDS
from fraudwatch.rules.names import FEATURE, MODEL, declared_metadata, namespace_of
from fraudwatch.rules.parser import Parser

__all__ = ["Rule", "RuleSet", "OUTCOMES", "MAX_RULES"]

MAX_PLANS = 4096  # distinct event shapes remembered; beyond this, plans are made per event

OUTCOMES = {o.value: o for o in Outcome}
# what a challenge asks for: a second factor (any the account has, or a given one), 3-D Secure
# (challenge indicator 03 "challenge requested" or 04 "mandated"), a CAPTCHA (card testing)
STEP_UPS = frozenset(
    {"second_factor", "totp", "sms", "email", "push", "passkey", "three_ds", "three_ds_mandated", "captcha"}
)
OPTIONS = frozenset({"shadow"})
MAX_RULES = 10_000


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its ``name``, ``outcome`` when it fires, ``condition`` text,
    ``shadow`` flag (evaluated and recorded, never enforced), ``description``,
    the ``line`` it starts on, and the compiled ``expression``."""

    name: str
    outcome: Outcome
    condition: str
    expression: Expression = field(compare=False, repr=False)
    shadow: bool = False
    description: str | None = None
    line: int = 0
    step_up: str | None = None  # what a challenge asks for (STEP_UPS); None: the event kind's default


class RuleSet:
    """An immutable, versioned set of rules; build it with :meth:`parse`.

    ``digest`` is the sha256 of the text; ``feature_names`` the names that must come
    from features, ``list_names`` the named lists used (without the @),
    ``model_names`` the model outputs read (``score`` for ``model.score``).
    """

    __slots__ = (
        "rules",
        "version",
        "digest",
        "source",
        "source_text",
        "feature_names",
        "list_names",
        "model_names",
        "_sealed",
        "_needs",
        "_plans",
    )

    def __init__(
        self, rules: Iterable[Rule], version: str, digest: str, source: str = "<rules>", source_text: str = ""
    ):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.version = version
        self.digest = digest
        self.source = source
        self.source_text = source_text  # for errors found after parsing (see rules.resolve)
        names = frozenset().union(*(r.expression.names for r in self.rules))
        self.feature_names = frozenset(n for n in names if not n.startswith("@") and namespace_of(n) == FEATURE)
        self.list_names = frozenset(n[1:] for n in names if n.startswith("@"))
        self.model_names = frozenset(n[len(MODEL) + 1 :] for n in names if namespace_of(n) == MODEL)
        self._needs = tuple(requirements(r.expression.tree) for r in self.rules)
        self._plans: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # event shape -> the rules that can fire for it
        self._sealed = True  # set last

    def __setattr__(self, key: Any, value: Any) -> None:
        if hasattr(self, "_sealed"):
            raise AttributeError("RuleSet is immutable; parse a new one")
        object.__setattr__(self, key, value)

    @classmethod
    def parse(
        cls,
        text: str,
        version: str | None = None,
        *,
        features: Collection[str] | None = None,
        source: str = "<rules>",
        metadata: Mapping[str, str] | None = None,
    ) -> RuleSet:
        """Parse a rule file. ``version`` defaults to ``sha256:<first 12 hex digits>``;
        ``features``, when given, are the known feature names (others are errors);
        ``metadata``, when given, the declared custom fields and their types (a feature
        set's ``metadata``: other ``event.metadata.<key>`` names are errors). Raises
        RuleSyntaxError for the first problem, with all problems found (one per rule at
        most) in its ``errors``."""
        with declared_metadata(metadata):
            return cls._parse(text, version, features, source)

    @classmethod
    def _parse(cls, text: str, version: str | None, features: Collection[str] | None, source: str) -> RuleSet:
        digest = hashlib.sha256(text.encode()).hexdigest()
        known = frozenset(features) if features is not None else None
        parser = Parser(text, source)
        rules: list[Rule] = []
        errors: list[RuleSyntaxError] = []
        seen: dict[str, int] = {}
        while not parser.at("eof"):
            start = parser.i
            try:
                rule = _parse_rule(parser, known, seen)
            except RuleSyntaxError as exc:
                errors.append(exc)
                _skip_to_next_rule(parser, start)
                continue
            rules.append(rule)
            if len(rules) > MAX_RULES:
                raise parser.error(parser.peek(), f"more than {MAX_RULES} rules")
        if errors:
            errors[0].errors = errors
            raise errors[0]
        return cls(rules, version or f"sha256:{digest[:12]}", digest, source, text)

    def evaluate(self, ctx: Context) -> tuple[list[RuleHit], list[RuleHit]]:
        """Rules whose condition is exactly true, in file order: ``(hits, shadow_hits)``.
        Values are collected only for rules that fire."""
        hits: list[RuleHit] = []
        shadow_hits: list[RuleHit] = []
        kind = getattr(ctx.event, "kind", None)
        shape = (kind, tuple(ctx.features))
        plan = self._plans.get(shape)
        if plan is None:
            # beyond MAX_PLANS shapes, a plan per event: too many to generate code for each
            plan = self._plan(kind, ctx.features, generate=len(self._plans) < MAX_PLANS and codegen.enabled())
            if len(self._plans) < MAX_PLANS:
                self._plans[shape] = plan
        fired, rules = plan
        try:
            indexes = fired(ctx)
        except Exception as exc:  # generated code does not raise; if it did: reported, then rule by rule
            report(exc, "the rules of one event shape", None, ctx)
            indexes = [i for i, rule in enumerate(rules) if _fires_alone(rule, ctx)]
        for i in indexes:
            rule = rules[i]
            hit = RuleHit(rule.name, rule.outcome, rule.expression.values(ctx), rule.shadow, rule.step_up)
            (shadow_hits if rule.shadow else hits).append(hit)
        return hits, shadow_hits

    def _plan(self, kind: str | None, features: Any, generate: bool = True) -> tuple[Any, ...]:
        """``(fired, rules)``: the rules that can fire for an event of ``kind`` with these
        features present, and one generated function giving which of them do (their
        conditions without the kind tests the kind decides). With an unknown kind (a plain
        object in tests), only features decide."""
        event_type = TYPE_BY_KIND.get(kind) if kind is not None else None
        rules, conditions = [], []
        for rule, (needs, kinds) in zip(self.rules, self._needs, strict=False):
            if event_type is not None and kinds is not None and kind not in kinds:
                continue
            if any(not _can_have(name, features, event_type) for name in needs):
                continue
            tree = rule.expression.tree
            if event_type is not None and kind is not None:
                tree = for_kind(tree, kind) or tree
            rules.append(rule)
            conditions.append(tree)
        if not generate:
            return lambda ctx: [i for i, rule in enumerate(rules) if rule.expression(ctx) is True], tuple(rules)
        return rules_function(conditions, [rule.name for rule in rules]), tuple(rules)

    @staticmethod
    def outcome(hits: Iterable[RuleHit]) -> Outcome:
        """The winning outcome of enforced hits: ``allow`` when an allow rule fired (it
        overrides the others, as Radar runs allow rules first), else the most severe,
        block > challenge > review; ``allow`` when none fired. Shadow hits never count."""
        return Outcome.decide(h.outcome for h in hits if not h.shadow)

    def missing_lists(self, store: Any) -> list[str]:
        """Named lists the rules use that ``store`` lacks (their rules see missing)."""
        have = set(store.names()) if store is not None else set()
        return sorted(self.list_names - have)

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        shadow = sum(r.shadow for r in self.rules)
        return f"RuleSet(version={self.version!r}, rules={len(self.rules)}, shadow={shadow})"


def _fires_alone(rule: Rule, ctx: Context) -> bool:
    try:
        return rule.expression(ctx) is True
    except Exception as exc:  # one bad rule must not stop the rest; reported, not silent
        report(exc, "its condition", rule.name, ctx)
        return False


def _can_have(name: str, features: Any, event_type: Any) -> bool:
    if namespace_of(name) == FEATURE:
        return name in features
    if event_type is None:  # event.* on an object of unknown shape
        return True
    return name.split(".")[1] in attributes(event_type)


def _parse_rule(parser: Parser, features: frozenset[str] | None, seen: dict[str, int]) -> Rule:
    parser.expect("name", "rule", "'rule'", "each rule starts with: rule <name>:")
    name_tok = parser.advance()
    if name_tok.kind != "name" or "." in name_tok.value or name_tok.value in KEYWORDS:
        raise parser.error(
            name_tok,
            f"expected a rule name, found {name_tok.describe()}",
            "a rule name is letters, digits and _, e.g. card_testing",
        )
    name = name_tok.value
    if name in seen:
        raise parser.error(name_tok, f"rule {name!r} is already defined on line {seen[name]}", "rule names are unique")
    seen[name] = name_tok.line  # also when the rest of the rule is bad, so duplicates are still reported
    shadow = False
    if parser.at("op", "["):
        parser.advance()
        while True:
            opt = parser.advance()
            if opt.kind != "name" or opt.value not in OPTIONS:
                raise parser.error(
                    opt, f"unknown rule option {opt.describe()}", "options: " + ", ".join(sorted(OPTIONS))
                )
            shadow = True
            if not parser.at("op", ","):
                break
            parser.advance()
        parser.expect("op", "]", "']'")
    parser.expect("op", ":", "':'", f"write: rule {name}:")
    description = None
    if parser.at_word("description"):
        parser.advance()
        description = parser.expect("str", None, "a quoted description").value
    outcome_tok = parser.advance()
    if outcome_tok.kind != "name" or outcome_tok.value not in OUTCOMES:
        close = difflib.get_close_matches(str(outcome_tok.value), list(OUTCOMES), n=1)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else "write: block if <condition> (outcomes: allow, review, challenge, block)"
        )
        raise parser.error(outcome_tok, f"expected an outcome, found {outcome_tok.describe()}", hint)
    step_up = None
    if outcome_tok.value == "challenge" and parser.at("name") and not parser.at_word("if"):
        method = parser.advance()
        if method.value not in STEP_UPS:
            close = difflib.get_close_matches(str(method.value), sorted(STEP_UPS), n=1)
            hint = f"did you mean {close[0]}?" if close else "step-ups: " + ", ".join(sorted(STEP_UPS))
            raise parser.error(method, f"unknown step-up {method.describe()}", hint)
        step_up = method.value
    parser.expect("name", "if", "'if'", f"write: {outcome_tok.value} if <condition>")
    start = parser.peek()
    if start.kind == "eof" or (start.kind == "name" and start.value == "rule"):
        raise parser.error(start, "expected a condition after 'if'")
    parser.depth = 0
    tree = parser.expression(0)
    last = parser.tokens[parser.i - 1]
    parser.end_of_expression("the condition", stop="rule")
    condition = parser.text[start.offset : last.end]
    expression = compile_tree(parser, tree, condition, features, rule=name)
    if expression.type not in ("bool", "any"):
        raise parser.error(
            start, f"a condition must be true or false, got a {expression.type}", "compare it, e.g. x > 0"
        )
    return Rule(name, OUTCOMES[outcome_tok.value], condition, expression, shadow, description, name_tok.line, step_up)


def _skip_to_next_rule(parser: Parser, start: int) -> None:
    """Error recovery: resume at the next line after ``start`` that starts with 'rule'
    (scanning from the failed rule's start: the error may have consumed that token)."""
    parser.i = start
    parser.advance()
    while not parser.at("eof"):
        tok = parser.peek()
        if tok.first and tok.kind == "name" and tok.value == "rule":
            return
        parser.advance()
