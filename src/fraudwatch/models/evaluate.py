"""``fraudwatch evaluate``: the handbook's prequential protocol on engine-served features, on
the handbook's data set or on any event file with label events.

For each feature set: the features are replayed through ``Engine.process`` (cached), a
small LightGBM grid is trained on each validation fold, the parameters (and the number of
trees) with the best validation score are kept, and the test folds are trained and scored
with them. Selection: the best mean rank over AUC ROC, Average Precision and Card
Precision@k (each averaged over the validation folds).

Labels are the file's ``label`` events: a fold trains on the labels that had arrived by its
test week (its gap is the label delay), removes from each test day the cards whose fraud
was known before it, and is scored against the final labels (every label in the file). On
the handbook (its Parquet file, imported with its mapping) the folds are the published
dates and this is exactly the handbook's protocol; on another history the folds are placed
at its end (:func:`fraudwatch.models.protocol.prequential_folds`).

Writes ``scores.csv.gz`` (feature set, fold, transaction id, score, label), ``results.json``,
``report.md`` and ``roc.png`` / ``pr.png`` into the output directory.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fraudwatch.errors import FraudwatchError
from fraudwatch.models.protocol import (
    ALERT_RATES,
    HANDBOOK_ORIGIN,
    Fold,
    fold_indices,
    fold_metrics,
    handbook_folds,
    prequential_folds,
)

__all__ = ["evaluate", "PUBLISHED", "DEFAULT_GRID", "ROUNDS"]

PUBLISHED = [  # handbook, mean over the 4 test folds (README of the data set)
    ("XGBoost", 0.869, 0.687, 0.303),
    ("Feed-forward neural network", 0.876, 0.675, 0.303),
    ("LSTM", 0.876, 0.665, 0.297),
    ("Random forest", 0.870, 0.678, 0.299),
    ("Logistic regression", 0.868, 0.623, 0.297),
    ("Balanced bagging", 0.879, 0.680, 0.305),
]
BASE_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
    "force_row_wise": True,
}
DEFAULT_GRID = {"num_leaves": [7, 15, 31], "min_child_samples": [50, 200]}
ROUNDS = (100, 200, 300)  # trees, read off one training of max(ROUNDS) trees


def metrics_for(k: int) -> tuple[str, str, str]:
    """The three metrics that choose the parameters."""
    return ("auc_roc", "average_precision", f"card_precision_at_{k}")


METRICS = metrics_for(100)


def _grid(grid: dict) -> list[dict]:
    keys = sorted(grid)
    return [dict(zip(keys, values, strict=False)) for values in itertools.product(*(grid[k] for k in keys))]


def _select(table: list[dict], metrics: tuple[str, ...] = METRICS) -> dict:
    """The grid row with the best mean rank over the three validation metrics (ties: the
    higher mean metric). Ranks weigh the metrics equally whatever their spread; a plain mean
    would be decided by Average Precision, which varies most across the grid."""

    def rankdata(a):  # 1 = smallest, ties share their mean rank
        _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]

    values = np.nan_to_num(np.array([[row[k] for k in metrics] for row in table]), nan=-1.0)
    ranks = np.column_stack([rankdata(-values[:, j]) for j in range(len(metrics))]).mean(axis=1)
    for row, rank, mean in zip(table, ranks, values.mean(axis=1), strict=False):
        row["mean_rank"], row["mean_metric"] = float(rank), float(mean)
    return min(table, key=lambda row: (row["mean_rank"], -row["mean_metric"]))


def _train(X, y, names, params: dict, rounds: int, threads: int):
    import lightgbm as lgb

    ds = lgb.Dataset(X, y, feature_name=list(names), free_raw_data=True)
    return lgb.train({**BASE_PARAMS, **params, "num_threads": threads}, ds, rounds)


def _fold_plan(data: Path, ts: np.ndarray, fold_days: tuple[int, int, int], n_folds: tuple[int, int]):
    """(origin as POSIX seconds, folds): the handbook's published folds for its Parquet
    file, else folds placed at the end of the history."""
    if data.suffix == ".parquet":
        origin = datetime(HANDBOOK_ORIGIN.year, HANDBOOK_ORIGIN.month, HANDBOOK_ORIGIN.day, tzinfo=UTC)
        return origin.timestamp(), handbook_folds()
    if len(ts) == 0:
        raise FraudwatchError(f"{data} has no payment.attempt events to evaluate on")
    first = datetime.fromtimestamp(float(ts.min()), tz=UTC)
    origin = datetime(first.year, first.month, first.day, tzinfo=UTC)
    last_day = int((float(ts.max()) - origin.timestamp()) // 86400)
    train, delay, test = fold_days
    try:
        folds = prequential_folds(
            0,
            last_day,
            origin=origin.date(),
            delta_train=train,
            delta_delay=delay,
            delta_test=test,
            n_test=n_folds[0],
            n_valid=n_folds[1],
        )
    except ValueError as exc:
        raise FraudwatchError(
            f"{data}: {exc}; use shorter --train-days/--gap-days/--test-days or fewer --folds"
        ) from None
    return origin.timestamp(), folds


def _label_arrival(labels, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per payment id: final label (1 fraud) and when its first fraud label arrived (inf if never)."""
    fraud = labels.known_fraud(ids, np.inf)
    first: dict[str, float] = {}
    for target, is_fraud, t in zip(labels.target.tolist(), labels.fraud.tolist(), labels.ts.tolist(), strict=True):
        if is_fraud and target not in first:
            first[target] = t
    arrival = np.fromiter((first.get(i, np.inf) for i in ids.tolist()), dtype=np.float64, count=len(ids))
    return fraud.astype(np.int64), np.where(fraud == 1, arrival, np.inf)


def evaluate(
    data: str | Path,
    feature_sets: list[str],
    out: str | Path,
    grid: dict | None = None,
    threads: int = 1,
    label_delay_days: float = 7.0,
    log=print,
    cache_dir: Path | None = None,
    fold_days: tuple[int, int, int] = (7, 7, 7),
    n_folds: tuple[int, int] = (4, 4),
    top_k: int = 100,
    workers: int = 1,
) -> dict:
    """Run the protocol on ``data`` (an event file with label events, or the handbook's
    Parquet file) for each feature set; write the report, scores and plots to ``out``.
    ``fold_days`` is (training, gap, test) days, the gap being the label delay;
    ``n_folds`` is (test, validation) folds; ``top_k`` the cards per day of Card Precision@k."""
    from fraudwatch.models.dataset import features_dir, load_feature_set, replay_cached

    t_start = time.perf_counter()
    data, out = Path(data), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grid_points = _grid(grid or DEFAULT_GRID)
    metrics = metrics_for(top_k)
    start, end = -np.inf, np.inf
    if data.suffix == ".parquet":  # only the days the published folds use
        origin, folds = _fold_plan(data, np.empty(0), fold_days, n_folds)
        start = origin + min(f.train_start_day for f in folds) * 86400.0
        end = origin + (max(f.train_start_day for f in folds) + 21) * 86400.0
    sets = [load_feature_set(name) for name in feature_sets]
    matrices, labels = replay_cached(
        data, sets, start, end, label_delay_days, cache=features_dir(cache_dir), log=log, workers=workers
    )
    t_replay = time.perf_counter() - t_start
    log(
        f"features ready in {t_replay:.0f} s: "
        + ", ".join(f"{fs.version} {m.X.shape}" for fs, m in zip(sets, matrices, strict=True))
    )
    origin, folds = _fold_plan(data, matrices[0].ts, fold_days, n_folds)
    n_test = sum(f.kind == "test" for f in folds)
    n_valid = len(folds) - n_test

    results: dict = {
        "data": str(data),
        "grid": grid or DEFAULT_GRID,
        "rounds": list(ROUNDS),
        "threads": threads,
        "label_delay_days": label_delay_days,
        "handbook": data.suffix == ".parquet",
        "top_k": top_k,
        "folds": [
            {
                "fold": f.name,
                "kind": f.kind,
                "train_start": f.train_start.isoformat(),
                "test": f"{f.test_start.isoformat()}..{f.test_end.isoformat()}",
            }
            for f in folds
        ],
        "feature_sets": {},
    }
    score_rows: list[tuple] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, fs, m in zip(feature_sets, sets, matrices, strict=True):
        t0 = time.perf_counter()
        card, amount = m.card, m.amount
        fraud, arrival = _label_arrival(labels, m.ids)
        day = np.floor((m.ts - origin) / 86400.0).astype(np.int64)
        known_day = (arrival - origin) / 86400.0
        split = {f.name: fold_indices(f, day, card, fraud, known_day) for f in folds}
        # training labels: those that had arrived when the fold's test week starts
        known_by = {
            f.name: arrival <= origin + (f.train_start_day + f.delta_train + f.delta_delay) * 86400.0 for f in folds
        }

        def run(
            fold: Fold,
            params: dict,
            rounds_list,
            m=m,
            split=split,
            known_by=known_by,
            fraud=fraud,
            day=day,
            card=card,
            amount=amount,
        ) -> dict[int, tuple[dict, np.ndarray]]:
            tr, te = split[fold.name]
            y_train = known_by[fold.name][tr].astype(np.int64)
            booster = _train(m.X[tr], y_train, m.names, params, max(rounds_list), threads)
            res = {}
            for r in rounds_list:
                s = booster.predict(m.X[te], num_iteration=r, num_threads=threads)
                res[r] = (fold_metrics(fraud[te], s, day[te], card[te], amount[te], top_k), s)
            return res

        # model selection on the validation folds
        table = []
        for params in grid_points:
            per_round: dict[int, list[dict]] = {r: [] for r in ROUNDS}
            for fold in (f for f in folds if f.kind == "valid"):
                for r, (met, _) in run(fold, params, ROUNDS).items():
                    per_round[r].append(met)
            for r, mets in per_round.items():
                means = {k: float(np.nanmean([x[k] for x in mets])) for k in metrics}
                table.append({"params": params, "rounds": r, **means})
            log(
                f"  {name} valid {params}: "
                + ", ".join(
                    f"{r}t " + "/".join(f"{np.nanmean([x[k] for x in per_round[r]]):.4f}" for k in metrics)
                    for r in ROUNDS
                )
            )
        best = _select(table, metrics)
        log(f"  {name}: best on validation {best['params']} with {best['rounds']} trees")

        # the test folds with the selected parameters
        test = []
        all_y, all_s = [], []
        for fold in (f for f in folds if f.kind == "test"):
            ((met, s),) = run(fold, best["params"], (best["rounds"],)).values()
            te = split[fold.name][1]
            test.append(
                {
                    "fold": fold.name,
                    "train_start": fold.train_start.isoformat(),
                    "test": f"{fold.test_start.isoformat()}..{fold.test_end.isoformat()}",
                    **met,
                }
            )
            score_rows += [
                (name, fold.name, str(t), float(v), int(y)) for t, v, y in zip(m.ids[te], s, fraud[te], strict=True)
            ]
            all_y.append(fraud[te])
            all_s.append(s)
        curves[name] = (np.concatenate(all_y), np.concatenate(all_s))
        summary = {}
        for k in test[0]:
            if k in ("fold", "train_start", "test"):
                continue
            vals = [x[k] for x in test]
            summary[k] = {"mean": float(np.nanmean(vals)), "std": float(np.nanstd(vals))}
        results["feature_sets"][name] = {
            "version": fs.version,
            "digest": fs.digest,
            "features": m.names,
            "selected": best,
            "validation": table,
            "test_folds": test,
            "test": summary,
            "seconds": time.perf_counter() - t0,
        }
        log(f"  {name} test: " + ", ".join(f"{k} {summary[k]['mean']:.4f}±{summary[k]['std']:.4f}" for k in metrics))
    results["n_folds"] = {"test": n_test, "valid": n_valid}

    results["seconds"] = {"features": t_replay, "total": time.perf_counter() - t_start}
    with gzip.open(out / "scores.csv.gz", "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(["feature_set", "fold", "event_id", "score", "label"])
        w.writerows(score_rows)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    _plots(curves, out)
    (out / "report.md").write_text(render_report(results))
    log(f"wrote {out}/report.md, results.json, scores.csv.gz, roc.png, pr.png in {results['seconds']['total']:.0f} s")
    return results


def _plots(curves: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    for kind in ("roc", "pr"):
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for name, (y, s) in curves.items():
            if kind == "roc":
                fpr, tpr, _ = roc_curve(y, s)
                ax.plot(fpr, tpr, label=name)
            else:
                p, r, _ = precision_recall_curve(y, s)
                ax.plot(r, p, label=name)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="grey", lw=0.5, ls="--")
            ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, 4 test folds pooled")
        else:
            ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, 4 test folds pooled")
        ax.legend(loc="lower right" if kind == "roc" else "upper right")
        fig.tight_layout()
        fig.savefig(out / f"{kind}.png", dpi=110)
        plt.close(fig)


def render_report(results: dict) -> str:
    k = results.get("top_k", 100)
    metrics = metrics_for(k)
    folds = results.get("folds", [])
    n_test = results.get("n_folds", {}).get("test", 4)
    n_valid = results.get("n_folds", {}).get("valid", 4)

    def starts(kind: str) -> str:
        return ", ".join(f["train_start"] for f in folds if f["kind"] == kind)

    test_days = [f["test"].split("..") for f in folds if f["kind"] == "test"]
    span = f"test days together {min(d[0] for d in test_days)}..{max(d[-1] for d in test_days)}; " if test_days else ""
    lines = [
        "# Handbook benchmark (prequential protocol)"
        if results.get("handbook")
        else f"# Prequential evaluation of `{Path(results['data']).name}`",
        "",
        f"Mean ± std over the {n_test} test folds (training starting {starts('test')}; "
        + span
        + "known compromised cards removed), parameters chosen "
        f"on the {n_valid} validation folds (training starting {starts('valid')}); labels as the file's label "
        "events say, training labels as they stood when each fold's test week began.",
        "",
        f"| model | AUC ROC | Average Precision | Card Precision@{k} |",
        "|---|---|---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        t = fs["test"]
        lines.append(
            f"| **fraudwatch LightGBM, `{name}` ({len(fs['features'])} features)** | "
            + " | ".join(f"**{t[m]['mean']:.3f}** ± {t[m]['std']:.3f}" for m in metrics)
            + " |"
        )
    if results.get("handbook"):
        for model, auc, ap, cp in PUBLISHED:
            lines.append(f"| handbook: {model} | {auc:.3f} | {ap:.3f} | {cp:.3f} |")
    rates = [f"{r * 100:g}pct_fpr" for r in ALERT_RATES]
    lines += [
        "",
        "Recall (and share of the fraud amount caught) when this share of genuine payments is alerted:",
        "",
        "| feature set | "
        + " | ".join(f"{r * 100:g} %" for r in ALERT_RATES)
        + " | fraud amount per fold | selected parameters |",
        "|---|" + "---|" * len(ALERT_RATES) + "---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        t = fs["test"]
        sel = fs["selected"]
        cells = [
            f"{t[f'recall_at_{r}']['mean']:.3f} ({t[f'fraud_amount_caught_share_at_{r}']['mean']:.1%})"
            if f"recall_at_{r}" in t
            else "-"
            for r in rates
        ]
        lines.append(
            f"| `{name}` | " + " | ".join(cells) + f" | {t['fraud_amount']['mean']:,.0f} | "
            f"{sel['params']}, {sel['rounds']} trees |"
        )
    lines += [
        "",
        "Per test fold:",
        "",
        f"| feature set | fold | test days | AUC ROC | AP | CP@{k} | frauds / payments |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        for f in fs["test_folds"]:
            lines.append(
                f"| `{name}` | {f['fold']} | {f['test']} | {f['auc_roc']:.3f} | {f['average_precision']:.3f} | "
                f"{f[metrics[2]]:.3f} | {f['n_fraud']} / {f['n_test']} |"
            )
    sec = results["seconds"]
    lines += [
        "",
        "![ROC](roc.png) ![Precision-recall](pr.png)",
        "",
        f"Wall time {sec['total']:.0f} s (feature replay or cache read {sec['features']:.0f} s; "
        f"LightGBM threads: {results['threads']}); grid {results['grid']} × trees {results['rounds']}, "
        "selection by the best mean rank of the three validation metrics.",
        "",
    ]
    return "\n".join(lines)
