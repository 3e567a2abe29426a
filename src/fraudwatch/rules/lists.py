"""Named lists (allow/block lists) that can change while the engine runs.

Reads take no lock: each list is a Python set, a membership test is one O(1)
``in`` that the interpreter runs atomically, and ``replace`` swaps in a whole new
set. Writers serialize on one lock and bump the list's version.

>>> store = ListStore({"blocked_ips": ["203.0.113.7"]})
>>> store.contains("blocked_ips", "203.0.113.7"), store.contains("blocked_ips", "198.51.100.1")
(True, False)
>>> store.add("blocked_ips", "198.51.100.1")  # the list's new version
2
>>> store.contains("nope", "x") is None     # unknown list: the rule sees missing
True
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["ListStore"]

Item = str | int | float


class ListStore:
    """Thread-safe named sets of strings or numbers, with a version per list.

    A list name is what rules write after ``@`` (``@blocked_ips`` is ``blocked_ips``).
    """

    def __init__(self, lists: dict[str, Iterable[Item]] | None = None):
        self._lock = threading.Lock()
        self._sets: dict[str, set[Any]] = {}
        self._versions: dict[str, int] = {}
        for name, items in (lists or {}).items():
            self.replace(name, items)

    def contains(self, name: str, value: Item) -> bool | None:
        """Whether ``value`` is in list ``name``; None when there is no such list."""
        items = self._sets.get(name)
        if items is None:
            return None
        try:
            return value in items
        except TypeError:  # unhashable value: it cannot be in the list
            return False

    def replace(self, name: str, items: Iterable[Item]) -> int:
        """Set the whole list (creating it); returns the new version."""
        new = {_check(v) for v in items}
        with self._lock:
            self._sets[name] = new  # one reference swap: readers see old or new, never half
            return self._bump(name)

    def add(self, name: str, *items: Item) -> int:
        """Add items (creating the list); returns the new version."""
        checked = [_check(v) for v in items]
        with self._lock:
            target = self._sets.get(name)
            if target is None:
                self._sets[name] = target = set()
            target.update(checked)
            return self._bump(name)

    def remove(self, name: str, *items: Item) -> int:
        """Remove items if present; returns the new version. KeyError for an unknown list."""
        with self._lock:
            target = self._sets[name]
            target.difference_update(items)
            return self._bump(name)

    def delete(self, name: str) -> None:
        """Drop a whole list; rules using it see missing from then on."""
        with self._lock:
            self._sets.pop(name, None)
            self._versions.pop(name, None)

    def get(self, name: str) -> frozenset[Any] | None:
        """A snapshot of the list, or None."""
        with self._lock:
            items = self._sets.get(name)
            return frozenset(items) if items is not None else None

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._sets)

    def version(self, name: str) -> int:
        """Changes made to the list so far (0 for an unknown list)."""
        return self._versions.get(name, 0)

    def _bump(self, name: str) -> int:
        self._versions[name] = version = self._versions.get(name, 0) + 1
        return version

    def __repr__(self) -> str:
        return f"ListStore({', '.join(f'{n}: {len(s)}' for n, s in sorted(self._sets.items()))})"


def _check(value: Item) -> Item:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"list items are strings or numbers, not {type(value).__name__}")
    return value
