"""Validate a tree once and infer its static type; every problem found here is a
RuleSyntaxError pointing at the offending node.

Checks: names exist in their namespace, functions exist with the right number and
types of arguments, operators get operands of a fitting type when the types are known
(``'a' + 1`` is an error, ``card.count + 1`` is checked at run time), literal division
by zero, and list items that can never match.

>>> from fraudwatch.rules.parser import Parser
>>> p = Parser("'a' + 1")
>>> check(p.expression(), p.error)
Traceback (most recent call last):
...
fraudwatch.rules.errors.RuleSyntaxError: <expression>:1:5: error: '+' needs numbers, got string and number
  1 | 'a' + 1
    |     ^
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from fraudwatch.rules.functions import REGISTRY
from fraudwatch.rules.names import name_problem, static_type
from fraudwatch.rules.nodes import (
    ARITHMETIC,
    Binary,
    Call,
    IsMissing,
    ListLiteral,
    Literal,
    Membership,
    Name,
    Node,
    Unary,
)
from fraudwatch.rules.values import ANY, BOOL, COLLECTION, NUMBER, STRING, TIME, type_of_value

__all__ = ["check"]

_ORDERABLE = frozenset({NUMBER, STRING, TIME, ANY})
_MEMBER = frozenset({NUMBER, STRING, ANY})


def check(node: Node, error: Callable[..., Any], features: frozenset[str] | None = None) -> str:
    """Static type of ``node``; raises ``error(pos, message, hint)`` on the first problem."""
    return _Checker(error, features).type(node)


class _Checker:
    def __init__(self, error: Callable[..., Any], features: frozenset[str] | None):
        self.error = error
        self.features = features

    def type(self, node: Node) -> str:
        if isinstance(node, Literal):
            return type_of_value(node.value)
        if isinstance(node, Name):
            problem = name_problem(node.name, self.features)
            if problem:
                raise self.error(node.pos, problem)
            return static_type(node.name)
        if isinstance(node, Unary):
            t = self.type(node.operand)
            want = NUMBER if node.op == "-" else BOOL
            if t not in (want, ANY):
                raise self.error(node.pos, f"'{node.op}' needs a {want}, got {t}")
            return want
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Membership):
            t = self.type(node.operand)
            if t not in _MEMBER:
                raise self.error(node.pos, f"'in' needs a string or number on the left, got {t}")
            if isinstance(node.container, ListLiteral) and t != ANY and node.container.items:
                if not any(type_of_value(v) == t for v in node.container.items):
                    raise self.error(node.container.pos, f"no item of this list is a {t}, so it never matches")
            return BOOL
        if isinstance(node, IsMissing):
            self.type(node.operand)
            return BOOL
        if isinstance(node, Call):
            return self.call(node)
        raise self.error(node.pos, f"unexpected {type(node).__name__}")  # pragma: no cover

    def binary(self, node: Binary) -> str:
        lt, rt = self.type(node.left), self.type(node.right)
        op = node.op
        if op in ARITHMETIC:
            if lt not in (NUMBER, ANY) or rt not in (NUMBER, ANY):
                raise self.error(node.pos, f"'{op}' needs numbers, got {lt} and {rt}")
            if op in ("/", "%") and isinstance(node.right, Literal) and node.right.value == 0:
                raise self.error(node.right.pos, "division by zero", "a zero divisor always gives missing")
            return NUMBER
        if op in ("and", "or"):
            for side, t in ((node.left, lt), (node.right, rt)):
                if t not in (BOOL, ANY):
                    raise self.error(
                        side.pos, f"'{op}' needs true/false on both sides, got {t}", "compare it, e.g. x > 0"
                    )
            return BOOL
        if op in ("==", "!="):
            if COLLECTION in (lt, rt):
                raise self.error(node.pos, f"'{op}' cannot compare a list field", "use len(x)")
            if ANY not in (lt, rt) and lt != rt:
                raise self.error(node.pos, f"comparing {lt} with {rt} always gives missing")
            return BOOL
        # ordering
        if lt not in _ORDERABLE or rt not in _ORDERABLE:
            raise self.error(node.pos, f"'{op}' orders numbers, strings or times, got {lt} and {rt}")
        if ANY not in (lt, rt) and lt != rt:
            raise self.error(node.pos, f"comparing {lt} with {rt} always gives missing")
        return BOOL

    def call(self, node: Call) -> str:
        fn = REGISTRY.get(node.name)
        if fn is None:
            close = difflib.get_close_matches(node.name, REGISTRY.names(), n=1)
            hint = f"did you mean {close[0]}()?" if close else "functions: " + ", ".join(REGISTRY.names())
            raise self.error(node.pos, f"unknown function {node.name!r}", hint)
        params = fn.params
        required = sum(not p.optional for p in params)
        n = len(node.args)
        if n < required or (n > len(params) and not fn.variadic):
            raise self.error(node.pos, f"{node.name}() takes {_arity(fn)}, got {n}", fn.signature())
        types = []
        for i, arg in enumerate(node.args):
            p = params[min(i, len(params) - 1)]
            t = self.type(arg)
            accepted = p.types | ({NUMBER} if TIME in p.types else set())
            if t != ANY and ANY not in accepted and t not in accepted:
                raise self.error(
                    arg.pos, f"argument {p.name} of {node.name}() must be {p.type}, got {t}", fn.signature()
                )
            if p.const and not isinstance(arg, Literal):
                raise self.error(
                    arg.pos,
                    f"argument {p.name} of {node.name}() must be a literal",
                    "it is prepared once when the rule is compiled",
                )
            types.append(t)
        return fn.result_type(types)


def _arity(fn: Any) -> str:
    required = sum(not p.optional for p in fn.params)
    if fn.variadic:
        return f"at least {required} arguments"
    if required == len(fn.params):
        return f"{required} argument{'s' * (required != 1)}"
    return f"{required} to {len(fn.params)} arguments"
