"""Time zone helpers shared by hour_of_day and day_of_week."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fraudwatch.rules.functions.registry import NOT_CONSTANT

__all__ = ["zone", "local"]


def zone(name: Any) -> Any:
    """The ZoneInfo for an IANA name literal; ValueError with a hint otherwise."""
    if name is NOT_CONSTANT:
        raise ValueError("the time zone must be a string literal such as 'Asia/Tokyo'")
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Asia/Tokyo' or 'UTC'") from None


def local(t: Any, tzinfo: Any) -> Any:
    """``t`` (a datetime or POSIX seconds) as a local time in ``tzinfo``."""
    if isinstance(t, datetime):
        return t.astimezone(tzinfo)
    return datetime.fromtimestamp(t, UTC).astimezone(tzinfo)
