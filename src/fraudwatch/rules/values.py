"""The ``MISSING`` sentinel and the value kinds the language knows.

A value is missing when a feature is absent or None (or NaN), an event has no such
field, a type does not fit at run time, or a division is by zero. ``MISSING`` is
falsy, so ``expr(ctx) is True`` is the test for "the condition holds".

>>> MISSING, bool(MISSING), MISSING is Missing()
(MISSING, False, True)
"""

from __future__ import annotations

from datetime import datetime
from numbers import Real
from typing import Any

__all__ = ["MISSING", "Missing", "as_number", "NUMBER", "STRING", "BOOL", "TIME", "COLLECTION", "ANY"]


class Missing:
    """Type of the single ``MISSING`` value."""

    __slots__ = ()
    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"  # pickles to the module-level singleton


MISSING = Missing()

# exact classes take the fast path; bool is deliberately not a number here
NUMBER_CLASSES = frozenset({int, float})


def as_number(value: Any) -> Any:
    """``value`` if it is a real number (not a bool, not NaN), else MISSING.

    The slow path for numeric types other than int and float (numpy scalars, Decimal).

    >>> as_number(3), as_number(True), as_number("3"), as_number(float("nan"))
    (3, MISSING, MISSING, MISSING)
    """
    cls = value.__class__
    if cls is int:
        return value
    if cls is float:
        return value if value == value else MISSING
    if isinstance(value, bool) or not isinstance(value, Real):
        return MISSING
    value = float(value) if not isinstance(value, int) else int(value)
    return value if value == value else MISSING


# static types the checker infers; ANY is a name whose type is known only at run time
NUMBER, STRING, BOOL, TIME, COLLECTION, ANY = "number", "string", "bool", "time", "collection", "any"
TYPES = frozenset({NUMBER, STRING, BOOL, TIME, COLLECTION, ANY})


def _as_string(value: Any) -> Any:
    return value if value.__class__ is str else MISSING


def _as_bool(value: Any) -> Any:
    return value if value is True or value is False else MISSING


def _as_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    return as_number(value)  # POSIX seconds


def _as_collection(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset, str)):
        return value
    return MISSING


def _as_any(value: Any) -> Any:
    return value


COERCE = {
    NUMBER: as_number,
    STRING: _as_string,
    BOOL: _as_bool,
    TIME: _as_time,
    COLLECTION: _as_collection,
    ANY: _as_any,
}


def type_of_value(value: Any) -> str:
    """Static type of a literal value."""
    if value is True or value is False:
        return BOOL
    if isinstance(value, str):
        return STRING
    return NUMBER
