"""Functions callable from rules; each lives in its own module and registers itself.

>>> REGISTRY.names()  # doctest: +NORMALIZE_WHITESPACE
['abs', 'coalesce', 'contains', 'day_of_week', 'email_domain', 'endswith', 'equals_ignore_case',
 'hour_of_day', 'ip_in_cidr', 'is_disposable_email', 'len', 'lower', 'matches', 'max', 'min', 'split',
 'startswith', 'upper']
"""

# importing a function's module registers it
from fraudwatch.rules.functions import (  # noqa: F401
    absolute,
    coalesce,
    contains,
    day_of_week,
    disposable_email,
    email_domain,
    endswith,
    equals_ignore_case,
    hour_of_day,
    ip_in_cidr,
    length,
    lower,
    matches,
    maximum,
    minimum,
    split,
    startswith,
    upper,
)
from fraudwatch.rules.functions.registry import NOT_CONSTANT, REGISTRY, Function, Param, Registry, register

__all__ = ["Function", "Param", "Registry", "REGISTRY", "register", "NOT_CONSTANT"]
