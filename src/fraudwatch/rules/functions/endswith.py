"""``endswith(s, suffix)``, also infix: ``s endswith 'x'``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import BOOL, STRING


@register
class EndsWith(Function):
    """True when the string ends with the suffix (case-sensitive).

    ``lower(event.email) endswith '@mailinator.com'``
    """

    name = "endswith"
    params = (Param("s", STRING), Param("suffix", STRING))
    returns = BOOL

    def execute(self, s: Any, suffix: Any) -> Any:
        return s.endswith(suffix)
