"""Functions callable from rules; each lives in its own module and registers itself.

>>> REGISTRY.names()  # doctest: +NORMALIZE_WHITESPACE
['abs', 'coalesce', 'contains', 'day_of_week', 'endswith', 'hour_of_day', 'len', 'lower', 'matches',
 'max', 'min', 'startswith', 'upper']
"""

# importing a function's module registers it
from fraudwatch.rules.functions import (  # noqa: F401
    absolute,
    coalesce,
    contains,
    day_of_week,
    endswith,
    hour_of_day,
    length,
    lower,
    matches,
    maximum,
    minimum,
    startswith,
    upper,
)
from fraudwatch.rules.functions.registry import NOT_CONSTANT, REGISTRY, Function, Param, Registry, register

__all__ = ["Function", "Param", "Registry", "REGISTRY", "register", "NOT_CONSTANT"]
