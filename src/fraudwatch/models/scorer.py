"""The LightGBM-backed scorer (the ``Scorer`` protocol it implements is in ``base.py``).

A model artifact is a directory (written by ``fraudwatch train``)::

    model.txt          LightGBM's text model
    calibration.json   {"method": "platt", "a": ..., "b": ...}: probability = 1/(1+exp(-(a*raw+b)))
    metadata.json      version, feature list, feature-set digest, training window, data hash,
                       parameters, metrics; optional "thresholds" ({"block": ..., "challenge":
                       ...}), the operating point it was tuned for, used when none is configured
    featureset.yaml    the feature definitions the model was trained on

``score`` returns the calibrated probability of fraud; ``explain`` the features that push
the score up most, with their values and TreeSHAP contributions in log-odds (LightGBM's
``pred_contrib``). Platt scaling is monotone, so ranking metrics equal the raw model's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fraudwatch.decisions.decision import Reason
from fraudwatch.errors import FraudwatchError
from fraudwatch.models.trees import TreeEnsemble

__all__ = ["Calibration", "LightGBMScorer", "load_scorer"]


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the raw score: ``p = 1 / (1 + exp(-(a * raw + b)))``."""

    a: float = 1.0
    b: float = 0.0
    method: str = "platt"

    def __call__(self, raw: float) -> float:
        z = self.a * raw + self.b
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def batch(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * np.asarray(raw) + self.b)))

    @classmethod
    def fit(cls, raw: np.ndarray, y: np.ndarray) -> Calibration:
        """Fit on a later time slice than the training data (raw scores and labels)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y).astype(int)
        if len(np.unique(y)) < 2:
            return cls()
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), y)
        return cls(a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))

    def to_dict(self) -> dict[Any, Any]:
        return {"method": self.method, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[Any, Any]) -> Calibration:
        if d.get("method", "platt") != "platt":
            raise FraudwatchError(f"unknown calibration method {d.get('method')!r}")
        return cls(a=float(d["a"]), b=float(d["b"]))


class LightGBMScorer:
    """Scores events with a LightGBM model, compiled to C when a compiler is available.

    >>> import numpy as np, lightgbm as lgb
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(400, 2)); y = (X[:, 0] > 0).astype(int)
    >>> b = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
    ...               lgb.Dataset(X, y, feature_name=["a", "b"]), 5)
    >>> s = LightGBMScorer(b.model_to_string(), version="doc", compiled=False)
    >>> s.score(None, {"a": 2.0, "b": 0.0}) > 0.5 > s.score(None, {"a": -2.0, "b": None})
    True
    >>> s.explain(None, {"a": 2.0, "b": 0.0}, top=1)[0].feature
    'a'
    """

    def __init__(
        self,
        model_text: str,
        version: str,
        calibration: Calibration | None = None,
        kinds: frozenset[str] = frozenset({"payment.attempt"}),
        compiled: bool = True,
        metadata: dict[Any, Any] | None = None,
        cache_dir: Path | None = None,
    ):
        self.version = version
        self.ensemble = TreeEnsemble.from_model_string(model_text)
        self.feature_names = list(self.ensemble.feature_names)
        self.kinds = frozenset(kinds)
        self.calibration = calibration or Calibration()
        self.metadata = metadata or {}
        # the operating thresholds the model was tuned for (metadata "thresholds"), if any
        thresholds = self.metadata.get("thresholds")
        self.thresholds: dict[str, float] | None = (
            {str(k): float(v) for k, v in thresholds.items()} if isinstance(thresholds, dict) else None
        )
        self.compiled = None
        if compiled:
            from fraudwatch.models.compiled import CompiledEnsemble, compiled_dir

            self.compiled = CompiledEnsemble(self.ensemble, compiled_dir(cache_dir))
            self._buffer = self.compiled.buffer
        self._names = tuple(enumerate(self.feature_names))

    # ---------------------------------------------------------------- per event
    def _row(self, features: dict[Any, Any]) -> list[float]:
        nan = math.nan
        row = []
        for name in self.feature_names:
            v = features.get(name)
            row.append(nan if v is None else float(v))
        return row

    def raw(self, features: dict[Any, Any]) -> float:
        """Raw score (log-odds) of one feature dict."""
        if self.compiled is not None:
            buf = self._buffer
            get = features.get
            for i, name in self._names:
                v = get(name)
                buf[i] = math.nan if v is None else v
            return self.compiled.raw_buffer()
        return self.ensemble.raw(self._row(features))

    def score(self, event: Any, features: dict[Any, Any]) -> float:
        return self.calibration(self.raw(features))

    def contributions(self, features: dict[Any, Any]) -> list[float]:
        """TreeSHAP contributions (log-odds), one per feature then the expected value."""
        row = self._row(features)
        if self.compiled is not None:
            self._buffer[:] = row
            return self.compiled.contrib_buffer()
        contributions: list[float] = self.ensemble.contrib(row).tolist()
        return contributions

    def explain(self, event: Any, features: dict[Any, Any], top: int = 3) -> list[Reason]:
        phi = self.contributions(features)
        order = sorted(range(len(self.feature_names)), key=lambda i: -phi[i])[:top]
        return [Reason(self.feature_names[i], features.get(self.feature_names[i]), float(phi[i])) for i in order]

    def check_features(self, feature_names: Any) -> None:
        """Raise when the engine's feature set lacks features this model reads (they would
        silently score as missing)."""
        missing = sorted(set(self.feature_names) - set(feature_names))
        if missing:
            raise FraudwatchError(
                f"model {self.version} reads features the feature set does not compute: {', '.join(missing)} "
                "(serve with the model's featureset.yaml)"
            )

    # ---------------------------------------------------------------- batch
    def raw_batch(self, X: np.ndarray) -> np.ndarray:
        if self.compiled is not None:
            return self.compiled.raw_batch(X)
        return self.ensemble.raw_batch(X)

    def score_batch(self, X: np.ndarray) -> np.ndarray:
        return self.calibration.batch(self.raw_batch(X))

    def __repr__(self) -> str:
        mode = "compiled" if self.compiled is not None else "numpy"
        return f"LightGBMScorer(version={self.version!r}, features={len(self.feature_names)}, {mode})"


def load_scorer(path: str | Path, compiled: bool = True, cache_dir: Path | None = None) -> LightGBMScorer:
    """Load a model artifact directory (see the module docstring); compiled models are
    cached under ``cache_dir`` (``settings.cache_dir``)."""
    path = Path(path)
    if not (path / "model.txt").exists():
        raise FraudwatchError(f"{path} is not a model artifact (no model.txt)")
    metadata = json.loads((path / "metadata.json").read_text()) if (path / "metadata.json").exists() else {}
    calibration = Calibration()
    if (path / "calibration.json").exists():
        calibration = Calibration.from_dict(json.loads((path / "calibration.json").read_text()))
    return LightGBMScorer(
        (path / "model.txt").read_text(),
        version=metadata.get("version", path.name),
        calibration=calibration,
        kinds=frozenset(metadata.get("kinds", ["payment.attempt"])),
        compiled=compiled,
        metadata=metadata,
        cache_dir=cache_dir,
    )
