"""Approximate memory of in-memory state: a recursive ``sys.getsizeof`` walk.

>>> approx_size({"c1": [1.5, 2.5]}) > approx_size({})
True
"""

from __future__ import annotations

import sys
from itertools import islice
from typing import Any

__all__ = ["approx_size"]


def approx_size(mapping: dict[Any, Any], sample: int = 1000) -> int:
    """Bytes of ``mapping`` (its table, keys and values), walking at most ``sample`` items
    and scaling by the item count. Objects seen twice within the walk count once."""
    n = len(mapping)
    table = sys.getsizeof(mapping)
    if not n:
        return table
    seen: set[int] = set()
    walked = 0
    items = 0
    for key, value in islice(mapping.items(), sample):
        walked += _size(key, seen) + _size(value, seen)
        items += 1
    return table + round(walked * n / items)


def _size(obj: Any, seen: set[int]) -> int:
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(_size(k, seen) + _size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(_size(v, seen) for v in obj)
    elif hasattr(obj, "__slots__"):
        size += sum(_size(getattr(obj, s), seen) for s in obj.__slots__ if hasattr(obj, s))
    return size
