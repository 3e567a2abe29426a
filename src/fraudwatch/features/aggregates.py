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

from fraudwatch import codegen

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
        return value  # type: ignore[no-any-return]
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


def aggregate(agg: str, values: list[Any], events: int | None = None) -> Any:
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


def relative(agg: str, history: list[Any], value: Any, own: int = 0) -> float | None:
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


# ------------------------------------------------------------------ statistics
# Each statistic is written once: the template functions below are inlined into the
# window stores' generated code (fraudwatch.codegen.inline) and bound as the closures the
# other paths call (codegen.bind). Templates take the entity's ``acc`` list and a value
# ``v`` (or the store's ``cols``, ``los`` and ``hi`` for reads), then their slots and flags.


def _num_add(acc: list[Any], v: Any, n: int, s: int, q: int, sums: bool, std: bool) -> None:
    acc[n] += 1
    if sums:
        acc[s] += v
        if std:
            acc[q] += v * v


def _num_remove(acc: list[Any], v: Any, n: int, s: int, q: int, sums: bool, std: bool) -> None:
    left = acc[n] = acc[n] - 1
    if sums:
        if left:
            acc[s] -= v
            if std:
                acc[q] -= v * v
        else:  # empty again: reset exactly so float rounding does not pile up
            acc[s] = acc[q] = 0


def _slot(acc: list[Any], cols: list[Any], los: list[int], hi: int, i: int) -> Any:
    return acc[i]


def _num_mean(acc: list[Any], cols: list[Any], los: list[int], hi: int, n: int, s: int) -> Any:
    return acc[s] / acc[n] if acc[n] else None


def _num_std(acc: list[Any], cols: list[Any], los: list[int], hi: int, n: int, s: int, q: int) -> Any:
    return _std(acc[n], acc[s], acc[q])


def _extreme_add(acc: list[Any], v: Any, b: int, is_max: bool) -> None:
    if not acc[b + 1]:  # stale: the next read rescans anyway
        cur = acc[b]
        if cur is None or (v > cur if is_max else v < cur):
            acc[b] = v


def _extreme_remove(acc: list[Any], v: Any, b: int) -> None:
    if v == acc[b]:
        acc[b + 1] = True


def _extreme_read(
    acc: list[Any], cols: list[Any], los: list[int], hi: int, b: int, col: int, wi: int, rescan: Any
) -> Any:
    return rescan(acc, cols[col], los[wi], hi) if acc[b + 1] else acc[b]


def _distinct_add(acc: list[Any], v: Any, b: int) -> None:
    counts = acc[b]
    counts[v] = counts.get(v, 0) + 1


def _distinct_remove(acc: list[Any], v: Any, b: int) -> None:
    counts = acc[b]
    left = counts[v] - 1
    if left:
        counts[v] = left
    else:
        del counts[v]


def _distinct_count(acc: list[Any], cols: list[Any], los: list[int], hi: int, b: int) -> Any:
    return len(acc[b])


def _sorted_add(acc: list[Any], v: Any, b: int) -> None:
    insort(acc[b], v)


def _sorted_remove(acc: list[Any], v: Any, b: int) -> None:
    values = acc[b]
    del values[bisect_left(values, v)]


# share and rank read the current event's value ``v`` too; ``own`` (0 or 1) is the current
# event itself when it is in the window, left out


def _share_read(acc: list[Any], v: Any, own: int, b: int, n: int) -> Any:
    return None if v is None or acc[n] <= own else (acc[b].get(v, 0) - own) / (acc[n] - own)


def _rank_read(acc: list[Any], v: Any, own: int, b: int) -> Any:
    return None if v is None else _rank(acc[b], v, own)


def _rank(values: list[Any], v: Any, own: int) -> float | None:
    """As :func:`relative` ``("rank", values, v, own)`` on the sorted values: two bisections."""
    n = len(values) - own
    if n <= 0:
        return None
    below = bisect_left(values, v)
    return (below + (bisect_right(values, v, below) - below - own) / 2) / n


Template = tuple[Callable[..., Any], dict[str, Any]]  # a template and its constants


class _Stat:
    """A statistic's slots in an entity's ``acc``: ``add`` and ``remove`` (templates with
    their constants, and the closures bound from them), ``read(...)`` for a value."""

    __slots__ = ("base", "col", "add", "remove", "adding", "removing")
    width = 0

    def __init__(self, base: int, col: int, adding: Template, removing: Template) -> None:
        self.base, self.col = base, col
        self.adding, self.removing = adding, removing
        self.add = codegen.bind(adding[0], **adding[1])
        self.remove = codegen.bind(removing[0], **removing[1])

    def add_code(self, env: dict[str, Any]) -> list[str]:
        """Source lines doing what ``add(acc, v)`` does (for generated hot paths)."""
        return codegen.inline(self.adding[0], env, **self.adding[1])

    def remove_code(self, env: dict[str, Any]) -> list[str]:
        """Source lines doing what ``remove(acc, v)`` does."""
        return codegen.inline(self.removing[0], env, **self.removing[1])


class NumStat(_Stat):
    """Count of present values, their sum and (for std) sum of squares: slots n, s, q
    (``sums=False``: only the count, of values of any type)."""

    __slots__ = ("std", "sums")
    width = 3

    def __init__(self, base: int, col: int, std: bool = False, sums: bool = True) -> None:
        self.std, self.sums = std, sums
        slots = {"n": base, "s": base + 1, "q": base + 2, "sums": sums, "std": std}
        super().__init__(base, col, (_num_add, slots), (_num_remove, slots))

    def init(self, acc: list[Any]) -> None:
        acc.extend((0, 0, 0))

    def read(self, agg: str) -> Template:
        """``(acc, cols, los, hi) -> value`` of ``agg``, as a template and its constants."""
        n, s, q = self.base, self.base + 1, self.base + 2
        if agg == "count":
            return _slot, {"i": n}
        if agg == "sum":
            return _slot, {"i": s}
        if agg == "mean":
            return _num_mean, {"n": n, "s": s}
        if agg == "std":
            return _num_std, {"n": n, "s": s, "q": q}
        raise ValueError(f"NumStat does not give {agg!r}")

    def reader(self, agg: str) -> Callable[[list[Any]], Any]:
        """``acc -> value`` of ``agg``."""
        template, constants = self.read(agg)
        read = codegen.bind(template, **constants)
        return lambda acc: read(acc, None, None, 0)


class ExtremeStat(_Stat):
    """Min or max, recomputed lazily from the window when the extreme value leaves it:
    slots value, stale. ``value(acc, column, lo, hi)`` reads it."""

    __slots__ = ("is_max",)
    width = 2

    def __init__(self, base: int, col: int, is_max: bool) -> None:
        self.is_max = is_max
        super().__init__(base, col, (_extreme_add, {"b": base, "is_max": is_max}), (_extreme_remove, {"b": base}))

    def init(self, acc: list[Any]) -> None:
        acc.extend((None, False))

    def read(self, wi: int) -> Template:
        """``(acc, cols, los, hi) -> value`` in window ``wi``."""
        return _extreme_read, {"b": self.base, "col": self.col, "wi": wi, "rescan": self.value}

    def value(self, acc: list[Any], column: list[Any], lo: int, hi: int) -> Any:
        b = self.base
        if acc[b + 1]:
            present = [v for v in column[lo:hi] if v is not None]
            acc[b] = (max(present) if self.is_max else min(present)) if present else None
            acc[b + 1] = False
        return acc[b]


class DistinctStat(_Stat):
    """Distinct values with their multiplicity in the window: one slot, a dict."""

    __slots__ = ()
    width = 1

    def __init__(self, base: int, col: int) -> None:
        super().__init__(base, col, (_distinct_add, {"b": base}), (_distinct_remove, {"b": base}))

    def init(self, acc: list[Any]) -> None:
        acc.append({})

    def read(self) -> Template:
        return _distinct_count, {"b": self.base}

    def value(self, acc: list[Any]) -> int:
        return len(acc[self.base])


class SortedStat(_Stat):
    """The present values of the window in sorted order (one slot, a list), for ``rank``:
    insertion and removal by bisection, a rank read is two bisections."""

    __slots__ = ()
    width = 1

    def __init__(self, base: int, col: int) -> None:
        super().__init__(base, col, (_sorted_add, {"b": base}), (_sorted_remove, {"b": base}))

    def init(self, acc: list[Any]) -> None:
        acc.append([])
