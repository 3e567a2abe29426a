"""Exact sliding windows for the features of one selector (entity, kinds, filter) and one
delay: every entity keeps its matching events once, sorted by time, for the largest window
plus the delay plus the lateness, and one running statistic per (window, field, kind).

Per entity, entries ``[0, hi)`` are old enough for the delay (``ts <= head - delay``) and
entries ``[lo[w], hi)`` are inside window ``w``; older entries stay only so a late event
can still compute its own window exactly.

>>> from types import SimpleNamespace as E
>>> from fraudwatch.features.spec import FeatureSpec
>>> specs = [FeatureSpec("card.n_1h", entity="card", agg="count", window="1h"),
...          FeatureSpec("card.amount_max_1h", entity="card", agg="max", field="amount", window="1h")]
>>> store = WindowStore(specs, delay=0.0, lateness=600.0, labels={})
>>> out = {}
>>> for t, amount in ((0, 500), (1800, 300), (3600, 200)):
...     store.process("c1", E(amount=amount), float(t), True, out)
>>> out
{'card.n_1h': 2, 'card.amount_max_1h': 300}
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import Any

from fraudwatch import codegen
from fraudwatch.errors import InvalidValue
from fraudwatch.features.access import field_getter, source_getter
from fraudwatch.features.aggregates import (
    DistinctStat,
    ExtremeStat,
    NumStat,
    SortedStat,
    Template,
    _rank_read,
    _share_read,
    aggregate,
    as_number,
    empty_value,
    relative,
)
from fraudwatch.features.expiry import ExpiryQueue
from fraudwatch.features.spec import HISTORY_AGGS, LABEL_FIELD, NUMBER_COLUMN_AGGS, FeatureSpec

__all__ = ["CountStore", "WindowStore"]

_PURGE_BATCH = 32  # drop expired entries in batches: one list shift per batch
_NO_COLUMNS: list[Any] = []  # shared by entities without columns or statistics (never appended to)


class _Series:
    """One entity's entries (parallel lists) and running statistics."""

    __slots__ = ("ts", "cols", "lo", "hi", "head", "acc")

    def __init__(self, ncols: int, lo: list[int]) -> None:
        self.ts: list[float] = []
        self.cols: list[list[Any]] = [[] for _ in range(ncols)] if ncols else _NO_COLUMNS
        self.lo = lo.copy()
        self.hi = 0
        self.head = float("-inf")
        self.acc: list[Any] = _NO_COLUMNS  # replaced when the store has statistics


def _window(spec: FeatureSpec) -> float:
    """A windowed feature's window (the feature set's validation guarantees one)."""
    if spec.window is None:
        raise InvalidValue(f"{spec.name}: a windowed aggregation needs a window")
    return spec.window


def _agg(spec: FeatureSpec) -> str:
    if spec.agg is None:
        raise InvalidValue(f"{spec.name}: a base feature needs an aggregation")
    return spec.agg


def _latest_entry(ent: _Series) -> float:
    return ent.ts[-1] if ent.ts else float("-inf")


class WindowStore:
    """Windowed features (count, sum, mean, min, max, std, distinct, share, rank) sharing
    one selector and one ``delay``. ``labels`` maps event ids to ``(fraud, label_time)``.
    ``features`` is the engine's cell holding the features being computed, for columns
    that aggregate another feature's value (``of``).

    ``by_value`` maps the names of plain counts whose entity key adds one more field to
    the store's (``[card, amount]`` in a ``card`` store) to that field: such a count is
    the number of entries whose field equals the event's, read from a distinct-values
    statistic, so the store needs no entity per (card, amount) pair. It is absent when
    the event has no value for the field, as the pair's entity would be.
    """

    def __init__(
        self,
        specs: list[FeatureSpec],
        delay: float,
        lateness: float,
        labels: Mapping[Any, Any],
        by_value: Mapping[str, str] | None = None,
        features: list[Any] | None = None,
    ) -> None:
        self.specs = specs
        self.features = features
        self.by_value = dict(by_value or {})
        self.delay = delay
        self.labels = labels
        self.windows: list[float] = sorted({_window(s) for s in specs})
        self.retention = max(self.windows) + delay + lateness
        self.entities: dict[Any, _Series] = {}
        self.expiry = ExpiryQueue()
        self._columns: list[tuple[str, bool]] = []  # (field, numeric)
        self._getters: list[Callable[[Any], Any]] = []
        self._label_cols: list[int] = []
        self._stats: list[list[Any]] = [[] for _ in self.windows]  # per window
        self._width = 0
        self._stat_index: dict[tuple[str, int, int], Any] = {}
        self._count_reads: list[tuple[str, int]] = []  # plain counts need no statistic: hi - lo
        self._reads: list[tuple[str, Template]] = []  # statistics' values, count/sum/... first, min/max last
        # sums of squares only where a std reads them
        self._std_keys = {(self.windows.index(_window(s)), self._column(s)) for s in specs if s.agg == "std"}
        # (feature, field getter, window, column, the counts' slot)
        self._value_reads: list[tuple[str, Callable[[Any], Any], int, int, int]] = []
        extremes: list[tuple[str, Template]] = []
        # share / rank against the entity's own history: (feature, agg, window, column, read)
        self._history_reads: list[tuple[str, str, int, int, Template]] = []
        for spec in specs:
            if spec.name in self.by_value:
                field = self.by_value[spec.name]
                wi, col = self.windows.index(_window(spec)), self._column(field=field)
                base = self._stat("distinct", wi, col).base
                self._value_reads.append((spec.name, field_getter(field), wi, col, base))
            elif spec.agg == "count" and spec.source is None:
                self._count_reads.append((spec.name, self.windows.index(_window(spec))))
            elif spec.agg in ("min", "max"):
                extremes.append((spec.name, self._read(spec)))
            elif spec.agg in HISTORY_AGGS:
                self._history_reads.append(self._history(spec))
            else:
                self._reads.append((spec.name, self._read(spec)))
        self._reads += extremes
        self._empty = {s.name: empty_value(_agg(s)) for s in specs if s.name not in self.by_value}
        # bound closures per window, for a late entry entering the windows that cover it (_enter)
        self._adders = [[(st.add, st.col) for st in stats] for stats in self._stats]
        # per window: index, length, and whether leaving entries update statistics
        self._window_items = [(wi, w, bool(self._stats[wi])) for wi, w in enumerate(self.windows)]
        self._lo0 = [0] * len(self.windows)
        self._acc0: list[Any] = []
        for stat in self._stat_index.values():  # creation order: the order of their slots
            stat.init(self._acc0)
        self._fresh = [i for i, v in enumerate(self._acc0) if isinstance(v, (dict, list))]  # one each
        self._tail, self._append, self._enter_all = self._generated() if codegen.enabled() else self._interpreted()

    def _generated(self) -> tuple[Callable[..., Any], ...]:
        """``tail(ent, ts, los, hi, cut, out, event, match)``: what :meth:`process` does once
        entries entered (entries leave the windows, then every feature is read: plain counts,
        statistics, min / max, counts by value, share / rank); ``append(cols, event)`` and
        ``enter(ts, cols, acc, hi, n, cut)``: generated with the windows, columns and slots
        unrolled."""
        env: dict[str, Any] = {"bisect_right": bisect_right}
        lines = ["def tail(ent, ts, los, hi, cut, out, event, match):"]
        for wi, window, stats in self._window_items:
            env[f"w{wi}"] = window
            lines += [f"    lo = los[{wi}]", f"    if lo < hi and ts[lo] <= cut - w{wi}:"]
            if stats:  # entries leave the statistics, unrolled
                lines += [
                    f"        edge = cut - w{wi}",
                    "        cols = ent.cols",
                    "        acc = ent.acc",
                    "        while lo < hi and ts[lo] <= edge:",
                ]
                for col, column_stats in self._stats_by_column(self._stats[wi]):
                    lines += [f"            v = cols[{col}][lo]", "            if v is not None:"]
                    lines += ["                " + line for stat in column_stats for line in stat.remove_code(env)]
                lines += ["            lo += 1", f"        los[{wi}] = lo"]
            else:  # plain counts only: jump
                lines.append(f"        los[{wi}] = bisect_right(ts, cut - w{wi}, lo, hi)")
        for name, wi in self._count_reads:
            lines.append(f"    out[{name!r}] = hi - los[{wi}]")
        if self._reads or self._value_reads or self._history_reads:
            lines += ["    acc = ent.acc", "    cols = ent.cols"]
        for name, (template, constants) in self._reads:
            lines.append(f"    out[{name!r}] = {codegen.inline_expression(template, env, **constants)}")
        for name, _, _, col, base in self._value_reads:
            field = self._columns[col][0]
            env[f"get{col}"] = self._getters[col]
            read = f"getattr(event, {field!r}, None)" if "." not in field else f"get{col}(event)"
            lines += [f"    v = {read}", "    if v is not None:", f"        out[{name!r}] = acc[{base}].get(v, 0)"]
        # the current event is in the window (and left out) when it matched and there is no delay
        own: dict[str, int] = {"own": 0} if self.delay else {}
        if self._history_reads and not self.delay:
            lines.append("    own = 1 if match else 0")
        for name, _, _, col, (template, constants) in self._history_reads:
            env[f"get{col}"] = self._getters[col]
            lines.append(f"    v = get{col}(event)")
            lines.append(f"    out[{name!r}] = {codegen.inline_expression(template, env, **constants, **own)}")
        # the event's column values appended, as the getters read them
        lines += ["def append(cols, event):"]
        for c, ((field, numeric), get) in enumerate(zip(self._columns, self._getters, strict=True)):
            if c in self._label_cols:
                field, numeric = "id", False
            if "." in field or ":" in field:  # a dotted field, or another feature's value
                env[f"get{c}"] = get
                lines.append(f"    cols[{c}].append(get{c}(event))")
            elif numeric:  # as number_getter
                env["as_number"] = as_number
                lines += [
                    f"    v = getattr(event, {field!r}, None)",
                    "    cls = v.__class__",
                    f"    cols[{c}].append(v if cls is int or (cls is float and v == v) else as_number(v))",
                ]
            else:
                lines.append(f"    cols[{c}].append(getattr(event, {field!r}, None))")
        if not self._columns:
            lines.append("    pass")
        # entries entering every window (no label columns), as the adders do, unrolled
        # (each statistic has its own slots, so grouping them by column changes no value)
        lines += ["def enter(ts, cols, acc, hi, n, cut):", "    while hi < n and ts[hi] <= cut:"]
        for col, column_stats in self._stats_by_column(stat for stats in self._stats for stat in stats):
            lines += [f"        v = cols[{col}][hi]", "        if v is not None:"]
            lines += ["            " + line for stat in column_stats for line in stat.add_code(env)]
        lines += ["        hi += 1", "    return hi"]
        codegen.build("window-store", lines, env)
        return env["tail"], env["append"], env["enter"]

    def _interpreted(self) -> tuple[Callable[..., Any], ...]:
        """What :meth:`_generated` generates, as loops over the plan and closures."""
        leaving = [
            (wi, window, [(col, [s.remove for s in stats]) for col, stats in self._stats_by_column(self._stats[wi])])
            for wi, window, _ in self._window_items
        ]
        count_reads = self._count_reads
        reads = [(name, codegen.bind(template, **constants)) for name, (template, constants) in self._reads]
        value_reads = self._value_reads
        history_reads = [
            (name, self._getters[col], codegen.bind(template, **constants))
            for name, _, _, col, (template, constants) in self._history_reads
        ]
        delayed = bool(self.delay)
        getters = self._getters
        entering = [
            (col, [s.add for s in stats])
            for col, stats in self._stats_by_column(stat for stats in self._stats for stat in stats)
        ]

        def tail(
            ent: _Series,
            ts: list[float],
            los: list[int],
            hi: int,
            cut: float,
            out: dict[Any, Any],
            event: Any,
            match: bool,
        ) -> None:
            for wi, window, removers in leaving:
                lo = los[wi]
                if lo < hi and ts[lo] <= cut - window:
                    if removers:
                        edge, cols, acc = cut - window, ent.cols, ent.acc
                        while lo < hi and ts[lo] <= edge:
                            for col, fns in removers:
                                v = cols[col][lo]
                                if v is not None:
                                    for remove in fns:
                                        remove(acc, v)
                            lo += 1
                        los[wi] = lo
                    else:
                        los[wi] = bisect_right(ts, cut - window, lo, hi)
            for name, wi in count_reads:
                out[name] = hi - los[wi]
            acc, cols = ent.acc, ent.cols
            for name, read in reads:
                out[name] = read(acc, cols, los, hi)
            for name, get, _, _, base in value_reads:
                v = get(event)
                if v is not None:
                    out[name] = acc[base].get(v, 0)
            own = 1 if match and not delayed else 0
            for name, get, read in history_reads:
                out[name] = read(acc, get(event), own)

        def append(cols: list[list[Any]], event: Any) -> None:
            for column, get in zip(cols, getters, strict=True):
                column.append(get(event))

        def enter(ts: list[float], cols: list[list[Any]], acc: list[Any], hi: int, n: int, cut: float) -> int:
            while hi < n and ts[hi] <= cut:
                for col, fns in entering:
                    v = cols[col][hi]
                    if v is not None:
                        for add in fns:
                            add(acc, v)
                hi += 1
            return hi

        return tail, append, enter

    @staticmethod
    def _stats_by_column(stats: Any) -> list[tuple[int, list[Any]]]:
        """Statistics grouped by the column they read, in their order of first use."""
        by_column: dict[int, list[Any]] = {}
        for stat in stats:
            by_column.setdefault(stat.col, []).append(stat)
        return list(by_column.items())

    def __len__(self) -> int:
        return len(self.entities)

    # ------------------------------------------------------------- building
    def _column(self, spec: FeatureSpec | None = None, field: str | None = None, numeric: bool = False) -> int:
        """The column of ``spec``'s field (numbers only for numeric aggregations), or of
        ``field`` as given."""
        if spec is not None:
            field, numeric = spec.source, spec.agg in NUMBER_COLUMN_AGGS
        if field is None:
            raise InvalidValue("a windowed statistic needs a field")
        key = (field, numeric)
        if key not in self._columns:
            self._columns.append(key)
            if field == LABEL_FIELD:
                # holds the event id until the event is old enough, then its 0/1 label
                self._label_cols.append(len(self._getters))
                self._getters.append(field_getter("id"))
            else:
                self._getters.append(source_getter(field, self.features, numeric))
        return self._columns.index(key)

    def _stat(self, kind: str, wi: int, col: int) -> Any:
        key = (kind, wi, col)
        stat = self._stat_index.get(key)
        if stat is None:
            if kind == "num":
                stat = NumStat(self._width, col, std=(wi, col) in self._std_keys, sums=self._columns[col][1])
            elif kind == "distinct":
                stat = DistinctStat(self._width, col)
            elif kind == "sorted":
                stat = SortedStat(self._width, col)
            else:
                stat = ExtremeStat(self._width, col, is_max=kind == "max")
            self._width += stat.width
            self._stat_index[key] = stat
            self._stats[wi].append(stat)
        return stat

    def _history(self, spec: FeatureSpec) -> tuple[str, str, int, int, Template]:
        """``share`` reads the value counts and the count of present values; ``rank`` the
        sorted values."""
        wi, col = self.windows.index(_window(spec)), self._column(spec)
        if spec.agg == "share":
            counts, present = self._stat("distinct", wi, col).base, self._stat("num", wi, col).base
            return spec.name, "share", wi, col, (_share_read, {"b": counts, "n": present})
        return spec.name, "rank", wi, col, (_rank_read, {"b": self._stat("sorted", wi, col).base})

    def _read(self, spec: FeatureSpec) -> Template:
        """``(acc, cols, los, hi) -> value`` of ``spec``, as a template and its constants."""
        wi = self.windows.index(_window(spec))
        agg = _agg(spec)
        col = self._column(spec)
        read: Template
        if agg in ("count", "sum", "mean", "std"):
            read = self._stat("num", wi, col).read(agg)
        elif agg == "distinct":
            read = self._stat("distinct", wi, col).read()
        else:
            read = self._stat(agg, wi, col).read(wi)
        return read

    def _new(self) -> _Series:
        ent = _Series(len(self._getters), self._lo0)
        if self._acc0:
            ent.acc = acc = self._acc0.copy()
            for i in self._fresh:
                acc[i] = acc[i].copy()  # an empty dict or list of its own
        return ent

    # ------------------------------------------------------------ hot path
    def process(self, key: Any, event: Any, t: float, match: bool, out: dict[Any, Any]) -> None:
        """Insert the event when it ``match``es, then write every feature's value at ``t``."""
        ent = self.entities.get(key)
        if match:
            if ent is None:
                ent = self.entities[key] = self._new()
                self.expiry.add(t, key)
            if t < ent.head:
                self._insert_late(ent, event, t)
                self._read_at(ent, t, out, event, not self.delay)
                return
            ent.ts.append(t)
            if self._getters:
                self._append(ent.cols, event)
        elif ent is None:
            out.update(self._empty)
            if self._value_reads:
                self._empty_by_value(event, out)
            return
        elif t < ent.head:
            self._read_at(ent, t, out, event, False)
            return
        # advance the entity to t: entries old enough for the delay enter, old ones leave
        ent.head = t
        ts, los = ent.ts, ent.lo
        cut = t - self.delay
        hi, n = ent.hi, len(ts)
        if hi < n and ts[hi] <= cut:
            if self._label_cols:  # as _enter does for every window, inline
                cols, labels, delay = ent.cols, self.labels, self.delay
                while hi < n and ts[hi] <= cut:
                    for c in self._label_cols:
                        col = cols[c]
                        label = labels.get(col[hi])
                        col[hi] = 1 if label is not None and label[0] and label[1] <= ts[hi] + delay else 0
                    hi = self._enter_all(ts, cols, ent.acc, hi, hi + 1, cut)  # this one entry
            else:  # the usual case: the entry just appended enters every window
                hi = self._enter_all(ts, ent.cols, ent.acc, hi, n, cut)
            ent.hi = hi
        self._tail(ent, ts, los, hi, cut, out, event, match)
        if ts and ts[0] <= t - self.retention:
            # _purge drops a batch once k = bisect_right(ts, edge) >= min(32, ceil(len / 2)):
            # test that directly rather than calling it for nothing
            edge = t - self.retention
            if ts[min(_PURGE_BATCH, (len(ts) + 1) // 2) - 1] <= edge:
                self._purge(ent, edge)  # last: it shifts hi and lo

    def _enter(self, ent: _Series, j: int, windows: range | list[Any]) -> None:
        """Entry ``j`` becomes old enough for the delay: add it to these windows' stats."""
        cols, acc = ent.cols, ent.acc
        for c in self._label_cols:
            cols[c][j] = self._label(cols[c][j], ent.ts[j])
        for wi in windows:
            for add, c in self._adders[wi]:
                v = cols[c][j]
                if v is not None:
                    add(acc, v)

    def _purge(self, ent: _Series, edge: float) -> None:
        """Drop entries too old for any window or late event, in batches."""
        ts = ent.ts
        k = bisect_right(ts, edge)
        if k >= _PURGE_BATCH or 2 * k >= len(ts):
            del ts[:k]
            for col in ent.cols:
                del col[:k]
            ent.hi -= k
            los = ent.lo
            for wi in range(len(los)):
                los[wi] -= k

    def _label(self, event_id: Any, t: float) -> int:
        # a label dated after the event became old enough does not count, even when the
        # entity is next touched later; one dated exactly then counts when it came first
        label = self.labels.get(event_id)
        return 1 if label is not None and label[0] and label[1] <= t + self.delay else 0

    def _insert_late(self, ent: _Series, event: Any, t: float) -> None:
        """Put an event older than the entity's latest time at its place, and into the
        windows (as of the latest time) that cover it."""
        p = bisect_right(ent.ts, t)
        ent.ts.insert(p, t)
        for col, get in zip(ent.cols, self._getters, strict=False):
            col.insert(p, get(event))
        cut = ent.head - self.delay
        if t > cut:
            return  # not old enough for the delay yet: enters with a later advance
        ent.hi += 1
        inside = []
        for wi, window in enumerate(self.windows):
            if t <= cut - window:
                ent.lo[wi] += 1  # already out of this window: p is before lo
            else:
                inside.append(wi)
        self._enter(ent, p, inside)

    def _empty_by_value(self, event: Any, out: dict[Any, Any]) -> None:
        for name, get, *_ in self._value_reads:
            if get(event) is not None:
                out[name] = 0

    def _read_at(self, ent: _Series, t: float, out: dict[Any, Any], event: Any, own: bool) -> None:
        """Values as of an earlier time ``t`` (a late event), computed from the entries;
        ``own``: the event itself is among them (left out of share and rank)."""
        ts, cut = ent.ts, t - self.delay
        hi = bisect_right(ts, cut)
        for name, get, wi, col, _ in self._value_reads:
            v = get(event)
            if v is not None:  # list.count compares as the counts' dict does: identity, then ==
                out[name] = ent.cols[col][bisect_right(ts, cut - self.windows[wi], 0, hi) : hi].count(v)
        for name, agg, wi, col, _ in self._history_reads:
            lo = bisect_right(ts, cut - self.windows[wi], 0, hi)
            out[name] = relative(agg, ent.cols[col][lo:hi], self._getters[col](event), int(own))
        for spec in self.specs:
            if spec.name in self.by_value or spec.agg in HISTORY_AGGS:
                continue
            lo = bisect_right(ts, cut - _window(spec), 0, hi)
            if spec.agg == "count" and spec.source is None:
                out[spec.name] = hi - lo
            else:
                column = ent.cols[self._column(spec)]
                out[spec.name] = aggregate(_agg(spec), column[lo:hi])

    # ------------------------------------------------------- upkeep, state
    def sweep(self, now: float) -> int:
        """Forget entities whose every entry is too old to be read again; returns how many."""
        return self.expiry.sweep(self.entities, now - self.retention, now, _latest_entry)

    def dump(self) -> list[Any]:
        """Plain data (lists, numbers, keys) for a snapshot. The running statistics are
        kept as they are, not rebuilt: float sums depend on the order of additions and
        removals, and a restored engine must give bit-identical values."""
        return [(k, e.ts, e.cols, e.lo, e.hi, e.head, e.acc) for k, e in self.entities.items()]

    def load(self, rows: list[Any]) -> None:
        self.entities.clear()
        for key, ts, cols, lo, hi, head, acc in rows:
            ent = self._new()
            ent.ts, ent.cols, ent.lo, ent.hi, ent.head = list(ts), [list(c) for c in cols], list(lo), hi, head
            if self._acc0:
                ent.acc = [v.copy() if isinstance(v, (dict, list)) else v for v in acc]
            self.entities[key] = ent
        self.expiry.rebuild(self.entities, _latest_entry)


class CountStore(WindowStore):
    """The common case, lean: only plain counts and no delay, so an entry enters every
    window as it arrives (``hi`` is always the number of entries) and a window's count is
    ``hi - lo``. Late events and snapshots take the general paths.

    >>> from fraudwatch.features.spec import FeatureSpec
    >>> store = CountStore([FeatureSpec("card.n_1h", entity="card", agg="count", window="1h")],
    ...                    delay=0.0, lateness=60.0, labels={})
    >>> out = {}
    >>> for t in (0.0, 1800.0, 3600.0):
    ...     store.process("c1", None, t, True, out)
    >>> out
    {'card.n_1h': 2}
    """

    @staticmethod
    def fits(specs: list[FeatureSpec], delay: float) -> bool:
        return not delay and all(s.agg == "count" and s.source is None for s in specs)

    def __init__(self, specs: list[FeatureSpec], delay: float, lateness: float, labels: Mapping[Any, Any]) -> None:
        super().__init__(specs, delay, lateness, labels)
        self._plan = [(name, wi, self.windows[wi]) for name, wi in self._count_reads]

    def process(self, key: Any, event: Any, t: float, match: bool, out: dict[Any, Any]) -> None:
        ent = self.entities.get(key)
        if match:
            if ent is None:
                ent = self.entities[key] = self._new()
                self.expiry.add(t, key)
            if t < ent.head:
                self._insert_late(ent, event, t)
                self._read_at(ent, t, out, event, False)
                return
            ts = ent.ts
            ts.append(t)
            ent.hi = hi = len(ts)
        elif ent is None:
            out.update(self._empty)
            return
        elif t < ent.head:
            self._read_at(ent, t, out, event, False)
            return
        else:
            ts, hi = ent.ts, ent.hi
        ent.head = t
        los = ent.lo
        for name, wi, window in self._plan:
            lo = los[wi]
            if lo < hi and ts[lo] <= t - window:
                lo = los[wi] = bisect_right(ts, t - window, lo, hi)
            out[name] = hi - lo
        if ts and ts[0] <= t - self.retention:
            edge = t - self.retention
            if ts[min(_PURGE_BATCH, (len(ts) + 1) // 2) - 1] <= edge:  # else _purge keeps them all
                self._purge(ent, edge)
