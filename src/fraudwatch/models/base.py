"""What the engine needs of a model (the ``Scorer`` protocol), free of NumPy and LightGBM so
the engine can name it without the ``model`` extra; and where compiled models and feature
matrices are cached unless a command passes ``settings.cache_dir``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from fraudwatch.decisions.decision import Reason
from fraudwatch.events.kinds import Envelope

__all__ = ["Scorer", "cache_root", "default_model_path"]


@runtime_checkable
class Scorer(Protocol):
    """A model as the engine calls it: ``score`` gives the probability of fraud of an event
    of one of ``kinds`` from its feature values, ``explain`` the features that push it up."""

    version: str
    feature_names: list[str]
    kinds: frozenset[str]

    def score(self, event: Envelope | None, features: Mapping[str, Any]) -> float: ...

    def explain(self, event: Envelope | None, features: Mapping[str, Any], top: int = 3) -> list[Reason]: ...


def cache_root(cache_dir: Path | None = None) -> Path:
    """``cache_dir``, or ``~/.cache/fraudwatch`` (the default of the ``cache_dir`` setting)."""
    return Path(cache_dir) if cache_dir is not None else Path.home() / ".cache" / "fraudwatch"


def default_model_path() -> Path:
    """The model shipped with fraudwatch (``models/default/``): trained on one simulated
    stream of the default feature set, thresholds tuned on another (``fraudwatch
    train-default`` rebuilds it; docs/models.md)."""
    return Path(__file__).parent / "default"
