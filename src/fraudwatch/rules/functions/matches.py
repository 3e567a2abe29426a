"""``matches(s, pattern)``, also infix: ``s matches '^[0-9]+$'``."""

import re
import re._constants as sre  # the parsed form of a pattern: the only reliable way to see its shape
import re._parser as sre_parse
from typing import Any

from fraudwatch.rules.functions.registry import NOT_CONSTANT, Function, Param, register
from fraudwatch.rules.values import BOOL, MISSING, STRING

MAX_PATTERN_LENGTH = 200
MAX_SUBJECT_LENGTH = 1_000
_REPEATS = frozenset({sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT})


def backtracks_badly(items: Any, in_repeat: bool = False) -> bool:
    """True for a repetition inside a repetition, e.g. ``(a+)+``, or an alternation
    inside one, e.g. ``(a|ab)*``: the shapes whose backtracking can take exponential time.

    >>> [backtracks_badly(sre_parse.parse(p)) for p in ("(a+)+$", "(a|ab)*c", "^[a-z]+@x[.](com|jp)$")]
    [True, True, False]
    """
    for op, av in items:
        if op in _REPEATS:
            repeats = av[1] > 1
            if (repeats and in_repeat) or backtracks_badly(av[2], in_repeat or repeats):
                return True
        elif op is sre.BRANCH:
            if in_repeat or any(backtracks_badly(b, in_repeat) for b in av[1]):
                return True
        elif op is sre.SUBPATTERN:
            if backtracks_badly(av[3], in_repeat):
                return True
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if backtracks_badly(av[1], in_repeat):
                return True
        elif op is sre.ATOMIC_GROUP:
            if backtracks_badly(av, in_repeat):
                return True
        elif op is sre.GROUPREF_EXISTS:
            if any(b is not None and backtracks_badly(b, in_repeat) for b in av[1:]):
                return True
    return False


@register
class Matches(Function):
    """True when a regular expression (Python syntax) matches somewhere in the
    string; anchor it with ``^`` and ``$`` to match the whole string.

    The pattern must be a string literal: it is compiled once and is at most 200
    characters. Patterns that can backtrack exponentially are refused: a repetition
    or an alternation inside a repetition, such as ``(a+)+`` or ``(a|ab)*``. A string
    longer than 1,000 characters gives missing, to keep matching fast.

    ``event.email matches '^[a-z]{12,}[0-9]{4,}@'``
    """

    name = "matches"
    params = (Param("s", STRING), Param("pattern", STRING, const=True))
    returns = BOOL

    def bind(self, consts: Any) -> Any:
        pattern = consts[1]
        assert pattern is not NOT_CONSTANT
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise ValueError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        try:
            search = re.compile(pattern).search
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None
        if backtracks_badly(sre_parse.parse(pattern)):
            raise ValueError(
                "a repetition or alternation inside a repetition, such as (a+)+ or (a|ab)*, can take exponential time"
            )

        def execute(s: Any, _pattern: Any) -> Any:
            if len(s) > MAX_SUBJECT_LENGTH:
                return MISSING
            return search(s) is not None

        return execute
