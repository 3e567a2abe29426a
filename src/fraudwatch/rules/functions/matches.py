"""``matches(s, pattern)``, also infix: ``s matches '^[0-9]+$'``.

Patterns run on RE2 (``google-re2``), whose matching time is linear in the string: no
pattern, however written (``(a+)+$``, ``.*.*.*x``, ``\\d+\\d+\\d+x``), can hold an event up.
RE2 has no backreferences and no lookaround; a pattern using them is refused when the rule
is checked.

>>> m = Matches().bind(("", r"\\d+\\d+\\d+x"))
>>> m("1" * 1000, None), m("123x", None)
(False, True)
"""

from typing import Any

import re2

from fraudwatch.rules.functions.registry import NOT_CONSTANT, Function, Param, register
from fraudwatch.rules.values import BOOL, MISSING, STRING

MAX_PATTERN_LENGTH = 200
MAX_SUBJECT_LENGTH = 1_000

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a bad pattern is reported to the rule's author, not to stderr
_OPTIONS.max_mem = 1 << 20  # the compiled automaton of a 200-character pattern fits easily


def compile_pattern(pattern: str) -> Any:
    """The pattern compiled by RE2; ValueError with the reason when it is not one."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"bad regular expression: {reason} (RE2 syntax: no backreferences or lookaround)") from None


@register
class Matches(Function):
    """True when a regular expression matches somewhere in the string; anchor it with
    ``^`` and ``$`` to match the whole string.

    The pattern must be a string literal of at most 200 characters, in RE2 syntax (Python's
    without backreferences and lookaround). It is compiled once, and matching takes time
    linear in the string whatever the pattern. A string longer than 1,000 characters gives
    missing.

    ``event.email matches '^[a-z]{12,}[0-9]{4,}@'``
    """

    name = "matches"
    params = (Param("s", STRING), Param("pattern", STRING, const=True))
    returns = BOOL

    def bind(self, consts: Any) -> Any:
        pattern = consts[1]
        assert pattern is not NOT_CONSTANT
        search = compile_pattern(pattern).search

        def execute(s: Any, _pattern: Any) -> Any:
            if len(s) > MAX_SUBJECT_LENGTH:
                return MISSING
            return search(s) is not None

        return execute
