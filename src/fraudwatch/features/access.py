"""Precompiled readers of event fields and entity keys (the hot path reads them for every
event, so each is built once per feature set).

>>> from types import SimpleNamespace as E
>>> e = E(card="c1", device=None, item=E(category="digital_gift_card"))
>>> field_getter("item.category")(e), key_getter(("card",))(e), key_getter(("card", "device"))(e)
('digital_gift_card', 'c1', None)
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

__all__ = ["field_getter", "key_getter", "number_getter", "rest_of_key", "source_getter"]


def field_getter(path: str) -> Callable[[Any], Any]:
    """``event -> value`` of a (dotted) field; None when any part is absent."""
    if "." not in path:
        return lambda event: getattr(event, path, None)
    if path.startswith("metadata."):  # the integrator's custom fields: a map
        key = path[len("metadata.") :]

        def custom(event: Any) -> Any:
            m = getattr(event, "metadata", None)
            return None if m is None else m.get(key)

        return custom
    get = attrgetter(path)

    def nested(event: Any) -> Any:
        try:
            return get(event)
        except AttributeError:  # a missing part, or a None on the way
            return None

    return nested


def number_getter(path: str) -> Callable[[Any], Any]:
    """``event -> number``: ints and floats as they are, bools as 0/1, anything else None."""
    from fraudwatch.features.aggregates import as_number

    get = field_getter(path)

    def number(event: Any) -> Any:
        v = get(event)
        cls = v.__class__
        return v if cls is int or (cls is float and v == v) else as_number(v)

    return number


def key_getter(fields: tuple[str, ...]) -> Callable[[Any], Any]:
    """``event -> key`` of an entity: the value itself for one field, a tuple for several;
    None when any field is absent (the entity does not apply to the event)."""
    first, rest = field_getter(fields[0]), rest_of_key(fields)
    if rest is None:
        return first

    def key(event: Any) -> Any:
        value = first(event)
        return None if value is None else rest(event, value)

    return key


def rest_of_key(fields: tuple[str, ...]) -> Callable[[Any, Any], Any] | None:
    """``(event, first value) -> key`` for a key of several fields, given the first field's
    value (read once for every entity that starts with it); None for a one-field key."""
    if len(fields) == 1:
        return None
    if len(fields) == 2 and "." not in fields[1]:  # the common pair, unrolled
        second = fields[1]

        def pair(event: Any, first: Any) -> Any:
            value = getattr(event, second, None)
            return None if value is None else (first, value)

        return pair
    getters = tuple(field_getter(f) for f in fields[1:])

    def key(event: Any, first: Any) -> Any:
        parts = [first]
        for get in getters:
            value = get(event)
            if value is None:
                return None
            parts.append(value)
        return tuple(parts)

    return key


def source_getter(source: str, features: list[Any] | None = None, numeric: bool = False) -> Callable[[Any], Any]:
    """``event -> value`` of what a feature aggregates: an event field (numbers only when
    ``numeric``), or with ``of:`` another feature's value for the same event, read from the
    features being computed (``features[0]``, a dict the engine sets before the second pass).

    >>> from types import SimpleNamespace as E
    >>> cell = [{"account.age": 86400.0}]
    >>> source_getter("amount")(E(amount=5)), source_getter("of:account.age", cell)(E())
    (5, 86400.0)
    """
    from fraudwatch.features.spec import OF_PREFIX

    if not source.startswith(OF_PREFIX):
        return number_getter(source) if numeric else field_getter(source)
    if features is None:
        raise ValueError(f"{source}: reading another feature needs the engine's features")
    name = source[len(OF_PREFIX) :]
    if not numeric:
        return lambda event: features[0].get(name)
    from fraudwatch.features.aggregates import as_number

    def number(event: Any) -> Any:
        v = features[0].get(name)
        return None if v is None else as_number(v)

    return number
