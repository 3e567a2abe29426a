"""``min(a, b, ...)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import NUMBER


@register
class Min(Function):
    """Smallest of two or more numbers; missing if any argument is missing
    (wrap arguments in ``coalesce`` to skip them).

    ``min(card.amount_max_30d, 100_000)``
    """

    name = "min"
    params = (Param("a", NUMBER), Param("b", NUMBER))
    variadic = True
    returns = NUMBER

    def execute(self, *args: Any) -> Any:
        return min(args)
