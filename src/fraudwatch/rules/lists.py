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

An entry can also hold for a span of event time, with a reason (a card suspended after a
confirmed fraud); rules ask at the event's time, so a replay sees what the live run saw:

>>> _ = store.add_entry("suspended_cards", "tok_1", since=100.0, until=200.0, reason="cardholder: not me")
>>> [store.contains("suspended_cards", "tok_1", at) for at in (99.0, 100.0, 199.0, 200.0)]
[False, True, True, False]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fraudwatch.errors import InvalidValue

__all__ = ["Entry", "ListStore"]

Item = str | int | float


@dataclass(frozen=True, slots=True)
class Entry:
    """A list entry that holds for event times ``since <= t < until``."""

    value: Item
    since: float
    until: float
    reason: str = ""
    event: str | None = None  # the event that put it there

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ListStore:
    """Thread-safe named sets of strings or numbers, with a version per list.

    A list name is what rules write after ``@`` (``@blocked_ips`` is ``blocked_ips``).
    """

    def __init__(self, lists: dict[str, Iterable[Item]] | None = None):
        self._lock = threading.Lock()
        self._sets: dict[str, set[Any]] = {}
        self._timed: dict[str, dict[Item, Entry]] = {}  # entries for a span of event time
        self._versions: dict[str, int] = {}
        for name, items in (lists or {}).items():
            self.replace(name, items)

    def contains(self, name: str, value: Item, at: float | None = None) -> bool | None:
        """Whether ``value`` is in list ``name`` at event time ``at`` (None: any time);
        None when there is no such list."""
        items = self._sets.get(name)
        try:
            if items is not None and value in items:
                return True
            timed = self._timed.get(name)
            if timed is None:
                return None if items is None else False
            entry = timed.get(value)
        except TypeError:  # unhashable value: it cannot be in the list
            return False
        return entry is not None and (at is None or entry.since <= at < entry.until)

    def add_entry(
        self, name: str, value: Item, *, since: float, until: float, reason: str = "", event: str | None = None
    ) -> Entry:
        """Put ``value`` on list ``name`` for event times ``[since, until)`` (creating the
        list). An entry already there is extended: the earlier start, the later end, the
        newer reason. Returns the entry now in force."""
        value = _check(value)
        with self._lock:
            timed = self._timed.setdefault(name, {})
            old = timed.get(value)
            entry = Entry(value, since, until, reason, event)
            if old is not None:
                entry = Entry(
                    value, min(old.since, since), max(old.until, until), reason or old.reason, event or old.event
                )
            timed[value] = entry
            self._bump(name)
            return entry

    def entries(self, name: str) -> list[Entry]:
        """The timed entries of list ``name`` (expired ones too: they answer for past event times)."""
        with self._lock:
            return sorted(self._timed.get(name, {}).values(), key=lambda e: (e.since, str(e.value)))

    def prune(self, before: float) -> int:
        """Forget timed entries that ended before event time ``before``; returns how many."""
        with self._lock:
            gone = 0
            for name, timed in self._timed.items():
                old = [v for v, e in timed.items() if e.until < before]
                for v in old:
                    del timed[v]
                if old:
                    gone += len(old)
                    self._bump(name)
            return gone

    def timed_state(self) -> dict[str, list[tuple[Any, ...]]]:
        """The timed entries as plain data, for the engine's snapshot."""
        with self._lock:
            return {
                n: [(e.value, e.since, e.until, e.reason, e.event) for e in t.values()] for n, t in self._timed.items()
            }

    def restore_timed(self, state: dict[str, list[tuple[Any, ...]]]) -> None:
        """Replace the timed entries with those of ``timed_state()``."""
        with self._lock:
            self._timed = {n: {row[0]: Entry(*row) for row in rows} for n, rows in state.items()}
            for name in self._timed:
                self._bump(name)

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
        """Remove items if present (timed entries too); returns the new version. KeyError
        for an unknown list."""
        with self._lock:
            if name not in self._sets and name not in self._timed:
                raise KeyError(name)
            self._sets.get(name, set()).difference_update(items)
            timed = self._timed.get(name, {})
            for item in items:
                timed.pop(item, None)
            return self._bump(name)

    def delete(self, name: str) -> None:
        """Drop a whole list; rules using it see missing from then on."""
        with self._lock:
            self._sets.pop(name, None)
            self._timed.pop(name, None)
            self._versions.pop(name, None)

    def get(self, name: str) -> frozenset[Any] | None:
        """A snapshot of the list, or None."""
        with self._lock:
            items = self._sets.get(name)
            return frozenset(items) if items is not None else None

    def names(self) -> list[str]:
        with self._lock:
            return sorted(set(self._sets) | set(self._timed))

    def version(self, name: str) -> int:
        """Changes made to the list so far (0 for an unknown list)."""
        return self._versions.get(name, 0)

    def _bump(self, name: str) -> int:
        self._versions[name] = version = self._versions.get(name, 0) + 1
        return version

    @classmethod
    def load_dir(cls, directory: str | Path) -> ListStore:
        r"""One list per file of ``directory``: ``blocked_ips.txt`` (or any ``NAME.txt`` /
        ``NAME.list``) is ``@blocked_ips``, one item per line, ``#`` starts a comment, blank
        lines skipped. Items are text (a card token, an IP, a domain, a BIN).

        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "blocked_ips.txt").write_text("# from the incident of 11-21\n203.0.113.7\n\n198.51.100.1  # tor\n")
        >>> store = ListStore.load_dir(d)
        >>> store.names(), sorted(store.get("blocked_ips"))
        (['blocked_ips'], ['198.51.100.1', '203.0.113.7'])
        """
        import re

        root = Path(directory)
        if not root.is_dir():
            raise InvalidValue(f"lists: {directory} is not a directory of list files (NAME.txt, one item a line)")
        lists: dict[str, Iterable[Item]] = {}
        for path in sorted(root.iterdir()):
            if path.suffix not in (".txt", ".list") or not path.is_file():
                continue
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", path.stem):
                raise InvalidValue(
                    f"lists: {path.name}: a list name is letters, digits and _ (it is read as @{path.stem})"
                )
            lines = path.read_text(encoding="utf-8").splitlines()
            lists[path.stem] = [item for line in lines if (item := line.split("#", 1)[0].strip())]
        return cls(lists)

    def __repr__(self) -> str:
        sizes = {n: len(s) for n, s in self._sets.items()}
        for n, t in self._timed.items():
            sizes[n] = sizes.get(n, 0) + len(t)
        return f"ListStore({', '.join(f'{n}: {k}' for n, k in sorted(sizes.items()))})"


def _check(value: Item) -> Item:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"list items are strings or numbers, not {type(value).__name__}")
    return value
