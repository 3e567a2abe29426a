"""``contains(s, part)``, also infix: ``s contains 'x'``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import BOOL, STRING


@register
class Contains(Function):
    """True when the string contains the part (case-sensitive).

    ``event.items_category contains 'gift'``
    """

    name = "contains"
    params = (Param("s", STRING), Param("part", STRING))
    returns = BOOL

    def execute(self, s: Any, part: Any) -> Any:
        return part in s
