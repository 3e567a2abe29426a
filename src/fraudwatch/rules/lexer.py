r"""Turn rule or expression text into tokens with their line and column.

>>> [(t.kind, t.value) for t in tokenize("card.declines_10m >= 3 and event.ip in @bad # why")]
... # doctest: +NORMALIZE_WHITESPACE
[('name', 'card.declines_10m'), ('op', '>='), ('num', 3), ('name', 'and'), ('name', 'event.ip'),
 ('name', 'in'), ('list', 'bad'), ('eof', None)]
>>> [t.value for t in tokenize("1_000 10m 24h 7d 0.5 'it\\'s'")][:-1]
[1000, 600, 86400, 604800, 0.5, "it's"]
>>> tokenize(r"r'^[a-z]+\.[0-9]+$'")[0].value      # a raw string keeps its backslashes
'^[a-z]+\\.[0-9]+$'
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from fraudwatch.rules.errors import RuleSyntaxError

__all__ = ["Token", "tokenize", "KEYWORDS", "DURATION_UNITS", "MAX_TEXT_LENGTH", "MAX_STRING_LENGTH"]

# bounds that keep parsing time and memory small whatever the input
MAX_TEXT_LENGTH = 1_000_000
MAX_STRING_LENGTH = 10_000

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "missing", "true", "false"})
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}

_TOKEN = re.compile(
    r"""
    [ \t\r\f]*  # blanks before a token: one match per token, not two
    (?:(?P<nl>\n)
    |(?P<comment>\#[^\n]*)
    |(?P<num>[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9]+)?)(?P<unit>[A-Za-z_][A-Za-z0-9_]*)?
    |(?P<quote>r?['"])
    |(?P<list>@[A-Za-z_][A-Za-z0-9_]*)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>==|!=|<=|>=|[-+*/%<>(),\[\]:]))
    """,
    re.X,
)

# characters people type from other languages, with what to write instead
_HINTS = {
    "=": "use == to compare",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' (or != to compare)",
    ".": "attribute access works on names only, e.g. event.item.category; write 0.5, not .5",
    "{": "lists are written ('a', 'b') or ['a', 'b']",
    ";": "a condition is one expression; join parts with 'and' or 'or'",
    "`": "quote strings with ' or \"",
}


class Token(NamedTuple):
    """One token. ``kind`` is num, str, name, list, op or eof; ``first`` is True
    when the token is the first one on its line. (A named tuple: a file has many
    tokens, and a frozen dataclass is several times slower to build.)"""

    kind: str
    value: Any
    text: str
    line: int
    column: int
    first: bool = False
    offset: int = 0

    @property
    def end(self) -> int:
        """Offset just past the token in the text."""
        return self.offset + len(self.text)

    def describe(self) -> str:
        if self.kind == "eof":
            return "end of input"
        return repr(self.text)


def _error(text: str, source: str, offset: int, message: str, hint: str | None = None, length: int = 1) -> Any:
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return RuleSyntaxError(
        message,
        line=line,
        column=offset - start + 1,
        hint=hint,
        source_line=text[start : end if end >= 0 else len(text)],
        source=source,
        length=length,
    )


def _string(text: str, pos: int, source: str) -> tuple[str, int]:
    """Read a quoted string starting at ``pos`` (the quote, or the ``r`` of a raw
    string, which keeps backslashes as written: handy for regular expressions)."""
    raw = text[pos] == "r"
    quote = text[pos + raw]
    out: list[str] = []
    i = pos + 1 + raw
    while True:
        if i >= len(text) or text[i] == "\n":
            raise _error(text, source, pos, "unterminated string", f"close it with {quote} on the same line")
        c = text[i]
        if c == quote:
            break
        if c == "\\" and raw:
            out.append(text[i : i + 2] if text[i + 1 : i + 2] not in ("", "\n") else c)
            i += 2 if text[i + 1 : i + 2] not in ("", "\n") else 1
            continue
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                raise _error(text, source, i, f"unknown escape \\{nxt}", "known escapes: \\\\ \\' \\\" \\n \\t", 2)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(c)
        i += 1
    if i - pos - 1 > MAX_STRING_LENGTH:
        raise _error(text, source, pos, f"string longer than {MAX_STRING_LENGTH} characters")
    return "".join(out), i + 1


def _number(text: str, m: re.Match[str], source: str) -> int | float:
    raw, unit = m.group("num"), m.group("unit")
    try:
        value: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        raise _error(
            text, source, m.start("num"), f"bad number {raw!r}", "underscores go between digits: 1_000", len(raw)
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _error(text, source, m.start("num"), f"number {raw!r} is too large", None, len(raw))
    if unit is None:
        return value
    if unit not in DURATION_UNITS:
        raise _error(
            text,
            source,
            m.start("unit"),
            f"unknown duration unit {unit!r}",
            "durations are written 30s, 10m, 24h, 7d or 2w; names cannot start with a digit",
            len(unit),
        )
    seconds = value * DURATION_UNITS[unit]
    return int(seconds) if seconds == int(seconds) else seconds


def tokenize(text: str, source: str = "<expression>") -> list[Token]:
    """All tokens of ``text``, ending with an ``eof`` token; raises RuleSyntaxError."""
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleSyntaxError(f"text longer than {MAX_TEXT_LENGTH} characters", source=source)
    tokens: list[Token] = []
    pos, line, line_start, first = 0, 1, 0, True
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            while pos < n and text[pos] in " \t\r\f":
                pos += 1
            if pos == n:  # trailing blanks
                break
            c = text[pos]
            raise _error(text, source, pos, f"unexpected character {c!r}", _HINTS.get(c))
        kind = m.lastgroup if m.lastgroup not in (None, "unit") else "num"
        pos = m.start(kind)
        col = pos - line_start + 1
        if kind == "nl":
            line, line_start, first = line + 1, m.end(), True
            pos = m.end()
            continue
        if kind == "comment":
            pos = m.end()
            continue
        if kind == "quote":
            text_value, end = _string(text, pos, source)
            tokens.append(Token("str", text_value, text[pos:end], line, col, first, pos))
            pos, first = end, False
            continue
        raw = text[pos : m.end()]
        value: Any
        if kind == "num":
            value = _number(text, m, source)
        elif kind == "list":
            value = raw[1:]
        else:
            value = raw
        if kind in ("name", "list") and "__" in raw:
            raise _error(text, source, pos, f"name {raw!r} is not allowed", "names may not contain '__'", len(raw))
        tokens.append(Token(kind, value, raw, line, col, first, pos))
        pos, first = m.end(), False
    tokens.append(Token("eof", None, "", line, pos - line_start + 1, first, pos))
    return tokens
