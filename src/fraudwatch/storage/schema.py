"""Versioned, forward-only schema migrations, applied with yoyo-migrations.

Each database has a set of migrations, one SQL file each, per dialect::

    migrations/<set>/<dialect>/<set>-<NNNN>-<what>.sql

Sets: ``log`` (the event log, definitions, lists, audit, keys: ``fraudwatch.db``),
``snapshots`` (SQLite only: the snapshot file beside the log; PostgreSQL keeps snapshots in
the ``log`` set) and ``actions`` (outbox, alerts, incidents and the other tables of the
domains beside the decision path: ``fraudwatch-actions.db``). On PostgreSQL all sets live
in one database, which is why a migration's id starts with its set's name.

A store checks its schema when it opens (:func:`ensure`): a database holding a migration
this release does not know (a newer release wrote it) is refused, pending migrations are
applied (or, with ``apply=False``, refused until ``fraudwatch migrate`` ran). The check is
one query on the store's own connection; yoyo (with its lock against concurrent
migrators) is loaded only when something is pending. Migrations never go backwards: there
are no rollback files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fraudwatch.errors import FraudwatchError

log = logging.getLogger("fraudwatch.storage")

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_TABLE = "_yoyo_migration"  # yoyo's own bookkeeping
LOCK_TIMEOUT = 120.0  # seconds a migrator waits for another one (several replicas starting at once)


class SchemaError(FraudwatchError):
    """The database's schema is not the one this release knows."""

    status_code = 503


def known(sets: Sequence[str], dialect: str, root: Path = MIGRATIONS) -> list[str]:
    """The migration ids of ``sets`` for ``dialect``, in the order they apply."""
    ids: list[str] = []
    for name in sets:
        folder = root / name / dialect
        if not folder.is_dir():
            raise SchemaError(f"no {dialect} migrations for {name!r} (looked in {folder})")
        ids += sorted(p.stem for p in folder.glob("*.sql"))
    return ids


def applied(conn, sets: Sequence[str]) -> list[str]:
    """The ids of ``sets``' migrations applied to the database of DB-API connection
    ``conn`` (none when it was never migrated)."""
    try:
        rows = conn.execute(f"SELECT migration_id FROM {MIGRATION_TABLE}").fetchall()
    except Exception as exc:  # the table does not exist (yet): sqlite3 and psycopg raise their own
        if "does not exist" in str(exc) or "no such table" in str(exc):
            return []
        raise
    prefixes = tuple(f"{name}-" for name in sets)
    return sorted(r[0] for r in rows if r[0].startswith(prefixes))


def ensure(
    conn, uri: str, sets: Sequence[str], dialect: str, *, apply: bool = True, root: Path = MIGRATIONS
) -> list[str]:
    """Check the schema of the database at ``uri`` (a yoyo URI; ``conn`` is a connection to
    it) and apply what is pending unless ``apply`` is False. Returns the ids applied."""
    ids = known(sets, dialect, root)
    done = applied(conn, sets)
    unknown = sorted(set(done) - set(ids))
    if unknown:
        raise SchemaError(
            f"the database has schema migrations this release of fraudwatch does not know: {', '.join(unknown)} "
            "(written by a newer release); run that release, or restore a backup"
        )
    pending = [m for m in ids if m not in done]
    if not pending:
        return []
    if not apply:
        raise SchemaError(f"schema migrations pending: {', '.join(pending)}; run 'fraudwatch migrate'")
    return migrate(uri, sets, dialect, root=root)


def migrate(uri: str, sets: Sequence[str], dialect: str, *, root: Path = MIGRATIONS) -> list[str]:
    """Apply the pending migrations of ``sets`` to the database at ``uri``, under yoyo's lock
    (another migrator waits). Returns the ids applied."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(uri, migration_table=MIGRATION_TABLE)
    try:
        migrations = read_migrations(*(str(root / name / dialect) for name in sets))
        with backend.lock(timeout=LOCK_TIMEOUT):
            todo = backend.to_apply(migrations)
            if dialect == "sqlite" and _adopt(backend, todo):
                todo = backend.to_apply(migrations)
            backend.apply_migrations(todo)
        ids = [m.id for m in todo]
        if ids:
            log.info("schema migrations applied: %s", ", ".join(ids))
        return ids
    finally:
        backend.connection.close()


def _adopt(backend: Any, todo: Sequence[Any]) -> list[str]:
    """Mark as applied the leading pending migrations whose tables and columns the database
    already has: the releases before migrations made their tables at start with ``CREATE
    TABLE IF NOT EXISTS``, in the shape of their day (and a release that recorded only the
    first of them refused the rest). Returns their ids."""
    conn = backend.connection
    present = []
    for m in todo:
        m.load()
        if not _already_there(conn, m.source):
            break
        present.append(m)
    if present:
        backend.mark_migrations(present)
        log.info("schema of a release before migrations adopted: %s", ", ".join(m.id for m in present))
    return [m.id for m in present]


def _already_there(conn: Any, sql: str) -> bool:
    """Whether every table ``sql`` creates and every column it adds exist in ``conn``'s database."""
    sql = re.sub(r"--[^\n]*", "", sql)
    creates = re.findall(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", sql, re.IGNORECASE)
    adds = re.findall(r"ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(\w+)", sql, re.IGNORECASE)
    if not creates and not adds:
        return False
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if any(t not in tables for t in creates):
        return False
    for table, column in adds:
        if table not in tables or column not in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}:
            return False
    return True


def sqlite_uri(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"
