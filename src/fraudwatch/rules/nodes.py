"""The immutable syntax tree of an expression, and a printer back to text.

Positions (``line``, ``column``) do not take part in equality, so a tree printed
with :func:`to_text` and parsed again compares equal to the original.

>>> from fraudwatch.rules.parser import parse_expression
>>> tree = parse_expression("not a.b >= 2 * (3 + x) or event.ip in @bad")
>>> to_text(tree)
'((not (a.b >= (2 * (3 + x)))) or (event.ip in @bad))'
>>> parse_expression(to_text(tree)) == tree
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Node",
    "Literal",
    "Name",
    "ListRef",
    "ListLiteral",
    "Unary",
    "Binary",
    "Membership",
    "IsMissing",
    "Call",
    "to_text",
    "walk",
    "ARITHMETIC",
    "COMPARISONS",
    "LOGICAL",
]

ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
LOGICAL = frozenset({"and", "or"})


def _pos() -> Any:
    return field(default=(0, 0), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string or boolean written in the text (durations are numbers)."""

    value: Any
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class Name:
    """A dotted name: ``event.amount``, ``model.score`` or a feature ``card.declines_10m``."""

    name: str
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class ListRef:
    """A named list, ``@blocked_ips`` (``name`` without the @)."""

    name: str
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class ListLiteral:
    """A list written in the text: ``('a', 'b')`` or ``[1, 2]``."""

    items: tuple[Any, ...]
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class Unary:
    """``not x`` or ``-x``."""

    op: str
    operand: Node
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic, comparison, ``and`` or ``or``."""

    op: str
    left: Node
    right: Node
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class Membership:
    """``x in (...)``, ``x in @list`` and their ``not in`` forms."""

    operand: Node
    container: ListLiteral | ListRef
    negated: bool = False
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class IsMissing:
    """``x is missing`` / ``x is not missing``: always true or false."""

    operand: Node
    negated: bool = False
    pos: tuple[int, int] = _pos()


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a registered function; ``x startswith 'a'`` is ``startswith(x, 'a')``."""

    name: str
    args: tuple[Node, ...]
    pos: tuple[int, int] = _pos()


Node = Literal | Name | ListRef | ListLiteral | Unary | Binary | Membership | IsMissing | Call


def _literal_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        # only the escapes the lexer reads; every other character stands for itself
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    return repr(value)


def to_text(node: Node) -> str:
    """Fully parenthesized text that parses back to an equal tree."""
    if isinstance(node, Literal):
        return _literal_text(node.value)
    if isinstance(node, Name):
        return node.name
    if isinstance(node, ListRef):
        return "@" + node.name
    if isinstance(node, ListLiteral):
        return "(" + ", ".join(_literal_text(v) for v in node.items) + ("," if len(node.items) == 1 else "") + ")"
    if isinstance(node, Unary):
        sep = " " if node.op == "not" else ""
        return f"({node.op}{sep}{to_text(node.operand)})"
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Membership):
        return f"({to_text(node.operand)} {'not in' if node.negated else 'in'} {to_text(node.container)})"
    if isinstance(node, IsMissing):
        return f"({to_text(node.operand)} is {'not ' if node.negated else ''}missing)"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    raise TypeError(f"not a node: {node!r}")


def walk(node: Node) -> Any:
    """Yield ``node`` and every node below it (iteratively: trees are bounded anyway)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, Unary):
            stack.append(n.operand)
        elif isinstance(n, Binary):
            stack += (n.right, n.left)
        elif isinstance(n, Membership):
            stack += (n.container, n.operand)
        elif isinstance(n, IsMissing):
            stack.append(n.operand)
        elif isinstance(n, Call):
            stack += reversed(n.args)
