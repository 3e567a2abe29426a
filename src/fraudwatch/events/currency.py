r"""Currencies' minor units (ISO 4217) and the dated rates table that converts amounts.

Amounts are integers of minor units, and the exponent says how many digits follow the decimal
point in major units.

>>> exponent("JPY"), exponent("USD"), exponent("KWD"), to_major(123456, "USD")
(0, 2, 3, 1234.56)

A rates table holds, per currency, US dollars per one major unit from a date on; an amount is
converted with the latest rate dated on or before its day, so replays convert as the live
run did (``event.amount_usd`` in rules and features):

>>> table = Rates.parse("date,currency,usd\n2026-01-01,JPY,0.0064\n2026-07-01,JPY,0.0068\n")
>>> table.usd(17600, "JPY", "2026-03-01"), table.usd(17600, "JPY", "2026-07-01"), table.usd(1999, "USD", "2026-01-01")
(112.64, 119.68, 19.99)
>>> table.usd(100, "EUR", "2026-03-01") is None, table.usd(100, "JPY", "2025-12-31") is None
(True, True)
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import os
import re
from datetime import date
from importlib.resources import files
from pathlib import Path

from fraudwatch.errors import InvalidValue

__all__ = ["EXPONENTS", "ENVIRONMENT", "Rates", "exponent", "rates", "to_major"]

# ISO 4217 minor units other than 2
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "BIF", "DJF", "GNF"), 0),
    **dict.fromkeys(("KMF", "RWF", "VUV", "XPF"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}
ENVIRONMENT = "FRAUDWATCH_CURRENCY_RATES"  # a rates file replacing the shipped sample table
_CODE = re.compile(r"^[A-Z]{3}$")


def exponent(currency: str | None) -> int:
    """Digits after the decimal point of ``currency``: 0 for JPY, 3 for KWD, else 2."""
    return EXPONENTS.get(currency or "", 2)


def to_major(amount: int, currency: str | None) -> float:
    """Minor units as a number of major units (for reports, never for arithmetic on money)."""
    return amount / float(10 ** exponent(currency))  # int ** int is Any to the type checker


class Rates:
    """US dollars per major unit of each currency, by date (see the module docstring)."""

    def __init__(self, table: dict[str, list[tuple[str, float]]]) -> None:
        self._dates = {c: [d for d, _ in sorted(rows)] for c, rows in table.items()}
        self._rates = {c: [r for _, r in sorted(rows)] for c, rows in table.items()}

    @classmethod
    def parse(cls, text: str, source: str = "rates") -> Rates:
        """CSV with the columns ``date,currency,usd`` (a header line, ``#`` comment lines)."""
        table: dict[str, list[tuple[str, float]]] = {}
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), 1):
            if n == 1 and row and row[0].strip() == "date":
                continue
            try:
                day, code, usd = (x.strip() for x in row)
                date.fromisoformat(day)
                rate = float(usd)
            except ValueError:
                raise InvalidValue(
                    f"{source}: line {n}: expected date,currency,usd such as 2026-01-01,JPY,0.0064"
                ) from None
            if not _CODE.match(code) or not (math.isfinite(rate) and rate > 0):
                raise InvalidValue(f"{source}: line {n}: {code!r} needs a positive rate in US dollars")
            table.setdefault(code, []).append((day, rate))
        return cls(table)

    @classmethod
    def load(cls, path: str | Path) -> Rates:
        return cls.parse(Path(path).read_text(encoding="utf-8"), source=str(path))

    def rate(self, currency: str, day: str) -> float | None:
        """US dollars per major unit of ``currency`` on ``day`` (ISO date), None when unknown."""
        if currency == "USD":
            return 1.0
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect.bisect_right(dates, day) - 1
        return self._rates[currency][i] if i >= 0 else None

    def usd(self, amount: int | None, currency: str | None, day: str) -> float | None:
        """``amount`` minor units of ``currency`` in US dollars (rounded to the cent)."""
        if amount is None or currency is None:
            return None
        rate = self.rate(currency, day)
        return None if rate is None else round(to_major(amount, currency) * rate, 2)

    @property
    def currencies(self) -> list[str]:
        return sorted(self._dates)


_loaded: dict[tuple[str, float], Rates] = {}


def rates() -> Rates:
    """The configured rates table: the file named by ``FRAUDWATCH_CURRENCY_RATES``, else the
    shipped sample (``fraudwatch/events/data/rates.csv``); read again when the file changes."""
    given = os.environ.get(ENVIRONMENT)
    path = Path(given) if given else Path(str(files("fraudwatch.events") / "data" / "rates.csv"))
    key = (str(path), path.stat().st_mtime)
    table = _loaded.get(key)
    if table is None:
        table = Rates.load(path)
        _loaded.clear()
        _loaded[key] = table
    return table
