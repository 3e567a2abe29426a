"""Learned risk score: the ``Scorer`` protocol, compiled LightGBM scoring with TreeSHAP
reasons, point-in-time training on engine features, the handbook benchmark, a registry.

Names are imported lazily: NumPy and LightGBM come with ``fraudwatch[model]``.
See docs/models.md.
"""

from importlib import import_module

__all__ = ["Calibration", "LightGBMScorer", "ModelRegistry", "Scorer", "default_model_path", "load_scorer"]

_WHERE = {
    "Calibration": "fraudwatch.models.scorer",
    "LightGBMScorer": "fraudwatch.models.scorer",
    "Scorer": "fraudwatch.models.base",
    "default_model_path": "fraudwatch.models.base",
    "load_scorer": "fraudwatch.models.scorer",
    "ModelRegistry": "fraudwatch.models.registry",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'fraudwatch.models' has no attribute {name!r}")
