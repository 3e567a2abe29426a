"""Which rules can fire for an event of a given shape, decided once per shape.

A rule fires only when its condition is exactly true. Under the language's missing-value
semantics, some names make a condition "not true" whenever they are missing: every name
in a comparison under ``and``, for example. A rule that needs a feature the event cannot
have (its entity is absent), an event field its kind lacks, or another ``event.kind``
cannot fire, so the rule set skips it. This changes no result, only the work done.

>>> from fraudwatch.rules.parser import parse_expression
>>> needs, kinds = requirements(parse_expression(
...     "event.kind == 'order.placed' and account.gift_orders_1h >= 3 and coalesce(x, 0) < 2"))
>>> sorted(needs), sorted(kinds)
(['account.gift_orders_1h', 'event.kind'], ['order.placed'])
>>> requirements(parse_expression("a > 1 or b > 1"))
(frozenset(), None)

Once the plan knows the kind, the ``event.kind`` tests that hold for it are dropped from
the condition (true ``and`` x fires exactly when x does):

>>> from fraudwatch.rules.nodes import to_text
>>> to_text(for_kind(parse_expression("event.kind == 'order.placed' and x >= 3 and y < 2"), "order.placed"))
'((x >= 3) and (y < 2))'
"""

from __future__ import annotations

from typing import Any

from fraudwatch.rules.names import EVENT, FEATURE, namespace_of
from fraudwatch.rules.nodes import (
    ARITHMETIC,
    COMPARISONS,
    Binary,
    IsMissing,
    ListLiteral,
    Literal,
    Membership,
    Name,
    Node,
    Unary,
)

__all__ = ["requirements", "for_kind"]

_EMPTY: frozenset[Any] = frozenset()


def requirements(tree: Node) -> tuple[frozenset[str], frozenset[str] | None]:
    """``(needed, kinds)``: the feature and event names whose absence keeps the
    condition from being true, and the event kinds it can be true for (None: any)."""
    return _not_true(tree), _kinds(tree)


def _missing(node: Node) -> frozenset[str]:
    """Names whose absence makes ``node`` missing."""
    if isinstance(node, Name):
        return frozenset({node.name}) if namespace_of(node.name) in (FEATURE, EVENT) else _EMPTY
    if isinstance(node, Unary):
        return _missing(node.operand)
    if isinstance(node, Binary):
        if node.op in ARITHMETIC or node.op in COMPARISONS:
            return _missing(node.left) | _missing(node.right)
        if node.op in ("and", "or"):
            return _missing(node.left) & _missing(node.right)
    if isinstance(node, Membership):
        return _missing(node.operand)
    return _EMPTY  # literals, lists, `is missing`, function calls (coalesce): no claim


def _not_true(node: Node) -> frozenset[str]:
    """Names whose absence makes ``node`` false or missing."""
    if isinstance(node, Binary) and node.op == "and":
        return _not_true(node.left) | _not_true(node.right)
    if isinstance(node, Binary) and node.op == "or":
        return _not_true(node.left) & _not_true(node.right)
    if isinstance(node, IsMissing):
        return _EMPTY
    return _missing(node)


def _kinds(node: Node) -> frozenset[str] | None:
    if isinstance(node, Binary):
        if node.op == "and":
            left, right = _kinds(node.left), _kinds(node.right)
            return left if right is None else right if left is None else left & right
        if node.op == "or":
            left, right = _kinds(node.left), _kinds(node.right)
            return None if left is None or right is None else left | right
        if node.op == "==":
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if (
                    isinstance(a, Name)
                    and a.name == "event.kind"
                    and isinstance(b, Literal)
                    and isinstance(b.value, str)
                ):
                    return frozenset({b.value})
    if (
        isinstance(node, Membership)
        and not node.negated
        and isinstance(node.operand, Name)
        and node.operand.name == "event.kind"
        and isinstance(node.container, ListLiteral)
    ):
        return frozenset(v for v in node.container.items if isinstance(v, str))
    return None


def for_kind(tree: Node, kind: str) -> Node | None:
    """``tree`` without its top-level ``and`` parts that only test ``event.kind`` and hold
    for ``kind``; None when nothing is dropped, a true literal when nothing remains."""
    parts: list[Node] = []
    stack = [tree]
    while stack:  # the and-chain's parts, in order
        node = stack.pop()
        if isinstance(node, Binary) and node.op == "and":
            stack += (node.right, node.left)
        else:
            parts.append(node)
    kept = [p for p in parts if not _holds_for(p, kind)]
    if len(kept) == len(parts):
        return None
    if not kept:
        return Literal(True)
    rest = kept[-1]
    for part in reversed(kept[:-1]):
        rest = Binary("and", part, rest)
    return rest


def _holds_for(node: Node, kind: str) -> bool:
    """Whether ``node`` only tests ``event.kind`` and is true for ``kind``."""
    kinds = _kind_test(node)
    return kinds is not None and kind in kinds


def _kind_test(node: Node) -> frozenset[str] | None:
    """The kinds ``node`` is true for when it is a plain test of ``event.kind``
    (``==``, ``in``, or an ``or`` of those), else None."""
    if isinstance(node, Binary) and node.op == "or":
        left, right = _kind_test(node.left), _kind_test(node.right)
        return None if left is None or right is None else left | right
    if (isinstance(node, Binary) and node.op == "==") or isinstance(node, Membership):
        return _kinds(node)
    return None
