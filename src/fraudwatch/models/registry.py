"""A local model registry: artifact directories under one folder, and ``registry.json``
recording the champion, the challengers (scored in shadow) and every change.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> for v in ("m1", "m2"): (root / v).mkdir(); _ = (root / v / "model.txt").write_text("")
>>> reg = ModelRegistry(root)
>>> reg.promote("m1"); reg.promote("m2"); reg.champion
'm2'
>>> reg.rollback(), reg.champion
('m1', 'm1')
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from fraudwatch.errors import Conflict, NotFound

__all__ = ["ModelRegistry"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ModelRegistry:
    """Champion and challengers over the model artifacts in ``root``.

    ``promote(v)`` makes ``v`` the champion (the previous one is kept on a stack);
    ``rollback()`` returns to the champion before; ``promote(v, challenger=True)`` adds a
    shadow challenger; ``retire(v)`` removes a challenger.
    """

    def __init__(self, root: str | Path, cache_dir: Path | None = None):
        self.root = Path(root)
        self.cache_dir = cache_dir  # compiled models (settings.cache_dir)
        self.file = self.root / "registry.json"

    # ------------------------------------------------------------ state
    def _read(self) -> dict:
        if self.file.exists():
            return json.loads(self.file.read_text())
        return {"champion": None, "champions": [], "challengers": [], "history": []}

    def _write(self, state: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".registry.", dir=self.root)
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, self.file)  # readers see the old or the new file, never half of one

    @property
    def champion(self) -> str | None:
        return self._read()["champion"]

    @property
    def challengers(self) -> list[str]:
        return list(self._read()["challengers"])

    @property
    def history(self) -> list[dict]:
        return list(self._read()["history"])

    def versions(self) -> list[dict]:
        """Every artifact in ``root`` with its role and metadata summary, oldest first."""
        state = self._read()
        out = []
        for d in sorted(p for p in self.root.iterdir() if (p / "model.txt").exists()) if self.root.exists() else []:
            meta = json.loads((d / "metadata.json").read_text()) if (d / "metadata.json").exists() else {}
            role = "champion" if d.name == state["champion"] else "challenger" if d.name in state["challengers"] else ""
            out.append(
                {
                    "version": d.name,
                    "role": role,
                    "created": meta.get("created", ""),
                    "feature_set": meta.get("feature_set", {}).get("version", ""),
                    "training_window": meta.get("training_window"),
                    "metrics": meta.get("metrics", {}),
                }
            )
        return sorted(out, key=lambda v: (v["created"], v["version"]))

    def path(self, version: str) -> Path:
        p = self.root / version
        if not (p / "model.txt").exists():
            raise NotFound(f"no model {version!r} in {self.root}")
        return p

    # ------------------------------------------------------------ changes
    def promote(self, version: str, challenger: bool = False) -> None:
        self.path(version)
        state = self._read()
        if challenger:
            if version == state["champion"]:
                raise Conflict(f"{version} is the champion; it cannot also be a challenger")
            if version not in state["challengers"]:
                state["challengers"].append(version)
            state["history"].append({"at": _now(), "action": "challenger", "version": version})
        else:
            if version == state["champion"]:
                raise Conflict(f"{version} is already the champion")
            previous = state["champion"]
            state["champion"] = version
            state["champions"].append(version)
            if version in state["challengers"]:
                state["challengers"].remove(version)
            state["history"].append({"at": _now(), "action": "promote", "version": version, "previous": previous})
        self._write(state)

    def rollback(self) -> str:
        """Make the previous champion the champion again; returns it."""
        state = self._read()
        if len(state["champions"]) < 2:
            raise Conflict("no earlier champion to roll back to")
        gone = state["champions"].pop()
        state["champion"] = state["champions"][-1]
        state["history"].append({"at": _now(), "action": "rollback", "version": state["champion"], "previous": gone})
        self._write(state)
        return state["champion"]

    def retire(self, version: str) -> None:
        """Stop a challenger's shadow scoring."""
        state = self._read()
        if version not in state["challengers"]:
            raise NotFound(f"{version!r} is not a challenger")
        state["challengers"].remove(version)
        state["history"].append({"at": _now(), "action": "retire", "version": version})
        self._write(state)

    # ------------------------------------------------------------ loading
    def load_champion(self, compiled: bool = True):
        """The champion's scorer, or None when no model was promoted."""
        from fraudwatch.models.scorer import load_scorer

        champion = self.champion
        return load_scorer(self.path(champion), compiled=compiled, cache_dir=self.cache_dir) if champion else None

    def load_challengers(self, compiled: bool = True) -> list:
        from fraudwatch.models.scorer import load_scorer

        return [load_scorer(self.path(v), compiled=compiled, cache_dir=self.cache_dir) for v in self.challengers]
