"""Training on replayed events, the model artifact, the scorer on it, and the registry."""

import json
import math

import numpy as np
import pytest

from fraudwatch.errors import Conflict, FraudwatchError, NotFound
from fraudwatch.models.base import Scorer
from fraudwatch.models.dataset import load_feature_set
from fraudwatch.models.registry import ModelRegistry
from fraudwatch.models.scorer import LightGBMScorer, load_scorer
from fraudwatch.models.train import train


@pytest.fixture
def event_file(tmp_path, make_events):
    import orjson

    path = tmp_path / "events.jsonl"
    events = make_events.dicts(days=45, seed=3, cards=10, fraud_share=0.2)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_train_saves_a_calibrated_artifact_that_scores_like_lightgbm(event_file, tmp_path):
    import lightgbm as lgb

    path = train(
        event_file,
        "handbook_rich",
        tmp_path / "models",
        train_days=20,
        calibration_days=10,
        rounds=20,
        params={"num_leaves": 4, "min_child_samples": 5},
        threads=1,
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
    )
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["feature_set"]["name"] == "handbook_rich"
    assert meta["feature_names"] == list(load_feature_set("handbook_rich").names)
    assert meta["label_delay_days"] == 7.0 and meta["rows"]["train_frauds"] > 0
    # the artifact's windows end a label delay before the training time
    assert meta["calibration_window"][1] < meta["as_of"]
    scorer = load_scorer(path, cache_dir=tmp_path / "cache")
    assert isinstance(scorer, Scorer) and scorer.version == meta["version"]
    booster = lgb.Booster(model_file=str(path / "model.txt"))
    features = {n: float(i % 7) for i, n in enumerate(scorer.feature_names)}
    features["tx.night"] = True
    features["card.amount_std_clean"] = None
    x = np.array([[math.nan if v is None else float(v) for v in features.values()]])
    raw = booster.predict(x, raw_score=True)[0]
    a, b = meta["calibration"]["a"], meta["calibration"]["b"]
    assert scorer.score(None, features) == pytest.approx(1 / (1 + math.exp(-(a * raw + b))), abs=1e-12)
    reasons = scorer.explain(None, features, top=3)
    assert len(reasons) == 3 and reasons[0].contribution >= reasons[1].contribution >= reasons[2].contribution
    assert reasons[0].value == features[reasons[0].feature]
    scorer.check_features(load_feature_set("handbook_rich").names)
    with pytest.raises(FraudwatchError, match="tx.amount"):
        scorer.check_features(load_feature_set("handbook_rich").names[1:])
    # the NumPy fallback gives the same
    assert load_scorer(path, compiled=False).score(None, features) == pytest.approx(
        scorer.score(None, features), abs=1e-12
    )


def _artifact(root, name):
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 4}, lgb.Dataset(X, (X[:, 0] > 0).astype(int)), 3
    )
    (root / name).mkdir(parents=True)
    (root / name / "model.txt").write_text(booster.model_to_string())
    (root / name / "metadata.json").write_text(json.dumps({"version": name, "created": name}))


def test_registry_promote_challenger_rollback(tmp_path):
    for name in ("m1", "m2", "m3"):
        _artifact(tmp_path, name)
    reg = ModelRegistry(tmp_path, cache_dir=tmp_path / "cache")
    assert reg.champion is None and reg.load_champion() is None
    reg.promote("m1")
    reg.promote("m2")
    reg.promote("m3", challenger=True)
    assert (reg.champion, reg.challengers) == ("m2", ["m3"])
    assert isinstance(reg.load_champion(), LightGBMScorer) and reg.load_champion().version == "m2"
    assert [s.version for s in reg.load_challengers()] == ["m3"]
    assert {v["version"]: v["role"] for v in reg.versions()} == {"m1": "", "m2": "champion", "m3": "challenger"}
    assert reg.rollback() == "m1" and reg.champion == "m1"
    with pytest.raises(Conflict):
        reg.rollback()  # nothing before m1
    reg.promote("m3")  # a challenger promoted leaves the challengers
    assert (reg.champion, reg.challengers) == ("m3", [])
    with pytest.raises(NotFound):
        reg.promote("nope")
    actions = [h["action"] for h in json.loads((tmp_path / "registry.json").read_text())["history"]]
    assert actions == ["promote", "promote", "challenger", "rollback", "promote"]
    # a fresh registry object reads the same state from disk
    assert ModelRegistry(tmp_path).champion == "m3"


def test_models_cli_list_promote_rollback(tmp_path):
    from click.testing import CliRunner

    from fraudwatch.cli import main

    for name in ("m1", "m2"):
        _artifact(tmp_path, name)
    run = CliRunner().invoke
    assert run(main, ["models", "promote", "--models", str(tmp_path), "m1"]).exit_code == 0
    assert run(main, ["models", "promote", "--models", str(tmp_path), "m2"]).exit_code == 0
    listing = run(main, ["models", "list", "--models", str(tmp_path)]).output
    assert "champion   m2" in listing and listing.index("m1") < listing.index("m2")
    res = run(main, ["models", "rollback", "--models", str(tmp_path)])
    assert res.exit_code == 0 and "m1 is the champion again" in res.output
    res = run(main, ["models", "rollback", "--models", str(tmp_path)])
    assert res.exit_code == 1 and "Error: no earlier champion" in res.output


def test_engine_serves_the_trained_model_with_reasons(event_file, tmp_path, make_events):
    """The artifact in the engine: the decision carries the score, shadow score and reasons."""
    engine_mod = pytest.importorskip("fraudwatch.engine")
    from fraudwatch.rules import RuleSet

    champion = train(
        event_file,
        "handbook_rich",
        tmp_path / "models",
        train_days=20,
        calibration_days=10,
        rounds=20,
        params={"num_leaves": 4, "min_child_samples": 5},
        threads=1,
        log=lambda m: None,
        cache_dir=tmp_path / "cache",
    )
    scorer = load_scorer(champion, cache_dir=tmp_path / "cache")
    challenger = load_scorer(champion, compiled=False)
    challenger.version = "shadow"
    engine = engine_mod.Engine(
        features=load_feature_set("handbook_rich"),
        rules=RuleSet.parse("", version="t"),
        model=scorer,
        challengers=[challenger],
        thresholds={"review": 0.0},
    )
    decisions = [engine.process(e) for e in make_events(days=5, seed=9)]
    paid = [d for d in decisions if d.kind == "payment.attempt"]
    assert paid and all(0.0 <= d.score <= 1.0 for d in paid)
    assert all(d.shadow_scores["shadow"] == pytest.approx(d.score, abs=1e-12) for d in paid)
    assert all(len(d.reasons) == 3 and d.reasons[0].feature in scorer.feature_names for d in paid)
