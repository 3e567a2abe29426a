"""Where the engine's definitions come from: the files given, else the shipped defaults
(``features/default.yaml`` and ``rules/default.rules``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fraudwatch.features import FeatureSet
from fraudwatch.rules import RuleSet

__all__ = ["load_features", "load_rules", "DEFAULT_RULES_VERSION"]

DEFAULT_RULES_VERSION = "default"


def load_features(path: str | Path | None = None) -> FeatureSet:
    if path is None:
        from fraudwatch.features import default_feature_set

        return default_feature_set()
    return FeatureSet.from_yaml(Path(path).read_text())


def load_rules(path: str | Path | None = None, version: str | None = None) -> RuleSet:
    if path is None:
        text = resources.files("fraudwatch.rules").joinpath("default.rules").read_text()
        return RuleSet.parse(text, version=version or DEFAULT_RULES_VERSION)
    path = Path(path)
    return RuleSet.parse(path.read_text(), version=version or path.stem)
