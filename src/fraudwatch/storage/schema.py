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
from collections.abc import Sequence
from pathlib import Path

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
            backend.apply_migrations(todo)
        ids = [m.id for m in todo]
        if ids:
            log.info("schema migrations applied: %s", ", ".join(ids))
        return ids
    finally:
        backend.connection.close()


def sqlite_uri(path: Path | str) -> str:
    return f"sqlite:///{Path(path).resolve()}"
