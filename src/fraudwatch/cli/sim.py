"""``fraudwatch simulate``, ``fraudwatch backtest`` and ``fraudwatch demo``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from fraudwatch.cli.engine import build_engine, load_events, policy_options
from fraudwatch.progress import progress_bar


@click.command()
@click.option("--seed", default=7, show_default=True, help="Same seed, same bytes.")
@click.option("--cardholders", default=10_000, show_default=True, help="Size of the genuine population.")
@click.option("--days", default=30, show_default=True, help="Days of traffic with attacks.")
@click.option("--warmup", default=7, show_default=True, help="Days of genuine-only history before them.")
@click.option(
    "--mix",
    default="default",
    show_default=True,
    help="Attack episodes per 10,000 cardholders per 30 days: 'default', 'none', "
    "'card_testing=60,leaked_card=0', or 'only:ato_gift_card=40'.",
)
@click.option("--start", default="2026-11-01T00:00:00+09:00", show_default=True, help="First measured instant.")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Events (JSON Lines); the ground truth goes beside it as NAME.truth.json.",
)
def simulate(seed: int, cardholders: int, days: int, warmup: int, mix: str, start: str, out_path: str) -> None:
    """Write a seeded, labeled stream of genuine traffic and attacks, in event-time order."""
    import orjson

    from fraudwatch.sim.simulate import SimConfig, parse_mix, truth_path, write_jsonl
    from fraudwatch.sim.simulate import simulate as run

    try:
        cfg = SimConfig(seed=seed, cardholders=cardholders, days=days, mix=parse_mix(mix), start=start, warmup=warmup)
        began = time.perf_counter()
        events, truth = run(cfg)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with open(out_path, "wb") as out:
        n = write_jsonl(events, out)
    with open(truth_path(out_path), "wb") as out:
        out.write(orjson.dumps(truth, option=orjson.OPT_INDENT_2))
    click.echo(
        f"{n:,} events, {len(truth['instances'])} attack episodes -> {out_path} "
        f"(+ {truth_path(out_path)}) in {time.perf_counter() - began:.1f} s",
        err=True,
    )


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="ground truth (default: EVENTS' NAME.truth.json beside it, if there)",
)
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="write the report as JSON")
@click.option("--details", is_flag=True, help="also list the rules that fired on genuine payments and on attacks")
@click.option(
    "--step-ups/--no-step-ups",
    default=True,
    show_default=True,
    help="answer each challenge as the simulated person would (genuine customers pass, attackers abandon or fail)",
)
@policy_options
def backtest(
    events: Path, truth: Path | None, json_out: Path | None, details: bool, step_ups: bool, features, rules, model
) -> None:
    """Replay a labeled stream through the engine and report, per attack scenario, the share of
    episodes caught and what got through first, and what the policy cost genuine customers."""
    import orjson

    from fraudwatch.sim.backtest import Backtest, format_table
    from fraudwatch.sim.simulate import truth_path

    truth = truth or Path(truth_path(str(events)))
    ground = orjson.loads(truth.read_bytes()) if truth.exists() else None
    if ground is None:
        click.echo(f"no ground truth at {truth}: genuine customers are not split by kind", err=True)
    engine = build_engine(features, rules, model)
    began = time.perf_counter()
    stream, bad = load_events(events)
    loaded = time.perf_counter() - began
    responder = None
    if step_ups:
        from fraudwatch.sim.stepup import StepUpResponder

        responder = StepUpResponder(seed=(ground or {}).get("config", {}).get("seed", 7))
    report = Backtest(ground).run(engine, progress_bar(stream, desc="backtest"), step_ups=responder)
    report["load_seconds"] = round(loaded, 2)
    report["versions"] = engine.versions
    click.echo(format_table(report))
    if details:
        click.echo("\nrules on genuine payments (non-allow):")
        for rule, n in report["genuine_rule_hits"].items():
            click.echo(f"  {n:6,}  {rule}")
        click.echo("rules on attack events (block/challenge):")
        for key, n in report["fraud_rule_hits"].items():
            click.echo(f"  {n:6,}  {key}")
    click.echo(
        f"\n{report['events']:,} events ({bad} dead letters): loaded in {loaded:.1f} s, "
        f"engine {report['seconds']:.1f} s ({report['events'] / max(report['seconds'], 1e-9):,.0f}/s)",
        err=True,
    )
    if json_out:
        json_out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))


@click.command()
@click.option("--seed", default=7, show_default=True)
@click.option("--cardholders", default=2000, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option("--seconds", default=60.0, show_default=True, help="Pace the replay to take about this long.")
@click.option(
    "--serve",
    is_flag=True,
    help="Load the month into the decision service instead, and serve the analyst console: prints its URL and keys.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="with --serve: interface to bind")
@click.option("--port", default=8000, show_default=True, help="with --serve: port (0 picks a free one)")
@click.option(
    "--data-dir",
    default="fraudwatch-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="with --serve: where the service keeps its data (served again as it is when it holds events)",
)
@policy_options
def demo(
    seed: int,
    cardholders: int,
    days: int,
    seconds: float,
    serve: bool,
    host: str,
    port: int,
    data_dir: Path,
    features,
    rules,
    model,
) -> None:
    """Watch simulated attacks and genuine traffic go through the engine live, then the summary;
    with --serve, the same traffic in the running service and its analyst console."""
    if serve:
        from fraudwatch.console.demo import serve_demo

        serve_demo(seed=seed, cardholders=cardholders, days=days, host=host, port=port, data_dir=data_dir)
        return
    from fraudwatch.sim.demo import run_demo

    run_demo(build_engine(features, rules, model), seed=seed, cardholders=cardholders, days=days, seconds=seconds)


@click.command("train-default")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="where to write the model artifact (replaced); default: the shipped one, models/default/ in the package",
)
@click.option("--seed", default=101, show_default=True, help="simulator seed of the training stream")
@click.option("--tune-seed", default=102, show_default=True, help="seed of the stream the thresholds are tuned on")
@click.option("--cardholders", default=8000, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option(
    "--target-challenge", default=0.002, show_default=True, help="share of genuine payments the model may challenge"
)
@click.option("--target-block", default=0.0002, show_default=True, help="share of genuine payments it may block")
@click.option("--rounds", default=100, show_default=True)
def train_default(out, seed, tune_seed, cardholders, days, target_challenge, target_block, rounds) -> None:
    """Rebuild the default model: train on one simulated stream (through Engine.process, labels
    as they arrived), tune its thresholds on another, write the artifact. Streams of other
    seeds (the simulator's default is 7) stay unseen for the backtest."""
    from fraudwatch.errors import FraudwatchError
    from fraudwatch.models import default_model_path
    from fraudwatch.sim.training import TrainingPlan, train_default_model

    try:
        plan = TrainingPlan(
            seed=seed,
            tune_seed=tune_seed,
            cardholders=cardholders,
            days=days,
            target_challenge=target_challenge,
            target_block=target_block,
            rounds=rounds,
        )
        path = train_default_model(out or default_model_path(), plan, log=lambda m: click.echo(m, err=True))
    except FraudwatchError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(path))


@click.command()
@click.option(
    "--scenarios",
    default="all",
    show_default=True,
    help="the scenarios to leave out, one fold each: 'all' or 'leaked_card_aged,card_testing'",
)
@click.option("--train-seed", default=101, show_default=True)
@click.option("--tune-seed", default=102, show_default=True)
@click.option("--test-seed", default=21, show_default=True)
@click.option("--cardholders", default=3000, show_default=True, help="of each stream")
@click.option("--days", default=30, show_default=True)
@click.option(
    "--test-rate", default=60.0, show_default=True, help="left-out episodes per 10,000 cardholders per 30 days"
)
@click.option("--rounds", default=100, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="keep each fold's model in OUT/without-<scenario> and the reports in OUT/heldout.json "
    "(default: a temporary directory)",
)
def heldout(scenarios, train_seed, tune_seed, test_seed, cardholders, days, test_rate, rounds, out) -> None:
    """Leave one attack out: per scenario, train and tune a model on streams with every other
    scenario, backtest the default rules with it on another seed with only the one left out."""
    import tempfile

    import orjson

    from fraudwatch.errors import FraudwatchError
    from fraudwatch.sim.heldout import HeldoutPlan, format_heldout, leave_one_out
    from fraudwatch.sim.simulate import SCENARIOS

    try:
        plan = HeldoutPlan(
            scenarios=SCENARIOS if scenarios == "all" else tuple(s.strip() for s in scenarios.split(",") if s.strip()),
            train_seed=train_seed,
            tune_seed=tune_seed,
            test_seed=test_seed,
            cardholders=cardholders,
            days=days,
            test_rate=test_rate,
            rounds=rounds,
        )
    except FraudwatchError as exc:
        raise click.BadParameter(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="fraudwatch-heldout-") as tmp:
        workdir = out or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = leave_one_out(
            plan,
            lambda model: build_engine(None, None, model or "none"),
            workdir,
            log=lambda m: click.echo(m, err=True),
        )
        if out:
            (out / "heldout.json").write_bytes(
                orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
            )
    click.echo(format_heldout(results))


commands = [simulate, backtest, demo, train_default, heldout]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(simulate())
