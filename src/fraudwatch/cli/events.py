"""``fraudwatch events ...``, ``fraudwatch import`` and ``fraudwatch import-handbook``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from fraudwatch.cli.config import config_option


@click.group("events")
def events_group() -> None:
    """Event format: schema and validation."""


@events_group.command("schema")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write here instead of stdout")
def schema_command(out: Path | None) -> None:
    """Print the JSON Schema of one event (generated from the code)."""
    from fraudwatch.events.kinds import json_schema

    text = orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    if out:
        out.write_text(text)
    else:
        click.echo(text, nl=False)


@events_group.command("validate")
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dead-letters", type=click.Path(dir_okay=False, path_type=Path), help="write rejected lines here")
def validate_command(events: Path, dead_letters: Path | None) -> None:
    """Check a JSON Lines event file; print each rejected line's field and reason."""
    from fraudwatch.events.io import describe, read_event_file

    bad = 0

    def report(letter) -> None:
        nonlocal bad
        bad += 1
        if bad <= 20:
            click.echo(describe(letter), err=True)

    good = sum(1 for _ in read_event_file(events, dead_letters, report))
    click.echo(f"{good} valid events, {bad} rejected")
    sys.exit(1 if bad else 0)


def _run_import(
    source: Path, mapping, out: Path, report_path: Path | None, rejects: Path | None, limit, quiet, config, real=True
):
    from fraudwatch.cli.config import settings
    from fraudwatch.errors import FraudwatchError
    from fraudwatch.events import Tokenizer
    from fraudwatch.importer import format_report, import_file

    tree = settings(config)
    if real:  # a real history may hold card numbers in any column: a token under a known key reverses
        try:
            tree.check_secrets("security.token_key")
        except FraudwatchError as exc:
            raise click.ClickException(f"refusing to import: {exc}") from None
    key = tree.security.token_key.get_secret_value().encode()
    try:
        report = import_file(source, mapping, out, tokenizer=Tokenizer(key), rejects=rejects, limit=limit, quiet=quiet)
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_report(report))
    if report_path is not None:
        report_path.write_bytes(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    if not sum(report.events_written.values()):
        raise click.ClickException("no event written")


_out = click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSON Lines events")
_report = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="also write the report as JSON"
)
_rejects = click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="rejected rows as JSON Lines: row, column, field, reason (card numbers redacted)",
)
_limit = click.option("--limit", type=int, help="only the first N rows")
_quiet = click.option("--quiet", is_flag=True, help="no progress bar (there is none when not on a terminal)")


@click.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="which column gives each field of each event kind, with conversions (docs/import.md)",
)
@_out
@_report
@_rejects
@_limit
@_quiet
@config_option
def import_command(source, mapping_path, out, report_path, rejects, limit, quiet, config) -> None:
    """Turn a payment history (CSV, Parquet or JSON Lines) into fraudwatch events through a
    mapping file, streaming; card numbers are tokenized with security.token_key on the way in.
    Prints a report: rows read, events written, rows rejected with column and reason, the
    share of empty fields, the time range."""
    from fraudwatch.errors import FraudwatchError
    from fraudwatch.importer import load_mapping

    try:
        mapping = load_mapping(mapping_path)
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    _run_import(source, mapping, out, report_path, rejects, limit, quiet, config)


@click.command("import-handbook")
@click.argument("parquet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_out
@click.option("--label-delay-days", default=7.0, show_default=True, help="when a fraud becomes known")
@_limit
@_quiet
@config_option
def import_handbook_command(parquet: Path, out: Path, label_delay_days: float, limit, quiet, config) -> None:
    """Turn the Fraud Detection Handbook's transactions into fraudwatch events: `fraudwatch
    import` with the mapping src/fraudwatch/importer/handbook.yaml."""
    from fraudwatch.importer import handbook_mapping

    # public data without card numbers: no token key needed
    _run_import(parquet, handbook_mapping(label_delay_days), out, None, None, limit, quiet, config, real=False)


commands = [events_group, import_command, import_handbook_command]
