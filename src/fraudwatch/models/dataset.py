"""Point-in-time training data: replay events through :meth:`Engine.process` and keep, for
each payment, the feature vector the engine served at that moment (``decision.features``).

Nothing is computed from dataset columns: the features are the YAML feature definitions
evaluated on the raw ``payment.attempt`` and ``label`` events in event-time order, so a
row can only use events before it and labels that had arrived by then (the engine's
windows and label delays). The replay goes through the same ``Engine.process`` that serves
live traffic, duplicate check included: a resent event id gets no row and changes no
feature, exactly as in serving. Replays are cached on disk as ``.npz`` keyed by the feature
set's digest, the data's sha256, the label delay and the kept time window.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraudwatch.errors import FraudwatchError
from fraudwatch.events.currency import to_major
from fraudwatch.models.base import cache_root

__all__ = [
    "FeatureMatrix",
    "Labels",
    "replay",
    "load_events",
    "file_digest",
    "replay_cached",
    "featureset_path",
    "load_feature_set",
]

FEATURESETS = Path(__file__).parent / "featuresets"
CACHE_FORMAT = "3"  # 2: replayed through Engine.process (resent events give no row); 3: card and amount kept


@dataclass
class FeatureMatrix:
    """Rows: the kept payments in event order; columns: the feature set's features."""

    digest: str
    names: list[str]
    ids: np.ndarray  # event ids (str)
    ts: np.ndarray  # float64 POSIX seconds
    X: np.ndarray  # float64, NaN where the engine returned None
    card: np.ndarray | None = None  # str, "" for a payment without a card
    amount: np.ndarray | None = None  # float64, major units of each payment's currency (reports only)


@dataclass
class Labels:
    """Every ``label`` event of the stream: target event id, fraud, time it arrived."""

    target: np.ndarray  # str
    fraud: np.ndarray  # bool
    ts: np.ndarray  # float64

    def known_fraud(self, ids: np.ndarray, as_of: float) -> np.ndarray:
        """1 where the latest label that arrived by ``as_of`` says fraud, else 0."""
        known = self.ts <= as_of
        latest: dict[str, bool] = {}
        for t, f in zip(self.target[known].tolist(), self.fraud[known].tolist(), strict=False):
            latest[t] = f  # labels are in arrival order: a later one overrides
        return np.fromiter((latest.get(i, False) for i in ids.tolist()), dtype=np.int8, count=len(ids))


def featureset_path(name: str) -> Path:
    """A shipped feature set by name (``handbook_rich``; ``default``: the engine's default
    features) or a path to a YAML file."""
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    if name == "default":  # the engine's own default features (features/default.yaml)
        return Path(__file__).parent.parent / "features" / "default.yaml"
    shipped = FEATURESETS / f"{name}.yaml"
    if shipped.exists():
        return shipped
    names = ", ".join(sorted(f.stem for f in FEATURESETS.glob("*.yaml")))
    raise FraudwatchError(f"no feature set {name!r}: give a YAML path or one of {names}")


def load_feature_set(name: str):
    from fraudwatch.features import FeatureSet

    return FeatureSet.from_yaml(featureset_path(name).read_text())


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_events(path: str | Path, label_delay_days: float = 7.0) -> Iterator:
    """Typed events from the handbook Parquet file (imported with its label delay) or from
    a JSON Lines event file (already holding its label events; dead letters are skipped)."""
    from fraudwatch.events.kinds import parse_event

    path = Path(path)
    if path.suffix == ".parquet":
        from fraudwatch.importer import handbook_mapping, iter_events

        for d in iter_events(path, handbook_mapping(label_delay_days), quiet=False):
            yield parse_event(d)
    else:
        from fraudwatch.events.io import read_event_file
        from fraudwatch.progress import progress_bar

        with progress_bar(total=path.stat().st_size, unit="B", desc=path.name) as bar:
            yield from read_event_file(path, on_bytes=bar.update)


def replay(
    events: Iterable,
    feature_sets: Sequence,
    start: float = -math.inf,
    end: float = math.inf,
    kinds: frozenset[str] = frozenset({"payment.attempt"}),
    lateness: float = 3600.0,
    workers: int = 1,
) -> tuple[list[FeatureMatrix], Labels]:
    """Run ``events`` (in event-time order) through one :class:`~fraudwatch.engine.Engine` per
    feature set (no rules, no model: only the features are kept) and keep the served features
    of the events of ``kinds`` with ``start <= ts < end``. Resent events (an id seen before)
    are answered as duplicates by the engine and give no row. ``workers`` > 1: the features
    computed by that many processes, partitioned per entity key (``fraudwatch.replay``; the
    same values), over the events held in memory."""
    from fraudwatch.engine import Engine
    from fraudwatch.replay import replay as run
    from fraudwatch.rules import RuleSet

    no_rules = RuleSet.parse("", version="training")
    engines = [Engine(fs, no_rules, lateness=lateness) for fs in feature_sets]
    names = [list(fs.names) for fs in feature_sets]
    rows: list[list[list[float]]] = [[] for _ in feature_sets]
    ids: list[str] = []
    times: list[float] = []
    cards: list[str] = []
    amounts: list[float] = []
    label_target: list[str] = []
    label_fraud: list[bool] = []
    label_ts: list[float] = []
    label_ids: set[str] = set()  # a resent label counts once, as the engine counts it

    def label(e) -> None:
        if e.id not in label_ids:
            label_ids.add(e.id)
            label_target.append(e.target)
            label_fraud.append(e.fraud)
            label_ts.append(e.ts)

    nan = math.nan
    runs = []
    if workers > 1:
        events = list(events)
        runs = [run(engine, events, workers) for engine in engines]
    steps = zip(*runs, strict=True) if runs else None  # per event: (event, decision) of each engine
    events = iter(events)
    for event in events:
        ts = event.ts
        kind = event.kind
        if ts >= end and kind in kinds:
            # nothing later is kept; labels after ``end`` still matter to training joins
            if kind == "label":
                label(event)
            for e in events:
                if e.kind == "label":
                    label(e)
            break
        keep = kind in kinds and start <= ts < end
        duplicate = False
        decided = [d for _, d in next(steps)] if steps is not None else [e.process(event) for e in engines]
        for decision, cols, out in zip(decided, names, rows, strict=True):
            duplicate = decision.duplicate  # the same for every engine: they saw the same ids
            if keep and not duplicate:
                get = decision.features.get
                out.append([nan if (v := get(n)) is None else float(v) for n in cols])
        if duplicate:
            continue
        if kind == "label":
            label(event)
        if keep:
            ids.append(event.id)
            times.append(ts)
            cards.append(event.card or "")
            amount = getattr(event, "amount", None)
            amounts.append(math.nan if amount is None else to_major(amount, getattr(event, "currency", None)))
    for running in runs:
        running.close()  # stops its workers when the events after ``end`` were not needed
    id_arr = np.array(ids, dtype=str)
    ts_arr = np.array(times, dtype=np.float64)
    card_arr = np.array(cards, dtype=str)
    amount_arr = np.array(amounts, dtype=np.float64)
    matrices = [
        FeatureMatrix(
            fs.digest,
            cols,
            id_arr,
            ts_arr,
            np.array(r, dtype=np.float64).reshape(len(r), len(cols)),
            card_arr,
            amount_arr,
        )
        for fs, cols, r in zip(feature_sets, names, rows, strict=True)
    ]
    labels = Labels(np.array(label_target, dtype=str), np.array(label_fraud, dtype=bool), np.array(label_ts))
    return matrices, labels


def _union(feature_sets: Sequence):
    """One feature set with the features of all, when shared names mean the same spec."""
    from fraudwatch.features import FeatureSet

    if len(feature_sets) < 2:
        return None
    specs: dict[str, object] = {}
    for fs in feature_sets:
        for spec in fs.features:
            if specs.setdefault(spec.name, spec) != spec:
                return None
    return FeatureSet(specs.values(), version="+".join(fs.version for fs in feature_sets))


def features_dir(root: Path | None = None) -> Path:
    """Where replayed feature matrices are kept under the cache root (``settings.cache_dir``)."""
    return cache_root(root) / "features"


def _key(*parts) -> str:
    return hashlib.sha256("|".join(map(str, (CACHE_FORMAT, *parts))).encode()).hexdigest()[:24]


def replay_cached(
    data: str | Path,
    feature_sets: Sequence,
    start: float = -math.inf,
    end: float = math.inf,
    label_delay_days: float = 7.0,
    cache: Path | None = None,
    log=print,
    workers: int = 1,
) -> tuple[list[FeatureMatrix], Labels]:
    """:func:`replay` of a data file, reading and writing the on-disk cache: the events are
    replayed once for all the feature sets not cached yet."""
    cache = cache or features_dir()
    cache.mkdir(parents=True, exist_ok=True)
    data_hash = file_digest(data)
    paths = [cache / f"features-{_key(fs.digest, data_hash, label_delay_days, start, end)}.npz" for fs in feature_sets]
    label_path = cache / f"labels-{_key(data_hash, label_delay_days)}.npz"
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing or not label_path.exists():
        todo = [feature_sets[i] for i in missing]
        log(f"replaying {data} through {len(todo)} feature set(s): {', '.join(fs.version for fs in todo) or '-'}")
        union = _union(todo)
        if union is None:
            matrices, labels = replay(load_events(data, label_delay_days), todo, start, end, workers=workers)
        else:  # one engine computing every feature once, its columns split per feature set
            (whole,), labels = replay(load_events(data, label_delay_days), [union], start, end, workers=workers)
            col = {n: i for i, n in enumerate(whole.names)}
            matrices = [
                FeatureMatrix(
                    fs.digest,
                    list(fs.names),
                    whole.ids,
                    whole.ts,
                    whole.X[:, [col[n] for n in fs.names]],
                    whole.card,
                    whole.amount,
                )
                for fs in todo
            ]
        for i, m in zip(missing, matrices, strict=False):
            tmp = paths[i].with_suffix(".tmp.npz")
            np.savez(
                tmp,
                digest=m.digest,
                names=np.array(m.names),
                ids=m.ids,
                ts=m.ts,
                X=m.X,
                card=m.card,
                amount=m.amount,
                data_hash=data_hash,
            )
            os.replace(tmp, paths[i])
        tmp = label_path.with_suffix(".tmp.npz")
        np.savez(tmp, target=labels.target, fraud=labels.fraud, ts=labels.ts)
        os.replace(tmp, label_path)
    out = []
    for p in paths:
        z = np.load(p)
        out.append(
            FeatureMatrix(str(z["digest"]), z["names"].tolist(), z["ids"], z["ts"], z["X"], z["card"], z["amount"])
        )
    z = np.load(label_path)
    return out, Labels(z["target"], z["fraud"], z["ts"])
