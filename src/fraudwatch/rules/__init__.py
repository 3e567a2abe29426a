"""The rules language: a small, safe expression language and rule files.

Text is tokenized and parsed by our own parser into an immutable tree, checked once,
and compiled into Python closures; nothing is passed to ``eval``.

>>> from types import SimpleNamespace as Event
>>> expr = compile_expression("card.declines_10m >= 3 and event.amount >= 10_000")
>>> expr(Context(event=Event(amount=17600), features={"card.declines_10m": 3}))
True
>>> rs = RuleSet.parse('''
... rule card_testing:
...     block if card.declines_10m >= 3 and event.amount >= 10_000
... ''', version="1")
>>> hits, shadow_hits = rs.evaluate(Context(event=Event(amount=17600), features={"card.declines_10m": 3}))
>>> hits[0].rule, rs.outcome(hits).value, hits[0].values
('card_testing', 'block', {'card.declines_10m': 3, 'event.amount': 17600})

See docs/rules.md for the language reference.
"""

from fraudwatch.rules.context import Context
from fraudwatch.rules.errors import RuleSyntaxError
from fraudwatch.rules.expression import Expression, compile_expression
from fraudwatch.rules.lists import ListStore
from fraudwatch.rules.ruleset import Rule, RuleSet
from fraudwatch.rules.values import MISSING

__all__ = [
    "Context",
    "Expression",
    "ListStore",
    "MISSING",
    "Rule",
    "RuleSet",
    "RuleSyntaxError",
    "compile_expression",
]
