"""Name resolution: which namespace a name belongs to, its static type, and a
precompiled getter per name.

- ``event.<field>[.<sub>]``: an attribute of ``ctx.event``; the field must exist on
  some event kind (see ``fraudwatch.events.kinds``), so typos fail at compile time.
  A field the current event does not have, or None, is missing.
- ``model.<name>``: ``ctx.model[name]`` (missing when ``ctx.model`` is None or lacks it).
- any other name: the feature ``ctx.features.get(name)`` (absent, None or NaN: missing).

>>> namespace_of("event.amount"), namespace_of("model.score"), namespace_of("card.declines_10m")
('event', 'model', 'feature')
>>> event_field_type("event.amount"), event_field_type("event.item.category")
('number', 'string')
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from typing import Any

from fraudwatch.rules.values import ANY, BOOL, COLLECTION, MISSING, NUMBER, STRING, TIME

__all__ = ["namespace_of", "event_field_type", "make_getter", "name_problem"]

EVENT, MODEL, FEATURE = "event", "model", "feature"
_RECORD = "record"  # a nested model such as event.item: only its fields are values


def namespace_of(name: str) -> str:
    head = name.split(".", 1)[0]
    return head if head in (EVENT, MODEL) else FEATURE


def _type_of_annotation(annotation: Any) -> Any:
    """Static type of a pydantic field annotation; a dict for nested models."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_of_annotation(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        kinds = {
            BOOL if isinstance(v, bool) else STRING if isinstance(v, str) else NUMBER
            for v in typing.get_args(annotation)
        }
        return kinds.pop() if len(kinds) == 1 else ANY
    if origin in (typing.Union, types.UnionType):
        members = [_type_of_annotation(a) for a in typing.get_args(annotation) if a is not type(None)]
        return members[0] if all(k == members[0] for k in members) else ANY
    if origin in (list, tuple, set, frozenset):
        return COLLECTION
    if annotation is bool:
        return BOOL
    if annotation in (int, float):
        return NUMBER
    if annotation is str:
        return STRING
    if annotation is datetime:
        return TIME
    fields = getattr(annotation, "model_fields", None)
    if fields is not None:
        return {name: _type_of_annotation(f.annotation) for name, f in fields.items()}
    return ANY


def _merge(a: Any, b: Any) -> Any:
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in a.keys() | b.keys()}
    return ANY


@lru_cache(maxsize=1)
def event_schema() -> dict[str, Any]:
    """Field name -> static type over all event kinds (a dict for nested records)."""
    from fraudwatch.events.kinds import EVENT_TYPES, computed_fields  # late: keeps import order free

    schema: dict[str, Any] = {}
    for cls in EVENT_TYPES:
        fields = {name: _type_of_annotation(f.annotation) for name, f in cls.model_fields.items()}
        for attr in computed_fields(cls):  # ts and gift_card_share are values too
            fields[attr] = NUMBER if attr in ("ts", "gift_card_share", "amount_usd") else ANY
        fields.pop("scenario", None)  # ground truth of simulated data: rules must never read it
        for name, kind in fields.items():
            schema[name] = _merge(schema[name], kind) if name in schema else kind
    return schema


# Declared types of the integrator's custom fields (``event.metadata.<key>``), set while a
# rule set or feature set is checked against them (``metadata:`` in a feature file): a key
# that is not declared is then an error; without declarations every key is read as any.
METADATA_TYPES: ContextVar[Mapping[str, str] | None] = ContextVar("metadata_types", default=None)
METADATA_KINDS = frozenset({NUMBER, STRING, BOOL})


@contextmanager
def declared_metadata(types: Mapping[str, str] | None) -> Iterator[None]:
    """Check names against these metadata declarations (``None``: any key, of any type)."""
    token = METADATA_TYPES.set(types)
    try:
        yield
    finally:
        METADATA_TYPES.reset(token)


def _metadata_type(parts: list[str]) -> str:
    from fraudwatch.events.kinds import METADATA_KEY

    if len(parts) != 2:
        raise LookupError("event.metadata is a map of custom fields: read one key, e.g. event.metadata.customer_age")
    key = parts[1]
    if not METADATA_KEY.match(key):
        raise LookupError(f"metadata key {key!r}: lower-case letters, digits and _ starting with a letter")
    declared = METADATA_TYPES.get()
    if declared is None:
        return ANY
    if key not in declared:
        close = difflib.get_close_matches(key, list(declared), n=1)
        hint = f"; did you mean event.metadata.{close[0]}?" if close else "; declare it under metadata: in the features"
        raise LookupError(f"undeclared metadata key 'event.metadata.{key}'{hint}")
    return declared[key]


def event_field_type(name: str) -> str:
    """Static type of ``event.a[.b]``; raises LookupError with a suggestion."""
    parts = name.split(".")[1:]
    if not parts:
        raise LookupError("'event' needs a field, e.g. event.amount")
    if parts[0] == "metadata":
        return _metadata_type(parts)
    level: Any = event_schema()
    for depth, part in enumerate(parts):
        if not isinstance(level, dict):
            raise LookupError(f"{'.'.join(['event', *parts[:depth]])} has no fields")
        if part.startswith("_") or part not in level:
            close = difflib.get_close_matches(part, list(level), n=1)
            hint = f"; did you mean {'.'.join(['event', *parts[:depth], close[0]])}?" if close else ""
            raise LookupError(f"no event field {'.'.join(['event', *parts[: depth + 1]])!r}{hint}")
        level = level[part]
    if isinstance(level, dict):
        raise LookupError(f"{name} is a record; use one of its fields, e.g. {name}.{sorted(level)[0]}")
    return str(level)


def name_problem(name: str, features: frozenset[str] | None) -> str | None:
    """Why ``name`` cannot be used (None when it can)."""
    space = namespace_of(name)
    if space == EVENT:
        try:
            event_field_type(name)
        except LookupError as exc:
            return str(exc)
    elif space == MODEL:
        if name == MODEL:
            return "'model' needs a name, e.g. model.score"
    elif features is not None and name not in features:
        close = difflib.get_close_matches(name, list(features), n=1)
        return f"unknown feature {name!r}" + (f"; did you mean {close[0]}?" if close else "")
    return None


def static_type(name: str) -> str:
    return event_field_type(name) if namespace_of(name) == EVENT else ANY


def make_getter(name: str) -> Callable[[Any], Any]:
    """A closure ``ctx -> value or MISSING`` for a validated name."""
    space = namespace_of(name)
    if space == EVENT:
        parts = tuple(name.split(".")[1:])
        if len(parts) == 1:
            (field,) = parts

            def get_event(ctx: Any) -> Any:
                v = getattr(ctx.event, field, None)
                if v is None or (v.__class__ is float and v != v):
                    return MISSING
                return v

            return get_event

        if parts[0] == "metadata":
            key = parts[1]

            def get_metadata(ctx: Any) -> Any:
                m = getattr(ctx.event, "metadata", None)
                if m is None:
                    return MISSING
                v = m.get(key)
                if v is None or (v.__class__ is float and v != v):
                    return MISSING
                return v

            return get_metadata

        def get_event_path(ctx: Any) -> Any:
            v = ctx.event
            for part in parts:
                v = getattr(v, part, None)
                if v is None:
                    return MISSING
            return MISSING if v.__class__ is float and v != v else v

        return get_event_path
    if space == MODEL:
        key = name[len(MODEL) + 1 :]

        def get_model(ctx: Any) -> Any:
            m = ctx.model
            if m is None:
                return MISSING
            v = m.get(key)
            if v is None or (v.__class__ is float and v != v):
                return MISSING
            return v

        return get_model

    def get_feature(ctx: Any) -> Any:
        v = ctx.features.get(name)
        if v is None or (v.__class__ is float and v != v):
            return MISSING
        return v

    return get_feature
