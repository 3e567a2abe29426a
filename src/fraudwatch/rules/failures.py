"""Unexpected errors inside rule evaluation: counted and logged, never silent.

A rule function given data that does not fit it (``TypeError``, ``ValueError``,
``ArithmeticError``: a string where it wanted a number, an overflow) gives missing, as
a missing value does, and the rule does not fire: that is the language's contract. Any
other exception is a bug. It still gives missing, so one broken rule cannot stop the
others or the stream, but it is counted in :data:`FAILURES` by function and rule (the
service exports it as ``fraudwatch_rule_errors_total``) and logged with the rule and the
event id: the first failure of each with its traceback, then every tenfold count.

>>> from types import SimpleNamespace
>>> ctx = SimpleNamespace(event=SimpleNamespace(id="e1"))
>>> before = FAILURES[("upper", "doc_rule")]
>>> failed(KeyError("x"), "upper", "doc_rule", ctx), FAILURES[("upper", "doc_rule")] - before
(MISSING, 1)
>>> failed(ValueError("not a number"), "upper", "doc_rule", ctx), FAILURES[("upper", "doc_rule")] - before
(MISSING, 1)
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from fraudwatch.rules.values import MISSING

__all__ = ["EXPECTED", "FAILURES", "failed", "report"]

log = logging.getLogger("fraudwatch.rules")

EXPECTED = (TypeError, ValueError, ArithmeticError)  # data that does not fit: missing, quietly
FAILURES: Counter[tuple[str, str]] = Counter()  # (where, rule) -> unexpected errors in this process


def failed(exc: BaseException, function: str, rule: str | None, ctx: Any) -> Any:
    """What a rule function call gives when it raised ``exc``: missing; reported when unexpected."""
    if not isinstance(exc, EXPECTED):
        report(exc, function, rule, ctx)
    return MISSING


def report(exc: BaseException, where: str, rule: str | None, ctx: Any) -> None:
    """Count and log an unexpected error of ``where`` (a function, or the rule set)."""
    key = (where, rule or "")
    FAILURES[key] += 1
    n = FAILURES[key]
    if n == 1 or _power_of_ten(n):
        event_id = getattr(getattr(ctx, "event", None), "id", None)
        log.error(
            "rule %s: %s raised %s on event %s (%d time%s in this process)",
            rule or "(an expression)",
            where,
            f"{type(exc).__name__}: {exc}",
            event_id,
            n,
            "" if n == 1 else "s",
            exc_info=exc if n == 1 else None,
        )


def _power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1
