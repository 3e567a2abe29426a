"""Card numbers never rest in clear: a keyed hash token plus the last 4 digits.

The key comes from configuration (``security.token_key``, ``FRAUDWATCH_SECURITY__TOKEN_KEY``),
never from the code. The same key gives the same token, so a card is followed across events
without its number.

>>> t = Tokenizer(b"test-key-from-config-0123456789ab")
>>> clean = t.sanitize({"id": "e1", "pan": "4111 1111 1111 1111"})
>>> sorted(clean), clean["card_last4"], clean["card_bin"], clean["card"].startswith("tok_")
(['card', 'card_bin', 'card_last4', 'id'], '1111', '411111', True)
>>> looks_like_pan("4111111111111111"), looks_like_pan("tok_abc"), looks_like_pan("4111111111111112")
(True, False, False)
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from fraudwatch.errors import InvalidValue

__all__ = ["Tokenizer", "looks_like_pan", "luhn_valid"]

_DIGITS = re.compile(r"^[0-9][0-9 -]{11,22}[0-9]$")
MIN_KEY_BYTES = 16


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def looks_like_pan(value: Any) -> bool:
    """True for 13 to 19 digits (spaces or dashes allowed) that pass the Luhn check."""
    if not isinstance(value, str) or not _DIGITS.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits)


class Tokenizer:
    """Replaces card numbers in a raw event dict by ``card`` token, ``card_bin`` and
    ``card_last4``. A ``pan`` field is always removed; a ``card`` value that looks like a
    card number is treated as one."""

    def __init__(self, key: bytes):
        if len(key) < MIN_KEY_BYTES:
            raise InvalidValue(f"token key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def token(self, pan: str) -> str:
        digits = pan.replace(" ", "").replace("-", "")
        return "tok_" + hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()[:32]

    def sanitize(self, raw: dict[str, Any]) -> dict[str, Any]:
        pan = raw.get("pan")
        if pan is None and looks_like_pan(raw.get("card")):
            pan = raw["card"]
        if pan is None:
            return raw
        clean = {k: v for k, v in raw.items() if k != "pan"}
        if not isinstance(pan, str) or not looks_like_pan(pan):
            # never echo the value back: it may be a mistyped real card number
            clean["pan"] = "<redacted: not a valid card number>"
            return clean
        digits = pan.replace(" ", "").replace("-", "")
        clean["card"] = self.token(digits)
        clean["card_last4"] = digits[-4:]
        clean.setdefault("card_bin", digits[:6])
        return clean
