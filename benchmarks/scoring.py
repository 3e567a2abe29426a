"""Benchmark of single-event model scoring: ``python benchmarks/scoring.py [--model DIR]``.

Prints p50/p99 microseconds of ``score`` and of ``score`` + ``explain`` for one event at a
time, single-threaded, with the compiled scorer, the NumPy fallback and LightGBM's own
``predict`` for comparison. Without ``--model`` it trains a stand-in of the handbook
model's size on random data (same feature count, leaves and rounds).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _percentiles(fn, rows, repeat: int) -> tuple[float, float]:
    times = []
    n = len(rows)
    for i in range(repeat):
        r = rows[i % n]
        t0 = time.perf_counter_ns()
        fn(r)
        times.append(time.perf_counter_ns() - t0)
    a = np.array(times) / 1000.0
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def _stand_in(n_features: int, num_leaves: int, rounds: int):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, n_features))
    X[rng.random(X.shape) < 0.05] = np.nan
    logit = np.nan_to_num(X[:, :5]).sum(axis=1) + np.nan_to_num(X[:, 5] * X[:, 6]) - 3
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    names = [f"f{i}" for i in range(n_features)]
    params = {
        "objective": "binary",
        "num_leaves": num_leaves,
        "learning_rate": 0.05,
        "verbose": -1,
        "num_threads": 1,
        "min_child_samples": 20,
        "seed": 0,
    }
    return lgb.train(params, lgb.Dataset(X, y, feature_name=names), rounds).model_to_string()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="model artifact directory (default: a stand-in model)")
    p.add_argument("--features", type=int, default=40)
    p.add_argument("--leaves", type=int, default=15)
    p.add_argument("--rounds", type=int, default=300)
    p.add_argument("--repeat", type=int, default=20000)
    args = p.parse_args(argv)

    import lightgbm as lgb

    from fraudwatch.models.scorer import LightGBMScorer, load_scorer

    if args.model:
        compiled = load_scorer(args.model)
        fallback = load_scorer(args.model, compiled=False)
        text = (__import__("pathlib").Path(args.model) / "model.txt").read_text()
        what = f"model {args.model}"
    else:
        text = _stand_in(args.features, args.leaves, args.rounds)
        compiled = LightGBMScorer(text, version="bench")
        fallback = LightGBMScorer(text, version="bench", compiled=False)
        what = f"stand-in model: {args.features} features, {args.leaves} leaves, {args.rounds} trees"
    booster = lgb.Booster(model_str=text)
    names = compiled.feature_names
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1000, len(names)))
    X[rng.random(X.shape) < 0.05] = np.nan
    dicts = [{k: (None if np.isnan(v) else float(v)) for k, v in zip(names, row, strict=False)} for row in X]
    print(f"{what}; {len(compiled.ensemble.roots)} trees, max depth {compiled.ensemble.max_depth}")
    print(f"{'scorer':<44} {'p50 us':>8} {'p99 us':>8}")

    def show(label, fn, rows, repeat):
        p50, p99 = _percentiles(fn, rows, repeat)
        print(f"{label:<44} {p50:8.1f} {p99:8.1f}")

    show("compiled score (dict -> probability)", lambda d: compiled.score(None, d), dicts, args.repeat)
    show(
        "compiled score + explain(top=3)",
        lambda d: (compiled.score(None, d), compiled.explain(None, d)),
        dicts,
        args.repeat // 4,
    )
    show("numpy fallback score", lambda d: fallback.score(None, d), dicts, 2000)
    show(
        "numpy fallback score + explain(top=3)",
        lambda d: (fallback.score(None, d), fallback.explain(None, d)),
        dicts,
        50,
    )
    rows = [r.reshape(1, -1) for r in X]
    show("lightgbm predict, num_threads=1", lambda r: booster.predict(r, num_threads=1), rows, 2000)
    show("lightgbm predict, default threads", lambda r: booster.predict(r), rows, 2000)
    show(
        "lightgbm pred_contrib, num_threads=1",
        lambda r: booster.predict(r, pred_contrib=True, num_threads=1),
        rows,
        1000,
    )


if __name__ == "__main__":
    main()
