"""Simulated traffic with the attacks of DEVELOPERS.md, the backtest and the demo (docs/simulator.md).

Other domains (the console's demo) use the simulator through these names, imported on first
use: ``SimConfig``, ``DEMO_MIX`` and ``simulated_traffic(cfg)`` (the events and the ground
truth; the function ``fraudwatch.sim.simulate.simulate`` under a name that is not also
a module's).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"DEMO_MIX": "demo", "SimConfig": "simulate"}
__all__ = sorted([*_EXPORTS, "simulated_traffic"])


def simulated_traffic(cfg: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events of ``cfg`` (a ``SimConfig``: JSON-ready dicts in time order) and the ground truth."""
    from fraudwatch.sim.simulate import simulate

    return simulate(cfg)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudwatch.sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fraudwatch.sim.{module}"), name)
    globals()[name] = value
    return value
