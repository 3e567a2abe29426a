"""The storage ports: small interfaces in fraudwatch's own types, and the unit of work.

A ``Store`` is one backend's handle. Its ports (``store.events``, ``store.lists`` ...) read
anywhere; writes go through a unit of work, which makes them atomic: an event batch with
its decisions, or a rule version with its audit record.

    with store.unit() as uow:
        uow.definitions.add(definition)
        uow.audit.add(record)

Services never commit; whoever opens the unit does. Writing through ``store.lists`` (not
through a unit) raises. Each port is an ABC of a handful of methods so that a backend can
implement them one at a time (the SQL ones in ``sql.py`` serve SQLite and PostgreSQL), and
one contract suite (``tests/storage/test_storage_contract.py``) runs against every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from fraudwatch.storage.records import Activation, ApiKey, AuditRecord, Definition, Entity, LogEntry, Snapshot

__all__ = [
    "AuditLog",
    "Cursors",
    "Definitions",
    "EventLog",
    "Keys",
    "Lists",
    "Snapshots",
    "Store",
    "UnitOfWork",
]

WRITE_OUTSIDE_UNIT = "writes happen inside 'with store.unit() as uow:', through uow's ports"


class EventLog(ABC):
    """Acknowledged events with their decisions, in log order (``seq``)."""

    @abstractmethod
    def append(self, entries: Sequence[LogEntry]) -> None:
        """Raises ``Conflict`` for an event id or a position already logged."""

    @abstractmethod
    def last_seq(self) -> int: ...

    @abstractmethod
    def after(self, seq: int, limit: int = 1000) -> list[LogEntry]:
        """Entries with ``seq`` above ``seq``, in log order."""

    @abstractmethod
    def get(self, event_id: str) -> LogEntry | None: ...

    @abstractmethod
    def ids(self) -> Iterator[str]:
        """Every logged event id, in log order."""

    @abstractmethod
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
        """Entries naming ``entity == value`` with ``since <= ts < until``, newest first,
        only those with ``seq < before_seq`` (the pagination cursor)."""


class Cursors(ABC):
    """The last log position each follower of the log (e.g. the actions domain) handled."""

    @abstractmethod
    def get(self, name: str) -> int | None: ...

    @abstractmethod
    def set(self, name: str, seq: int) -> None: ...


class Snapshots(ABC):
    """Engine state covering the log up to a position. Not part of any unit: a snapshot is
    large and written beside the log, so that the log's writer never waits for it."""

    @abstractmethod
    def save(self, snapshot: Snapshot) -> None:
        """Durable when it returns. Call it only once the events up to ``snapshot.seq`` are."""

    @abstractmethod
    def latest(self) -> Snapshot | None: ...


class Definitions(ABC):
    """Versions of rule sets, feature sets and model pointers (``kind``), and which is active."""

    @abstractmethod
    def add(self, definition: Definition) -> None:
        """Raises ``Conflict`` for a version that exists already."""

    @abstractmethod
    def get(self, kind: str, version: str) -> Definition | None: ...

    @abstractmethod
    def versions(self, kind: str) -> list[Definition]:
        """Oldest first."""

    @abstractmethod
    def activate(self, activation: Activation) -> None: ...

    @abstractmethod
    def activations(self, kind: str) -> list[Activation]:
        """Activation history, oldest first; the last one is active."""

    def active_version(self, kind: str) -> str | None:
        history = self.activations(kind)
        return history[-1].version if history else None


class Lists(ABC):
    """Named sets of values (blocked IPs, VIP accounts) that rules refer to."""

    @abstractmethod
    def names(self) -> list[str]: ...

    @abstractmethod
    def values(self, name: str) -> list[str] | None:
        """Sorted; None for a list that does not exist (an empty one is ``[]``)."""

    @abstractmethod
    def add(self, name: str, values: Iterable[str]) -> None:
        """Creates the list if needed."""

    @abstractmethod
    def remove(self, name: str, values: Iterable[str]) -> None: ...

    @abstractmethod
    def replace(self, name: str, values: Iterable[str]) -> None:
        """Creates the list if needed."""


class AuditLog(ABC):
    """Who changed what, when, with the state before and after."""

    @abstractmethod
    def add(self, record: AuditRecord) -> None: ...

    @abstractmethod
    def records(self, *, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        """Oldest first, with their ``id`` (the pagination cursor)."""


class Keys(ABC):
    """API keys, stored as keyed hashes."""

    @abstractmethod
    def add(self, key: ApiKey) -> None:
        """Raises ``Conflict`` for a key id or hash that exists already."""

    @abstractmethod
    def all(self) -> list[ApiKey]: ...

    @abstractmethod
    def by_hash(self, digest: bytes) -> ApiKey | None: ...

    @abstractmethod
    def revoke(self, key_id: str, at: float) -> ApiKey | None:
        """The key as it is now (revoked at ``at`` unless it was before); None if unknown."""


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """The write side of the ports, inside one transaction (see ``Store.unit``). Reads
    through it see the unit's own writes."""

    events: EventLog
    cursors: Cursors
    definitions: Definitions
    lists: Lists
    audit: AuditLog
    keys: Keys


class LeaderLock(ABC):
    """Held by the one decision service that decides and logs events on a shared store."""

    @abstractmethod
    def acquire(self) -> bool | None:
        """Take the lock if it is free: True when this process holds it (also when it already
        did), False when another does, None when the store could not be reached."""

    @abstractmethod
    def held(self) -> bool:
        """Whether the lock is still this process's (False once its connection was lost)."""

    @abstractmethod
    def fence(self, store: Store) -> None:
        """Make ``store``'s group commits fail unless this lock is held when they commit."""

    @abstractmethod
    def close(self) -> None: ...


class Store(ABC):
    """One backend's handle: the ports for reading, units of work for writing.
    ``connect()`` gives another handle, for another thread."""

    events: EventLog
    cursors: Cursors
    snapshots: Snapshots
    definitions: Definitions
    lists: Lists
    audit: AuditLog
    keys: Keys

    @abstractmethod
    def unit(self) -> AbstractContextManager[UnitOfWork]:
        """One transaction: commits when the block ends, rolls back if it raises. Units do
        not nest."""

    def log(self, entries: Sequence[LogEntry]) -> None:
        """Append ``entries`` in a transaction of their own: the group commit's one write."""
        with self.unit() as uow:
            uow.events.append(entries)

    @abstractmethod
    def connect(self, durable: bool = True) -> Store:
        """Another handle. ``durable=False``: its commits need not be flushed to disk on
        their own (they are with the next durable commit); for what is only redone if lost
        after a power failure, such as a follower's position."""

    @abstractmethod
    def close(self) -> None: ...

    def leader_lock(self) -> LeaderLock | None:
        """The lock that makes one decision service at a time the writer of this store's
        log (the others stand by); None when the store cannot be shared between processes."""
        return None

    def opener(self) -> Callable[[], Store] | None:
        """A picklable callable that opens a ``connect(durable=False)`` handle in another
        process (for a log follower there); None when the data lives in this process only."""
        return None

    def maintain(self) -> int:
        """Housekeeping, called about once a second from a background thread (SQLite: WAL
        checkpoint, compression dictionary). Returns what ``checkpoint`` returns."""
        return self.checkpoint()

    def checkpoint(self) -> int:
        """Copy the write-ahead log into the store, if there is one. Returns the bytes of
        write-ahead log still in use (0: none)."""
        return 0
