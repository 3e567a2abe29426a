"""``split(s, separator, index)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import NUMBER, STRING


@register
class Split(Function):
    """The ``index``-th part (from 0; -1 is the last) of the string cut at each ``separator``
    (a literal, not empty); missing when there is no such part.

    ``split(event.email, '@', 0)`` (the local part), ``split(event.metadata.sku, '-', 0) == 'GIFT'``
    """

    name = "split"
    params = (Param("s", STRING), Param("separator", STRING, const=True), Param("index", NUMBER, const=True))
    returns = STRING

    def bind(self, consts: tuple[Any, ...]) -> Any:
        separator, index = consts[1], consts[2]
        if not separator:
            raise ValueError("the separator of split() must not be empty")
        if index != int(index):
            raise ValueError("the index of split() is a whole number")
        index = int(index)

        def part(s: str, *_: Any) -> str | None:
            parts = s.split(separator)
            return parts[index] if -len(parts) <= index < len(parts) else None

        return part

    def execute(self, *args: Any) -> Any:  # pragma: no cover - bind gives the callable
        return self.bind(tuple(args))(*args)
