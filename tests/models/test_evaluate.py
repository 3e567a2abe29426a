"""``fraudwatch evaluate`` end to end on a small synthetic file in the handbook's format."""

import csv
import gzip
import json
from datetime import datetime, timedelta

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")


@pytest.fixture
def handbook_like(tmp_path):
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    start = datetime(2018, 4, 1)
    n = 158 * 40  # 2018-04-01 .. 2018-09-05, 40 payments a day
    seconds = np.sort(rng.uniform(0, 158 * 86400, n)).astype(np.int64)
    card = rng.integers(0, 30, n)
    terminal = rng.integers(0, 10, n)
    amount = np.round(rng.uniform(5, 100, n), 2)
    fraud = (rng.random(n) < 0.08).astype(np.int64)
    amount = np.where(fraud == 1, amount * 5, amount)
    table = pa.table(
        {
            "TRANSACTION_ID": np.arange(n),
            "TX_DATETIME": pa.array([start + timedelta(seconds=int(s)) for s in seconds], pa.timestamp("ns")),
            "CUSTOMER_ID": card,
            "TERMINAL_ID": terminal,
            "TX_AMOUNT": amount,
            "TX_TIME_SECONDS": seconds,
            "TX_TIME_DAYS": seconds // 86400,
            "TX_FRAUD": fraud,
            "TX_FRAUD_SCENARIO": fraud * 3,
        }
    )
    path = tmp_path / "tx.parquet"
    pq.write_table(table, path)
    return path


def test_evaluate_writes_report_scores_and_plots(handbook_like, tmp_path):
    from fraudwatch.models.evaluate import evaluate

    out = tmp_path / "report"
    res = evaluate(
        handbook_like,
        ["handbook_baseline", "handbook_rich"],
        out,
        grid={"num_leaves": [4], "min_child_samples": [5]},
        threads=1,
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
    )
    for name in ("report.md", "results.json", "scores.csv.gz", "roc.png", "pr.png"):
        assert (out / name).stat().st_size > 0
    rich = res["feature_sets"]["handbook_rich"]
    assert [f["fold"] for f in rich["test_folds"]] == ["test0", "test1", "test2", "test3"]
    assert 0.5 < rich["test"]["auc_roc"]["mean"] <= 1.0  # frauds have 5x amounts: learnable
    with gzip.open(out / "scores.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"feature_set", "fold", "event_id", "score", "label"}
    assert sum(r["feature_set"] == "handbook_rich" for r in rows) == sum(f["n_test"] for f in rich["test_folds"])
    report = (out / "report.md").read_text()
    assert "Balanced bagging" in report and "handbook_baseline" in report
    assert (
        json.loads((out / "results.json").read_text())["feature_sets"]["handbook_baseline"]["features"][0]
        == "tx.amount"
    )


def test_selection_weighs_the_three_metrics_equally():
    from fraudwatch.models.evaluate import _select

    table = [  # AP spreads widely; the second row is best on AUC and CP@100
        {"params": {"a": 1}, "rounds": 100, "auc_roc": 0.880, "average_precision": 0.75, "card_precision_at_100": 0.29},
        {"params": {"a": 2}, "rounds": 100, "auc_roc": 0.890, "average_precision": 0.70, "card_precision_at_100": 0.30},
        {
            "params": {"a": 3},
            "rounds": 100,
            "auc_roc": 0.885,
            "average_precision": 0.65,
            "card_precision_at_100": 0.295,
        },
    ]
    assert _select(table)["params"] == {"a": 2}


def test_evaluate_on_a_simulator_stream(tmp_path):
    """Any event file with label events: the folds placed at the end of the history, the
    labels read from the stream's own label events."""
    from fraudwatch.models.evaluate import evaluate
    from fraudwatch.sim.simulate import SimConfig, simulate, write_jsonl

    events, _ = simulate(SimConfig(seed=3, cardholders=400, days=24, warmup=3))
    path = tmp_path / "sim.jsonl"
    with open(path, "wb") as f:
        write_jsonl(events, f)
    res = evaluate(
        path,
        ["default"],
        tmp_path / "report",
        grid={"num_leaves": [4], "min_child_samples": [5]},
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
        fold_days=(5, 2, 3),
        n_folds=(2, 2),
        top_k=20,
    )
    assert [f["fold"] for f in res["folds"]] == ["valid0", "valid1", "test0", "test1"]
    assert res["folds"][2]["test"] == "2026-11-20..2026-11-22"  # ends two days (the gap) before the last day
    test = res["feature_sets"]["default"]["test"]
    assert test["n_fraud"]["mean"] > 0 and 0.5 < test["auc_roc"]["mean"] <= 1.0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Prequential evaluation of `sim.jsonl`" in report and "Card Precision@20" in report
    assert "Balanced bagging" not in report  # published figures belong to the handbook only
