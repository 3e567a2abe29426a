"""The records the storage ports hold, in fraudwatch's own types (see ``ports.py``)."""

from __future__ import annotations

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
