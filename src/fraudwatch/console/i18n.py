"""Language, amounts and times for the console: English and Japanese, chosen per user
(a preference) or by the browser's ``Accept-Language``; amounts in their currency's minor
units (yen without decimals); times in the user's time zone.

>>> pick_language(None, "ja-JP,ja;q=0.9,en;q=0.8")
'ja'
>>> pick_language(None, "fr-CH, fr;q=0.9, en;q=0.8, ja;q=0.7")
'en'
>>> pick_language("en", "ja")
'en'
>>> format_amount(17600, "JPY", "en"), format_amount(17600, "JPY", "ja")
('¥17,600', '17,600円')
>>> format_amount(1234, "EUR", "en"), format_amount(5, "BHD", "en"), format_amount(-250, "USD", "ja")
('€12.34', '0.005 BHD', '-US$2.50')
>>> format_time(1795233600.0, "Asia/Tokyo"), format_time(1795233600.0, "UTC", seconds=True)
('2026-11-21 13:00', '2026-11-21 04:00:00')
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fraudwatch.console.messages import MESSAGES

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"
DEFAULT_TIMEZONE = {"en": "UTC", "ja": "Asia/Tokyo"}

# ISO 4217 minor units that are not 2
_EXPONENT = {
    **dict.fromkeys(("JPY", "KRW", "CLP", "VND", "ISK", "PYG", "UGX", "XAF", "XOF", "XPF", "KMF", "RWF", "GNF"), 0),
    **dict.fromkeys(("VUV", "BIF", "DJF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
_SYMBOL = {
    "en": {"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£"},
    "ja": {"USD": "US$", "EUR": "€", "GBP": "£"},
}


def pick_language(preferred: str | None, accept_language: str | None) -> str:
    """The user's own choice if set, else the browser's first supported language."""
    if preferred in LANGUAGES:
        return preferred
    choices = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            choices.append((-q, i, primary))
    return min(choices)[2] if choices else DEFAULT_LANGUAGE


def translate(language: str, key: str, **values) -> str:
    """The message ``key`` in ``language`` (English when missing), with ``{name}`` filled."""
    entry = MESSAGES.get(key)
    if entry is None:
        text = key
    else:
        text = entry[1] if language == "ja" and len(entry) > 1 and entry[1] else entry[0]
    return text.format(**values) if values else text


def exponent(currency: str | None) -> int:
    return _EXPONENT.get((currency or "").upper(), 2)


def format_amount(amount: int | float | None, currency: str | None, language: str = "en") -> str:
    """Minor units as the currency writes them."""
    if amount is None:
        return ""
    code = (currency or "").upper()
    digits = exponent(code)
    sign = "-" if amount < 0 else ""
    value = abs(amount) / 10**digits
    number = f"{value:,.{digits}f}"
    if language == "ja" and code == "JPY":
        return f"{sign}{number}円"
    symbol = _SYMBOL.get(language, {}).get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}".strip()


@cache
def zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def valid_timezone(name: str | None) -> bool:
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def format_time(ts: float | None, timezone: str | None, *, seconds: bool = False, date_only: bool = False) -> str:
    if ts is None:
        return ""
    when = datetime.fromtimestamp(ts, zone(timezone))
    if date_only:
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_duration(seconds: float | None, language: str = "en") -> str:
    """A duration in its largest whole unit.

    >>> format_duration(90), format_duration(7200, "ja"), format_duration(3 * 86400)
    ('1 min', '2 時間', '3 d')
    """
    if seconds is None:
        return ""
    units = (
        (86400, "d", "日"),
        (3600, "h", "時間"),
        (60, "min", "分"),
        (1, "s", "秒"),
    )
    for size, en, ja in units:
        if abs(seconds) >= size or size == 1:
            return f"{int(seconds // size)} {ja if language == 'ja' else en}"
    return ""  # pragma: no cover
