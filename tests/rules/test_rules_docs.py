"""docs/rules.md stays true: its rule examples parse, and every function is documented."""

import re
from pathlib import Path

from fraudwatch.rules import RuleSet
from fraudwatch.rules.functions import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rule_examples_in_the_docs_parse():
    blocks = re.findall(r"```[a-z]*\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    rule_blocks = [b for b in blocks if re.search(r"^rule ", b, re.M) and "file        :=" not in b]
    assert len(rule_blocks) >= 2
    for block in rule_blocks:
        assert len(RuleSet.parse(block)) >= 2


def test_every_function_is_in_the_docs():
    text = DOC.read_text(encoding="utf-8")
    for name in REGISTRY.names():
        assert f"`{name}(" in text, name
