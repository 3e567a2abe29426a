"""``fraudwatch evaluate``: the handbook's prequential protocol on engine-served features.

For each feature set: the features are replayed through ``Engine.process`` (cached), a
small LightGBM grid is trained on each of the 4 validation folds, the parameters (and the
number of trees) with the best validation score are kept, and the 4 test folds are trained
and scored with them. Selection: the best mean rank over AUC ROC, Average Precision and
Card Precision@100 (each averaged over the validation folds). Ground truth for the folds and metrics is the
data's ``TX_FRAUD`` (what the label events say once every label has arrived).

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

from fraudwatch.models.protocol import HANDBOOK_ORIGIN, Fold, fold_indices, fold_metrics, handbook_folds

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
METRICS = ("auc_roc", "average_precision", "card_precision_at_100")


def _grid(grid: dict) -> list[dict]:
    keys = sorted(grid)
    return [dict(zip(keys, values, strict=False)) for values in itertools.product(*(grid[k] for k in keys))]


def _select(table: list[dict]) -> dict:
    """The grid row with the best mean rank over the three validation metrics (ties: the
    higher mean metric). Ranks weigh the metrics equally whatever their spread; a plain mean
    would be decided by Average Precision, which varies most across the grid."""

    def rankdata(a):  # 1 = smallest, ties share their mean rank
        _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        return (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]

    values = np.array([[row[k] for k in METRICS] for row in table])
    ranks = np.column_stack([rankdata(-values[:, j]) for j in range(len(METRICS))]).mean(axis=1)
    for row, rank, mean in zip(table, ranks, values.mean(axis=1), strict=False):
        row["mean_rank"], row["mean_metric"] = float(rank), float(mean)
    return min(table, key=lambda row: (row["mean_rank"], -row["mean_metric"]))


def _load_truth(data: Path):
    import pyarrow.parquet as pq

    t = pq.read_table(data, columns=["TRANSACTION_ID", "CUSTOMER_ID", "TX_AMOUNT", "TX_FRAUD"])
    tx = t["TRANSACTION_ID"].to_numpy()
    order = np.argsort(tx, kind="stable")
    return (
        tx[order],
        t["CUSTOMER_ID"].to_numpy()[order],
        t["TX_AMOUNT"].to_numpy()[order],
        t["TX_FRAUD"].to_numpy()[order],
    )


def _train(X, y, names, params: dict, rounds: int, threads: int):
    import lightgbm as lgb

    ds = lgb.Dataset(X, y, feature_name=list(names), free_raw_data=True)
    return lgb.train({**BASE_PARAMS, **params, "num_threads": threads}, ds, rounds)


def evaluate(
    data: str | Path,
    feature_sets: list[str],
    out: str | Path,
    grid: dict | None = None,
    threads: int = 1,
    label_delay_days: float = 7.0,
    log=print,
    cache_dir: Path | None = None,
) -> dict:
    from fraudwatch.models.dataset import features_dir, load_feature_set, replay_cached

    t_start = time.perf_counter()
    data, out = Path(data), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grid_points = _grid(grid or DEFAULT_GRID)
    folds = handbook_folds()
    origin = datetime(HANDBOOK_ORIGIN.year, HANDBOOK_ORIGIN.month, HANDBOOK_ORIGIN.day, tzinfo=UTC).timestamp()
    start = origin + min(f.train_start_day for f in folds) * 86400.0
    end = origin + (max(f.train_start_day for f in folds) + 21) * 86400.0
    sets = [load_feature_set(name) for name in feature_sets]
    matrices, _ = replay_cached(data, sets, start, end, label_delay_days, cache=features_dir(cache_dir), log=log)
    t_replay = time.perf_counter() - t_start
    log(
        f"features ready in {t_replay:.0f} s: "
        + ", ".join(f"{fs.version} {m.X.shape}" for fs, m in zip(sets, matrices, strict=False))
    )

    tx_sorted, card_all, amount_all, fraud_all = _load_truth(data)
    results: dict = {
        "data": str(data),
        "grid": grid or DEFAULT_GRID,
        "rounds": list(ROUNDS),
        "threads": threads,
        "label_delay_days": label_delay_days,
        "feature_sets": {},
    }
    score_rows: list[tuple] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, fs, m in zip(feature_sets, sets, matrices, strict=False):
        t0 = time.perf_counter()
        tx = np.char.lstrip(m.ids.astype(str), "tx").astype(np.int64)
        pos = np.searchsorted(tx_sorted, tx)
        card, amount, fraud = card_all[pos], amount_all[pos], fraud_all[pos]
        day = np.floor((m.ts - origin) / 86400.0).astype(np.int64)
        split = {f.name: fold_indices(f, day, card, fraud) for f in folds}

        def run(
            fold: Fold, params: dict, rounds_list, m=m, split=split, fraud=fraud, day=day, card=card, amount=amount
        ) -> dict[int, tuple[dict, np.ndarray]]:  # called within this iteration: its values bound
            tr, te = split[fold.name]
            booster = _train(m.X[tr], fraud[tr], m.names, params, max(rounds_list), threads)
            res = {}
            for r in rounds_list:
                s = booster.predict(m.X[te], num_iteration=r, num_threads=threads)
                res[r] = (fold_metrics(fraud[te], s, day[te], card[te], amount[te]), s)
            return res

        # model selection on the validation folds
        table = []
        for params in grid_points:
            per_round: dict[int, list[dict]] = {r: [] for r in ROUNDS}
            for fold in (f for f in folds if f.kind == "valid"):
                for r, (met, _) in run(fold, params, ROUNDS).items():
                    per_round[r].append(met)
            for r, mets in per_round.items():
                means = {k: float(np.mean([x[k] for x in mets])) for k in METRICS}
                table.append({"params": params, "rounds": r, **means})
            log(
                f"  {name} valid {params}: "
                + ", ".join(
                    f"{r}t {np.mean([per_round[r][i]['auc_roc'] for i in range(4)]):.4f}/"
                    f"{np.mean([per_round[r][i]['average_precision'] for i in range(4)]):.4f}/"
                    f"{np.mean([per_round[r][i]['card_precision_at_100'] for i in range(4)]):.4f}"
                    for r in ROUNDS
                )
            )
        best = _select(table)
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
            rows = zip(tx[te], s, fraud[te], strict=True)
            score_rows += [(name, fold.name, int(t), float(v), int(y)) for t, v, y in rows]
            all_y.append(fraud[te])
            all_s.append(s)
        curves[name] = (np.concatenate(all_y), np.concatenate(all_s))
        summary = {}
        for k in (*METRICS, "recall_at_1pct_fpr", "fraud_amount_caught_share", "fraud_amount_caught", "fraud_amount"):
            vals = [x[k] for x in test]
            summary[k] = {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
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
        log(f"  {name} test: " + ", ".join(f"{k} {summary[k]['mean']:.4f}±{summary[k]['std']:.4f}" for k in METRICS))

    results["seconds"] = {"features": t_replay, "total": time.perf_counter() - t_start}
    with gzip.open(out / "scores.csv.gz", "wt", newline="") as f:
        w = csv.writer(f)
        w.writerow(["feature_set", "fold", "transaction_id", "score", "label"])
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
    lines = [
        "# Handbook benchmark (prequential protocol)",
        "",
        "Mean ± std over the 4 test folds (training weeks starting 2018-08-15, 08-08, 08-01, 07-25; "
        "7 days train, 7 days gap, 7 days test; known compromised cards removed), parameters chosen "
        "on the 4 validation folds (starting 2018-07-11, 07-04, 06-27, 06-20).",
        "",
        "| model | AUC ROC | Average Precision | Card Precision@100 |",
        "|---|---|---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        t = fs["test"]
        lines.append(
            f"| **fraudwatch LightGBM, `{name}` ({len(fs['features'])} features)** | "
            + " | ".join(f"**{t[k]['mean']:.3f}** ± {t[k]['std']:.3f}" for k in METRICS)
            + " |"
        )
    for model, auc, ap, cp in PUBLISHED:
        lines.append(f"| handbook: {model} | {auc:.3f} | {ap:.3f} | {cp:.3f} |")
    lines += [
        "",
        "| feature set | recall at 1 % FPR | fraud amount caught at 1 % FPR | selected parameters |",
        "|---|---|---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        t = fs["test"]
        sel = fs["selected"]
        lines.append(
            f"| `{name}` | {t['recall_at_1pct_fpr']['mean']:.3f} ± {t['recall_at_1pct_fpr']['std']:.3f} | "
            f"{t['fraud_amount_caught_share']['mean']:.1%} (€{t['fraud_amount_caught']['mean']:,.0f} of "
            f"€{t['fraud_amount']['mean']:,.0f} per fold) | {sel['params']}, {sel['rounds']} trees |"
        )
    lines += [
        "",
        "Per test fold:",
        "",
        "| feature set | fold | test days | AUC ROC | AP | CP@100 | frauds / payments |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, fs in results["feature_sets"].items():
        for f in fs["test_folds"]:
            lines.append(
                f"| `{name}` | {f['fold']} | {f['test']} | {f['auc_roc']:.3f} | {f['average_precision']:.3f} | "
                f"{f['card_precision_at_100']:.3f} | {f['n_fraud']} / {f['n_test']} |"
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
