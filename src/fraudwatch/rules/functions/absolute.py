"""``abs(x)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import NUMBER


@register
class Abs(Function):
    """Absolute value of a number.

    ``abs(event.amount - card.amount_mean_30d) > 50_000``
    """

    name = "abs"
    params = (Param("x", NUMBER),)
    returns = NUMBER

    def execute(self, x: Any) -> Any:
        return abs(x)
