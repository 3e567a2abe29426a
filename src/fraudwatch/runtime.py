"""Process settings for the hot path, applied by long-running commands (serve, replay,
bench), never at import.

CPython's cyclic garbage collector scans young objects every 700 allocations. Feature
state allocates steadily, so the default makes frequent collections that show up in the
latency tail. ``tune_gc`` first moves everything loaded so far out of the collector's
reach (``gc.freeze``), then makes young collections rarer. Nothing is leaked: the state
has no reference cycles to collect, and collections still run.
"""

from __future__ import annotations

import gc

__all__ = ["tune_gc", "GC_THRESHOLDS"]

GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
