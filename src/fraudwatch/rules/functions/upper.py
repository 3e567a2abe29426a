"""``upper(s)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import STRING


@register
class Upper(Function):
    """The string in upper case.

    ``upper(event.language) == 'EN'``
    """

    name = "upper"
    params = (Param("s", STRING),)
    returns = STRING

    def execute(self, s: Any) -> Any:
        return s.upper()
