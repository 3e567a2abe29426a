"""``fraudwatch replay`` and ``fraudwatch bench``: run event files through the engine."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import orjson

from fraudwatch.errors import FraudwatchError
from fraudwatch.progress import progress_bar
from fraudwatch.runtime import tune_gc

_path = click.Path(exists=True, dir_okay=False, path_type=Path)


def load_events(path: Path, dead_letters: Path | None = None) -> tuple[list, int]:
    """All valid events of a JSON Lines file in event-time order (stable for equal
    times), and the number of dead letters written."""
    from fraudwatch.events.io import describe, read_event_file

    bad = 0

    def report(letter) -> None:
        nonlocal bad
        bad += 1
        if bad <= 5:
            click.echo(f"dead letter, {describe(letter)}", err=True)

    with progress_bar(total=path.stat().st_size, unit="B", desc=f"reading {path.name}") as bar:
        events = list(read_event_file(path, dead_letters, report, on_bytes=bar.update))
    times = [e.ts for e in events]
    if any(b < a for a, b in zip(times, times[1:], strict=False)):
        order = sorted(range(len(events)), key=times.__getitem__)
        events = [events[i] for i in order]
    return events, bad


def build_engine(features: Path | None, rules: Path | None, model: str | Path | None = "default"):
    """The engine with the default policy: the rules, the model with its thresholds
    (``model``: an artifact directory, ``"default"`` for the shipped one trained on the
    simulator, ``"none"`` or None for rules only) and the default response policy's
    containment lists (a confirmed fraud's card suspended, its device and IP watched)."""
    from fraudwatch import codegen
    from fraudwatch.actions.containment import Containment
    from fraudwatch.actions.policy import default_policy
    from fraudwatch.cli.config import settings
    from fraudwatch.definitions import load_features, load_rules
    from fraudwatch.engine import Engine

    configured = settings()
    codegen.set_enabled(configured.engine.codegen)
    feature_set = load_features(features)
    scorer = thresholds = None
    if model is not None and str(model) != "none":
        from fraudwatch.models import default_model_path, load_scorer

        path = default_model_path() if str(model) == "default" else Path(model)
        try:
            scorer = load_scorer(path, cache_dir=configured.cache_dir)
        except FraudwatchError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            scorer.check_features(feature_set.names)
        except FraudwatchError as exc:
            if str(model) != "default":
                raise click.ClickException(str(exc)) from None
            click.echo(f"rules only: {exc} (give --model with a model of these features)", err=True)
            scorer = None
        thresholds = getattr(scorer, "thresholds", None)
    return Engine(
        features=feature_set,
        rules=load_rules(rules),
        model=scorer,
        thresholds=thresholds,
        containment=Containment(default_policy()),
    )


_policy_options = [
    click.option("--features", type=_path, help="feature set YAML (default: the shipped default set)"),
    click.option("--rules", type=_path, help="rule file (default: the shipped default policy)"),
    click.option(
        "--model",
        default="default",
        show_default=True,
        help="model artifact directory with its thresholds; 'default': the one trained on the simulator "
        "(docs/models.md); 'none': rules only",
    ),
]


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="processes computing the features, partitioned per entity key (the output is the same)",
)


def policy_options(command):
    for option in reversed(_policy_options):
        command = option(command)
    return command


@click.command("replay")
@click.argument("events", type=_path)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="decisions, JSON Lines")
@click.option(
    "--dead-letters",
    type=click.Path(dir_okay=False, path_type=Path),
    help="rejected lines with field and reason (default: OUT with .dead-letters.jsonl, made only when there is one)",
)
@workers_option
@policy_options
def replay_command(events: Path, out: Path, dead_letters: Path | None, workers: int, features, rules, model) -> None:
    """Run an event file through the engine in event-time order and write one decision per
    event (the same bytes whatever --workers)."""
    from fraudwatch.replay import decision_record, replay

    engine = build_engine(features, rules, model)
    dead_letters = dead_letters or out.with_suffix(".dead-letters.jsonl")
    stream, bad = load_events(events, dead_letters)
    tune_gc()
    counts: dict[str, int] = {}
    duplicates = 0
    names = engine.feature_set.names
    dumps, numpy = orjson.dumps, orjson.OPT_SERIALIZE_NUMPY
    started = time.perf_counter()
    with out.open("wb") as sink, progress_bar(total=len(stream), desc="replay") as bar:
        for i, (_, decision) in enumerate(replay(engine, stream, workers), start=1):
            if not i & 4095:
                bar.update(4096)
            if decision.duplicate:
                duplicates += 1
                continue
            counts[decision.outcome.value] = counts.get(decision.outcome.value, 0) + 1
            sink.write(dumps(decision_record(decision, names), option=numpy) + b"\n")
    elapsed = time.perf_counter() - started
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    click.echo(
        f"{len(stream)} events in {elapsed:.1f} s ({len(stream) / max(elapsed, 1e-9):,.0f}/s): {outcomes}; "
        f"{duplicates} duplicate ids skipped; {bad} dead letters" + (f" in {dead_letters}" if bad else "")
    )
    sys.exit(0)


@click.command("bench")
@click.argument("source", type=_path)
@click.option("--limit", type=int, help="only the first N events")
@click.option(
    "--parsing/--no-parsing",
    default=False,
    show_default=True,
    help="time parsing and validating each event (JSON text to a checked event) with the engine, "
    "as replay and the service pay it",
)
@policy_options
def bench_command(source: Path, limit: int | None, parsing: bool, features, rules, model) -> None:
    """Replay SOURCE (JSON Lines, or the handbook's .parquet) through the engine in process
    and print events/s, per-event latency percentiles and memory per entity."""
    import statistics

    from fraudwatch.events import parse_event
    from fraudwatch.events.io import DeadLetter, describe, parse_line

    if source.suffix == ".parquet":
        from fraudwatch.importer import handbook_mapping, iter_events

        rows = iter_events(source, handbook_mapping(), limit=limit, quiet=False)
        lines = [orjson.dumps(e) for e in rows] if parsing else None
        stream = [] if parsing else [parse_event(e) for e in rows]
    elif parsing:
        with source.open("rb") as f:
            lines = [line for line in f if line.strip()][:limit]
    else:
        stream, _ = load_events(source)
        stream = stream[:limit] if limit else stream
    if parsing:  # the lines' events, parsed inside the timed loop
        stream = lines  # type: ignore[assignment]
    engine = build_engine(features, rules, model)
    tune_gc()  # as serve and replay do
    clock = time.perf_counter_ns
    if parsing:
        decide = engine.process

        def process(line: bytes) -> None:
            event = parse_line(line, 0)
            if isinstance(event, DeadLetter):
                raise click.ClickException(f"{source}: an invalid event: {describe(event)}")
            decide(event)

    else:
        process = engine.process
    latencies = [0] * len(stream)
    bar = progress_bar(total=len(stream), desc="bench")
    started = clock()
    for i, event in enumerate(stream):
        t0 = clock()
        process(event)
        latencies[i] = clock() - t0
        if not i & 16383:
            bar.update(min(i + 1, len(stream)) - bar.n)  # outside the timed call
    total = (clock() - started) / 1e9
    bar.close()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000

    report = engine.memory_report()
    click.echo(f"events:            {len(stream):,}")
    click.echo(
        f"features / rules:  {len(engine.feature_set)} / {len(engine.rules.rules)}"
        + (f" / model {engine.model.version}" if engine.model else "")
    )
    what = "parsing, validation and engine" if parsing else "engine, events parsed beforehand"
    click.echo(f"throughput:        {len(stream) / total:,.0f} events/s (one core, in process; {what})")
    click.echo(
        f"latency per event: p50 {pct(0.50):.1f} us, p99 {pct(0.99):.1f} us, p99.9 {pct(0.999):.1f} us, "
        f"mean {statistics.fmean(latencies) / 1000:.1f} us"
    )
    click.echo(f"memory:            {report.get('total_bytes', 0) / 2**20:,.1f} MiB of feature state; per entity:")
    for entity, row in report.get("by_entity", {}).items():
        if row.get("entities"):
            click.echo(f"  {entity:<24} {row['entities']:>9,} entities  {row['bytes_per_entity']:>7,} bytes each")


commands = [replay_command, bench_command]
