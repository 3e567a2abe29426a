"""``fraudwatch features validate FILE`` and ``fraudwatch features show [FILE]``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

__all__ = ["commands"]


@click.group("features")
def features_group() -> None:
    """Feature sets: validate a YAML file, show a set."""


def _load(file: Path | None):
    from fraudwatch.features import FeatureSet, FeatureSpecError, default_feature_set

    try:
        return default_feature_set() if file is None else FeatureSet.load(file)
    except FeatureSpecError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: cannot read: {exc}") from None


@features_group.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Check a feature set file; exits 1 with the feature and field at fault."""
    fs = _load(file)
    aggs = Counter("derived" if s.is_derived else s.agg for s in fs.features)
    click.echo(f"{file}: {len(fs)} features ok")
    click.echo(f"  version  {fs.version}")
    click.echo(f"  sha256   {fs.digest}")
    click.echo("  aggs     " + ", ".join(f"{a} {n}" for a, n in sorted(aggs.items())))


@features_group.command("show")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yaml", "as_yaml", is_flag=True, help="print the canonical YAML instead of a table")
def show_command(file: Path | None, as_yaml: bool) -> None:
    """Print a feature set (the shipped default when no FILE is given)."""
    from fraudwatch.features.spec import format_duration

    fs = _load(file)
    if as_yaml:
        click.echo(fs.to_yaml(), nl=False)
        return
    click.echo(f"# version {fs.version}, {len(fs)} features, sha256 {fs.digest}")
    for s in fs.features:
        if s.is_derived:
            click.echo(f"{s.name:<44} = {s.expr}")
            continue
        if s.is_stateful:
            options = ", ".join(f"{k}={v}" for k, v in s.option_dict.items())
            click.echo(f"{s.name:<44} {s.agg} by {'+'.join(s.entity)} ({options})")
            continue
        what = f"{s.agg}({s.source})" if s.source else s.agg
        window = format_duration(s.window) + (f" delay {format_duration(s.delay)}" if s.delay else "")
        where = ",".join(s.kinds) or "*"
        cond = f" if {s.filter}" if s.filter else ""
        click.echo(f"{s.name:<44} {what} by {'+'.join(s.entity)} over {window} of {where}{cond}")


commands = [features_group]
