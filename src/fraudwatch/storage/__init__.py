"""fraudwatch.storage: the storage ports (``ports.py``) and their backends: SQLite (the
embedded default), a throwaway in-memory store, PostgreSQL; the schema migrations
(``schema.py``)."""

from __future__ import annotations

from fraudwatch.storage.ports import (
    AuditLog,
    Cursors,
    Definitions,
    EventLog,
    Keys,
    LeaderLock,
    Lists,
    Snapshots,
    Store,
    UnitOfWork,
)
from fraudwatch.storage.records import (
    ENTITY_FIELDS,
    Activation,
    ApiKey,
    AuditRecord,
    Definition,
    LogEntry,
    Snapshot,
)

__all__ = [
    "ENTITY_FIELDS",
    "Activation",
    "ApiKey",
    "AuditLog",
    "AuditRecord",
    "Cursors",
    "Definition",
    "Definitions",
    "EventLog",
    "Keys",
    "LeaderLock",
    "Lists",
    "LogEntry",
    "Snapshot",
    "Snapshots",
    "Store",
    "UnitOfWork",
    "domain_connection",
    "ensure_schema",
    "open_storage",
]


def open_storage(settings) -> Store:
    """The backend chosen by ``settings.storage.type`` (a ``fraudwatch.settings.Settings``),
    its schema checked (and migrated when ``storage.migrate_on_start``)."""
    from fraudwatch.storage.sqlite import MemoryStore, SQLiteStore

    if settings.storage.type == "memory":
        return MemoryStore()
    if settings.storage.type == "postgresql":
        from fraudwatch.storage.postgresql import PostgresStore

        return PostgresStore(settings.storage.url, migrate=settings.storage.migrate_on_start)
    return SQLiteStore(
        settings.storage.sqlite_path(settings.data_dir),
        synchronous=settings.storage.synchronous,
        migrate=settings.storage.migrate_on_start,
    )


def ensure_schema(conn, target: str, sets: list[str], *, apply: bool = True) -> list[str]:
    """Check the schema of a domain's database (``target``: a SQLite file, or a
    ``postgresql://`` URL; ``conn`` a connection to it) against the migration ``sets`` and
    apply what is pending unless ``apply`` is False (see ``schema.py``). Returns the ids applied."""
    from fraudwatch.storage import schema

    if target.startswith(("postgresql://", "postgres://")):
        from fraudwatch.storage.postgresql import yoyo_uri

        return schema.ensure(conn, yoyo_uri(target), sets, "postgresql", apply=apply)
    return schema.ensure(conn, schema.sqlite_uri(target), sets, "sqlite", apply=apply)


def domain_connection(url: str):
    """A PostgreSQL connection for a domain's SQL services, with what they use of a
    ``sqlite3.Connection`` (``postgresql.Connection``)."""
    from fraudwatch.storage.postgresql import Connection

    return Connection(url)
