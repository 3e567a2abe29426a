"""Partitioning by entity key: which of ``n`` partitions holds an entity's state.

Every feature depends on the history of one entity key (a card, an account, a terminal, a
composite key), so a stream's feature state can be split by key: each partition keeps the
windows of its own keys and computes their features, and an event's values are the union
of what the partitions computed for its keys. The one function here is the notion that
parallel replay (``fraudwatch replay --workers N``) uses, and the one a Redis key hash tag
or a Kafka partition key should use, so that the same key lands in the same place
everywhere: CRC-32 of the key's UTF-8 text, modulo the number of partitions. It is stable
across processes, machines and Python versions (unlike ``hash()``, which is salted per
process).

>>> partition_of("tok_1", 4), partition_of("tok_1", 4) == partition_of("tok_1", 4)
(3, True)
>>> [partition_of(k, 1) for k in ("a", "b", ("card", 1200))]
[0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zlib import crc32

from fraudwatch.errors import InvalidValue

__all__ = ["partition_of", "owner"]


def _text(key: Any) -> bytes:
    # composite keys (card, amount) are tuples: their repr is stable for str and int parts
    return key.encode() if isinstance(key, str) else repr(key).encode()


def partition_of(key: Any, partitions: int) -> int:
    """The partition, in ``range(partitions)``, that holds ``key``'s state."""
    return crc32(_text(key)) % partitions


def owner(partition: int, partitions: int) -> Callable[[Any], bool]:
    """``owns(key)``: whether ``key`` belongs to ``partition`` of ``partitions``.

    >>> owns = owner(3, 4)
    >>> owns("tok_1"), owner(0, 4)("tok_1")
    (True, False)
    """
    if not 0 <= partition < partitions:
        raise InvalidValue(f"partition {partition} is not in range({partitions})")

    def owns(key: Any) -> bool:
        return crc32(key.encode() if isinstance(key, str) else repr(key).encode()) % partitions == partition

    return owns
