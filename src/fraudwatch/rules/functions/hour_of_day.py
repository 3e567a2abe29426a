"""``hour_of_day(t, tz)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.functions.zones import local, zone
from fraudwatch.rules.values import NUMBER, STRING, TIME


@register
class HourOfDay(Function):
    """Hour (0-23) of a time in a time zone (an IANA name literal, default UTC).
    The time is ``event.time`` or POSIX seconds such as ``event.ts``.

    ``hour_of_day(event.time, 'Asia/Tokyo') < 6``
    """

    name = "hour_of_day"
    params = (Param("t", TIME), Param("tz", STRING, const=True, optional=True, default="UTC"))
    returns = NUMBER

    def bind(self, consts: Any) -> Any:
        tzinfo = zone(consts[1] if len(consts) > 1 else "UTC")
        return lambda t, _tz=None: local(t, tzinfo).hour
