"""``day_of_week(t, tz)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.functions.zones import local, zone
from fraudwatch.rules.values import NUMBER, STRING, TIME


@register
class DayOfWeek(Function):
    """Day of the week of a time in a time zone: 0 is Monday, 6 is Sunday.

    ``day_of_week(event.time, 'Asia/Tokyo') in (5, 6)``
    """

    name = "day_of_week"
    params = (Param("t", TIME), Param("tz", STRING, const=True, optional=True, default="UTC"))
    returns = NUMBER

    def bind(self, consts: Any) -> Any:
        tzinfo = zone(consts[1] if len(consts) > 1 else "UTC")
        return lambda t, _tz=None: local(t, tzinfo).weekday()
