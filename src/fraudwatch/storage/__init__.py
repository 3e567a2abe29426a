"""fraudwatch.storage: the storage interface and its backends (SQLite default, memory)."""

from __future__ import annotations

from fraudwatch.storage.base import (
    ENTITY_FIELDS,
    Activation,
    ApiKey,
    AuditRecord,
    Definition,
    LogEntry,
    Snapshot,
    Storage,
)

__all__ = [
    "ENTITY_FIELDS",
    "Activation",
    "ApiKey",
    "AuditRecord",
    "Definition",
    "LogEntry",
    "Snapshot",
    "Storage",
    "open_storage",
]


def open_storage(settings) -> Storage:
    """The backend chosen by ``settings.storage.type`` (a ``fraudwatch.settings.Settings``)."""
    if settings.storage.type == "memory":
        from fraudwatch.storage.memory import MemoryStorage

        return MemoryStorage()
    from fraudwatch.storage.sqlite import SQLiteStorage

    return SQLiteStorage(settings.storage.sqlite_path(settings.data_dir), synchronous=settings.storage.synchronous)
