"""Progress bars for long commands: rate and ETA on a terminal, nothing in logs and CI.

Every command that can run over a minute (import, replay, bench, train, evaluate,
simulate, backtest, the breached-password import) shows its progress through
:func:`progress_bar`, so they look and behave the same: a ``tqdm`` bar on standard error
when it is a terminal, no output at all when it is not (a pipe, a log file, CI) or when
``quiet`` is set.

>>> with progress_bar(total=3, unit="events", desc="replay", quiet=True) as bar:
...     for _ in range(3):
...         bar.update(1)
>>> list(progress_bar([1, 2, 3], unit="events", quiet=True))
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: float | None = None,
    unit: str = "events",
    desc: str | None = None,
    quiet: bool = False,
) -> Any:
    """A ``tqdm`` bar over ``iterable`` (or updated by hand with ``bar.update(n)``); ``total``
    gives the ETA (default: ``len(iterable)`` when it has one)."""
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (CI, pipes, tests)
    return tqdm(
        iterable,
        total=total,
        unit=unit,
        unit_scale=True,
        desc=desc,
        disable=True if quiet else None,
        leave=False,
        dynamic_ncols=True,
    )
