"""The error raised for bad rule or expression text, formatted like a compiler's.

>>> err = RuleSyntaxError("expected a value after 'and'", line=1, column=15,
...                       source_line="card.x >= 2 and", hint="finish the condition")
>>> print(err)
<expression>:1:15: error: expected a value after 'and'
  1 | card.x >= 2 and
    |               ^
  hint: finish the condition
"""

from __future__ import annotations

from typing import Any

from fraudwatch.errors import FraudwatchError

__all__ = ["RuleSyntaxError"]

_WIDTH = 100  # longest source excerpt shown under an error


class RuleSyntaxError(FraudwatchError):
    """Bad rule or expression text: where (``line``, ``column``, 1-based), what
    (``message``) and how to fix it (``hint``, may be None).

    A rule file can hold several errors: ``errors`` lists all of them (this one
    first); ``str()`` shows this one with its source line and a caret.
    """

    status_code = 422

    def __init__(
        self,
        message: str,
        *,
        line: int = 1,
        column: int = 1,
        hint: str | None = None,
        source_line: str = "",
        source: str = "<expression>",
        length: int = 1,
    ):
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint
        self.source_line = source_line
        self.source = source
        self.length = max(1, length)
        self.errors: list[RuleSyntaxError] = [self]
        super().__init__(self.format())

    def format(self) -> str:
        """The message, the offending line and a caret under the column."""
        out = [f"{self.source}:{self.line}:{self.column}: error: {self.message}"]
        if self.source_line:
            gutter = str(self.line)
            pad = " " * len(gutter)
            text, column = self.source_line, self.column
            if len(text) > _WIDTH:  # show a window around the column of a very long line
                start = max(0, min(column - 1 - _WIDTH // 2, len(text) - _WIDTH))
                text = (
                    ("..." if start else "")
                    + text[start : start + _WIDTH]
                    + ("..." if start + _WIDTH < len(text) else "")
                )
                column = column - start + (3 if start else 0)
            # keep tabs so the caret lines up with the text as the terminal shows it
            lead = "".join(c if c == "\t" else " " for c in text[: column - 1])
            room = max(1, len(text) - column + 1)
            out.append(f"  {gutter} | {text}")
            out.append(f"  {pad} | {lead}{'^' * min(self.length, room)}")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict[Any, Any]:
        """JSON-ready form for the API and the console."""
        return {"line": self.line, "column": self.column, "message": self.message, "hint": self.hint}
