"""``lower(s)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import STRING


@register
class Lower(Function):
    """The string in lower case, for case-insensitive matching.

    ``lower(event.email) endswith '@mailinator.com'``
    """

    name = "lower"
    params = (Param("s", STRING),)
    returns = STRING

    def execute(self, s: Any) -> Any:
        return s.lower()
