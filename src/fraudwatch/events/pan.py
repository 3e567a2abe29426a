"""Card numbers never rest in clear: a keyed hash token plus the last 4 digits.

The key comes from configuration (``security.token_key``, i.e. ``FRAUDWATCH_SECURITY__TOKEN_KEY``),
never from the code. The same key gives the same token, so a card is followed across events
without its number.

A card number is found however it is written: with spaces, dashes, dots or other
separators, with leading or trailing whitespace, in full-width or other Unicode digits, and
inside any text (an order id, a shipping address, a refund reason): 13 to 19 digits that
pass the Luhn check. In the ``card`` (or ``pan``) field it becomes the ``card`` token,
``card_bin`` and ``card_last4``; in any other field it is replaced by its token, or the
event is refused, by configuration (``ingest.card_numbers``).

>>> t = Tokenizer(b"test-key-from-config-0123456789ab")
>>> clean = t.sanitize({"id": "e1", "pan": "4111 1111 1111 1111"})
>>> sorted(clean), clean["card_last4"], clean["card_bin"], clean["card"].startswith("tok_")
(['card', 'card_bin', 'card_last4', 'id'], '1111', '411111', True)
>>> looks_like_pan("4111111111111111"), looks_like_pan("tok_abc"), looks_like_pan("4111111111111112")
(True, False, False)
>>> looks_like_pan(" ４１１１.１１１１.１１１１.１１１１\\n")
True
>>> t.sanitize({"id": "e2", "order": "order 4111-1111-1111-1111"})["order"].startswith("order tok_")
True
>>> redact("GET /v1/events?card=4111111111111111 HTTP/1.1")
'GET /v1/events?card=<card number> HTTP/1.1'
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fraudwatch.errors import InvalidValue, ValidationFailed

__all__ = [
    "Tokenizer",
    "CardNumberRefused",
    "card_numbers",
    "looks_like_pan",
    "luhn_valid",
    "may_hold_card_number",
    "redact",
    "redact_logs",
    "RedactCardNumbers",
]

MIN_KEY_BYTES = 16
MIN_DIGITS, MAX_DIGITS = 13, 19
# a digit (any script: \d is Unicode), then digits with at most three separators between
# two of them: spaces of any kind, dashes, dots, slashes, underscores, commas (ASCII and
# full-width). Only strings with at least 13 characters are searched at all.
_SEPARATORS = r"[\s\-\u2010-\u2015\u2212\u30fc\uff0d.\uff0e\u00b7\u30fb_/,\uff0c]"
_RUN = re.compile(rf"\d(?:{_SEPARATORS}{{0,3}}\d){{{MIN_DIGITS - 1},}}")
_NOT_DIGIT = re.compile(r"\D+")
_GROUPS = re.compile(r"\d+")
PLACEHOLDER = "<card number>"


# The ASCII part of the same, over a JSON body: no run of 13 such bytes, only ASCII and no
# escape means no card number in any of its strings (the per-field search is skipped).
_BODY_RUN = re.compile(rb"[0-9][0-9 \-._/,]{11,}[0-9]")


def may_hold_card_number(body: bytes) -> bool:
    """False when no string of the JSON ``body`` can hold a card number: the cheap test
    that lets most events skip the search field by field.

    >>> may_hold_card_number(b'{"id":"e1","amount":17600,"time":"2026-11-21T13:00:00+09:00"}')
    False
    >>> [may_hold_card_number(b) for b in (b'{"o":"4111 1111 1111 1111"}', b'{"o":"\\\\uff14"}', '{"o":"４"}'.encode())]
    [True, True, True]
    """
    return not body.isascii() or b"\\" in body or _BODY_RUN.search(body) is not None


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


def _ascii(digits: str) -> str:
    """Digits of any script as ASCII ("４" -> "4")."""
    return digits if digits.isascii() else "".join(str(int(c)) for c in digits)


def _is_pan(digits: str) -> bool:
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and luhn_valid(digits)


def card_numbers(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, digits)`` of each card number in ``text``: a run of 13 to 19 digits
    (separators allowed) passing the Luhn check, or in a longer run, consecutive groups of
    digits between separators that make one (``order 12 4111 1111 1111 1111``)."""
    if len(text) < MIN_DIGITS:
        return
    for run in _RUN.finditer(text):
        digits = _ascii(_NOT_DIGIT.sub("", run.group()))
        if _is_pan(digits):
            yield run.start(), run.end(), digits
        else:
            groups = list(_GROUPS.finditer(run.group()))
            i = 0
            while i < len(groups):
                for j in range(len(groups), i, -1):  # the longest card number starting at group i
                    candidate = _ascii("".join(g.group() for g in groups[i:j]))
                    if _is_pan(candidate):
                        yield run.start() + groups[i].start(), run.start() + groups[j - 1].end(), candidate
                        i = j - 1
                        break
                i += 1


def looks_like_pan(value: Any) -> bool:
    """True for a string that is one card number, however written (see the module)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    for start, end, _ in card_numbers(text):
        return start == 0 and end == len(text)
    return False


def redact(text: str) -> str:
    """``text`` with every card number in it replaced (for logs)."""
    if len(text) < MIN_DIGITS:
        return text
    found = list(card_numbers(text))
    for start, end, _ in reversed(found):
        text = text[:start] + PLACEHOLDER + text[end:]
    return text


class CardNumberRefused(ValidationFailed):
    """An event with a card number in a field configured to refuse them."""


class Tokenizer:
    """Replaces card numbers in a raw event dict. ``pan`` (always removed) or a ``card``
    that is a card number becomes the ``card`` token, ``card_bin`` and ``card_last4``; in any
    other string (nested ones too, and keys) a card number is replaced by its token, or the
    event is refused when ``refuse`` names the field (or ``"*"``)."""

    def __init__(self, key: bytes, refuse: frozenset[str] = frozenset()):
        if len(key) < MIN_KEY_BYTES:
            raise InvalidValue(f"token key must be at least {MIN_KEY_BYTES} bytes")
        self._key = key
        self.refuse = frozenset(refuse)

    def token(self, pan: str) -> str:
        digits = _ascii(_NOT_DIGIT.sub("", pan))
        return "tok_" + hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()[:32]

    def sanitize(self, raw: dict[str, Any], scan: bool = True) -> dict[str, Any]:
        """``raw`` with its card numbers replaced (see the class); ``scan=False`` when
        :func:`may_hold_card_number` said its body cannot hold one in other fields."""
        pan = raw.get("pan")
        card = raw.get("card")
        # (scan=False: the body holds no card number anywhere, card included)
        if pan is None and scan and card.__class__ is str and len(card) >= MIN_DIGITS and looks_like_pan(card):
            pan = card
        clean = raw
        if pan is not None:
            clean = {k: v for k, v in raw.items() if k != "pan"}
            if not looks_like_pan(pan):
                # never echo the value back: it may be a mistyped real card number
                clean["pan"] = "<redacted: not a valid card number>"
            else:
                digits = _ascii(_NOT_DIGIT.sub("", pan))
                clean["card"] = self.token(digits)
                clean["card_last4"] = digits[-4:]
                clean.setdefault("card_bin", digits[:6])
        return self._scrub(clean, "") if scan else clean

    # ------------------------------------------------------------ every other field
    def _scrub(self, data: Mapping[str, Any], prefix: str) -> Any:
        """``data`` with the card numbers in its strings replaced; the same object when it
        has none (the usual case: a string shorter than 13 characters is not even searched)."""
        changed: dict[str, Any] | None = None
        new: Any
        for key, value in data.items():
            cls = value.__class__
            if cls is str:
                if len(value) < MIN_DIGITS:
                    continue
                new = self._text(value, prefix + key)
            elif cls is dict:
                new = self._scrub(value, f"{prefix}{key}.")
            elif cls is list:
                new = self._items(value, f"{prefix}{key}")
            else:
                continue
            if new is not value:
                if changed is None:
                    changed = dict(data)
                changed[key] = new
        for key in data:
            if len(key) >= MIN_DIGITS and _RUN.search(key):  # an unknown field named like a card number
                new_key = self._text(key, prefix + "(field name)")
                if new_key != key:
                    changed = dict(changed if changed is not None else data)
                    changed[new_key] = changed.pop(key)
        return data if changed is None else changed

    def _items(self, values: list[Any], loc: str) -> list[Any]:
        out: list[Any] | None = None
        new: Any
        for i, value in enumerate(values):
            cls = value.__class__
            if cls is str:
                new = self._text(value, f"{loc}.{i}") if len(value) >= MIN_DIGITS else value
            elif cls is dict:
                new = self._scrub(value, f"{loc}.{i}.")
            elif cls is list:
                new = self._items(value, f"{loc}.{i}")
            else:
                continue
            if new is not value:
                if out is None:
                    out = list(values)
                out[i] = new
        return values if out is None else out

    def scrub_text(self, text: str, loc: str) -> str:
        """One string as it would be stored in the field ``loc`` (for look-ups by value)."""
        return self._text(text, loc) if len(text) >= MIN_DIGITS else text

    def _text(self, text: str, loc: str) -> str:
        found = list(card_numbers(text))
        if not found:
            return text
        field = loc.split(".", 1)[0]
        if "*" in self.refuse or field in self.refuse or loc in self.refuse:
            raise CardNumberRefused(
                "card number in a field that refuses them",
                [{"loc": loc, "msg": "contains a card number; send it as pan (or card), never in other fields"}],
            )
        for start, end, digits in reversed(found):
            text = text[:start] + self.token(digits) + text[end:]
        return text


class RedactCardNumbers(logging.Filter):
    """A logging filter that replaces card numbers in a record's message and arguments
    (an access log line with ``?card=4111...``, an exception naming a value): put it on
    the handlers, it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def redact_logs(*names: str) -> None:
    """Put :class:`RedactCardNumbers` on every handler of the root logger and of ``names``
    (e.g. ``uvicorn.access``) once."""
    for name in ("", *names):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactCardNumbers) for f in handler.filters):
                handler.addFilter(RedactCardNumbers())
