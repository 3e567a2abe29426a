"""Currencies' minor units (ISO 4217): amounts are integers of minor units, and the exponent
says how many digits follow the decimal point in major units.

>>> exponent("JPY"), exponent("USD"), exponent("KWD"), to_major(123456, "USD")
(0, 2, 3, 1234.56)
"""

from __future__ import annotations

__all__ = ["EXPONENTS", "exponent", "to_major"]

# ISO 4217 minor units other than 2
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "BIF", "DJF", "GNF"), 0),
    **dict.fromkeys(("KMF", "RWF", "VUV", "XPF"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}


def exponent(currency: str | None) -> int:
    """Digits after the decimal point of ``currency``: 0 for JPY, 3 for KWD, else 2."""
    return EXPONENTS.get(currency or "", 2)


def to_major(amount: int, currency: str | None) -> float:
    """Minor units as a number of major units (for reports, never for arithmetic on money)."""
    return amount / float(10 ** exponent(currency))  # int ** int is Any to the type checker
