"""``fraudwatch evaluate``, ``fraudwatch train`` and ``fraudwatch models list|promote|rollback|retire``."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import click

from fraudwatch.cli.config import settings
from fraudwatch.cli.engine import workers_option
from fraudwatch.errors import FraudwatchError

DEFAULT_DATA = "../shared/datasets/handbook/transactions.parquet"


def _friendly(fn):
    """fraudwatch errors become one-line ``Error: ...`` messages, not tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FraudwatchError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _cache_dir():
    """The ``cache_dir`` setting (``FRAUDWATCH_CACHE_DIR``)."""
    return settings().cache_dir


def _when(text: str | None) -> float | None:
    if text is None:
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


@click.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False), default=DEFAULT_DATA)
@click.option(
    "--feature-set",
    "feature_sets",
    multiple=True,
    help="shipped feature set name (handbook_baseline, handbook_rich, default) or YAML path; repeatable "
    "[default: handbook_baseline and handbook_rich on the handbook's Parquet file, else default]",
)
@click.option("--out", default="reports/evaluate", show_default=True, type=click.Path(file_okay=False))
@click.option(
    "--threads",
    default=1,
    show_default=True,
    help="LightGBM threads (more than 1 is far slower on a loaded machine: OpenMP spin-waits)",
)
@click.option("--train-days", default=7, show_default=True, help="days of training per fold")
@click.option("--gap-days", default=7, show_default=True, help="days between training and test: the label delay")
@click.option("--test-days", default=7, show_default=True, help="days of test per fold (and the step between folds)")
@click.option("--folds", default=4, show_default=True, help="test folds, and as many validation folds")
@click.option("--top-k", default=100, show_default=True, help="cards per day for Card Precision@k")
@click.option(
    "--label-delay-days",
    default=7.0,
    show_default=True,
    help="handbook Parquet only: when its labels become known (event files carry their own label times)",
)
@click.option("--quick", is_flag=True, help="one grid point (7 leaves, 200 min samples) instead of the grid")
@workers_option
@_friendly
def evaluate(
    data, feature_sets, out, threads, train_days, gap_days, test_days, folds, top_k, label_delay_days, quick, workers
):
    """The Fraud Detection Handbook's prequential protocol on DATA: an event file with label
    events (e.g. from `fraudwatch import` or `fraudwatch simulate`), or the handbook's
    transactions.parquet with its published folds. Features are replayed through the engine,
    parameters chosen on validation folds, metrics on test folds (AUC ROC, AP, Card
    Precision@k, recall and money caught at fixed genuine alert rates); writes a Markdown
    report with ROC/PR plots and a per-payment score file."""
    from pathlib import Path

    from fraudwatch.models.evaluate import evaluate as run

    handbook = Path(data).suffix == ".parquet"
    if not feature_sets:
        feature_sets = ("handbook_baseline", "handbook_rich") if handbook else ("default",)
    grid = {"num_leaves": [7], "min_child_samples": [200]} if quick else None
    run(
        data,
        list(feature_sets),
        out,
        grid=grid,
        threads=threads,
        label_delay_days=label_delay_days,
        log=lambda m: click.echo(m, err=True),
        cache_dir=_cache_dir(),
        fold_days=(train_days, gap_days, test_days),
        n_folds=(folds, folds),
        top_k=top_k,
        workers=workers,
    )
    click.echo(str(Path(out) / "report.md"))


@click.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False), default=DEFAULT_DATA)
@click.option("--feature-set", default="handbook_rich", show_default=True)
@click.option("--models", "models_dir", default="models", show_default=True, type=click.Path(file_okay=False))
@click.option("--as-of", help="training time (ISO 8601, UTC if naive); default: the last event of DATA")
@click.option("--train-days", default=14.0, show_default=True)
@click.option("--calibration-days", default=3.0, show_default=True)
@click.option("--label-delay-days", default=7.0, show_default=True, help="labels are known this long after the payment")
@click.option("--params", default=None, help="LightGBM parameters as JSON, e.g. '{\"num_leaves\": 15}'")
@click.option("--rounds", default=100, show_default=True)
@click.option("--threads", default=1, show_default=True)
@click.option("--version", default=None, help="artifact name (default: feature-set version, date, model digest)")
@workers_option
@_friendly
def train(
    data,
    feature_set,
    models_dir,
    as_of,
    train_days,
    calibration_days,
    label_delay_days,
    params,
    rounds,
    threads,
    version,
    workers,
):
    """Train a calibrated LightGBM model on DATA (handbook Parquet or a JSONL event file) with
    features replayed through the engine and labels joined once known; save it under --models."""
    from fraudwatch.models.train import train as run

    path = run(
        data,
        feature_set,
        models_dir,
        as_of=_when(as_of),
        train_days=train_days,
        calibration_days=calibration_days,
        label_delay_days=label_delay_days,
        params=json.loads(params) if params else None,
        rounds=rounds,
        threads=threads,
        version=version,
        log=lambda m: click.echo(m, err=True),
        cache_dir=_cache_dir(),
        workers=workers,
    )
    click.echo(str(path))


@click.group()
def models():
    """List, promote and roll back models (a local registry: --models DIR/registry.json)."""


_dir = click.option("--models", "models_dir", default="models", show_default=True, type=click.Path(file_okay=False))


def _audit(models_dir: str, action: str, before, after) -> None:
    """Model changes through the CLI are audited like those through the API: in the
    service's audit log when ``models_dir`` is the configured one (and its database
    exists), and always in ``<models_dir>/audit.jsonl``."""
    import json
    import time
    from pathlib import Path

    from fraudwatch.cli.api import _actor

    actor, now = _actor(), time.time()
    record = {"at": now, "actor": actor, "action": action, "target": "models", "before": before, "after": after}
    with open(Path(models_dir) / "audit.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    try:
        s = settings()
    except click.ClickException:
        return
    if s.storage.type != "sqlite" or not s.storage.sqlite_path(s.data_dir).exists():
        return
    if Path(s.models_dir).resolve() != Path(models_dir).resolve():
        return
    from fraudwatch.storage import AuditRecord, open_storage

    storage = open_storage(s)
    try:
        with storage.unit() as uow:
            uow.audit.add(AuditRecord(now, actor, action, "models", before, after))
    finally:
        storage.close()


def _roles(models_dir: str) -> dict:
    from fraudwatch.models.registry import ModelRegistry

    return {v["version"]: v["role"] for v in ModelRegistry(models_dir).versions() if v["role"]}


@models.command("list")
@_dir
@_friendly
def list_(models_dir):
    """Models with their role (champion / challenger), creation time and metrics."""
    from fraudwatch.models.registry import ModelRegistry

    reg = ModelRegistry(models_dir)
    for v in reg.versions():
        auc = v["metrics"].get("calibration_auc_roc")
        click.echo(
            f"{v['role'] or '-':<10} {v['version']:<48} {v['created']:<22} {v['feature_set']:<20} "
            f"{'' if auc is None else f'auc {auc:.4f}'}"
        )


@models.command()
@_dir
@click.argument("version")
@click.option("--challenger", is_flag=True, help="score in shadow beside the champion instead")
@_friendly
def promote(models_dir, version, challenger):
    """Make VERSION the champion (or a shadow challenger)."""
    from fraudwatch.models.registry import ModelRegistry

    before = _roles(models_dir)
    ModelRegistry(models_dir).promote(version, challenger=challenger)
    _audit(models_dir, "models.promote", before, _roles(models_dir))
    click.echo(f"{version} is now {'a challenger' if challenger else 'the champion'}")


@models.command()
@_dir
@_friendly
def rollback(models_dir):
    """Return to the previous champion."""
    from fraudwatch.models.registry import ModelRegistry

    before = _roles(models_dir)
    champion = ModelRegistry(models_dir).rollback()
    _audit(models_dir, "models.rollback", before, _roles(models_dir))
    click.echo(f"{champion} is the champion again")


@models.command()
@_dir
@click.argument("version")
@_friendly
def retire(models_dir, version):
    """Stop a challenger's shadow scoring."""
    from fraudwatch.models.registry import ModelRegistry

    before = _roles(models_dir)
    ModelRegistry(models_dir).retire(version)
    _audit(models_dir, "models.retire", before, _roles(models_dir))
    click.echo(f"{version} retired")


commands = [evaluate, train, models]
