"""The compiled scorer and the NumPy fallback reproduce LightGBM's predictions and pred_contrib."""

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from fraudwatch.models.compiled import CompiledEnsemble, generate_c  # noqa: E402
from fraudwatch.models.trees import TreeEnsemble, UnsupportedModel  # noqa: E402


def _random_model(seed=0, n=2000, rounds=30, nan_share=0.1, zero_as_missing=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 3] = rng.integers(0, 4, size=n)  # a few distinct values, thresholds between them
    X[rng.random(X.shape) < nan_share] = np.nan
    X[:, 5] = np.where(rng.random(n) < 0.3, 0.0, X[:, 5])
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) + rng.normal(size=n) > 0.5).astype(
        int
    )
    params = {
        "objective": "binary",
        "num_leaves": 15,
        "learning_rate": 0.2,
        "verbose": -1,
        "num_threads": 1,
        "min_child_samples": 5,
        "zero_as_missing": zero_as_missing,
        "seed": seed,
    }
    ds = lgb.Dataset(X, y, feature_name=[f"f{i}" for i in range(6)])
    return lgb.train(params, ds, rounds), X


@pytest.fixture(scope="module", params=[False, True], ids=["nan-missing", "zero-as-missing"])
def trained(request, tmp_path_factory):
    booster, X = _random_model(zero_as_missing=request.param)
    model = TreeEnsemble.from_model_string(booster.model_to_string())
    compiled = CompiledEnsemble(model, directory=tmp_path_factory.mktemp("so"))
    # rows the model never saw, with NaN, zeros and exact threshold values
    rng = np.random.default_rng(1)
    Xt = rng.normal(size=(300, 6))
    Xt[rng.random(Xt.shape) < 0.15] = np.nan
    Xt[:20, 5] = 0.0
    Xt[20:40, 0] = model.threshold[model.feature == 0][:1].repeat(20) if (model.feature == 0).any() else 0.0
    return booster, model, compiled, np.vstack([X[:200], Xt])


def test_compiled_raw_scores_equal_lightgbm(trained):
    booster, _, compiled, X = trained
    expected = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(compiled.raw_batch(X), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose([compiled.raw(x) for x in X[:50]], expected[:50], rtol=0, atol=1e-12)


def test_numpy_fallback_equals_lightgbm(trained):
    booster, model, _, X = trained
    expected = booster.predict(X, raw_score=True)
    np.testing.assert_allclose(model.raw_batch(X), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose([model.raw(x) for x in X[:50]], expected[:50], rtol=0, atol=1e-12)


def test_contributions_equal_lightgbm_pred_contrib(trained):
    booster, model, compiled, X = trained
    expected = booster.predict(X[:60], pred_contrib=True)
    got = np.array([compiled.contrib(x) for x in X[:60]])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    fallback = np.array([model.contrib(x) for x in X[:10]])
    np.testing.assert_allclose(fallback, expected[:10], rtol=1e-9, atol=1e-9)
    # contributions sum to the raw score
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(X[:60], raw_score=True), atol=1e-9)


def test_generated_source_names_the_model(trained):
    _, model, _, _ = trained
    assert model.digest in generate_c(model)


def test_unsupported_models_are_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    y = rng.normal(size=500)
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, y), 3)
    with pytest.raises(UnsupportedModel, match="only binary"):
        TreeEnsemble.from_model_string(booster.model_to_string())


def test_missing_compiler_is_a_clear_error(tmp_path, monkeypatch):
    from fraudwatch.models.compiled import CompilerMissing

    booster, _ = _random_model(seed=5, rounds=2)
    model = TreeEnsemble.from_model_string(booster.model_to_string())
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(CompilerMissing, match="compiled=False"):
        CompiledEnsemble(model, directory=tmp_path / "so")


def test_compiled_treeshap_equals_the_python_reference_on_deep_trees(tmp_path):
    # deep, narrow trees over few features: long paths that split on the same feature
    # again (the path's unwind), leaves where x follows few or all of the splits
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, 4))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.sin(3 * np.nan_to_num(X[:, 0])) + np.nan_to_num(X[:, 1]) ** 2 + rng.normal(size=3000) * 0.3 > 1).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": 40,
        "max_depth": -1,
        "min_child_samples": 3,
        "learning_rate": 0.3,
        "verbose": -1,
        "num_threads": 1,
        "seed": 7,
    }
    booster = lgb.train(params, lgb.Dataset(X, y), 20)
    model = TreeEnsemble.from_model_string(booster.model_to_string())
    assert model.max_depth >= 10
    compiled = CompiledEnsemble(model, directory=tmp_path)
    rows = rng.normal(size=(40, 4)) * 2
    rows[rng.random(rows.shape) < 0.2] = np.nan
    got = np.array([compiled.contrib(x) for x in rows])
    reference = np.array([model.contrib(x) for x in rows])
    np.testing.assert_allclose(got, reference, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got, booster.predict(rows, pred_contrib=True), rtol=1e-9, atol=1e-9)
