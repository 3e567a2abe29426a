"""Brute-force reference of the feature semantics: every value recomputed from the whole
list of events seen so far, with none of the engine's state or shortcuts."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fraudwatch.features import FeatureSet, FeatureSpec
from fraudwatch.rules import MISSING, Context

_EMPTY_ZERO = ("count", "sum", "distinct")


def ev(**fields: Any) -> SimpleNamespace:
    """A test event: any attributes; absent ones read as missing."""
    return SimpleNamespace(**fields)


def _get(event: Any, path: str) -> Any:
    value = event
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _key(event: Any, entity: tuple[str, ...]) -> Any:
    parts = tuple(_get(event, f) for f in entity)
    return None if None in parts else parts


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, (int, float)) else None


class Reference:
    """Feature values of event ``i`` as of its own time, given events ``0..i`` in arrival order."""

    def __init__(self, fs: FeatureSet) -> None:
        self.fs = fs
        self._served: dict[tuple[int, int], dict[str, Any]] = {}  # (id(events), j) -> values of event j

    def matches(self, spec: FeatureSpec, event: Any) -> bool:
        if spec.kinds and event.kind not in spec.kinds:
            return False
        if spec.filter is None:
            return True
        return self.fs.filters[spec.filter](Context(event=event, features={})) is True

    def values(self, events: list[Any], stamps: list[float], i: int) -> dict[str, Any]:
        memo = (id(events), i)
        if memo in self._served:
            return self._served[memo]
        event = events[i]
        out: dict[str, Any] = {}
        outer, self._current = getattr(self, "_current", None), out  # ``of`` reads the current values here
        second = self.fs.second_pass
        for stage in (False, True):  # features of features after the others
            for spec in self.fs.base:
                if (spec.name in second) != stage:
                    continue
                key = _key(event, spec.entity)
                if key is None:
                    continue
                seen = [
                    j for j in range(i + 1) if _key(events[j], spec.entity) == key and self.matches(spec, events[j])
                ]
                out[spec.name] = self.value(spec, events, stamps, i, seen)
            ctx = Context(event=event, features=out)
            for spec in self.fs.derived:
                if (spec.name in second) != stage:
                    continue
                expr = self.fs.exprs[spec.name]
                if all(n in out for n in expr.names if n in self.fs.names):
                    value = expr(ctx)
                    out[spec.name] = None if value is MISSING else value
        self._served[memo], self._current = out, outer
        return out

    def read(self, spec: FeatureSpec, events: list, stamps: list[float], i: int, j: int) -> Any:
        """What ``spec`` aggregates for event ``j``: its field, or the ``of`` feature as served
        for it (for the current event ``i``, as computed so far)."""
        if spec.of is None:
            return _get(events[j], spec.field)
        out = self._current if j == i else self.values(events, stamps, j)
        return out.get(spec.of)

    def value(self, spec: FeatureSpec, events: list, stamps: list[float], i: int, seen: list[int]) -> Any:
        t = stamps[i]
        if spec.agg in ("time_since_last", "previous", "age"):
            return self.scalar(spec, events, stamps, i, seen)
        lo, hi = t - spec.delay - spec.window, t - spec.delay
        inside = [j for j in seen if lo < stamps[j] <= hi]
        if spec.agg in ("share", "rank"):  # the current event against the others in the window
            read = _number if spec.agg == "rank" else (lambda v: v)
            current = read(self.read(spec, events, stamps, i, i))
            history = [v for j in inside if j != i and (v := read(self.read(spec, events, stamps, i, j))) is not None]
            if current is None or not history:
                return None
            same = sum(1 for v in history if v == current)
            if spec.agg == "share":
                return same / len(history)
            return (sum(1 for v in history if v < current) + same / 2) / len(history)
        if spec.source is None:
            values: list[Any] = [1] * len(inside)
        elif spec.is_label:
            values = [self.label(events, stamps, i, j, spec.delay) for j in inside]
        else:
            values = [self.read(spec, events, stamps, i, j) for j in inside]
            if spec.agg not in ("count", "distinct"):
                values = [_number(v) for v in values]
        present = [v for v in values if v is not None]
        if spec.agg == "count":
            return len(present)
        if spec.agg == "distinct":
            return len(set(present))
        if not present:
            return 0 if spec.agg in _EMPTY_ZERO else None
        if spec.agg == "sum":
            return sum(present)
        if spec.agg == "mean":
            return sum(present) / len(present)
        if spec.agg == "min":
            return min(present)
        if spec.agg == "max":
            return max(present)
        if spec.agg == "std":
            if len(present) < 2:
                return None
            mean = sum(present) / len(present)
            return (sum((v - mean) ** 2 for v in present) / (len(present) - 1)) ** 0.5
        raise AssertionError(spec.agg)

    @staticmethod
    def label(events: list, stamps: list[float], i: int, j: int, delay: float) -> int:
        """1 when a fraud label for event j arrived (by event i) dated before j became old enough."""
        found = 0
        for k in range(i + 1):
            e = events[k]
            if e.kind == "label" and e.target == events[j].id and stamps[k] <= stamps[j] + delay:
                found = 1 if e.fraud else 0
        return found

    def scalar(self, spec: FeatureSpec, events: list, stamps: list[float], i: int, seen: list[int]) -> Any:
        t, window = stamps[i], spec.window
        # matching events at or before t, by time then arrival; the current one last among equals
        order = sorted((stamps[j], j) for j in seen if stamps[j] <= t)
        if spec.agg == "age":
            if not order or order[-1][0] <= t - window:
                return None
            start = len(order) - 1
            while start > 0 and order[start][0] - order[start - 1][0] < window:
                start -= 1  # a gap of a whole window forgets the entity
            return t - order[start][0]
        before = [p for p in order if p[1] != i]
        if not before or before[-1][0] <= t - window:
            return None
        ts_prev, j = before[-1]
        return t - ts_prev if spec.agg == "time_since_last" else self.read(spec, events, stamps, i, j)
