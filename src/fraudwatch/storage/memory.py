"""In-memory backend: for tests and throwaway runs. Nothing survives the process."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from fraudwatch.errors import Conflict, ValidationFailed
from fraudwatch.storage.base import (
    ENTITY_FIELDS,
    Activation,
    ApiKey,
    AuditRecord,
    Definition,
    Entity,
    LogEntry,
    Snapshot,
    Storage,
)
from fraudwatch.storage.sqlite import KEEP_SNAPSHOTS


class _State:
    def __init__(self) -> None:
        self.log: list[LogEntry] = []
        self.by_id: dict[str, LogEntry] = {}
        self.snapshots: list[Snapshot] = []
        self.cursors: dict[str, int] = {}
        self.definitions: dict[tuple[str, str], Definition] = {}
        self.activations: list[Activation] = []
        self.lists: dict[str, set[str]] = {}
        self.audit: list[AuditRecord] = []
        self.keys: dict[str, ApiKey] = {}


class MemoryStorage(Storage):
    """
    >>> s = MemoryStorage()
    >>> with s.unit():
    ...     s.add_values("vip", ["acct_1"])
    >>> s.list_values("vip")
    ['acct_1']
    """

    def __init__(self, _shared: tuple[_State, threading.RLock] | None = None):
        self._state, self._lock = _shared or (_State(), threading.RLock())
        self._in_unit = False

    @contextmanager
    def unit(self) -> Iterator[MemoryStorage]:
        with self._lock:
            if self._in_unit:
                raise RuntimeError("units do not nest")
            saved = copy.copy(self._state.__dict__)
            saved = {k: copy.copy(v) for k, v in saved.items()}
            saved["lists"] = {k: set(v) for k, v in saved["lists"].items()}
            self._in_unit = True
            try:
                yield self
            except BaseException:
                saved["snapshots"] = self._state.snapshots  # not part of a unit
                self._state.__dict__.update(saved)
                raise
            finally:
                self._in_unit = False

    def connect(self, durable: bool = True) -> MemoryStorage:
        return MemoryStorage((self._state, self._lock))

    def close(self) -> None:
        pass

    def _w(self) -> _State:
        if not self._in_unit:
            raise RuntimeError("writes happen inside 'with storage.unit():'")
        return self._state

    # event log
    def append(self, entries: Sequence[LogEntry]) -> None:
        st = self._w()
        last = st.log[-1].seq if st.log else 0
        ids = set()
        for e in entries:
            if e.event_id in st.by_id or e.event_id in ids or e.seq <= last:
                raise Conflict(f"event id or log position already logged: {e.event_id}")
            ids.add(e.event_id)
            last = e.seq
        st.log.extend(entries)
        st.by_id.update((e.event_id, e) for e in entries)

    def last_seq(self) -> int:
        with self._lock:
            return self._state.log[-1].seq if self._state.log else 0

    def entries_after(self, seq: int, limit: int = 1000) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._state.log if e.seq > seq][:limit]

    def get_entry(self, event_id: str) -> LogEntry | None:
        return self._state.by_id.get(event_id)

    def event_ids(self) -> Iterator[str]:
        with self._lock:
            ids = [e.event_id for e in self._state.log]
        return iter(ids)

    def search(
        self,
        entity: Entity,
        value: str,
        *,
        since: float | None = None,
        until: float | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[LogEntry]:
        if entity not in ENTITY_FIELDS:
            raise ValidationFailed(f"cannot search by {entity!r}", [{"loc": "entity", "msg": "unknown entity"}])
        out = []
        with self._lock:
            for e in reversed(self._state.log):
                if len(out) >= limit:
                    break
                if getattr(e, entity) != value or (before_seq is not None and e.seq >= before_seq):
                    continue
                if (since is not None and e.ts < since) or (until is not None and e.ts >= until):
                    continue
                out.append(e)
        return out

    # followers
    def cursor(self, name: str) -> int | None:
        return self._state.cursors.get(name)

    def set_cursor(self, name: str, seq: int) -> None:
        self._w().cursors[name] = seq

    # snapshots
    def save_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:  # (not part of a unit: see Storage.save_snapshot)
            self._save_snapshot(snapshot)

    def _save_snapshot(self, snapshot: Snapshot) -> None:
        st = self._state
        st.snapshots = sorted([s for s in st.snapshots if s.seq != snapshot.seq] + [snapshot], key=lambda s: s.seq)
        st.snapshots = st.snapshots[-KEEP_SNAPSHOTS:]

    def latest_snapshot(self) -> Snapshot | None:
        return self._state.snapshots[-1] if self._state.snapshots else None

    # definitions
    def add_definition(self, definition: Definition) -> None:
        st = self._w()
        key = (definition.kind, definition.version)
        if key in st.definitions:
            raise Conflict(f"{definition.kind} version {definition.version!r} exists already")
        st.definitions[key] = definition

    def get_definition(self, kind: str, version: str) -> Definition | None:
        return self._state.definitions.get((kind, version))

    def definitions(self, kind: str) -> list[Definition]:
        with self._lock:
            return [d for (k, _), d in self._state.definitions.items() if k == kind]

    def activate(self, activation: Activation) -> None:
        self._w().activations.append(activation)

    def activations(self, kind: str) -> list[Activation]:
        with self._lock:
            return [a for a in self._state.activations if a.kind == kind]

    # lists
    def list_names(self) -> list[str]:
        return sorted(self._state.lists)

    def list_values(self, name: str) -> list[str] | None:
        values = self._state.lists.get(name)
        return None if values is None else sorted(values)

    def add_values(self, name: str, values: Iterable[str]) -> None:
        self._w().lists.setdefault(name, set()).update(values)

    def remove_values(self, name: str, values: Iterable[str]) -> None:
        self._w().lists.get(name, set()).difference_update(values)

    def replace_list(self, name: str, values: Iterable[str]) -> None:
        self._w().lists[name] = set(values)

    # audit
    def add_audit(self, record: AuditRecord) -> None:
        st = self._w()
        st.audit.append(AuditRecord(**{**_fields(record), "id": len(st.audit) + 1}))

    def audit(self, *, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._state.audit if r.id > after_id][:limit]

    # API keys
    def add_key(self, key: ApiKey) -> None:
        st = self._w()
        if key.key_id in st.keys or any(k.hash == key.hash for k in st.keys.values()):
            raise Conflict(f"key {key.key_id!r} exists already")
        st.keys[key.key_id] = key

    def keys(self) -> list[ApiKey]:
        with self._lock:
            return sorted(self._state.keys.values(), key=lambda k: (k.created_at, k.key_id))

    def key_by_hash(self, digest: bytes) -> ApiKey | None:
        with self._lock:
            return next((k for k in self._state.keys.values() if k.hash == digest), None)

    def revoke_key(self, key_id: str, at: float) -> ApiKey | None:
        st = self._w()
        key = st.keys.get(key_id)
        if key is not None and key.revoked_at is None:
            key = st.keys[key_id] = ApiKey(**{**_fields(key), "revoked_at": at})
        return key


def _fields(obj) -> dict:
    return {name: getattr(obj, name) for name in obj.__slots__}
