"""Features that need only the first and the latest matching events: ``time_since_last``,
``previous`` and ``age``, for one selector and one lookback window.

An entity keeps its first matching time and the matching events of the last ``lateness``
seconds (plus the one just before them), so a late event still finds the event that
precedes it. An entity with no matching event for a whole lookback window is forgotten:
the features read None, and ``age`` starts again at its next matching event.

>>> from types import SimpleNamespace as E
>>> from fraudwatch.features.spec import FeatureSpec
>>> specs = [FeatureSpec("card.since_last", entity="card", agg="time_since_last"),
...          FeatureSpec("card.prev_amount", entity="card", agg="previous", field="amount"),
...          FeatureSpec("card.age", entity="card", agg="age")]
>>> store = LastStore(specs, window=specs[0].window, lateness=600.0)
>>> out = {}
>>> for t, amount in ((100, 500), (160, 300)):
...     store.process("c1", E(amount=amount), float(t), True, out)
>>> out
{'card.since_last': 60.0, 'card.prev_amount': 500, 'card.age': 60.0}
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from fraudwatch import codegen
from fraudwatch.features.access import source_getter
from fraudwatch.features.expiry import ExpiryQueue
from fraudwatch.features.spec import FeatureSpec

__all__ = ["LastStore"]


class _Recent:
    __slots__ = ("ts", "cols", "first")

    def __init__(self, ncols: int, first: float) -> None:
        self.ts: list[float] = []
        self.cols: list[list[Any]] = [[] for _ in range(ncols)]
        self.first = first


def _latest(ent: _Recent) -> float:
    return ent.ts[-1]


class LastStore:
    """``time_since_last``, ``previous`` and ``age`` features sharing a selector and window."""

    def __init__(
        self, specs: list[FeatureSpec], window: float, lateness: float, features: list[Any] | None = None
    ) -> None:
        self.specs = specs
        self.window = window
        self.lateness = lateness
        self.entities: dict[Any, _Recent] = {}
        self.expiry = ExpiryQueue()
        self._fields = list(dict.fromkeys(s.source for s in specs if s.agg == "previous" and s.source is not None))
        self._getters: list[Callable[[Any], Any]] = [source_getter(f, features) for f in self._fields]
        # (name, what, column): what 0 = time since last, 1 = previous, 2 = age
        what = {"time_since_last": 0, "previous": 1, "age": 2}
        self._plan = [(s.name, what[s.agg or ""], self._fields.index(s.source) if s.source else -1) for s in specs]
        self._empty = {s.name: None for s in specs}
        self._read = self._generated() if codegen.enabled() else self._interpreted()

    def _generated(self) -> Callable[..., None]:
        """``read(ent, ts, before, latest, t, out)``: every feature's value at ``t``, with the
        plan unrolled (the loop of :meth:`_interpreted`)."""
        lines = [
            "def read(ent, ts, before, latest, t, out):",
            "    edge = t - window",
            "    known = before >= 0 and ts[before] > edge",
            "    alive = latest >= 0 and ts[latest] > edge",
        ]
        for name, what, col in self._plan:
            value = (
                "t - ts[before] if known else None",
                f"ent.cols[{col}][before] if known else None",
                "t - ent.first if alive and ent.first <= t else None",
            )[what]
            lines.append(f"    out[{name!r}] = {value}")
        env: dict[str, Any] = {"window": self.window}
        return codegen.build("last-store", lines, env)["read"]  # type: ignore[no-any-return]

    def _interpreted(self) -> Callable[..., None]:
        plan, window = self._plan, self.window

        def read(ent: _Recent, ts: list[float], before: int, latest: int, t: float, out: dict[str, Any]) -> None:
            edge = t - window
            known = before >= 0 and ts[before] > edge
            alive = latest >= 0 and ts[latest] > edge
            for name, what, col in plan:
                if what == 0:
                    out[name] = t - ts[before] if known else None
                elif what == 1:
                    out[name] = ent.cols[col][before] if known else None
                else:
                    out[name] = t - ent.first if alive and ent.first <= t else None

        return read

    def __len__(self) -> int:
        return len(self.entities)

    def process(self, key: Any, event: Any, t: float, match: bool, out: dict[Any, Any]) -> None:
        """Record the event when it ``match``es, then write every feature's value at ``t``."""
        ent = self.entities.get(key)
        window = self.window
        if match:
            if ent is None:
                ent = self.entities[key] = _Recent(len(self._getters), t)
                self.expiry.add(t, key)
            elif t >= ent.ts[-1] and t - ent.ts[-1] >= window:
                ent.first = t  # forgotten: age starts again (recent events stay for late ones)
            ts = ent.ts
            if not ts or t >= ts[-1]:
                ts.append(t)
                if self._getters:
                    for col, get in zip(ent.cols, self._getters, strict=False):
                        col.append(get(event))
                latest = len(ts) - 1
            else:
                latest = bisect_right(ts, t)
                ts.insert(latest, t)
                for col, get in zip(ent.cols, self._getters, strict=False):
                    col.insert(latest, get(event))
            if t < ent.first:
                ent.first = t
            before = latest - 1
        elif ent is None:
            out.update(self._empty)
            return
        else:
            ts = ent.ts
            latest = before = bisect_right(ts, t) - 1 if t < ts[-1] else len(ts) - 1
        self._read(ent, ts, before, latest, t, out)
        if match and len(ts) > 2 and ts[1] <= ts[-1] - self.lateness:
            # keep the events a late one may still follow, and the one just before them
            k = bisect_right(ts, ts[-1] - self.lateness) - 1
            del ts[:k]
            for col in ent.cols:
                del col[:k]

    def sweep(self, now: float) -> int:
        """Forget entities that every read within the lateness would find forgotten anyway."""
        return self.expiry.sweep(self.entities, now - self.lateness - self.window, now, _latest)

    def dump(self) -> list[Any]:
        return [(k, e.ts, e.cols, e.first) for k, e in self.entities.items()]

    def load(self, rows: list[Any]) -> None:
        self.entities.clear()
        for key, ts, cols, first in rows:
            ent = _Recent(0, first)
            ent.ts, ent.cols = list(ts), [list(c) for c in cols]
            self.entities[key] = ent
        self.expiry.rebuild(self.entities, _latest)
