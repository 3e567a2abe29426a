"""``coalesce(x, default, ...)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import ANY, MISSING


@register
class Coalesce(Function):
    """The first argument that is not missing (missing if all are).

    ``coalesce(card.declines_10m, 0) >= 3``
    """

    name = "coalesce"
    params = (Param("x"), Param("default"))
    variadic = True
    missing_aware = True
    returns = ANY

    def result_type(self, arg_types: Any) -> Any:
        kinds = set(arg_types)
        return kinds.pop() if len(kinds) == 1 else ANY

    def execute(self, *args: Any) -> Any:
        for value in args:
            if value is not MISSING:
                return value
        return MISSING
