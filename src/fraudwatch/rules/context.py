"""What an expression reads: the event, feature values, model outputs, named lists.

>>> from types import SimpleNamespace
>>> ctx = Context(event=SimpleNamespace(amount=17600), features={"card.declines_10m": 3}, model={"score": 0.4})
>>> ctx.features["card.declines_10m"], ctx.model["score"], ctx.lists is None
(3, 0.4, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["Context"]

_NO_FEATURES: Mapping[str, Any] = MappingProxyType({})  # shared, so read-only


class Context:
    """One evaluation's inputs. ``event`` is any object with attributes (an event
    model); ``features`` maps feature names to values; ``model`` maps model output
    names (``score``) to values, or is None; ``lists`` is a ListStore or None
    (then every ``in @list`` is missing). Cheap to build: one per event."""

    __slots__ = ("event", "features", "model", "lists")

    def __init__(
        self,
        event: Any = None,
        features: Mapping[str, Any] | None = None,
        model: Mapping[str, Any] | None = None,
        lists: Any = None,
    ):
        self.event = event
        self.features = features if features is not None else _NO_FEATURES
        self.model = model
        self.lists = lists

    def __repr__(self) -> str:
        return f"Context(event={self.event!r}, features={self.features!r}, model={self.model!r}, lists={self.lists!r})"
