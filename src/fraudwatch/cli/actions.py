"""``fraudwatch outbox list|dead-letters|retry|run``: the operator's view of deliveries.

Settings come from the ``actions`` section of the settings tree (``--config FILE`` or
``FRAUDWATCH_CONFIG``, and ``FRAUDWATCH_ACTIONS__*`` variables such as
``FRAUDWATCH_ACTIONS__DATABASE``); ``--db`` overrides the database path.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from fraudwatch.cli.config import config_option, settings
from fraudwatch.settings import ActionsSettings


def _settings(config: Path | None, db: str | None) -> ActionsSettings:
    return settings(config, {"actions": {"database": db}} if db else None).actions_resolved()


def _database(config: Path | None, db: str | None):
    from fraudwatch.actions.db import Database

    resolved = _settings(config, db)
    return Database(resolved.database_url or resolved.database)


def _print(messages, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([m.to_dict() for m in messages], indent=2))
        return
    if not messages:
        click.echo("no messages")
    for m in messages:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m.created))
        err = f"  last error: {m.last_error}" if m.last_error else ""
        click.echo(f"{m.id}  {m.status:9}  {m.channel:7}  {m.type:32}  attempts={m.attempts}  {when}Z{err}")


def db_option(command):
    command = click.option(
        "--db",
        default=None,
        help="actions database (default: the actions.database setting, <data_dir>/fraudwatch-actions.db)",
    )(command)
    return config_option(command)


@click.group("outbox")
def outbox_group() -> None:
    """Webhook and e-mail deliveries: list, dead letters, retry, run the dispatcher."""


@outbox_group.command("list")
@db_option
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]), default=None)
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(config, db, status, limit, as_json) -> None:
    """List outbox messages, newest first."""
    from fraudwatch.actions import outbox

    conn = _database(config, db).connection()
    if not as_json:
        click.echo("  ".join(f"{k}={v}" for k, v in outbox.counts(conn).items()))
    _print(outbox.list_messages(conn, status=status, limit=limit), as_json)


@outbox_group.command("dead-letters")
@db_option
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def dead_letters_cmd(config, db, limit, as_json) -> None:
    """Messages that ran out of attempts."""
    from fraudwatch.actions import outbox

    _print(outbox.list_messages(_database(config, db).connection(), status="dead", limit=limit), as_json)


@outbox_group.command("retry")
@db_option
@click.argument("ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="retry every dead letter")
def retry_cmd(config, db, ids, all_dead) -> None:
    """Send dead letters again (by id, or all with --all-dead)."""
    from fraudwatch.actions import outbox
    from fraudwatch.errors import FraudwatchError

    if not ids and not all_dead:
        raise click.UsageError("give message ids or --all-dead")
    database = _database(config, db)
    try:
        with database.unit_of_work() as conn:
            n = outbox.retry_dead(conn, now=time.time()) if all_dead else 0
            for msg_id in ids:
                outbox.retry(conn, msg_id, now=time.time())
                n += 1
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{n} message(s) queued again")


@outbox_group.command("run")
@db_option
@click.option("--once", is_flag=True, help="send what is due now, then exit")
@click.option(
    "--dev",
    is_flag=True,
    help="development (env: development): placeholder webhook secrets allowed; test data only. Without it the "
    "dispatcher refuses to start with a placeholder secret, as serve does",
)
def run_cmd(config, db, once, dev) -> None:
    """Run the dispatcher standalone until interrupted."""
    import logging

    from fraudwatch.actions.db import Database
    from fraudwatch.actions.dispatcher import Dispatcher
    from fraudwatch.errors import FraudwatchError

    overrides: dict[str, Any] = {"actions": {"database": db}} if db else {}
    if dev:
        overrides["env"] = "development"
    tree = settings(config, overrides)
    try:
        tree.check_secrets("actions")  # what it signs with: the webhook secrets
    except FraudwatchError as exc:
        raise click.ClickException(f"refusing to send: {exc}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    actions = tree.actions_resolved()
    dispatcher = Dispatcher(Database(actions.database_url or actions.database), actions)
    if once:
        total = 0
        while attempted := dispatcher.run_once():
            total += attempted
        dispatcher.stop()
        click.echo(f"{total} attempt(s) made")
        return
    click.echo(f"dispatching from {actions.database} (Ctrl-C to stop)")
    try:
        dispatcher.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()


commands = [outbox_group]
