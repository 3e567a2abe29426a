"""Stateful feature kinds: features whose state is more than a window over one entity's
events (a login history compared across every account, an episode, a failure streak with
its lockout), declared in the feature set like any other feature and computed by a class
registered under the ``agg`` name.

A kind is a class with this shape (see ``fraudwatch.ato.features`` for the ones shipped):

- ``Kind(spec, lateness)``; ``Kind.check_options(options) -> dict`` validates ``spec.options``
  (raise InvalidValue naming the option);
- ``listens``: the event kinds it reads (``spec.kinds`` are those that get its value);
- ``process(event, ts, out)``: write the value as of ``ts`` into ``out`` (point in time),
  then update the state with the event;
- ``decided(event, ts, outcome)``: the engine's outcome for the event just processed
  (``"allow"``, ``"challenge"``, ...): a kind may let an event count only once it was
  allowed, or once its step-up passed;
- ``sweep(now)``, ``dump() -> plain data``, ``load(state)``, ``memory() -> dict``.

Kinds are named here and imported on first use, so the feature language does not depend on
the domains that implement them.
"""

from __future__ import annotations

import importlib
from typing import Any

from fraudwatch.errors import InvalidValue

__all__ = ["STATEFUL_KINDS", "stateful_kind", "is_stateful"]

# agg name -> "module:Class"
STATEFUL_KINDS: dict[str, str] = {
    "login_risk": "fraudwatch.ato.features:LoginRisk",
    "takeover": "fraudwatch.ato.features:Takeover",
    "failure_streak": "fraudwatch.ato.features:FailureStreak",
}


def is_stateful(agg: Any) -> bool:
    return isinstance(agg, str) and agg in STATEFUL_KINDS


def stateful_kind(agg: str | None) -> Any:
    """The class implementing a stateful ``agg``."""
    if agg is None or agg not in STATEFUL_KINDS:
        raise InvalidValue(f"agg {agg!r} is not a stateful feature kind")
    module, _, name = STATEFUL_KINDS[agg].partition(":")
    return getattr(importlib.import_module(module), name)
