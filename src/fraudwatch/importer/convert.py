"""Conversions from a history file's cells to event fields: times in any format and zone,
amounts from major to minor units with each currency's exponent, boolean spellings,
ISO 8583-style response codes.

>>> to_minor("1,234.56", "USD"), to_minor("$17.60", "USD"), to_minor("17600", "JPY"), to_minor("1.5", "KWD")
(123456, 1760, 17600, 1500)
>>> to_minor("0.125", "USD")
Traceback (most recent call last):
...
fraudwatch.importer.convert.CellError: 0.125 has more decimals than USD's 2
>>> RESPONSE_CODES["51"], RESPONSE_CODES["00"]
(('declined', 'insufficient_funds'), ('approved', None))
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fraudwatch.events.currency import exponent

__all__ = [
    "CellError",
    "RESPONSE_CODES",
    "TRUE_SPELLINGS",
    "FALSE_SPELLINGS",
    "exponent",
    "parse_duration",
    "parse_time",
    "to_bool",
    "to_minor",
    "zone",
]

TRUE_SPELLINGS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_SPELLINGS = frozenset({"0", "false", "f", "no", "n", "off"})
_NOT_DIGITS = re.compile(r"[^0-9.\-+]")

# ISO 8583 field 39 response codes -> (result, decline_reason); anything else declined "other"
RESPONSE_CODES: dict[str, tuple[str, str | None]] = {
    "00": ("approved", None),
    "08": ("approved", None),  # honour with identification
    "10": ("approved", None),  # partial approval
    "11": ("approved", None),  # VIP approval
    "85": ("approved", None),  # no reason to decline (account verification)
    "01": ("declined", "do_not_honor"),  # refer to card issuer
    "05": ("declined", "do_not_honor"),
    "12": ("declined", "other"),  # invalid transaction
    "13": ("declined", "other"),  # invalid amount
    "14": ("declined", "invalid_card"),
    "15": ("declined", "invalid_card"),  # no such issuer
    "1A": ("declined", "authentication_failed"),  # strong customer authentication required
    "41": ("declined", "lost_card"),
    "43": ("declined", "stolen_card"),
    "51": ("declined", "insufficient_funds"),
    "54": ("declined", "expired_card"),
    "55": ("declined", "authentication_failed"),  # incorrect PIN
    "57": ("declined", "do_not_honor"),  # not permitted to cardholder
    "59": ("declined", "suspected_fraud"),
    "61": ("declined", "limit_exceeded"),
    "62": ("declined", "do_not_honor"),  # restricted card
    "63": ("declined", "suspected_fraud"),  # security violation
    "65": ("declined", "limit_exceeded"),  # activity count limit
    "82": ("declined", "incorrect_cvc"),
    "N7": ("declined", "incorrect_cvc"),
    "91": ("declined", "other"),  # issuer unavailable
    "96": ("declined", "other"),  # system malfunction
}


class CellError(ValueError):
    """A cell that does not convert; the message says why (the column is added by the caller)."""


def to_minor(value: Any, currency: str, *, round_half_even: bool = False) -> int:
    """An amount in major units (``"1,234.56"``, ``"$17.60"``, ``12.5``) as an integer of minor
    units of ``currency``. More decimals than the currency has is an error, unless
    ``round_half_even`` (then a float is rounded as Python's ``round`` does)."""
    digits = exponent(currency)
    if isinstance(value, float) and round_half_even:
        return int(round(value * 10**digits))
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 10**digits
    text = value if isinstance(value, str) else repr(value)
    negative = text.strip().startswith("(") and text.strip().endswith(")")  # accounting style
    cleaned = _NOT_DIGITS.sub("", text)
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(f"{text!r} is not an amount") from None
    if negative:
        amount = -amount
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        if not round_half_even:
            raise CellError(f"{text} has more decimals than {currency}'s {digits}")
        scaled = scaled.quantize(Decimal(1))
    return int(scaled)


def to_bool(value: Any, true: frozenset[str] = TRUE_SPELLINGS, false: frozenset[str] = FALSE_SPELLINGS) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in true:
        return True
    if text in false:
        return False
    raise CellError(f"{value!r} is neither true ({', '.join(sorted(true))}) nor false ({', '.join(sorted(false))})")


@cache
def zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CellError(f"unknown time zone {name!r} (an IANA name such as America/New_York)") from None


def parse_time(value: Any, fmt: str, tz: tzinfo) -> datetime:
    """``fmt``: ``iso`` (ISO 8601), ``unix`` / ``unix_ms`` (epoch seconds / milliseconds) or a
    ``strptime`` pattern (``%m/%d/%Y %I:%M %p``). A time without an offset is in ``tz``."""
    if isinstance(value, datetime):
        t = value
    elif fmt in ("unix", "unix_ms"):
        try:
            seconds = float(value) / (1000 if fmt == "unix_ms" else 1)
        except (TypeError, ValueError):
            raise CellError(f"{value!r} is not a Unix time") from None
        return datetime.fromtimestamp(seconds, tz=UTC)
    else:
        text = str(value).strip()
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00")) if fmt == "iso" else datetime.strptime(text, fmt)
        except ValueError:
            raise CellError(f"{text!r} does not match the time format {fmt!r}") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=tz)


_DURATION = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | int) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` or seconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"{text!r} is not a duration (90s, 15m, 24h, 7d, 2w)")
    return timedelta(seconds=float(m.group(1)) * _UNIT[m.group(2)])
