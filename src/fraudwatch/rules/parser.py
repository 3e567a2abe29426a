"""A Pratt parser from tokens to the immutable tree in :mod:`fraudwatch.rules.nodes`.

Precedence, lowest first (all binary operators are left-associative except
comparisons, which do not chain):

====  =====================================================================
1     ``or``
2     ``and``
3     ``not x``
4     ``== != < <= > >=``, ``in``, ``not in``, ``is [not] missing``,
      ``startswith endswith contains matches`` (and their ``not`` forms)
5     ``+ -``
6     ``* / %``
7     unary ``-``
8     literals, names, ``@lists``, calls ``f(x, ...)``, ``( ... )``
====  =====================================================================

>>> parse_expression("a or b and not c")  # doctest: +NORMALIZE_WHITESPACE
Binary(op='or', left=Name(name='a'),
       right=Binary(op='and', left=Name(name='b'), right=Unary(op='not', operand=Name(name='c'))))
>>> parse_expression("1 - 2 - 3") == parse_expression("(1 - 2) - 3")
True
"""

from __future__ import annotations

from typing import Any

from fraudwatch.rules.errors import RuleSyntaxError
from fraudwatch.rules.lexer import KEYWORDS, Token, tokenize
from fraudwatch.rules.nodes import (
    COMPARISONS,
    Binary,
    Call,
    IsMissing,
    ListLiteral,
    ListRef,
    Literal,
    Membership,
    Name,
    Node,
    Unary,
)

__all__ = ["Parser", "parse_expression", "MAX_DEPTH"]

MAX_DEPTH = 100  # nesting bound: keeps the parser and the compiled closures off Python's recursion limit

OR, AND, NOT, CMP, SUM, PRODUCT, NEG = 10, 20, 30, 40, 50, 60, 70
STRING_OPS = frozenset({"startswith", "endswith", "contains", "matches"})
_INFIX_OPS = {"or": OR, "and": AND, "+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "%": PRODUCT}
_INFIX_OPS.update({op: CMP for op in COMPARISONS | STRING_OPS | {"in", "is", "not"}})
_VALUE_START = frozenset({"num", "str", "name", "list"})


class Parser:
    """Recursive descent over a token list; ``source`` names the text in errors."""

    def __init__(self, text: str, source: str = "<expression>"):
        self.text = text
        self.lines = text.split("\n")
        self.source = source
        self.tokens: list[Token] = tokenize(text, source)
        self.i = 0
        self.depth = 0

    # ------------------------------------------------------------ plumbing
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == kind and (value is None or tok.value == value)

    def at_word(self, word: str) -> bool:
        return self.at("name", word)

    def error(self, tok: Token | tuple[int, int], message: str, hint: str | None = None) -> RuleSyntaxError:
        line, column = (tok.line, tok.column) if isinstance(tok, Token) else tok
        length = len(tok.text) if isinstance(tok, Token) else 1
        source_line = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return RuleSyntaxError(
            message, line=line, column=column, hint=hint, source_line=source_line, source=self.source, length=length
        )

    def expect(self, kind: str, value: Any = None, what: str | None = None, hint: str | None = None) -> Token:
        if not self.at(kind, value):
            tok = self.peek()
            raise self.error(tok, f"expected {what or repr(value)}, found {tok.describe()}", hint)
        return self.advance()

    # ---------------------------------------------------------- expressions
    def expression(self, min_bp: int = 0) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                self.peek(), f"expression nested deeper than {MAX_DEPTH} levels", "split it into simpler rules"
            )
        left, depth = self.prefix(), 1
        chained = False
        while True:
            tok = self.peek()
            bp = _INFIX_OPS.get(tok.value) if tok.kind in ("op", "name") else None
            if bp is None or bp <= min_bp:
                break
            if bp == CMP and chained:
                raise self.error(tok, "comparisons do not chain", "write a < b and b < c")
            # left-associative chains grow the tree without recursing here, so count them too
            depth += 1
            if self.depth + depth > MAX_DEPTH:
                raise self.error(
                    tok, f"expression nested deeper than {MAX_DEPTH} levels", "split it into simpler rules"
                )
            left = self.infix(left, self.advance(), bp)
            chained = bp == CMP
        self.depth -= 1
        return left

    def prefix(self) -> Node:
        tok = self.advance()
        pos = (tok.line, tok.column)
        if tok.kind in ("num", "str"):
            return Literal(tok.value, pos)
        if tok.kind == "list":
            raise self.error(tok, f"a named list ({tok.text}) can only follow 'in'", f"write x in {tok.text}")
        if tok.kind == "op":
            if tok.value == "-":
                operand = self.expression(NEG)
                if isinstance(operand, Literal) and type(operand.value) in (int, float):
                    return Literal(-operand.value, pos)  # fold so -5 is one literal
                return Unary("-", operand, pos)
            if tok.value == "(":
                inner = self.expression(0)
                self.expect("op", ")", "')'", f"close the parenthesis opened at line {pos[0]}, column {pos[1]}")
                return inner
            if tok.value == "[":
                raise self.error(tok, "a list is only allowed after 'in'", "write x in ['a', 'b']")
        if tok.kind == "name":
            word = tok.value
            if word == "true" or word == "false":
                return Literal(word == "true", pos)
            if word == "not":
                return Unary("not", self.expression(NOT), pos)
            if word == "missing":
                raise self.error(tok, "'missing' is not a value", "write x is missing, or coalesce(x, 0)")
            if word == "rule":
                raise self.error(tok, "expected a value, found 'rule'", "the condition before this rule is unfinished")
            if word in KEYWORDS:
                raise self.error(tok, f"expected a value, found {tok.describe()}")
            if self.at("op", "("):
                return self.call(tok)
            return Name(word, pos)
        raise self.error(tok, f"expected a value, found {tok.describe()}")

    def call(self, tok: Token) -> Call:
        if "." in tok.value:
            raise self.error(
                tok, f"{tok.value!r} is not a function", "only registered functions can be called, e.g. lower(x)"
            )
        self.advance()  # (
        args: list[Node] = []
        while not self.at("op", ")"):
            args.append(self.expression(0))
            if not self.at("op", ","):
                break
            self.advance()
        self.expect("op", ")", "',' or ')'", f"close the call of {tok.value}()")
        return Call(tok.value, tuple(args), (tok.line, tok.column))

    def infix(self, left: Node, tok: Token, bp: int) -> Node:
        op = tok.value
        pos = (tok.line, tok.column)
        if op == "in":
            return Membership(left, self.container(tok), False, pos)
        if op == "is":
            negated = self.at_word("not")
            if negated:
                self.advance()
            self.expect(
                "name", "missing", "'missing'", "only 'x is missing' and 'x is not missing' exist; compare with =="
            )
            return IsMissing(left, negated, pos)
        if op == "not":
            nxt = self.advance()
            if nxt.kind == "name" and nxt.value == "in":
                return Membership(left, self.container(nxt), True, pos)
            if nxt.kind == "name" and nxt.value in STRING_OPS:
                return Unary("not", Call(nxt.value, (left, self.expression(bp)), pos), pos)
            raise self.error(
                nxt,
                f"expected 'in' or a string match after 'not', found {nxt.describe()}",
                "write not (x == y) to negate a comparison",
            )
        right = self.expression(bp)
        if op in STRING_OPS:
            return Call(op, (left, right), pos)
        return Binary(op, left, right, pos)

    def container(self, in_tok: Token) -> ListLiteral | ListRef:
        tok = self.advance()
        if tok.kind == "list":
            return ListRef(tok.value, (tok.line, tok.column))
        if tok.kind == "op" and tok.value in ("(", "["):
            close = ")" if tok.value == "(" else "]"
            items: list[Any] = []
            while not self.at("op", close):
                items.append(self.list_item())
                if not self.at("op", ","):
                    break
                self.advance()
            self.expect("op", close, f"',' or {close!r}", "list items are literal strings or numbers")
            return ListLiteral(tuple(items), (tok.line, tok.column))
        raise self.error(
            tok,
            f"expected a list after '{in_tok.value}', found {tok.describe()}",
            "write ('a', 'b'), ['a', 'b'] or @list_name",
        )

    def list_item(self) -> Any:
        tok = self.advance()
        if tok.kind == "op" and tok.value == "-" and self.at("num"):
            return -self.advance().value
        if tok.kind in ("num", "str"):
            return tok.value
        raise self.error(
            tok,
            f"expected a string or number in the list, found {tok.describe()}",
            "list items are literals; compare names with == instead",
        )

    def end_of_expression(self, what: str = "the expression", stop: str | None = None) -> None:
        """Require the end of input (or the word ``stop``, e.g. the next ``rule``)."""
        tok = self.peek()
        if tok.kind == "eof" or (stop is not None and tok.kind == "name" and tok.value == stop):
            return
        hint = None
        if tok.kind in _VALUE_START or tok.value == "(":
            hint = "did you forget 'and' or 'or'?"
        elif tok.value == ",":
            hint = "group digits with _, e.g. 10_000; list items go in (...) after 'in'"
        raise self.error(tok, f"unexpected {tok.describe()} after {what}", hint)


def parse_expression(text: str, source: str = "<expression>") -> Node:
    """Parse one expression; raises RuleSyntaxError."""
    parser = Parser(text, source)
    if parser.at("eof"):
        raise parser.error(parser.peek(), "empty expression")
    node = parser.expression(0)
    parser.end_of_expression()
    return node
