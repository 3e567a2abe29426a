"""The feature engine: event in, feature values out, state kept in memory.

Specs sharing an entity key, kinds and filter form one *selector*: its key and filter are
computed once per event. A selector's features live in stores, one per delay for windowed
aggregations and one per lookback for time-since-last / previous / age. Selectors are
indexed by event kind, so an event touches only the selectors whose entity fields its kind
has.

>>> from datetime import datetime, timezone
>>> from fraudwatch.events.kinds import parse_event
>>> fs = FeatureSet.from_yaml('''
... features:
...   - {name: card.payments_1h, entity: card, kinds: [payment.attempt], agg: count, window: 1h}
...   - {name: card.amount_sum_1h, entity: card, kinds: [payment.attempt], agg: sum, field: amount, window: 1h}
...   - {name: card.seconds_since_last, entity: card, kinds: [payment.attempt], agg: time_since_last}
... ''')
>>> fe = FeatureEngine(fs)
>>> def pay(i, minute, amount):
...     return parse_event({"id": f"p{i}", "time": f"2026-11-21T13:{minute:02d}:00+09:00",
...                         "kind": "payment.attempt", "card": "tok_1", "amount": amount, "currency": "JPY"})
>>> fe.process(e := pay(1, 0, 1000), e.ts)
{'card.payments_1h': 1, 'card.amount_sum_1h': 1000, 'card.seconds_since_last': None}
>>> fe.process(e := pay(2, 5, 1000), e.ts)
{'card.payments_1h': 2, 'card.amount_sum_1h': 2000, 'card.seconds_since_last': 300.0}
>>> restored = FeatureEngine.restore(fs, fe.snapshot())
>>> restored.process(e := pay(3, 6, 50), e.ts) == fe.process(e, e.ts)
True
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fraudwatch import codegen
from fraudwatch.errors import FraudwatchError, InvalidValue
from fraudwatch.features.access import field_getter, rest_of_key
from fraudwatch.features.featureset import FeatureSet
from fraudwatch.features.latest import LastStore
from fraudwatch.features.memory import approx_size
from fraudwatch.features.spec import SCALAR_AGGS, FeatureSpec
from fraudwatch.features.stateful import stateful_kind
from fraudwatch.features.windows import CountStore, WindowStore
from fraudwatch.rules.inline import filter_function, value_function

__all__ = ["FeatureEngine", "SnapshotError", "advance"]

_SNAPSHOT_FORMAT = 3  # 2: counts per (entity, value) live in the entity's store; 3: stateful kinds
_MAX_LABELS = 2_000_000


class SnapshotError(FraudwatchError, ValueError):
    """A snapshot that does not belong to this feature set or is not a snapshot."""


class _Selector:
    """The entity key, kinds and filter shared by some features, and their stores."""

    __slots__ = ("entity", "kinds", "filter", "stores")

    def __init__(self, entity: tuple[str, ...], kinds: tuple[str, ...], filter_expr: Any) -> None:
        self.entity = entity
        self.kinds = frozenset(kinds) if kinds else None  # None: every kind
        self.filter = filter_expr
        self.stores: list[WindowStore | LastStore] = []


class FeatureEngine:
    """Computes a :class:`FeatureSet` over a stream of events, in event time.

    ``process(event, ts)`` updates the features the event matches and returns the value of
    every feature whose entity fields the event has (counts 0, other aggregations None
    when the entity has no matching events). ``ts`` is ``event.ts`` computed once.

    Events up to ``lateness`` seconds older than the latest event of their entity are put
    at their place and get their values as of their own time. Older ones still count in
    the windows that cover them, but their own values are computed from what is kept and
    may miss events older than the largest window plus the lateness. Repeated event ids
    are not detected here (``fraudwatch.engine.Engine`` does it). Not thread-safe: one
    engine per thread or process, as the engine core is.

    >>> from types import SimpleNamespace as Event
    >>> fs = FeatureSet([FeatureSpec("card.declines_1h", entity="card", kinds=("payment.attempt",),
    ...                              filter="event.result == 'declined'", agg="count", window="1h")])
    >>> fe = FeatureEngine(fs, lateness=600)
    >>> [fe.process(Event(kind="payment.attempt", card="c1", result=r), t)["card.declines_1h"]
    ...  for r, t in (("declined", 0.0), ("approved", 60.0), ("declined", 3600.0))]
    [1, 1, 1]
    >>> fe.process(Event(kind="account.login", account="a1"), 3601.0)  # no card: nothing applies
    {}
    """

    def __init__(
        self,
        feature_set: FeatureSet,
        lateness: float = 3600.0,
        sweep_every: int = 4096,
        owns: Callable[[Any], bool] | None = None,
    ) -> None:
        if not lateness >= 0:
            raise InvalidValue(f"lateness must be seconds >= 0, not {lateness!r}")
        if sweep_every < 1:
            raise InvalidValue(f"sweep_every must be at least 1 event, not {sweep_every!r}")
        self.feature_set = feature_set
        self.lateness = float(lateness)
        self.sweep_every = sweep_every  # events between checks for idle entities
        # a partition's engine (see partial()): the first pass keeps only the keys it owns
        self._owns = owns
        self.now = float("-inf")  # the clock: see advance()
        self._previous = float("-inf")  # the time of the latest event
        self.events = 0
        self._context_cls: Any = None
        label_specs = [s for s in feature_set.base if s.is_label]
        self._labels: OrderedDict[Any, Any] | None = OrderedDict() if label_specs else None
        # a label is read when its target's entity is next touched after the target became
        # older than the delay: at the latest while the target is still in some window
        self._label_keep = max((s.delay + (s.window or 0.0) for s in label_specs), default=0.0) + self.lateness
        # features with ``of`` read other features of the same event: a second pass, whose
        # stores find the features computed so far in this cell
        self._features_cell: list[Any] = [None]
        second = feature_set.second_pass
        self._selectors = self._build(tuple(s for s in feature_set.base if s.name not in second))
        self._selectors2 = self._build(tuple(s for s in feature_set.base if s.name in second))
        self._stores = [store for sel in self._selectors + self._selectors2 for store in sel.stores]
        # stateful kinds (login risk, episodes, ...), and per event kind those that listen
        self._stateful = [stateful_kind(spec.agg)(spec, self.lateness) for spec in feature_set.stateful]
        self._listening: dict[str, list[Any]] = {}
        for feature in self._stateful:
            for kind in feature.listens:
                self._listening.setdefault(kind, []).append(feature)
        self._last_ctx: Any = None  # the first pass's filter context, for derived features
        self._plan: dict[str, list[tuple[Any, ...]]] = {}
        self._runs: dict[str, Callable[..., Any]] = {}  # per kind: the plan compiled to one function
        self._runs2: dict[str, Callable[..., Any]] = {}  # the same for the second pass
        for kind, selectors in _selectors_by_kind(self._selectors).items():
            self._plan_for(kind, selectors)
        for kind, selectors in _selectors_by_kind(self._selectors2).items():
            self._runs2[kind] = self._compile(self._nested(kind, selectors))
        # derived: (name, expression's closure, the features it reads, the generated
        # function for plain arithmetic or None)
        exprs = feature_set.exprs
        derived = [
            (
                s.name,
                _closure(exprs[s.name]),
                tuple(n for n in exprs[s.name].names if n in feature_set.names),
                value_function(exprs[s.name].tree),
            )
            for s in feature_set.derived
        ]
        self._derived = [d for d in derived if d[0] not in second]
        self._derived2 = [d for d in derived if d[0] in second]
        self._context: Any = None  # the rules' Context class, when filters or derived features need it
        self._missing: Any = None
        if derived or any(sel.filter is not None for sel in self._selectors + self._selectors2):
            from fraudwatch.rules import Context
            from fraudwatch.rules.values import MISSING

            self._context, self._missing = Context, MISSING

    def _plan_for(self, kind: str, selectors: list[_Selector] | None = None) -> list[tuple[Any, ...]]:
        """The first pass's plan for ``kind`` (see :meth:`_nested`), compiled; a kind without
        a plan yet gets one for every selector."""
        plan = self._plan[kind] = self._nested(kind, self._selectors if selectors is None else selectors)
        self._runs[kind] = self._compile(plan)
        if kind not in self._runs2:
            self._runs2[kind] = self._compile(self._nested(kind, self._selectors2))
        return plan

    def _nested(self, kind: str, selectors: list[_Selector]) -> list[tuple[Any, ...]]:
        """What an event of ``kind`` touches, nested so each field is read once: per first
        key field (its name, or a getter when dotted), per entity key starting with it (how
        to build the rest of the key), per selector (whether the kind updates it, the filter
        to run when it does, its stores' ``process``)."""
        by_first: dict[str, tuple[Any, ...]] = {}
        by_entity: dict[tuple[str, ...], list[Any]] = {}
        for sel in selectors:
            first = sel.entity[0]
            if first not in by_first:
                by_first[first] = (first, field_getter(first) if "." in first else None, [])
            if sel.entity not in by_entity:
                by_entity[sel.entity] = []
                by_first[first][2].append((rest_of_key(sel.entity), by_entity[sel.entity]))
            match = sel.kinds is None or kind in sel.kinds
            processes = [store.process for store in sel.stores]  # bound once
            by_entity[sel.entity].append((match, sel.filter if match else None, processes))
        return list(by_first.values())

    def _compile(self, plan: list[tuple[Any, ...]]) -> Callable[..., Any]:
        """The plan as one function ``(event, ts, out) -> filter context or None``."""
        return self._generated(plan) if codegen.enabled() else self._interpreted(plan)

    def _interpreted(self, plan: list[tuple[Any, ...]]) -> Callable[..., Any]:
        """The plan walked as it is: per first key field, per entity key, per selector."""
        context = self._context_factory
        owns = self._owns

        def run(event: Any, ts: float, out: dict[str, Any]) -> Any:
            ctx = None
            for field, get_first, entities in plan:
                first = getattr(event, field, None) if get_first is None else get_first(event)
                if first is None:
                    continue
                for rest, selectors in entities:
                    key = first if rest is None else rest(event, first)
                    if key is None or (owns is not None and not owns(key)):
                        continue
                    for match, filter_expr, processes in selectors:
                        if filter_expr is not None:
                            if ctx is None:
                                ctx = context()(event=event, features=out, model=None, lists=None)
                            match = _closure(filter_expr)(ctx) is True
                        for process in processes:
                            process(key, event, ts, match, out)
            return ctx

        return run

    def _generated(self, plan: list[tuple[Any, ...]]) -> Callable[..., Any]:
        """The plan as one generated function: the same reads, filters and store updates in
        the same order as :meth:`_interpreted`, without the loops over the plan's tuples."""
        env: dict[str, Any] = {}
        lines = ["def run(event, ts, out):", "    ctx = None"]
        for i, (field, get_first, entities) in enumerate(plan):
            if get_first is None:
                lines.append(f"    first = getattr(event, {field!r}, None)")
            else:
                env[f"g{i}"] = get_first
                lines.append(f"    first = g{i}(event)")
            lines.append("    if first is not None:")
            body: list[str] = []
            for j, (rest, selectors) in enumerate(entities):
                pad = "        "
                if rest is None:
                    body.append(f"{pad}key = first")
                else:
                    env[f"r{i}_{j}"] = rest
                    body.append(f"{pad}key = r{i}_{j}(event, first)")
                    body.append(f"{pad}if key is not None:")
                    pad += "    "
                if self._owns is not None:  # a partition: only the keys it owns
                    env["owns"] = self._owns
                    body.append(f"{pad}if owns(key):")
                    pad += "    "
                calls = []
                for k, (match, filter_expr, processes) in enumerate(selectors):
                    name = f"{i}_{j}_{k}"
                    if filter_expr is not None:
                        fires = filter_function(filter_expr.tree)
                        if fires is not None:  # reads the event directly
                            env[f"f{name}"] = fires
                            calls.append(f"{pad}match = f{name}(event)")
                        else:
                            env[f"f{name}"] = _closure(filter_expr)
                            env["Context"] = self._context_factory()
                            calls.append(f"{pad}if ctx is None:")
                            calls.append(f"{pad}    ctx = Context(event=event, features=out, model=None, lists=None)")
                            calls.append(f"{pad}match = f{name}(ctx) is True")
                        arg = "match"
                    else:
                        arg = "True" if match else "False"
                    for m, process in enumerate(processes):
                        env[f"p{name}_{m}"] = process
                        store = getattr(process, "__self__", None)
                        if (
                            arg == "True"
                            or not isinstance(store, (WindowStore, LastStore))
                            or getattr(store, "by_value", None)
                        ):
                            calls.append(f"{pad}p{name}_{m}(key, event, ts, {arg}, out)")
                            continue
                        # an entity the store does not hold, not updated, reads empty: inline
                        env[f"e{name}_{m}"], env[f"z{name}_{m}"] = store.entities, store._empty
                        cond = f"key in e{name}_{m}" if arg == "False" else f"match or key in e{name}_{m}"
                        calls.append(f"{pad}if {cond}:")
                        calls.append(f"{pad}    p{name}_{m}(key, event, ts, {arg}, out)")
                        calls.append(f"{pad}else:")
                        calls.append(f"{pad}    out.update(z{name}_{m})")
                body.extend(calls or [f"{pad}pass"])
            lines.extend(body or ["        pass"])
        lines.append("    return ctx")
        run: Callable[..., Any] = codegen.build("feature-plan", lines, env)["run"]
        return run

    def _context_factory(self) -> Any:
        if self._context_cls is None:
            from fraudwatch.rules import Context

            self._context_cls = Context
        return self._context_cls

    def _build(self, specs: tuple[FeatureSpec, ...]) -> list[_Selector]:
        selectors: dict[tuple[Any, ...], _Selector] = {}
        groups: dict[tuple[Any, ...], list[FeatureSpec]] = {}
        by_value: dict[str, str] = {}
        for spec in specs:
            entity = spec.entity
            if spec.agg == "count" and spec.source is None and len(entity) > 1:
                # a count per (card, amount) is counted in the card's entity, by amount
                entity, by_value[spec.name] = entity[:-1], entity[-1]
            sel_key = (entity, spec.kinds, spec.filter)
            if sel_key not in selectors:
                expr = self.feature_set.filters[spec.filter] if spec.filter is not None else None
                selectors[sel_key] = _Selector(entity, spec.kinds, expr)
            store_key = (sel_key, spec.agg in SCALAR_AGGS, spec.window if spec.agg in SCALAR_AGGS else spec.delay)
            groups.setdefault(store_key, []).append(spec)
        labels = self._labels if self._labels is not None else {}
        for (sel_key, scalar, when), group in groups.items():
            if scalar:
                store: WindowStore | LastStore = LastStore(
                    group, window=when, lateness=self.lateness, features=self._features_cell
                )
            else:
                counted = {s.name: by_value[s.name] for s in group if s.name in by_value}
                if not counted and CountStore.fits(group, when):
                    store = CountStore(group, delay=when, lateness=self.lateness, labels=labels)
                else:
                    store = WindowStore(
                        group,
                        delay=when,
                        lateness=self.lateness,
                        labels=labels,
                        by_value=counted,
                        features=self._features_cell,
                    )
            selectors[sel_key].stores.append(store)
        return list(selectors.values())

    # ---------------------------------------------------------------- hot path
    def process(self, event: Any, ts: float) -> dict[str, Any]:
        """Update the state with ``event`` at time ``ts`` (POSIX seconds) and return the
        features that apply to it, as of ``ts``."""
        out = self.partial(event, ts)
        return self._finish(event, ts, out, self._last_ctx)

    def partial(self, event: Any, ts: float) -> dict[str, Any]:
        """The first pass only: the windowed and last-value features of the event's keys
        (of the keys this engine ``owns``, in a partition), with the clock and labels
        moved as :meth:`process` moves them. A partition's engine sees every event and
        calls only this; :meth:`join` does the rest with the partitions' values."""
        kind = event.kind
        if ts > self.now:
            # (see advance(): one event far ahead does not move the clock)
            previous = self._previous
            if previous > self.now:
                self.now = ts if ts < previous else previous
        self._previous = ts
        if kind == "label" and self._labels is not None:
            self._label(event, ts)
        out: dict[str, Any] = {}
        run = self._runs.get(kind)
        if run is None:
            self._plan_for(kind)
            run = self._runs[kind]
        self._last_ctx = run(event, ts, out)
        if self._owns is not None:
            self.events += 1
            if not self.events % self.sweep_every:
                self.sweep()
        return out

    def join(self, event: Any, ts: float, out: dict[str, Any]) -> dict[str, Any]:
        """:meth:`process` for an event whose first-pass values ``out`` the partitions
        computed (the union of their :meth:`partial` results): moves the clock and labels,
        then the stateful kinds, derived features and the second pass, as process does."""
        kind = event.kind
        if ts > self.now:
            previous = self._previous
            if previous > self.now:
                self.now = ts if ts < previous else previous
        self._previous = ts
        if kind == "label" and self._labels is not None:
            self._label(event, ts)
        return self._finish(event, ts, out, None)

    def _finish(self, event: Any, ts: float, out: dict[str, Any], ctx: Any) -> dict[str, Any]:
        kind = event.kind
        listening = self._listening.get(kind)
        if listening is not None:
            for feature in listening:
                feature.process(event, ts, out)
        if self._derived:
            self._compute_derived(event, out, ctx, self._derived)
        if self._selectors2:  # features of features: they read what the first pass computed
            self._features_cell[0] = out
            run2 = self._runs2.get(kind)
            if run2 is None:
                self._plan_for(kind)
                run2 = self._runs2[kind]
            ctx = run2(event, ts, out) or ctx
            self._features_cell[0] = None
            if self._derived2:
                self._compute_derived(event, out, ctx, self._derived2)
        self.events += 1
        if not self.events % self.sweep_every:
            self.sweep()
        return out

    def annotators(self) -> dict[str, Callable[..., Any]]:
        """Per event kind, one function ``(event, features, decision)`` that lets the stateful
        kinds with an ``annotate`` method add their part to the decision."""
        by_kind: dict[str, list[Callable[..., Any]]] = {}
        for feature in self._stateful:
            annotate = getattr(feature, "annotate", None)
            if annotate is not None:
                for kind in feature.listens:
                    by_kind.setdefault(kind, []).append(annotate)
        out: dict[str, Callable[..., Any]] = {}
        for kind, fns in by_kind.items():
            if len(fns) == 1:
                out[kind] = fns[0]
            else:
                out[kind] = lambda event, values, decision, fns=tuple(fns): [f(event, values, decision) for f in fns]
        return out

    def decided(self, event: Any, ts: float, outcome: str) -> None:
        """The engine's outcome for the event just processed, for the stateful kinds that
        let an event count only once allowed (a login enters the login history when it was
        allowed, or when its step-up passed)."""
        listening = self._listening.get(event.kind)
        if listening is not None:
            for feature in listening:
                feature.decided(event, ts, outcome)

    def _compute_derived(self, event: Any, out: dict[str, Any], ctx: Any, derived: list[Any]) -> None:
        missing = self._missing
        for name, expr, refs, value in derived:
            for ref in refs:
                if ref not in out:
                    break  # reads a feature that does not apply to this event
            else:
                if value is not None:
                    out[name] = value(event, out)
                    continue
                if ctx is None:  # filters (which read only the event) share the same context
                    ctx = self._context(event=event, features=out, model=None, lists=None)
                v = expr(ctx)
                out[name] = None if v is missing else v

    def _label(self, event: Any, ts: float) -> None:
        labels = self._labels
        target = getattr(event, "target", None)
        if target is None or labels is None:
            return
        labels[target] = (bool(getattr(event, "fraud", False)), ts)
        labels.move_to_end(target)
        # drop labels whose targets can no longer be in any window (and cap the count)
        edge = self.now - self._label_keep
        while labels and (len(labels) > _MAX_LABELS or next(iter(labels.values()))[1] < edge):
            labels.popitem(last=False)

    # ------------------------------------------------------------------ upkeep
    def sweep(self) -> int:
        """Forget idle entities (see ``expiry.py``: the cost is per expiring entity, not
        per held one). Returns how many were forgotten."""
        forgotten: int = sum(store.sweep(self.now) for store in self._stores)
        return forgotten + sum(int(f.sweep(self.now)) for f in self._stateful)

    def memory_report(self, sample: int = 1000) -> dict[str, Any]:
        """Entities and approximate bytes, per entity key and per store.

        Bytes come from a recursive ``sys.getsizeof`` walk over up to ``sample`` entities
        of each store, scaled to all of them (keys included, shared strings counted once
        per store).
        """
        stores: list[dict[str, Any]] = []
        by_entity: dict[str, dict[str, Any]] = {}
        for sel in self._selectors + self._selectors2:
            for store in sel.stores:
                n = len(store.entities)
                size = approx_size(store.entities, sample) + store.expiry.nbytes()
                entries = sum(len(e.ts) for e in store.entities.values())
                stores.append(
                    {
                        "entity": "+".join(sel.entity),
                        "kinds": sorted(sel.kinds or ()),
                        "filter": sel.filter is not None,
                        "features": [s.name for s in store.specs],
                        "entities": n,
                        "entries": entries,
                        "bytes": size,
                    }
                )
                agg = by_entity.setdefault("+".join(sel.entity), {"entities": 0, "bytes": 0})
                agg["entities"] = max(agg["entities"], n)  # the same keys recur across stores
                agg["bytes"] += size
        for agg in by_entity.values():
            agg["bytes_per_entity"] = round(agg["bytes"] / agg["entities"]) if agg["entities"] else 0
        labels = {"count": len(self._labels or ()), "bytes": approx_size(self._labels or {}, sample)}
        stateful = {f.spec.name: f.memory() for f in self._stateful}
        total = sum(s["bytes"] for s in stores) + labels["bytes"] + sum(m.get("bytes", 0) for m in stateful.values())
        return {"by_entity": by_entity, "stores": stores, "labels": labels, "stateful": stateful, "total_bytes": total}

    # ------------------------------------------------------- crash recovery
    def snapshot(self) -> bytes:
        """The whole state as bytes, for :meth:`restore` after a crash."""
        state = {
            "format": _SNAPSHOT_FORMAT,
            "digest": self.feature_set.digest,
            "lateness": self.lateness,
            "sweep_every": self.sweep_every,
            "now": self.now,
            "previous": self._previous,
            "events": self.events,
            "labels": list(self._labels.items()) if self._labels is not None else None,
            "stores": [store.dump() for store in self._stores],
            "stateful": [feature.dump() for feature in self._stateful],
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, feature_set: FeatureSet, blob: bytes) -> FeatureEngine:
        """An engine in the state :meth:`snapshot` saved, for the same feature set."""
        try:
            state = _PlainUnpickler(io.BytesIO(blob)).load()
        except Exception as exc:  # noqa: BLE001 - any decoding failure means "not a snapshot"
            raise SnapshotError(f"not a feature engine snapshot: {exc}") from None
        if not isinstance(state, dict) or state.get("format") != _SNAPSHOT_FORMAT:
            raise SnapshotError("not a feature engine snapshot (unknown format)")
        if state["digest"] != feature_set.digest:
            raise SnapshotError(
                f"snapshot of feature set {state['digest'][:12]}, not of {feature_set.digest[:12]} "
                "(the features changed: replay the events instead)"
            )
        engine = cls(feature_set, lateness=state["lateness"], sweep_every=state["sweep_every"])
        engine.now, engine.events = state["now"], state["events"]
        engine._previous = state.get("previous", engine.now)
        if engine._labels is not None:
            engine._labels.update((k, tuple(v)) for k, v in state["labels"])
        for store, rows in zip(engine._stores, state["stores"], strict=True):
            store.load(rows)
        for feature, dumped in zip(engine._stateful, state["stateful"], strict=True):
            feature.load(dumped)
        return engine


def advance(clock: float, ts: float, previous: float) -> float:
    """The engine's clock after an event at ``ts``, given the time of the event before it:
    the clock is the latest time that two consecutive events reached, so one event dated
    years ahead does not move it (and the expiry does not forget the state that the events
    after it still read). In a stream in time order it lags one event behind.

    >>> advance(100.0, 200.0, 150.0), advance(100.0, 1e12, 150.0), advance(150.0, 160.0, 1e12)
    (150.0, 150.0, 160.0)
    """
    reached = ts if ts < previous else previous
    return reached if reached > clock else clock


class _PlainUnpickler(pickle.Unpickler):
    """Loads only plain data (builtins, and datetimes an event field may hold), so a
    snapshot cannot run code."""

    _ALLOWED = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"), ("datetime", "timezone")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"snapshots hold plain data only, not {module}.{name}")


def _selectors_by_kind(selectors: list[_Selector]) -> dict[str, list[_Selector]]:
    """For each known event kind, the selectors whose entity fields that kind has."""
    from fraudwatch.events.kinds import TYPE_BY_KIND, attributes

    plan = {}
    for kind, cls in TYPE_BY_KIND.items():
        names = attributes(cls)
        plan[kind] = [s for s in selectors if all(f.split(".")[0] in names for f in s.entity)]
    return plan


def _closure(expr: Any) -> Callable[..., Any]:
    """A compiled expression's own closure (calling it skips one Python call)."""
    fn: Callable[..., Any] = getattr(expr, "_fn", expr)
    return fn
