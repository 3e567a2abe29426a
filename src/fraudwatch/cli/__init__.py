"""The ``fraudwatch`` command line. Each domain's commands live in a module of this package
(a module-level ``commands`` list of click commands), listed in ``DOMAIN_CLI_MODULES``;
heavy imports stay inside the command bodies so ``fraudwatch --help`` starts fast. The
domains themselves import no CLI."""

from __future__ import annotations

import importlib
import os

import click

from fraudwatch import __version__

DOMAIN_CLI_MODULES = (
    "fraudwatch.cli.events",
    "fraudwatch.cli.features",
    "fraudwatch.cli.rules",
    "fraudwatch.cli.engine",
    "fraudwatch.cli.models",
    "fraudwatch.cli.sim",
    "fraudwatch.cli.api",
    "fraudwatch.cli.actions",
    "fraudwatch.cli.storage",
    "fraudwatch.cli.ato",
    "fraudwatch.cli.cases",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fraudwatch")
def main() -> None:
    """Real-time fraud detection and response for card payments and e-commerce accounts."""
    # what a command creates (event log, snapshots, keys, outbox, models) is the owner's only
    os.umask(0o077)


for _name in DOMAIN_CLI_MODULES:
    for _command in importlib.import_module(_name).commands:
        main.add_command(_command)
