"""Every name a rule set reads, resolved against what exists: the active feature set, the
named lists and the model's outputs. A misspelled feature or an unknown list would make its
rule silently never fire; here each one is an error at its line and column, with a "did you
mean" hint, and all of them are listed at once.

>>> from fraudwatch.rules.ruleset import RuleSet
>>> rs = RuleSet.parse('''
... rule r:
...     block if card.declines_24hh >= 3 and event.ip in @blokced_ips and model.scroe > 0.9
... ''')
>>> for e in unknown_names(rs, features={"card.declines_24h"}, lists={"blocked_ips"}):
...     print(e.line, e.column, e.message, "|", e.hint)
3 14 unknown feature 'card.declines_24hh' | did you mean card.declines_24h?
3 54 unknown list '@blokced_ips' | did you mean @blocked_ips?
3 71 unknown model output 'model.scroe' | did you mean model.score?
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import TYPE_CHECKING

from fraudwatch.rules.errors import RuleSyntaxError
from fraudwatch.rules.names import FEATURE, MODEL, namespace_of
from fraudwatch.rules.nodes import ListRef, Name, walk

if TYPE_CHECKING:
    from fraudwatch.rules.ruleset import RuleSet

__all__ = ["MODEL_OUTPUTS", "unknown_names", "check_names"]

MODEL_OUTPUTS = frozenset({"score"})  # what the engine gives rules as model.<name>


def _hint(name: str, known: Collection[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"did you mean {prefix}{close[0]}?"
    if not known:
        return "there are none"
    shown = sorted(known)[:8]
    return "known: " + ", ".join(prefix + k for k in shown) + (", ..." if len(known) > len(shown) else "")


def unknown_names(
    ruleset: RuleSet,
    *,
    features: Collection[str] | None = None,
    lists: Collection[str] | None = None,
    models: Collection[str] = MODEL_OUTPUTS,
) -> list[RuleSyntaxError]:
    """One error per unknown name use, in text order (``None``: that namespace is not checked)."""
    lines = ruleset.source_text.splitlines() if getattr(ruleset, "source_text", None) else []
    errors: list[tuple[tuple[int, int], RuleSyntaxError]] = []
    for rule in ruleset.rules:
        for node in walk(rule.expression.tree):
            if isinstance(node, ListRef):
                if lists is not None and node.name not in lists:
                    problem = (f"unknown list '@{node.name}'", _hint(node.name, lists, "@"), len(node.name) + 1)
                else:
                    continue
            elif isinstance(node, Name):
                space = namespace_of(node.name)
                if space == FEATURE and features is not None and node.name not in features:
                    problem = (f"unknown feature {node.name!r}", _hint(node.name, features), len(node.name))
                elif space == MODEL and node.name != MODEL and node.name[len(MODEL) + 1 :] not in models:
                    output = node.name[len(MODEL) + 1 :]
                    problem = (f"unknown model output {node.name!r}", _hint(output, models, "model."), len(node.name))
                else:
                    continue
            else:
                continue
            line, column = node.pos
            message, hint, length = problem
            source_line = lines[line - 1] if 0 < line <= len(lines) else ""
            err = RuleSyntaxError(
                message,
                line=line,
                column=column,
                hint=hint,
                source_line=source_line,
                source=ruleset.source,
                length=length,
            )
            errors.append(((line, column), err))
    return [e for _, e in sorted(errors, key=lambda x: x[0])]


def check_names(
    ruleset: RuleSet,
    *,
    features: Collection[str] | None = None,
    lists: Collection[str] | None = None,
    models: Collection[str] = MODEL_OUTPUTS,
) -> None:
    """Raise the first unknown name's error with all of them in its ``errors``."""
    errors = unknown_names(ruleset, features=features, lists=lists, models=models)
    if errors:
        errors[0].errors = errors
        raise errors[0]
