"""Running window statistics with add / remove, and the same aggregations computed from
scratch (the slow path for late events, and what the running ones must agree with).

Each statistic keeps its state for one entity in a few slots of that entity's flat ``acc``
list, starting at ``base``, so an entity costs one list rather than one object per stat.

>>> acc = []
>>> num = NumStat(base=0, col=0, std=True); num.init(acc)
>>> for v in (3, 5, 10): num.add(acc, v)
>>> num.remove(acc, 3)
>>> num.reader("mean")(acc), num.reader("std")(acc)
(7.5, 3.5355339059327378)
>>> aggregate("std", [5, 10]) == num.reader("std")(acc)
True
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from typing import Any

__all__ = [
    "DistinctStat",
    "ExtremeStat",
    "NumStat",
    "SortedStat",
    "aggregate",
    "as_number",
    "empty_value",
    "relative",
]


def as_number(value: Any) -> int | float | None:
    """Numbers as they are, bools as 0/1, NaN and anything else as None (skipped)."""
    cls = value.__class__
    if cls is int or (cls is float and value == value):
        return value
    if cls is bool:
        return int(value)
    if isinstance(value, (int, float)) and value == value:
        return value
    return None


def _std(n: int, s: float, q: float) -> float | None:
    """Sample standard deviation (ddof=1) from count, sum and sum of squares."""
    if n < 2:
        return None
    var = (n * q - s * s) / (n * (n - 1))  # exact for ints; clamp float rounding below 0
    return math.sqrt(var) if var > 0 else 0.0


def empty_value(agg: str) -> Any:
    """What an aggregation over no events reads: 0 for counting ones, else None."""
    return 0 if agg in ("count", "sum", "distinct") else None


def aggregate(agg: str, values: list, events: int | None = None) -> Any:
    """``agg`` over ``values`` (None skipped); ``events`` is the event count for a plain count.

    >>> aggregate("mean", [1, None, 3]), aggregate("distinct", ["a", "b", "a"]), aggregate("max", [])
    (2.0, 2, None)
    """
    if agg == "count":
        return events if events is not None else sum(1 for v in values if v is not None)
    present = [v for v in values if v is not None]
    if agg == "distinct":
        return len(set(present))
    if not present:
        return empty_value(agg)
    if agg == "sum":
        return sum(present)
    if agg == "mean":
        return sum(present) / len(present)
    if agg == "min":
        return min(present)
    if agg == "max":
        return max(present)
    if agg == "std":
        return _std(len(present), sum(present), sum(v * v for v in present))
    raise ValueError(f"unknown aggregation {agg!r}")


def relative(agg: str, history: list, value: Any, own: int = 0) -> float | None:
    """``share`` or ``rank`` of ``value`` against the present values of ``history``, of which
    ``own`` (0 or 1) is the current event itself and is left out. ``share``: the share equal
    to ``value``; ``rank``: the share below it, ties counting half. None when ``value`` is
    None or nothing else is present. The running statistics compute the same expressions.

    >>> relative("share", ["a", "b", "a", None], "a"), relative("rank", [10, 20, 30, 20], 20, own=1)
    (0.6666666666666666, 0.5)
    >>> relative("share", ["a"], "a", own=1) is None
    True
    """
    if value is None:
        return None
    present = [v for v in history if v is not None]
    n = len(present) - own
    if n <= 0:
        return None
    if agg == "share":
        return (present.count(value) - own) / n
    if agg == "rank":
        below = sum(1 for v in present if v < value)
        ties = sum(1 for v in present if v == value) - own
        return (below + ties / 2) / n
    raise ValueError(f"unknown history aggregation {agg!r}")


class NumStat:
    """Count of present values, their sum and (for std) sum of squares: slots n, s, q
    (``sums=False``: only the count, of values of any type).

    ``add`` and ``remove`` are closures over the slot indexes (the hot path calls them
    once per entry entering or leaving a window); ``reader(agg)`` gives ``acc -> value``.
    """

    __slots__ = ("base", "col", "add", "remove", "std", "sums")
    width = 3

    def __init__(self, base: int, col: int, std: bool = False, sums: bool = True) -> None:
        self.base, self.col = base, col
        self.std, self.sums = std, sums
        n, s, q = base, base + 1, base + 2

        def add(acc: list, v: Any) -> None:
            acc[n] += 1
            if sums:
                acc[s] += v
                if std:
                    acc[q] += v * v

        def remove(acc: list, v: Any) -> None:
            left = acc[n] = acc[n] - 1
            if not sums:
                return
            if left:
                acc[s] -= v
                if std:
                    acc[q] -= v * v
            else:  # empty again: reset exactly so float rounding does not pile up
                acc[s] = acc[q] = 0

        self.add, self.remove = add, remove

    def init(self, acc: list) -> None:
        acc.extend((0, 0, 0))

    def add_code(self) -> list[str]:
        """Source lines doing what ``add(acc, v)`` does (for generated hot paths)."""
        n, s, q = self.base, self.base + 1, self.base + 2
        lines = [f"acc[{n}] += 1"]
        if self.sums:
            lines.append(f"acc[{s}] += v")
            if self.std:
                lines.append(f"acc[{q}] += v * v")
        return lines

    def remove_code(self) -> list[str]:
        """Source lines doing what ``remove(acc, v)`` does."""
        n, s, q = self.base, self.base + 1, self.base + 2
        lines = [f"left = acc[{n}] = acc[{n}] - 1"]
        if self.sums:
            lines += ["if left:", f"    acc[{s}] -= v"]
            if self.std:
                lines.append(f"    acc[{q}] -= v * v")
            lines += ["else:", f"    acc[{s}] = acc[{q}] = 0"]
        return lines

    def reader(self, agg: str) -> Callable[[list], Any]:
        n, s, q = self.base, self.base + 1, self.base + 2
        if agg == "count":
            return lambda acc: acc[n]
        if agg == "sum":
            return lambda acc: acc[s]
        if agg == "mean":
            return lambda acc: acc[s] / acc[n] if acc[n] else None
        if agg == "std":
            return lambda acc: _std(acc[n], acc[s], acc[q])
        raise ValueError(f"NumStat does not give {agg!r}")


class ExtremeStat:
    """Min or max, recomputed lazily from the window when the extreme value leaves it:
    slots value, stale. ``value(acc, column, lo, hi)`` reads it."""

    __slots__ = ("base", "col", "is_max", "add", "remove")
    width = 2

    def __init__(self, base: int, col: int, is_max: bool) -> None:
        self.base, self.col, self.is_max = base, col, is_max
        b, stale = base, base + 1

        def add(acc: list, v: Any) -> None:
            if acc[stale]:
                return  # the next read rescans anyway
            cur = acc[b]
            if cur is None or (v > cur if is_max else v < cur):
                acc[b] = v

        def remove(acc: list, v: Any) -> None:
            if v == acc[b]:
                acc[stale] = True

        self.add, self.remove = add, remove

    def init(self, acc: list) -> None:
        acc.extend((None, False))

    def add_code(self) -> list[str]:
        b, stale = self.base, self.base + 1
        return [
            f"if not acc[{stale}]:",
            f"    cur = acc[{b}]",
            f"    if cur is None or v {'>' if self.is_max else '<'} cur:",
            f"        acc[{b}] = v",
        ]

    def remove_code(self) -> list[str]:
        return [f"if v == acc[{self.base}]:", f"    acc[{self.base + 1}] = True"]

    def value(self, acc: list, column: list, lo: int, hi: int) -> Any:
        b = self.base
        if acc[b + 1]:
            present = [v for v in column[lo:hi] if v is not None]
            acc[b] = (max(present) if self.is_max else min(present)) if present else None
            acc[b + 1] = False
        return acc[b]


class DistinctStat:
    """Distinct values with their multiplicity in the window: one slot, a dict."""

    __slots__ = ("base", "col", "add", "remove")
    width = 1

    def __init__(self, base: int, col: int) -> None:
        self.base, self.col = base, col

        def add(acc: list, v: Any) -> None:
            counts = acc[base]
            counts[v] = counts.get(v, 0) + 1

        def remove(acc: list, v: Any) -> None:
            counts = acc[base]
            left = counts[v] - 1
            if left:
                counts[v] = left
            else:
                del counts[v]

        self.add, self.remove = add, remove

    def init(self, acc: list) -> None:
        acc.append({})

    def add_code(self) -> list[str]:
        return [f"counts = acc[{self.base}]", "counts[v] = counts.get(v, 0) + 1"]

    def remove_code(self) -> list[str]:
        return [
            f"counts = acc[{self.base}]",
            "left = counts[v] - 1",
            "if left:",
            "    counts[v] = left",
            "else:",
            "    del counts[v]",
        ]

    def value(self, acc: list) -> int:
        return len(acc[self.base])


class SortedStat:
    """The present values of the window in sorted order (one slot, a list), for ``rank``:
    insertion and removal by bisection, a rank read is two bisections."""

    __slots__ = ("base", "col", "add", "remove")
    width = 1

    def __init__(self, base: int, col: int) -> None:
        self.base, self.col = base, col

        def add(acc: list, v: Any) -> None:
            insort(acc[base], v)

        def remove(acc: list, v: Any) -> None:
            values = acc[base]
            del values[bisect_left(values, v)]

        self.add, self.remove = add, remove

    def init(self, acc: list) -> None:
        acc.append([])

    def add_code(self) -> list[str]:
        return [f"insort(acc[{self.base}], v)"]

    def remove_code(self) -> list[str]:
        return [f"values = acc[{self.base}]", "del values[bisect_left(values, v)]"]

    @staticmethod
    def rank(values: list, v: Any, own: int) -> float | None:
        """As :func:`relative` ``("rank", values, v, own)`` on the sorted values."""
        n = len(values) - own
        if n <= 0:
            return None
        below = bisect_left(values, v)
        return (below + (bisect_right(values, v, below) - below - own) / 2) / n
