"""``max(a, b, ...)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import NUMBER


@register
class Max(Function):
    """Largest of two or more numbers; missing if any argument is missing.

    ``max(card.declines_10m, account.declines_10m) >= 3``
    """

    name = "max"
    params = (Param("a", NUMBER), Param("b", NUMBER))
    variadic = True
    returns = NUMBER

    def execute(self, *args: Any) -> Any:
        return max(args)
