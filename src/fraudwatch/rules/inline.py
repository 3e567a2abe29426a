"""Python functions generated from checked expressions, for the hot paths: a filter that
reads only the event (``event.result == 'declined'``), a derived feature that is
arithmetic over names and numbers (``event.amount / card.amount_mean_30d``), and all the
rules that can fire for one event shape in one function. Each gives exactly what the
compiled closures give (``compiler.py``), without building a Context or calling a closure
per node. A filter or value of another shape gets None (the closures are used); a rule's
part of another shape calls its closure.

The generated text holds no text of the rule: field and feature names are emitted with
``repr``, literals are numbers emitted with ``repr`` or strings looked up in the
function's globals.

>>> from types import SimpleNamespace as Event
>>> from fraudwatch.rules.parser import parse_expression
>>> fires = filter_function(parse_expression("event.result == 'declined' and not event.success"))
>>> fires(Event(result="declined", success=False)), fires(Event(result="declined"))
(True, False)
>>> ratio = value_function(parse_expression("event.amount / card.amount_mean_30d"))
>>> ratio(Event(amount=17600), {"card.amount_mean_30d": 1100}), ratio(Event(amount=17600), {"card.amount_mean_30d": 0})
(16.0, None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fraudwatch import codegen
from fraudwatch.rules.compiler import compile_node
from fraudwatch.rules.fastpath import _slow
from fraudwatch.rules.names import EVENT, FEATURE, namespace_of
from fraudwatch.rules.nodes import ARITHMETIC, COMPARISONS, Binary, ListLiteral, Literal, Membership, Name, Node, Unary
from fraudwatch.rules.values import MISSING, as_number

__all__ = ["filter_function", "rules_function", "value_function"]


class _Unsupported(Exception):
    pass


class _Source:
    """Generated lines and the globals they use. ``closures``: parts of other shapes call
    their compiled closure (the function has a ``ctx``) instead of failing."""

    def __init__(self, closures: bool = False) -> None:
        self.closures = closures
        self.rule: str | None = None  # the rule whose condition is being generated
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"MISSING": MISSING, "as_number": as_number, "_slow": _slow}
        self.count = 0

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def constant(self, value: Any) -> str:
        name = f"c{len(self.env)}"
        self.env[name] = value
        return name

    def build(self, header: str, body: list[str], name: str) -> Callable[..., Any]:
        fn: Callable[..., Any] = codegen.build(f"rules-{name}", [header, *("    " + line for line in body)], self.env)[
            name
        ]
        return fn


def _event_field(node: Node) -> str:
    """The field of a one-level ``event.<field>`` name."""
    if isinstance(node, Name) and namespace_of(node.name) == EVENT and node.name.count(".") == 1:
        return node.name.split(".")[1]
    raise _Unsupported


def _read(node: Node, src: _Source) -> str:
    """How to read a name as the closures do before comparing: an event field, or a
    feature when the function has them."""
    if src.closures and isinstance(node, Name) and namespace_of(node.name) == FEATURE:
        return f"features.get({node.name!r})"
    return f"getattr(event, {_event_field(node)!r}, None)"


# ------------------------------------------------------------------ conditions
def filter_function(tree: Node) -> Callable[[Any], bool] | None:
    """``event -> bool``: whether the condition is exactly true (a filter matches), or
    None when the condition has another shape or generation is off."""
    if not codegen.enabled():
        return None
    src = _Source()
    try:
        test = _fires(tree, src)
    except _Unsupported:
        return None
    return src.build("def fires(event):", [f"return {test}"], "fires")


def rules_function(conditions: list[Node], names: list[str] | None = None) -> Callable[[Any], list[int]]:
    """``ctx -> [i, ...]``: the indexes of the conditions that are exactly true, in one
    function; the parts of other shapes (function calls, ``model.score``, lists) call
    their compiled closures.

    >>> from types import SimpleNamespace as Event
    >>> from fraudwatch.rules.context import Context
    >>> from fraudwatch.rules.parser import parse_expression
    >>> fired = rules_function([parse_expression("card.declines_10m >= 5"),
    ...                         parse_expression("coalesce(card.approved_30d, 0) == 0 and event.amount >= 10000")])
    >>> fired(Context(event=Event(amount=17600), features={"card.declines_10m": 5}))
    [0, 1]
    """
    src = _Source(closures=True)
    body = ["event = ctx.event", "features = ctx.features", "fired = []"]
    for i, tree in enumerate(conditions):
        src.rule = names[i] if names else None
        body += [f"if {_fires(tree, src)}:", f"    fired.append({i})"]
    return src.build("def rules(ctx):", [*body, "return fired"], "rules")


def _fires(node: Node, src: _Source) -> str:
    """A Python expression that is True exactly when ``node`` is true."""
    try:
        return _fires_inline(node, src)
    except _Unsupported:
        if not src.closures:
            raise
        return f"({src.constant(compile_node(node, _never, src.rule))}(ctx) is True)"


def _never(*args: Any) -> Exception:  # pragma: no cover - the tree compiled once already
    raise AssertionError("a checked tree failed to compile again")


def _fires_inline(node: Node, src: _Source) -> str:
    if isinstance(node, Binary) and node.op in ("and", "or"):
        # Kleene: 'and' is true when both parts are true, 'or' when either is
        return f"({_fires(node.left, src)} {node.op} {_fires(node.right, src)})"
    if isinstance(node, Unary) and node.op == "not" and isinstance(node.operand, Name):
        return f"({_read(node.operand, src)} is False)"
    if isinstance(node, Name):
        return f"({_read(node, src)} is True)"
    if isinstance(node, Binary) and node.op in COMPARISONS and isinstance(node.right, Literal):
        c, v = node.right.value, src.var()
        read = f"({v} := {_read(node.left, src)})"
        if c.__class__ is str:  # as compare_str and event_string_equals
            return f"({read}.__class__ is str and {v} {node.op} {src.constant(c)})"
        if c.__class__ in (int, float):  # as feature_compare / getter_compare
            return (
                f"(({v} {node.op} {c!r}) if ({read}.__class__ is int or {v}.__class__ is float and {v} == {v}) "
                f"else _slow({v}, {c!r}, {node.op!r}) is True)"
            )
    if (
        isinstance(node, Membership)
        and not node.negated
        and isinstance(node.container, ListLiteral)
        and all(item.__class__ is str for item in node.container.items)
    ):  # strings only: a value of another type is never in the list, as in_literal finds
        v = src.var()
        items = src.constant(frozenset(node.container.items))
        return f"(({v} := {_read(node.operand, src)}).__class__ is str and {v} in {items})"
    if isinstance(node, Membership) and not node.negated and src.closures:
        # `event.ip in @blocked_ips`: an absent value is missing, never in a list; else the closure
        closure = src.constant(compile_node(node, _never, src.rule))
        return f"({_read(node.operand, src)} is not None and {closure}(ctx) is True)"
    raise _Unsupported


# ------------------------------------------------------------------ values
def value_function(tree: Node) -> Callable[[Any, Any], Any] | None:
    """``(event, features) -> number or None`` for arithmetic over event fields, features
    and number literals (None where the closures give MISSING), or None for another shape
    or when generation is off."""
    if not codegen.enabled():
        return None
    if not (isinstance(tree, Binary) and tree.op in ARITHMETIC or isinstance(tree, Unary) and tree.op == "-"):
        return None  # a bare name gives its value as it is, not as a number
    src = _Source()
    try:
        result = _number(tree, src)
    except _Unsupported:
        return None
    return src.build("def value(event, features):", [*src.lines, f"return {result}"], "value")


def _number(node: Node, src: _Source) -> str:
    """Lines computing ``node`` into a variable (returning None when missing), as
    ``compiler.arithmetic`` does; the variable's name or a literal."""
    if isinstance(node, Literal):
        if node.value.__class__ not in (int, float):
            raise _Unsupported
        return repr(node.value)
    if isinstance(node, Name):
        v = src.var()
        space = namespace_of(node.name)
        if space == FEATURE:
            src.lines.append(f"{v} = features.get({node.name!r})")
        elif space == EVENT:
            src.lines.append(f"{v} = getattr(event, {_event_field(node)!r}, None)")
        else:
            raise _Unsupported
        src.lines += [
            f"if {v}.__class__ is not int and ({v}.__class__ is not float or {v} != {v}):",
            f"    if {v} is None:",
            "        return None",  # before as_number's isinstance checks
            f"    {v} = as_number({v})",
            f"    if {v} is MISSING:",
            "        return None",
        ]
        return v
    if isinstance(node, Unary) and node.op == "-":
        a, v = _number(node.operand, src), src.var()
        src.lines.append(f"{v} = -{a}")
        return v
    if isinstance(node, Binary) and node.op in ARITHMETIC:
        a = _number(node.left, src)
        b = _number(node.right, src)
        v = src.var()
        if node.op in ("/", "%"):
            src.lines += [f"if {b} == 0:", "    return None"]
        src.lines += [
            "try:",
            f"    {v} = {a} {node.op} {b}",
            "except ArithmeticError:",
            "    return None",
            f"if {v} != {v}:",
            "    return None",
        ]
        return v
    raise _Unsupported
