"""The model shipped with fraudwatch: trained on the simulator through Engine.process, with
its thresholds, used by demo, backtest and replay unless told otherwise."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fraudwatch.features import FeatureSet, default_feature_set
from fraudwatch.models import default_model_path, load_scorer
from fraudwatch.sim.training import tune_thresholds


def test_the_shipped_model_reads_the_default_features_as_it_was_trained_on_them():
    path = default_model_path()
    scorer = load_scorer(path, compiled=False)
    current = default_feature_set()
    trained_on = FeatureSet.from_yaml((path / "featureset.yaml").read_text())
    scorer.check_features(current.names)
    # a feature the model reads that changed meaning needs a retrain: fraudwatch train-default
    changed = [n for n in scorer.feature_names if current[n] != trained_on[n]]
    assert not changed, f"features changed since the default model was trained: {changed}"
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["simulator"]["seed"] != 7 and metadata["simulator"]["tune_seed"] != 7  # 7: the reported seed
    assert scorer.thresholds is not None
    assert 0 < scorer.thresholds["challenge"] <= scorer.thresholds["block"] <= 1


def test_demo_backtest_and_replay_use_it_unless_told_otherwise(tmp_path):
    from fraudwatch.cli.engine import build_engine

    engine = build_engine(None, None)
    assert (
        engine.model is not None and engine.model.version == load_scorer(default_model_path(), compiled=False).version
    )
    assert engine.thresholds == engine.model.thresholds
    assert build_engine(None, None, "none").model is None
    # a feature set without the model's features: rules only, said on stderr
    small = tmp_path / "small.yaml"
    small.write_text("features:\n  - {name: card.n_1h, entity: card, agg: count, window: 1h}\n")
    rules = tmp_path / "r.rules"
    rules.write_text("rule many:\n    block if card.n_1h >= 100\n")
    assert build_engine(small, rules).model is None


def test_a_model_that_cannot_be_served_by_the_features_given_is_an_error(tmp_path):
    from fraudwatch.cli import main

    small = tmp_path / "small.yaml"
    small.write_text("features:\n  - {name: card.n_1h, entity: card, agg: count, window: 1h}\n")
    events = tmp_path / "e.jsonl"
    events.write_text("")
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(events),
            "--out",
            str(tmp_path / "d.jsonl"),
            "--features",
            str(small),
            "--model",
            str(default_model_path()),
        ],
    )
    assert result.exit_code != 0 and "reads features the feature set does not compute" in result.output


@pytest.mark.parametrize(
    ("targets", "expected"),
    [((0.01, 0.001, 0.5), {"block": 0.998, "challenge": 0.989}), ((0.5, 0.1, 0.95), {"block": 0.95, "challenge": 0.5})],
)
def test_thresholds_challenge_and_block_at_most_their_share_of_genuine_payments(targets, expected):
    scores = [i / 1000 for i in range(1000)]
    got = tune_thresholds(scores, *targets)
    assert got == pytest.approx(expected, abs=2e-3)
    challenged = sum(s >= got["challenge"] for s in scores) / len(scores)
    blocked = sum(s >= got["block"] for s in scores) / len(scores)
    assert challenged <= targets[0] and blocked <= targets[1]


def test_a_model_path_that_is_not_an_artifact_is_a_clear_error(tmp_path):
    from fraudwatch.cli import main

    events = tmp_path / "e.jsonl"
    events.write_text("")
    result = CliRunner().invoke(
        main, ["replay", str(events), "--out", str(tmp_path / "d.jsonl"), "--model", str(tmp_path)]
    )
    assert result.exit_code == 1 and "is not a model artifact (no model.txt)" in result.output
