"""``compile_expression``: text in, a fast callable out.

>>> from types import SimpleNamespace as Event
>>> expr = compile_expression("event.amount / card.amount_mean_30d")
>>> sorted(expr.names)
['card.amount_mean_30d', 'event.amount']
>>> expr(Context(event=Event(amount=17600), features={"card.amount_mean_30d": 1100}))
16.0
>>> expr(Context(event=Event(amount=17600), features={"card.amount_mean_30d": 0}))
MISSING
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from fraudwatch.rules.check import check
from fraudwatch.rules.compiler import compile_node
from fraudwatch.rules.context import Context
from fraudwatch.rules.names import make_getter
from fraudwatch.rules.nodes import ListRef, Name, Node, walk
from fraudwatch.rules.parser import Parser
from fraudwatch.rules.values import MISSING, as_number

__all__ = ["Expression", "compile_expression", "compile_tree"]


class Expression:
    """A compiled expression: call it with a Context to get a value or MISSING.

    ``text`` is the source, ``names`` the names it reads (``@list`` for named
    lists), ``type`` its static type (number, string, bool, time, collection or any),
    ``tree`` its syntax tree. ``values(ctx)`` gives each referenced name's value,
    JSON-ready: missing as None, times as ISO text, list fields as their size
    (named lists are not values and are left out).

    >>> e = compile_expression("coalesce(card.declines_10m, 0) >= 3 or event.ip in @blocked_ips")
    >>> sorted(e.names), e.type
    (['@blocked_ips', 'card.declines_10m', 'event.ip'], 'bool')
    >>> e(Context(features={"card.declines_10m": 4}))
    True
    """

    __slots__ = ("text", "names", "type", "tree", "_fn", "_getters")

    def __init__(self, text: str, tree: Node, type_: str, fn: Callable[[Any], Any]):
        self.text = text
        self.tree = tree
        self.type = type_
        self._fn = fn
        names = {n.name for n in walk(tree) if isinstance(n, Name)}
        lists = {"@" + n.name for n in walk(tree) if isinstance(n, ListRef)}
        self.names = frozenset(names | lists)
        self._getters = tuple((name, make_getter(name)) for name in sorted(names))

    def __call__(self, ctx: Context) -> Any:
        return self._fn(ctx)  # the closures never raise (see compiler.py)

    def values(self, ctx: Context) -> dict[str, Any]:
        out = {}
        for name, get in self._getters:
            v = get(ctx)
            out[name] = v if v.__class__ in _PLAIN else _json_ready(v)
        return out

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


_PLAIN = frozenset({str, int, float, bool})


def _json_ready(value: Any) -> Any:
    """A reason's value as JSON can carry it: missing is None, a time its ISO text,
    a list field its size, other numbers plain int or float.

    >>> from datetime import datetime, timezone
    >>> _json_ready(MISSING), _json_ready(datetime(2026, 11, 21, tzinfo=timezone.utc)), _json_ready([1, 2])
    (None, '2026-11-21T00:00:00+00:00', '<2 items>')
    """
    if value is MISSING or value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"<{len(value)} items>"
    number = as_number(value)
    if number is not MISSING:
        return number
    return str(value)


def compile_tree(
    parser: Parser, tree: Node, text: str, features: frozenset[str] | None, rule: str | None = None
) -> Expression:
    """Check and compile a parsed tree; errors point into ``parser``'s text; ``rule`` names
    the rule in reports of unexpected errors."""
    type_ = check(tree, parser.error, features)
    return Expression(text, tree, type_, compile_node(tree, parser.error, rule))


def compile_expression(
    text: str, *, features: Collection[str] | None = None, source: str = "<expression>"
) -> Expression:
    """Parse, check and compile ``text``; raises RuleSyntaxError.

    ``features``: when given, the known feature names; other feature names are
    errors (with a "did you mean" hint). ``source`` names the text in errors.
    """
    parser = Parser(text, source)
    if parser.at("eof"):
        raise parser.error(parser.peek(), "empty expression")
    tree = parser.expression(0)
    parser.end_of_expression()
    return compile_tree(parser, tree, text.strip(), frozenset(features) if features is not None else None)
