"""One feature declared as data: :class:`FeatureSpec`, and the duration forms it accepts.

A base feature aggregates the events of one entity key (``agg`` over ``field`` in an exact
sliding ``window`` of event time); a derived feature computes ``expr`` over event fields
and other features.

>>> spec = FeatureSpec("card.declines_10m", entity="card", kinds=("payment.attempt",),
...                    filter="event.result == 'declined'", agg="count", window="10m")
>>> spec.entity, spec.window, spec.is_derived
(('card',), 600.0, False)
>>> FeatureSpec("card.amount_ratio", expr="event.amount / card.amount_mean_30d").is_derived
True
>>> parse_duration("1h"), format_duration(604800.0)
(3600.0, '7d')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from fraudwatch.errors import InvalidValue, ValidationFailed

__all__ = [
    "AGGS",
    "HISTORY_AGGS",
    "FeatureSpec",
    "FeatureSpecError",
    "LABEL_FIELD",
    "MAX_WINDOW",
    "OF_PREFIX",
    "SCALAR_AGGS",
    "WINDOW_AGGS",
    "format_duration",
    "parse_duration",
]

MAX_WINDOW = 90 * 86400.0
LABEL_FIELD = "label.fraud"
# aggregations over every matching event inside the window
WINDOW_AGGS = frozenset({"count", "sum", "mean", "min", "max", "std", "distinct", "share", "rank"})
# how usual the current event's value is against the entity's own history in the window (the
# current event left out): the share of earlier events with the same value, the value's rank
HISTORY_AGGS = frozenset({"share", "rank"})
# aggregations that only need the first / latest matching event; their window is a lookback
SCALAR_AGGS = frozenset({"time_since_last", "age", "previous"})
AGGS = WINDOW_AGGS | SCALAR_AGGS
NUMERIC_AGGS = frozenset({"sum", "mean", "min", "max", "std"})
NUMBER_COLUMN_AGGS = NUMERIC_AGGS | {"rank"}  # read their field as a number (anything else: None)
_NEEDS_FIELD = NUMERIC_AGGS | HISTORY_AGGS | {"distinct", "previous"}
_NO_FIELD = frozenset({"time_since_last", "age"})
OF_PREFIX = "of:"  # a column holding another feature's value, as served for the same event

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
_RESERVED_PREFIXES = ("event.", "model.", "label.")


class FeatureSpecError(ValidationFailed):
    """A feature definition that does not fit; the message names the feature and field."""


def parse_duration(value: Any, *, what: str = "duration") -> float:
    """Seconds from a number or a human form: ``"30s"``, ``"10m"``, ``"1h"``, ``"7d"``, ``"2w"``.

    >>> parse_duration("10m"), parse_duration(90), parse_duration("1.5h")
    (600.0, 90.0, 5400.0)
    """
    if isinstance(value, bool):
        raise InvalidValue(f"{what}: must be seconds or a form like '10m', '1h', '7d', not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise InvalidValue(f"{what}: must be seconds or a form like '10m', '1h', '7d', not {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidValue(f"{what}: must be a finite number of seconds >= 0, not {value!r}")
    return seconds


def format_duration(seconds: float) -> str | float:
    """The shortest exact human form (``"7d"``), or the number when no unit divides it.

    >>> format_duration(600.0), format_duration(5400.0), format_duration(86400.0), format_duration(1.5)
    ('10m', '90m', '24h', 1.5)
    """
    for unit in ("d", "h", "m", "s"):  # "30d" and "24h" read best: no weeks, no "1d"
        count = seconds / _UNITS[unit]
        if count >= (2 if unit == "d" else 1) and count == int(count):
            return f"{int(count)}{unit}"
    return int(seconds) if seconds == int(seconds) else seconds


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidValue(f"{what}: must be a name or a list of names, not {value!r}")


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A feature: ``agg`` of ``field`` over the matching events of one ``entity`` key.

    - ``entity``: event fields forming the key, e.g. ``("card",)`` or ``("account", "device")``.
    - ``kinds``: event kinds that update it (empty: every kind); ``filter``: an expression of
      the rules language over ``event.*`` that must be exactly true.
    - ``agg``: one of :data:`AGGS`. ``count`` counts matching events (or those with ``field``
      present); ``distinct`` counts distinct values of ``field``; ``time_since_last`` and
      ``previous`` look at the latest matching event before the current one; ``age`` is the
      time since the first matching event. ``share`` and ``rank`` compare the current
      event's ``field`` with the entity's own history in the window, the current event left
      out: ``share`` is the share of those earlier events with the same value (0: never seen
      in the window), ``rank`` the share of earlier values below it, ties counting half (0.5:
      a typical amount, 1.0: above all of them); both None without history.
    - ``window``: seconds (or ``"10m"``); the window is ``(t - delay - window, t - delay]``.
      For ``time_since_last``/``previous``/``age`` it is the lookback (default 90 days): an
      entity without a matching event for that long is forgotten.
    - ``delay``: only events older than it count; ``field: label.fraud`` needs a delay and
      reads the fraud label that arrived for the earlier event (1, else 0).
    - ``expr``: makes a derived feature, computed from event fields and other features.
    - ``of``: instead of an event ``field``, aggregate another feature's value as it was
      served for each matching event (``agg: min, of: account.age`` on a card: the youngest
      account the card was used on). The feature read must not itself have an ``of``, nor
      be derived from one that has; ``of`` features are computed after the others. The value
      is the one served: for an event later than the lateness, what it was served then.

    >>> FeatureSpec("card.x", entity="card", agg="sum", window="1h")
    Traceback (most recent call last):
    ...
    fraudwatch.features.spec.FeatureSpecError: feature 'card.x': field: agg 'sum' needs a field
    """

    name: str
    entity: tuple[str, ...] = ()
    agg: str | None = None
    field: str | None = None
    window: float | None = None
    kinds: tuple[str, ...] = ()
    filter: str | None = None
    delay: float = 0.0
    expr: str | None = None
    description: str = ""
    of: str | None = None
    options: Any = ()  # a stateful kind's settings (fraudwatch.features.stateful); kept as sorted pairs

    def __post_init__(self) -> None:
        try:
            self._normalise()
        except ValueError as exc:
            where, _, why = str(exc).partition(": ")
            raise FeatureSpecError(
                f"feature {self.name!r}: {where}: {why}", [{"feature": self.name, "field": where, "reason": why}]
            ) from None

    @property
    def is_derived(self) -> bool:
        return self.expr is not None

    @property
    def is_stateful(self) -> bool:
        """True for a registered stateful kind (``agg: login_risk``, ...)."""
        from fraudwatch.features.stateful import is_stateful

        return is_stateful(self.agg)

    @property
    def option_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.options}

    @property
    def source(self) -> str | None:
        """What the aggregation reads: the event ``field``, or ``of:<feature>``."""
        return self.field if self.of is None else OF_PREFIX + self.of

    @property
    def is_label(self) -> bool:
        """True when the feature reads delayed fraud labels."""
        return self.field == LABEL_FIELD

    def to_dict(self) -> dict[str, Any]:
        """Canonical plain form: defaults left out, durations in their human form."""
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self)[1:]:
            value = getattr(self, f.name)
            if value == f.default or value == ():
                continue
            if f.name in ("window", "delay"):
                value = format_duration(value)
            elif f.name == "options":
                value = self.option_dict
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    # ------------------------------------------------------------- validation
    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # frozen: normalise once, here

    def _normalise(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidValue(f"name: must be dotted lower-case words like 'card.declines_10m', not {self.name!r}")
        if self.name.startswith(_RESERVED_PREFIXES):
            raise InvalidValue(f"name: prefixes {', '.join(_RESERVED_PREFIXES)} are reserved by the rules language")
        if not isinstance(self.description, str):
            raise InvalidValue("description: must be text")
        if self.expr is not None:
            return self._check_derived()
        self._set("entity", _checked_fields(_names(self.entity, "entity"), "entity"))
        if not self.entity:
            raise InvalidValue("entity: a base feature needs one or more event fields as its key")
        composite = [f for f in self.entity if f in _composite_fields()]
        if composite:
            raise InvalidValue(f"entity: {composite[0]!r} holds a list or record and cannot be a key")
        self._set("kinds", tuple(sorted(set(_names(self.kinds, "kinds")))))
        _check_kinds(self.kinds)
        if self.is_stateful:
            return self._check_stateful()
        if self.options:
            raise InvalidValue(f"options: agg {self.agg!r} takes no options")
        if self.agg not in AGGS:
            raise InvalidValue(f"agg: {self.agg!r} is not one of {', '.join(sorted(AGGS))}")
        self._check_field()
        if self.filter is not None and (not isinstance(self.filter, str) or not self.filter.strip()):
            raise InvalidValue("filter: must be an expression, e.g. \"event.result == 'declined'\"")
        self._set("delay", parse_duration(self.delay, what="delay"))
        if self.delay > MAX_WINDOW:
            raise InvalidValue(f"delay: {format_duration(self.delay)} is longer than 90 days")
        if self.agg in SCALAR_AGGS:
            if self.delay:
                raise InvalidValue(f"delay: agg {self.agg!r} takes no delay")
            window = MAX_WINDOW if self.window is None else self.window
        elif self.window is None:
            raise InvalidValue(f"window: agg {self.agg!r} needs a window, e.g. '10m', '24h', '30d'")
        else:
            window = self.window
        window = parse_duration(window, what="window")
        if not 0 < window <= MAX_WINDOW:
            raise InvalidValue(f"window: must be more than 0 and at most 90 days, not {format_duration(window)}")
        self._set("window", window)

    def _check_field(self) -> None:
        if self.of is not None:
            if not isinstance(self.of, str) or not _NAME.match(self.of):
                raise InvalidValue(f"of: must be a feature name like 'account.age', not {self.of!r}")
            if self.field is not None:
                raise InvalidValue("of: give a field or of (another feature's value), not both")
            if self.agg in _NO_FIELD:
                raise InvalidValue(f"of: agg {self.agg!r} reads no value")
            return
        if self.field is not None:
            _checked_fields((self.field,), "field")
        if self.field in _composite_fields():
            raise InvalidValue(f"field: {self.field!r} holds a list or record; use one of its fields")
        if self.agg in _NEEDS_FIELD and self.field is None:
            raise InvalidValue(f"field: agg {self.agg!r} needs a field")
        if self.agg in _NO_FIELD and self.field is not None:
            raise InvalidValue(f"field: agg {self.agg!r} takes no field")
        if self.is_label:
            if self.agg not in NUMERIC_AGGS | {"count"}:
                raise InvalidValue(f"field: {LABEL_FIELD} works with count, sum, mean, min, max, std, not {self.agg!r}")
            if not self.delay:
                raise InvalidValue(f"delay: {LABEL_FIELD} needs a delay (labels arrive late), e.g. '7d'")

    def _check_stateful(self) -> None:
        from fraudwatch.features.stateful import stateful_kind

        for name in ("field", "window", "filter", "of"):
            if getattr(self, name) is not None:
                raise InvalidValue(f"{name}: agg {self.agg!r} takes no {name}")
        if self.delay:
            raise InvalidValue(f"delay: agg {self.agg!r} takes no delay")
        options = self.options
        if isinstance(options, tuple):
            options = dict(options)
        if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
            raise InvalidValue("options: must be a mapping of option names to values")
        checked = stateful_kind(self.agg).check_options(dict(options), self)
        self._set("options", tuple(sorted((k, _freeze(v)) for k, v in checked.items())))

    def _check_derived(self) -> None:
        if not isinstance(self.expr, str) or not self.expr.strip():
            raise InvalidValue("expr: must be an expression over event fields and features")
        for f in fields(self):
            if f.name in ("name", "expr", "description"):
                continue
            value = getattr(self, f.name)
            if value not in (f.default, (), None):
                raise InvalidValue(f"{f.name}: a derived feature (expr) takes no {f.name}")
        self._set("entity", ())
        self._set("kinds", ())


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return ("__dict__",) + tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and value[0] == "__dict__":
            return {k: _thaw(v) for k, v in value[1:]}
        return [_thaw(v) for v in value]
    return value


def _checked_fields(names: tuple[str, ...], what: str) -> tuple[str, ...]:
    for name in names:
        if not _FIELD.match(name):
            raise InvalidValue(f"{what}: {name!r} is not an event field name")
        if name.split(".")[0] == "scenario":
            raise InvalidValue(f"{what}: 'scenario' is the ground truth of simulated data; features never read it")
        if name != LABEL_FIELD and name.split(".")[0] not in _event_fields():
            raise InvalidValue(f"{what}: no event kind has a field {name.split('.')[0]!r}")
        if name.startswith("metadata.") and name.count(".") != 1:
            raise InvalidValue(f"{what}: {name!r}: a custom field is metadata.<key>, one level")
    if len(set(names)) != len(names):
        raise InvalidValue(f"{what}: repeats a field")
    return names


def _check_kinds(kinds: tuple[str, ...]) -> None:
    from fraudwatch.events.kinds import KINDS

    for kind in kinds:
        if kind not in KINDS:
            raise InvalidValue(f"kinds: {kind!r} is not an event kind ({', '.join(KINDS)})")


@lru_cache(maxsize=1)
def _event_fields() -> frozenset[str]:
    """Field and property names of every event kind (``gift_card_share`` is a property)."""
    from fraudwatch.events.kinds import EVENT_TYPES, attributes

    return frozenset().union(*(attributes(cls) for cls in EVENT_TYPES))


@lru_cache(maxsize=1)
def _composite_fields() -> frozenset[str]:
    """Event fields holding lists or records (``items``, ``item``): no key and no statistic
    takes them whole (``item.sku`` is fine)."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    from fraudwatch.events.kinds import EVENT_TYPES

    def composite(tp: object) -> bool:
        if get_origin(tp) in (list, dict) or (isinstance(tp, type) and issubclass(tp, BaseModel)):
            return True
        return any(composite(arg) for arg in get_args(tp))

    return frozenset(name for cls in EVENT_TYPES for name, f in cls.model_fields.items() if composite(f.annotation))
