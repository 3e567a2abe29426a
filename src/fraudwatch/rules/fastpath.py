"""Fused closures for the commonest condition, a name compared with a number literal
(``card.declines_10m >= 3``, ``event.amount >= 10_000``): the lookup and the
comparison run in one closure with the operator inlined, which measured about twice
as fast as a getter closure plus ``operator.ge``. The uncommon cases (not an int or
float, None, NaN) take ``_slow``.

>>> from fraudwatch.rules.context import Context
>>> f = feature_compare(">=", "card.declines_10m", 3)
>>> f(Context(features={"card.declines_10m": 4})), f(Context(features={}))
(True, MISSING)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from fraudwatch.rules.values import MISSING, as_number

__all__ = ["feature_compare", "getter_compare", "event_string_equals"]

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _slow(a: Any, c: Any, op: str) -> Any:
    if a is None or a is MISSING:
        return MISSING
    a = as_number(a)
    return MISSING if a is MISSING else _OPS[op](a, c)


def feature_compare(op: str, name: str, c: Any) -> Callable[[Any], Any]:
    """``ctx.features[name] <op> c`` for a number literal ``c``."""
    if op == ">=":

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a >= c
            return _slow(a, c, op)

    elif op == ">":

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a > c
            return _slow(a, c, op)

    elif op == "<=":

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a <= c
            return _slow(a, c, op)

    elif op == "<":

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a < c
            return _slow(a, c, op)

    elif op == "==":

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a == c
            return _slow(a, c, op)

    else:

        def f(ctx: Any) -> Any:
            a = ctx.features.get(name)
            cls = a.__class__
            if cls is int or (cls is float and a == a):
                return a != c
            return _slow(a, c, op)

    return f


def getter_compare(op: str, get: Callable[[Any], Any], c: Any) -> Callable[[Any], Any]:
    """``get(ctx) <op> c`` for a number literal ``c``; ``get`` never returns NaN."""
    if op == ">=":

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a >= c
            return _slow(a, c, op)

    elif op == ">":

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a > c
            return _slow(a, c, op)

    elif op == "<=":

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a <= c
            return _slow(a, c, op)

    elif op == "<":

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a < c
            return _slow(a, c, op)

    elif op == "==":

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a == c
            return _slow(a, c, op)

    else:

        def f(ctx: Any) -> Any:
            a = get(ctx)
            cls = a.__class__
            if cls is int or cls is float:
                return a != c
            return _slow(a, c, op)

    return f


def event_string_equals(field: str, c: str, negated: bool) -> Callable[[Any], Any]:
    """``event.<field> == 'c'`` (or ``!=``), e.g. ``event.kind == 'payment.attempt'``."""
    if negated:

        def f(ctx: Any) -> Any:
            a = getattr(ctx.event, field, None)
            return a != c if a.__class__ is str else MISSING

    else:

        def f(ctx: Any) -> Any:
            a = getattr(ctx.event, field, None)
            return a == c if a.__class__ is str else MISSING

    return f
