"""The default feature set shipped with fraudwatch (``default.yaml`` beside this module).

>>> fs = default_feature_set()
>>> fs["card.declines_10m"].filter
"event.result == 'declined'"
"""

from __future__ import annotations

from importlib.resources import files

from fraudwatch.features.featureset import FeatureSet

__all__ = ["DEFAULT_PATH", "default_feature_set"]

DEFAULT_PATH = files("fraudwatch.features") / "default.yaml"


def default_feature_set() -> FeatureSet:
    """Features covering the patterns of DEVELOPERS.md; see the comments in default.yaml."""
    return FeatureSet.from_yaml(DEFAULT_PATH.read_text(encoding="utf-8"))
