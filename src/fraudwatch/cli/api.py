"""``fraudwatch serve``, ``fraudwatch consume`` and ``fraudwatch keys``."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from fraudwatch.cli.config import config_option, settings
from fraudwatch.errors import FraudwatchError


def _settings(
    config: Path | None,
    host: str | None = None,
    port: int | None = None,
    data_dir: Path | None = None,
    storage: str | None = None,
    stream: str | None = None,
    dev: bool = False,
):
    server = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    overrides: dict = {"server": server, **({"data_dir": data_dir} if data_dir is not None else {})}
    if storage is not None:
        overrides["storage"] = {"type": "postgresql", "url": storage}
    if stream is not None:
        overrides["stream"] = {"url": stream}
    if dev:
        overrides["env"] = "development"
    return settings(config, overrides)


def _serve_options(command):
    """The options ``serve`` and ``consume`` share."""
    for option in reversed(
        [
            config_option,
            click.option("--host", help="interface to bind (default from settings: 127.0.0.1)"),
            click.option("--port", type=int, help="port (default from settings: 8000; 0 picks a free one)"),
            click.option(
                "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="where the SQLite file lives"
            ),
            click.option(
                "--storage",
                metavar="URL",
                help="the event log, definitions and actions data in PostgreSQL: postgresql://user@host:port/database "
                "(default from settings: SQLite files in the data dir)",
            ),
            click.option(
                "--dev",
                is_flag=True,
                help="development (env: development): placeholder secrets allowed; test data only. Without it the "
                "service refuses to start with placeholder or missing secrets",
            ),
        ]
    ):
        command = option(command)
    return command


@click.command("serve")
@_serve_options
@click.option(
    "--stream",
    metavar="URL",
    help="also decide the events of a stream, read by a consumer group: a Redis or Valkey stream "
    "(redis://host:port/db) or Kafka topics (kafka://host:port); names and group from the stream settings",
)
def serve(config, host, port, data_dir, storage, stream, dev) -> None:
    """Run the decision service: in-process engine, SQLite storage, nothing else to start."""
    _serve(_settings(config, host=host, port=port, data_dir=data_dir, storage=storage, stream=stream, dev=dev))


@click.command("consume")
@click.argument("url")
@_serve_options
def consume(url, config, host, port, data_dir, storage, dev) -> None:
    """Decide the events of Kafka topics (URL kafka://host:port) or a Redis stream (redis://host:port/db)
    with a consumer group, and publish each decision (or error) to the decisions topic or stream.

    Topics, group and batch come from the stream settings (stream.topics, stream.decisions_topic,
    stream.group). This is `fraudwatch serve --stream URL`: the HTTP API runs beside the consumer, for
    /readyz, /metrics and the management endpoints."""
    _serve(_settings(config, host=host, port=port, data_dir=data_dir, storage=storage, stream=url, dev=dev))


def _serve(settings) -> None:
    import logging
    import sys

    import uvicorn

    from fraudwatch.api.app import create_app

    try:
        settings.check_secrets()
    except FraudwatchError as exc:
        raise click.ClickException(f"refusing to serve: {exc}") from None
    # background threads (group commit, log followers) hold the GIL for at most 0.5 ms
    # before the event loop gets it back (default 5 ms: a latency tail of its own)
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        loop="uvloop",
        http="httptools",
        workers=1,  # one process owns the engine state
        access_log=settings.server.access_log,
        log_level="info",
        timeout_graceful_shutdown=10,
    )


def _actor() -> str:
    """Who runs the CLI, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


@click.group("keys")
def keys() -> None:
    """Create, list and revoke API keys (stored hashed; a key is shown once)."""


def _storage(config):
    from fraudwatch.errors import FraudwatchError
    from fraudwatch.storage import open_storage

    settings = _settings(config)
    try:
        settings.check_secrets()  # a key hashed with a placeholder pepper would be worthless
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.storage.type == "memory":
        raise click.ClickException("keys need persistent storage (storage.type: sqlite)")
    try:
        return settings, open_storage(settings)
    except FraudwatchError as exc:  # e.g. a schema this release does not know
        raise click.ClickException(str(exc)) from None


@keys.command("create")
@config_option
@click.option("--name", required=True, help="who uses the key, e.g. checkout-service")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["ingest", "read", "analyst", "admin"]),
    help="repeat for several scopes",
)
def keys_create(config, name, scopes) -> None:
    """Create a key and print it (only now)."""
    from fraudwatch.api.auth import create_key
    from fraudwatch.errors import FraudwatchError

    settings, storage = _storage(config)
    try:
        with storage.unit() as uow:
            clear, key = create_key(
                uow,
                name=name,
                scopes=list(scopes),
                actor=_actor(),
                pepper=settings.security.key_pepper.get_secret_value().encode(),
            )
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        storage.close()
    click.echo(f"key_id: {key.key_id}  name: {key.name}  scopes: {','.join(key.scopes)}", err=True)
    click.echo(clear)


@keys.command("list")
@config_option
def keys_list(config) -> None:
    """List keys (never their secrets)."""
    import datetime as dt

    _, storage = _storage(config)
    for k in storage.keys.all():
        created = dt.datetime.fromtimestamp(k.created_at, dt.UTC).isoformat(timespec="seconds")
        state = "revoked" if k.revoked_at else "active"
        click.echo(f"{k.key_id}\t{k.name}\t{','.join(k.scopes)}\t{created}\t{state}")
    storage.close()


@keys.command("revoke")
@config_option
@click.argument("key_id")
def keys_revoke(config, key_id) -> None:
    """Revoke a key by its id (takes effect within a second on a running server)."""
    from fraudwatch.api.auth import revoke_key
    from fraudwatch.errors import FraudwatchError

    _, storage = _storage(config)
    try:
        with storage.unit() as uow:
            revoke_key(uow, key_id=key_id, actor=_actor())
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        storage.close()
    click.echo(f"revoked {key_id}")


commands = [serve, consume, keys]
