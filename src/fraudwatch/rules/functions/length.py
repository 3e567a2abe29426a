"""``len(x)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import COLLECTION, NUMBER, STRING


@register
class Len(Function):
    """Number of characters of a string, or of items of a list field.

    ``len(event.items) >= 10``
    """

    name = "len"
    params = (Param("x", f"{STRING}|{COLLECTION}"),)
    returns = NUMBER

    def execute(self, x: Any) -> Any:
        return len(x)
