"""``fraudwatch train``: a LightGBM model on engine-served features, labels joined only once
known, Platt-calibrated on a later time slice, saved as a versioned artifact.

Time line, for a training run ``as_of`` time ``T`` and label delay ``D``::

    [ train_days of payments ][ calibration_days ] | D (labels still arriving) | T

A payment's label is taken as it stood at ``T`` (fraud if a fraud ``label`` event arrived
by ``T``, else genuine); only payments at least ``D`` older than ``T`` are used, so their
labels are final under the delay assumption.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from fraudwatch.errors import FraudwatchError

__all__ = ["train", "DEFAULT_PARAMS", "DEFAULT_ROUNDS", "save_artifact"]

# chosen by `fraudwatch evaluate` on the handbook validation folds (handbook_rich)
DEFAULT_PARAMS = {"num_leaves": 7, "min_child_samples": 200}
DEFAULT_ROUNDS = 100


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def _last_event_time(data: Path) -> float:
    if data.suffix == ".parquet":
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        col = pq.read_table(data, columns=["TX_DATETIME"])["TX_DATETIME"]
        return pc.max(col.cast("timestamp[us]").cast("int64")).as_py() / 1e6
    from fraudwatch.models.dataset import load_events

    last = -math.inf
    for e in load_events(data):
        last = max(last, e.ts)
    return last


def train(
    data: str | Path,
    feature_set: str,
    models_dir: str | Path,
    as_of: float | None = None,
    train_days: float = 14.0,
    calibration_days: float = 3.0,
    label_delay_days: float = 7.0,
    params: dict | None = None,
    rounds: int = DEFAULT_ROUNDS,
    threads: int = 1,
    version: str | None = None,
    log=print,
    cache_dir: Path | None = None,
    workers: int = 1,
) -> Path:
    """Train, calibrate and save a model artifact under ``models_dir``; returns its path."""
    import lightgbm as lgb
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    from fraudwatch.models.dataset import features_dir, file_digest, load_feature_set, replay_cached
    from fraudwatch.models.evaluate import BASE_PARAMS
    from fraudwatch.models.scorer import Calibration

    t0 = time.perf_counter()
    data = Path(data)
    fs = load_feature_set(feature_set)
    as_of = _last_event_time(data) if as_of is None else as_of
    label_end = as_of - label_delay_days * 86400.0
    calib_start = label_end - calibration_days * 86400.0
    train_start = calib_start - train_days * 86400.0
    (m,), labels = replay_cached(
        data, [fs], train_start, label_end, label_delay_days, cache=features_dir(cache_dir), log=log, workers=workers
    )
    y = labels.known_fraud(m.ids, as_of)
    fit = m.ts < calib_start
    cal = ~fit
    if y[fit].sum() == 0 or (~y[fit].astype(bool)).sum() == 0:
        raise FraudwatchError(
            f"the training window {_iso(train_start)} .. {_iso(calib_start)} needs frauds and genuine payments"
        )
    params = {**BASE_PARAMS, **(params or DEFAULT_PARAMS), "num_threads": threads}
    log(
        f"training on {fit.sum()} payments ({int(y[fit].sum())} frauds), "
        f"calibrating on {cal.sum()} ({int(y[cal].sum())} frauds)"
    )
    booster = lgb.train(params, lgb.Dataset(m.X[fit], y[fit], feature_name=list(m.names)), rounds)
    raw_cal = booster.predict(m.X[cal], raw_score=True)
    calibration = Calibration.fit(raw_cal, y[cal])
    p = calibration.batch(raw_cal)
    metrics = {}
    if len(np.unique(y[cal])) == 2:
        metrics = {
            "calibration_auc_roc": float(roc_auc_score(y[cal], p)),
            "calibration_average_precision": float(average_precision_score(y[cal], p)),
            "calibration_log_loss": float(log_loss(y[cal], p)),
            "calibration_brier": float(brier_score_loss(y[cal], p)),
        }
    text = booster.model_to_string()
    digest = hashlib.sha256(text.encode()).hexdigest()
    version = version or f"{fs.version}-{datetime.fromtimestamp(as_of, tz=UTC):%Y%m%d}-{digest[:8]}"
    metadata = {
        "version": version,
        "kinds": ["payment.attempt"],
        "feature_names": list(m.names),
        "feature_set": {"name": feature_set, "version": fs.version, "digest": fs.digest},
        "model_digest": digest,
        "data": {"path": str(data), "sha256": file_digest(data)},
        "as_of": _iso(as_of),
        "label_delay_days": label_delay_days,
        "training_window": [_iso(train_start), _iso(calib_start)],
        "calibration_window": [_iso(calib_start), _iso(label_end)],
        "rows": {
            "train": int(fit.sum()),
            "train_frauds": int(y[fit].sum()),
            "calibration": int(cal.sum()),
            "calibration_frauds": int(y[cal].sum()),
        },
        "params": {**params, "rounds": rounds},
        "calibration": calibration.to_dict(),
        "metrics": metrics,
        "created": _iso(time.time()),
        "training_seconds": round(time.perf_counter() - t0, 1),
    }
    path = save_artifact(Path(models_dir), version, text, calibration, metadata, fs.to_yaml())
    log(f"saved {path} ({', '.join(f'{k} {v:.4f}' for k, v in metrics.items())})")
    return path


def save_artifact(
    models_dir: Path, version: str, model_text: str, calibration, metadata: dict, featureset_yaml: str
) -> Path:
    """Write the artifact directory atomically (a temporary directory renamed into place)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / version
    if target.exists():
        raise FraudwatchError(f"model {version} already exists in {models_dir}")
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=models_dir))
    try:
        (tmp / "model.txt").write_text(model_text)
        (tmp / "calibration.json").write_text(json.dumps(calibration.to_dict(), indent=1))
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=1))
        (tmp / "featureset.yaml").write_text(featureset_yaml)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
