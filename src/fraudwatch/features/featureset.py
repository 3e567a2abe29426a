"""A versioned set of features, read from and written to YAML.

>>> fs = FeatureSet.from_yaml('''
... version: "2026-11-21.1"
... features:
...   - name: card.payments_1h
...     entity: card
...     kinds: [payment.attempt]
...     agg: count
...     window: 1h
... ''')
>>> fs.version, fs.names, len(fs.digest)
('2026-11-21.1', ('card.payments_1h',), 64)
>>> FeatureSet.from_yaml(fs.to_yaml()) == fs
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson
import yaml

from fraudwatch.features.spec import FeatureSpec, FeatureSpecError

__all__ = ["FeatureSet", "FeatureSetError"]

_SPEC_KEYS = tuple(f.name for f in fields(FeatureSpec))
_TOP_KEYS = ("version", "extends", "metadata", "features")
METADATA_TYPES = ("number", "string", "bool")


class FeatureSetError(FeatureSpecError):
    """A feature set that does not fit: duplicate names, unknown keys, references, cycles."""


class FeatureSet:
    """Feature specs in order, a ``version`` and a ``digest`` (sha256 of the specs' canonical
    form, so two sets with the same digest compute the same values).

    Filters and derived expressions are compiled once here with
    :func:`fraudwatch.rules.compile_expression`; derived features are ordered so each one
    comes after the derived features it reads.

    >>> fs = FeatureSet([FeatureSpec("card.n_10m", entity="card", agg="count", window="10m"),
    ...                  FeatureSpec("card.busy", expr="card.n_10m >= 3")], version="1")
    >>> fs.names, [s.name for s in fs.derived], fs["card.n_10m"].window
    (('card.n_10m', 'card.busy'), ['card.busy'], 600.0)
    >>> FeatureSet([FeatureSpec("card.a", expr="card.b + 1")])
    Traceback (most recent call last):
    ...
    fraudwatch.features.featureset.FeatureSetError: feature 'card.a': expr: ...
    """

    def __init__(
        self, features: Iterable[FeatureSpec], version: str = "0", metadata: Mapping[str, str] | None = None
    ) -> None:
        self.features: tuple[FeatureSpec, ...] = tuple(features)
        self.version = str(version)
        # declared types of the events' custom fields (event.metadata.<key>); None: undeclared
        self.metadata: dict[str, str] | None = _checked_metadata(metadata)
        names = [spec.name for spec in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise FeatureSetError(f"duplicate feature names: {', '.join(dupes)}")
        self.names: tuple[str, ...] = tuple(names)
        self.base: tuple[FeatureSpec, ...] = tuple(s for s in self.features if not s.is_derived and not s.is_stateful)
        # registered stateful kinds (fraudwatch.features.stateful): login risk, episodes, ...
        self.stateful: tuple[FeatureSpec, ...] = tuple(s for s in self.features if s.is_stateful)
        canonical = orjson.dumps([s.to_dict() for s in self.features], option=orjson.OPT_SORT_KEYS)
        self.digest = hashlib.sha256(canonical).hexdigest()
        self.filters: dict[str, Any] = {}
        self.exprs: dict[str, Any] = {}
        self.derived: tuple[FeatureSpec, ...] = ()
        # features computed in the second pass: those with ``of``, and derived ones reading them
        self.second_pass: frozenset[str] = frozenset()
        self._compile()
        self._check_of()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FeatureSet) and (self.version, self.features) == (other.version, other.features)

    def __hash__(self) -> int:
        return hash((self.version, self.digest))

    def __repr__(self) -> str:
        return f"FeatureSet(version={self.version!r}, features={len(self.features)}, digest={self.digest[:12]})"

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, name: str) -> FeatureSpec:
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    # ------------------------------------------------------------------ YAML
    @classmethod
    def from_dict(cls, data: Any) -> FeatureSet:
        if not isinstance(data, dict):
            raise FeatureSetError("a feature set is a mapping with 'version' and 'features'")
        unknown = sorted(set(data) - set(_TOP_KEYS))
        if unknown:
            raise FeatureSetError(
                f"unknown top-level key(s) {', '.join(map(str, unknown))}; known: {', '.join(_TOP_KEYS)}"
            )
        items = data.get("features", [] if "extends" in data else None)
        if not isinstance(items, list):
            raise FeatureSetError("'features' must be a list of feature definitions")
        specs = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FeatureSetError(f"features[{i}]: must be a mapping with a 'name'")
            unknown = sorted(set(item) - set(_SPEC_KEYS))
            if unknown:
                raise FeatureSetError(
                    f"feature {item['name']!r}: unknown key(s) {', '.join(map(str, unknown))}; "
                    f"known: {', '.join(_SPEC_KEYS)}"
                )
            specs.append(FeatureSpec(**item))
        version = data.get("version", "0")
        if not isinstance(version, (str, int, float)) or isinstance(version, bool):
            raise FeatureSetError(f"version must be text, not {version!r}")
        metadata = data.get("metadata")
        if "extends" in data:
            if data["extends"] != "default":
                raise FeatureSetError(
                    f"extends: only 'default' (the shipped feature set) can be extended, not {data['extends']!r}"
                )
            from fraudwatch.features.defaults import default_feature_set

            base = default_feature_set()
            mine = {s.name: s for s in specs}
            # overrides keep the default's place; additions follow in the file's order
            specs = [mine.pop(s.name, s) for s in base.features] + [s for s in specs if s.name in mine]
            metadata = {**(base.metadata or {}), **(metadata or {})} if metadata or base.metadata else None
        return cls(specs, version=str(version), metadata=metadata)

    @classmethod
    def from_yaml(cls, text: str) -> FeatureSet:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FeatureSetError(f"not valid YAML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        return cls.from_yaml(Path(path).read_text(encoding="utf-8"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version}
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        out["features"] = [s.to_dict() for s in self.features]
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    # ------------------------------------------------------------ expressions
    def _compile(self) -> None:
        uses = [s for s in self.features if s.filter is not None or s.is_derived]
        if not uses:
            return
        try:
            from fraudwatch.rules import compile_expression
        except ImportError as exc:  # only while fraudwatch.rules is being built
            raise FeatureSetError(f"filters and derived features need fraudwatch.rules: {exc}") from None
        from fraudwatch.errors import FraudwatchError
        from fraudwatch.rules.names import declared_metadata

        def compiled(spec: FeatureSpec, what: str, text: str) -> Any:
            try:  # a filter reads no features; a derived feature only known ones
                with declared_metadata(self.metadata):
                    return compile_expression(text, features=() if what == "filter" else known, source=spec.name)
            except FraudwatchError as exc:
                raise FeatureSetError(f"feature {spec.name!r}: {what}: {exc}") from None

        known = set(self.names)
        deps: dict[str, set[str]] = {}
        for spec in uses:
            if spec.filter is not None:
                expr = self.filters[spec.filter] = compiled(spec, "filter", spec.filter)
                other = sorted(n for n in expr.names if not n.startswith("event."))
                if other:
                    raise FeatureSetError(f"feature {spec.name!r}: filter: may read only event fields, not {other}")
            else:
                expr = self.exprs[spec.name] = compiled(spec, "expr", spec.expr or "")
                refs = {n for n in expr.names if not n.startswith("event.")}
                bad = sorted(n for n in refs if n.startswith("model.") or n not in known)
                if bad:
                    raise FeatureSetError(f"feature {spec.name!r}: expr: unknown feature(s) {', '.join(bad)}")
                deps[spec.name] = refs
        self.derived = tuple(self[name] for name in _ordered(deps))

    def _check_of(self) -> None:
        """``of`` reads a feature of the first pass; derived features reading an ``of``
        feature (directly or not) are computed in the second pass."""
        second = {s.name for s in self.base if s.of is not None}
        if not second:
            return
        for spec in self.derived:  # in dependency order: a derived feature comes after what it reads
            if any(n in second for n in self.exprs[spec.name].names):
                second.add(spec.name)
        for spec in self.base:
            if spec.of is None:
                continue
            if spec.of not in self.names:
                raise FeatureSetError(f"feature {spec.name!r}: of: unknown feature {spec.of!r}")
            if spec.of in second:
                raise FeatureSetError(
                    f"feature {spec.name!r}: of: {spec.of!r} is itself computed from an 'of' feature (one level only)"
                )
        self.second_pass = frozenset(second)


def _checked_metadata(metadata: Any) -> dict[str, str] | None:
    """``metadata:`` declares custom fields' types, e.g. ``{customer_age: number, trusted: bool}``."""
    if metadata is None:
        return None
    from fraudwatch.events.kinds import METADATA_KEY

    if not isinstance(metadata, Mapping):
        raise FeatureSetError("metadata: must map custom field names to number, string or bool")
    for key, kind in metadata.items():
        if not isinstance(key, str) or not METADATA_KEY.match(key):
            raise FeatureSetError(f"metadata: {key!r} is not a custom field name (lower-case letters, digits, _)")
        if kind not in METADATA_TYPES:
            raise FeatureSetError(f"metadata.{key}: type {kind!r} is not one of {', '.join(METADATA_TYPES)}")
    return dict(metadata)


def _ordered(deps: dict[str, set[str]]) -> list[str]:
    """Derived feature names, each after the derived features it reads; refuses cycles."""
    done: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = path[path.index(name) :] + [name]
            raise FeatureSetError(f"feature {name!r}: expr: cycle {' -> '.join(cycle)}")
        state[name] = 1
        for dep in sorted(deps[name]):
            if dep in deps:
                visit(dep, path + [name])
        state[name] = 2
        done.append(name)

    for name in deps:  # declaration order among independent features
        visit(name, [])
    return done
