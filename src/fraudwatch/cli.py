"""The ``fraudwatch`` command line. Each domain contributes its commands from its own
``cli.py`` (a module-level ``commands`` list of click commands); heavy imports stay inside
the command bodies so ``fraudwatch --help`` starts fast."""

from __future__ import annotations

import importlib

import click

from fraudwatch import __version__

DOMAIN_CLI_MODULES = (
    "fraudwatch.events.cli",
    "fraudwatch.features.cli",
    "fraudwatch.rules.cli",
    "fraudwatch.engine_cli",
    "fraudwatch.models.cli",
    "fraudwatch.sim.cli",
    "fraudwatch.api.cli",
    "fraudwatch.actions.cli",
    "fraudwatch.storage.cli",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fraudwatch")
def main() -> None:
    """Real-time fraud detection and response for card payments and e-commerce accounts."""


for _name in DOMAIN_CLI_MODULES:
    for _command in importlib.import_module(_name).commands:
        main.add_command(_command)


if __name__ == "__main__":
    main()
