"""``equals_ignore_case(a, b)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import BOOL, STRING


@register
class EqualsIgnoreCase(Function):
    """Whether two strings are equal ignoring case (Unicode case folding), as Radar compares
    its case-insensitive attributes: ``equals_ignore_case(event.billing_country, event.card_country)``.
    ``lower(x) == 'text'`` does the same against a literal.
    """

    name = "equals_ignore_case"
    params = (Param("a", STRING), Param("b", STRING))
    returns = BOOL

    def execute(self, a: Any, b: Any) -> Any:
        return a.casefold() == b.casefold()
