"""``fraudwatch rules check FILE``, ``fraudwatch rules eval EXPRESSION`` and
``fraudwatch rules functions``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click


@click.group("rules")
def rules_group() -> None:
    """Rules language: check rule files, try expressions, list functions."""


@rules_group.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "version", help="rule set version to report (default: sha256 of the text)")
@click.option(
    "--features",
    "features",
    metavar="YAML|default|none",
    default="default",
    show_default=True,
    help="the feature set whose names the rules may read ('default': the shipped one; 'none': not checked)",
)
@click.option(
    "--lists",
    "lists",
    metavar="NAME,...",
    help="the named lists that exist (without @); default: the shipped rules' lists",
)
def check_command(file: Path, version: str | None, features: str, lists: str | None) -> None:
    """Parse and check a rule file; print each error with its line, column and a caret.

    Every feature, list and model name the rules read is resolved: an unknown one (a rule
    reading it would never fire) is an error with a "did you mean" hint, all of them listed.
    Exits 1 when the file has errors, otherwise prints a summary.
    """
    from fraudwatch.rules.errors import RuleSyntaxError
    from fraudwatch.rules.resolve import check_names
    from fraudwatch.rules.ruleset import RuleSet

    feature_set = None if features == "none" else _feature_set(features)
    known = None if feature_set is None else list(feature_set.names)
    list_names = _list_names(lists)

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        metadata = None if feature_set is None else feature_set.metadata
        rs = RuleSet.parse(text, version=version, source=str(file), metadata=metadata)
        check_names(rs, features=known, lists=list_names)
    except RuleSyntaxError as exc:
        for err in exc.errors:
            click.echo(str(err) + "\n", err=True)
        n = len(exc.errors)
        click.echo(f"{file}: {n} error{'s' * (n != 1)}", err=True)
        raise SystemExit(1) from None
    outcomes = Counter(r.outcome.value for r in rs.rules if not r.shadow)
    shadow = sum(r.shadow for r in rs.rules)
    click.echo(f"{file}: {len(rs)} rules ok ({shadow} in shadow mode)")
    click.echo(f"  version   {rs.version}")
    click.echo(f"  sha256    {rs.digest}")
    click.echo("  enforced  " + (", ".join(f"{o} {n}" for o, n in sorted(outcomes.items())) or "none"))
    click.echo(f"  features  {len(rs.feature_names)}: {', '.join(sorted(rs.feature_names)) or '-'}")
    click.echo(f"  lists     {', '.join('@' + n for n in sorted(rs.list_names)) or '-'}")
    click.echo(f"  model     {', '.join('model.' + n for n in sorted(rs.model_names)) or '-'}")


def _list_names(given: str | None) -> frozenset[str]:
    if given is not None:
        return frozenset(n.strip().lstrip("@") for n in given.split(",") if n.strip())
    from fraudwatch.definitions import load_rules

    return load_rules().list_names


def _feature_set(where: str) -> Any:
    from fraudwatch.features import FeatureSet, default_feature_set

    if where == "default":
        return default_feature_set()
    path = Path(where)
    if not path.is_file():
        raise click.BadParameter(f"no such file: {where}", param_hint="--features")
    return FeatureSet.from_yaml(path.read_text(encoding="utf-8"))


@rules_group.command("eval")
@click.argument("expression")
@click.option("--event", "event_json", metavar="JSON", help="the event, validated like any fraudwatch event")
@click.option(
    "--features", "features_json", metavar="JSON", default="{}", help='feature values, e.g. {"card.declines_10m": 3}'
)
@click.option("--model", "model_json", metavar="JSON", help='model outputs, e.g. {"score": 0.7}')
def eval_command(expression: str, event_json: str | None, features_json: str, model_json: str | None) -> None:
    """Evaluate one expression against an event and feature values; print the result
    and the value of every name it reads."""
    import json

    from fraudwatch.rules.context import Context
    from fraudwatch.rules.errors import RuleSyntaxError
    from fraudwatch.rules.expression import compile_expression
    from fraudwatch.rules.values import MISSING

    try:
        expr = compile_expression(expression, source="<argument>")
    except RuleSyntaxError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    features = _json_object(features_json, "--features")
    model = _json_object(model_json, "--model") if model_json else None
    event = None
    if event_json:
        from pydantic import ValidationError

        from fraudwatch.events.kinds import parse_event

        try:
            event = parse_event(_json_object(event_json, "--event"))
        except ValidationError as exc:
            raise click.BadParameter(str(exc), param_hint="--event") from None
    ctx = Context(event=event, features=features, model=model)
    value = expr(ctx)
    click.echo("missing" if value is MISSING else json.dumps(value))
    for name, v in expr.values(ctx).items():
        click.echo(f"  {name} = {'missing' if v is None else json.dumps(v)}")


def _json_object(text: str, option: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object", param_hint=option)
    return value


@rules_group.command("functions")
def functions_command() -> None:
    """Print the functions rules can call, with their documentation."""
    from fraudwatch.rules.functions import REGISTRY

    for name in REGISTRY.names():
        doc = type(REGISTRY.get(name)).doc()
        click.echo(doc.replace("\n", "\n    ").replace("\n    \n", "\n\n") + "\n")


commands = [rules_group]
