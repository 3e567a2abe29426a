"""``fraudwatch migrate``: bring the databases of a configuration to this release's schema."""

from __future__ import annotations

from pathlib import Path

import click


def databases(settings) -> list[tuple[str, Path | str, list[str]]]:
    """(what, SQLite file or PostgreSQL URL, migration sets) of every database a
    configuration uses."""
    if settings.storage.type == "postgresql":  # one database for all
        return [
            ("event log (PostgreSQL)", settings.storage.url, ["log"]),
            ("actions (PostgreSQL)", settings.storage.url, ["actions"]),
        ]
    log = settings.storage.sqlite_path(settings.data_dir)
    actions_path = Path(settings.actions_resolved().database)
    return [
        (f"event log ({log})", log, ["log"]),
        (
            f"snapshots ({log.stem}-snapshots{log.suffix})",
            log.with_name(f"{log.stem}-snapshots{log.suffix}"),
            ["snapshots"],
        ),
        (f"actions ({actions_path})", actions_path, ["actions"]),
    ]


@click.command("migrate")
@click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="settings file, YAML or TOML (default: $FRAUDWATCH_CONFIG); FRAUDWATCH_* variables override it",
)
@click.option("--check", is_flag=True, help="change nothing: exit 1 if a migration is pending or unknown")
def migrate(config, check) -> None:
    """Apply the pending schema migrations (forward only) to every database of the
    configuration. The service does the same at start unless ``storage.migrate_on_start``
    is false; a database written by a newer release is refused."""
    import sqlite3

    from fraudwatch.errors import FraudwatchError
    from fraudwatch.settings import load_settings
    from fraudwatch.storage import schema

    try:
        settings = load_settings(config)
    except ValueError as exc:
        raise click.ClickException(f"bad settings: {exc}") from None
    if settings.storage.type == "memory":
        raise click.ClickException("storage.type: memory has no database to migrate")
    failed = False
    for what, where, sets in databases(settings):
        if settings.storage.type == "postgresql":
            from fraudwatch.storage import postgresql

            conn, uri, dialect = postgresql.connect(where), postgresql.yoyo_uri(where), "postgresql"
        else:
            where.parent.mkdir(parents=True, exist_ok=True)
            conn, uri, dialect = sqlite3.connect(where), schema.sqlite_uri(where), "sqlite"
            conn.execute("PRAGMA journal_mode=WAL")
        try:
            done = schema.ensure(conn, uri, sets, dialect, apply=not check)
            now = schema.applied(conn, sets)
        except FraudwatchError as exc:
            click.echo(f"{what}: {exc}", err=True)
            failed = True
            continue
        finally:
            conn.close()
        state = f"applied {', '.join(done)}" if done else "up to date"
        click.echo(f"{what}: {state}; at {now[-1] if now else 'nothing'}")
    if failed:
        raise SystemExit(1)


commands = [migrate]
