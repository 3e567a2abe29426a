"""``fraudwatch events ...`` and ``fraudwatch import-handbook``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson


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


@click.command("import-handbook")
@click.argument("parquet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="JSON Lines output")
@click.option("--label-delay-days", default=7.0, show_default=True, help="when a fraud becomes known")
@click.option("--limit", type=int, help="only the first N transactions")
def import_handbook_command(parquet: Path, out: Path, label_delay_days: float, limit: int | None) -> None:
    """Turn the Fraud Detection Handbook's transactions into fraudwatch events."""
    from fraudwatch.events.handbook import iter_handbook_events

    count = 0
    with out.open("wb") as sink:
        for event in iter_handbook_events(parquet, label_delay_days=label_delay_days, limit=limit):
            sink.write(orjson.dumps(event) + b"\n")
            count += 1
    click.echo(f"wrote {count} events to {out}")


commands = [events_group, import_handbook_command]
