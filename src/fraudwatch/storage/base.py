"""The storage interface, in fraudwatch's own types: event log with decisions, snapshots,
versioned definitions, named lists, audit log and API keys.

One backend implements them all so that a unit of work (``with store.unit():``) can make
several writes atomic: an event batch with its decisions, or a rule version with its audit
record. Services never commit; whoever opens the unit does. Every write must happen inside
a unit; reads may happen anywhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

ENTITY_FIELDS = ("card", "account", "device", "ip")
Entity = Literal["card", "account", "device", "ip"]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One acknowledged event with the decision returned for it.

    ``seq`` is the log position (1, 2, ...): replay in ``seq`` order reproduces the engine
    state. ``event`` and ``decision`` are JSON bytes; ``digest`` identifies the event body
    so that a resend with another body can be refused.
    """

    seq: int
    event_id: str
    kind: str
    ts: float
    digest: bytes
    event: bytes
    decision: bytes
    outcome: str | None = None
    card: str | None = None
    account: str | None = None
    device: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    """A version of a rule set, feature set or model pointer (``kind``), as text."""

    kind: str
    version: str
    text: str
    created_at: float
    created_by: str


@dataclass(frozen=True, slots=True)
class Activation:
    kind: str
    version: str
    at: float
    by: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who changed what, when, with the state before and after (JSON-ready values)."""

    at: float
    actor: str
    action: str
    target: str
    before: Any = None
    after: Any = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    hash: bytes
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Engine state covering the log up to and including ``seq``."""

    seq: int
    data: bytes
    created_at: float = field(default=0.0)


class Storage(ABC):
    """All ports of one backend. ``connect()`` gives another handle for another thread."""

    @abstractmethod
    def unit(self) -> AbstractContextManager[Storage]:
        """One transaction: commits when the block ends, rolls back if it raises."""

    @abstractmethod
    def connect(self, durable: bool = True) -> Storage:
        """Another handle. ``durable=False``: its commits are not flushed to disk on their
        own (they are with the next durable commit); for what is only redone if lost after
        a power failure, such as a follower's position."""

    @abstractmethod
    def close(self) -> None: ...

    def opener(self) -> Callable[[], Storage] | None:
        """A picklable callable that opens a ``connect(durable=False)`` handle in another
        process (for a log follower there); None when the data lives in this process only."""
        return None

    def maintain(self) -> int:
        """Housekeeping, called about once a second from a background thread (SQLite:
        WAL checkpoint, compression dictionary). Returns what ``checkpoint`` returns."""
        return self.checkpoint()

    def checkpoint(self) -> int:
        """Copy the write-ahead log into the store, if there is one. Returns the bytes of
        write-ahead log still in use (0: none)."""
        return 0

    # event log and decisions
    @abstractmethod
    def append(self, entries: Sequence[LogEntry]) -> None: ...

    def log(self, entries: Sequence[LogEntry]) -> None:
        """``append`` in a transaction of its own: the group commit's one write."""
        with self.unit():
            self.append(entries)

    @abstractmethod
    def last_seq(self) -> int: ...
    @abstractmethod
    def entries_after(self, seq: int, limit: int = 1000) -> list[LogEntry]: ...
    @abstractmethod
    def get_entry(self, event_id: str) -> LogEntry | None: ...
    @abstractmethod
    def event_ids(self) -> Iterator[str]:
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

    # followers of the log (e.g. the actions domain): the last position each has handled
    @abstractmethod
    def cursor(self, name: str) -> int | None: ...
    @abstractmethod
    def set_cursor(self, name: str, seq: int) -> None: ...

    # snapshots
    @abstractmethod
    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Durable when it returns, and not part of any unit: a snapshot is large, and it is
        written beside the log so that the log's writer never waits for it. Call it only
        once the events up to ``snapshot.seq`` are durable."""

    @abstractmethod
    def latest_snapshot(self) -> Snapshot | None: ...

    # versioned definitions
    @abstractmethod
    def add_definition(self, definition: Definition) -> None: ...
    @abstractmethod
    def get_definition(self, kind: str, version: str) -> Definition | None: ...
    @abstractmethod
    def definitions(self, kind: str) -> list[Definition]: ...
    @abstractmethod
    def activate(self, activation: Activation) -> None: ...
    @abstractmethod
    def activations(self, kind: str) -> list[Activation]:
        """Activation history, oldest first; the last one is active."""

    def active_version(self, kind: str) -> str | None:
        history = self.activations(kind)
        return history[-1].version if history else None

    # named lists
    @abstractmethod
    def list_names(self) -> list[str]: ...
    @abstractmethod
    def list_values(self, name: str) -> list[str] | None: ...
    @abstractmethod
    def add_values(self, name: str, values: Iterable[str]) -> None: ...
    @abstractmethod
    def remove_values(self, name: str, values: Iterable[str]) -> None: ...
    @abstractmethod
    def replace_list(self, name: str, values: Iterable[str]) -> None: ...

    # audit
    @abstractmethod
    def add_audit(self, record: AuditRecord) -> None: ...
    @abstractmethod
    def audit(self, *, after_id: int = 0, limit: int = 100) -> list[AuditRecord]: ...

    # API keys
    @abstractmethod
    def add_key(self, key: ApiKey) -> None: ...
    @abstractmethod
    def keys(self) -> list[ApiKey]: ...
    @abstractmethod
    def key_by_hash(self, digest: bytes) -> ApiKey | None: ...
    @abstractmethod
    def revoke_key(self, key_id: str, at: float) -> ApiKey | None: ...
