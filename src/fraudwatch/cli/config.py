"""How commands read the settings tree: ``--config FILE`` (else ``FRAUDWATCH_CONFIG``),
``FRAUDWATCH_*`` variables, then the command's own flags; a bad setting is a one-line
error, not a traceback."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from fraudwatch.errors import FraudwatchError
from fraudwatch.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

config_option: Callable[[F], F] = click.option(
    "--config",
    "config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="settings file, YAML or TOML (default: $FRAUDWATCH_CONFIG); FRAUDWATCH_* variables override it",
)


def settings(config: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """The settings tree, or a ``click`` error naming the bad setting."""
    try:
        return load_settings(config, overrides=overrides)
    except (FraudwatchError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"bad settings: {exc}") from None
