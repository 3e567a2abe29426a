"""Options for the whole suite: ``--no-codegen`` runs it with generated code turned off."""

from __future__ import annotations

import pytest

from fraudwatch import codegen


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-codegen",
        action="store_true",
        help="build engines, stores and rule sets without generated code (fraudwatch.codegen)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--no-codegen"):
        codegen.set_enabled(False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--no-codegen"):
        # the examples of the generated functions themselves need generation
        skip = pytest.mark.skip(reason="shows generated functions (--no-codegen)")
        for item in items:
            if item.nodeid.startswith("src/fraudwatch/rules/inline.py"):
                item.add_marker(skip)
