"""``startswith(s, prefix)``, also infix: ``s startswith 'x'``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import BOOL, STRING


@register
class StartsWith(Function):
    """True when the string starts with the prefix (case-sensitive).

    ``event.card_bin startswith '4111'``
    """

    name = "startswith"
    params = (Param("s", STRING), Param("prefix", STRING))
    returns = BOOL

    def execute(self, s: Any, prefix: Any) -> Any:
        return s.startswith(prefix)
