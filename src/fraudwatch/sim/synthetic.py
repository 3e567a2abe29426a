"""Synthetic event streams for benchmarks and tests: many events fast, with the shapes of
real traffic (not the labeled attack scenarios of :mod:`fraudwatch.sim.simulate`).

>>> events = synthetic_events(100, cards=10)
>>> len(events), events[0].kind
(100, 'payment.attempt')
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fraudwatch.events.kinds import parse_event

__all__ = ["payments_only", "synthetic_events"]

_START = datetime(2026, 11, 1, tzinfo=UTC)
_DECLINES = ("insufficient_funds", "do_not_honor", "incorrect_cvc")


def synthetic_events(n: int, cards: int = 5000, seed: int = 7, rate: float = 20.0) -> list[Any]:
    """``n`` events, ``rate`` per second on average: mostly payments, some logins, orders,
    profile changes and labels, over ``cards`` cards with their own accounts and devices."""
    rng = random.Random(seed)
    t = 0.0
    out: list[Any] = []
    for i in range(n):
        t += rng.expovariate(rate)
        c = rng.randrange(cards)
        base = {
            "id": f"e{i}",
            "time": _START + timedelta(seconds=t),
            "account": f"a{c}",
            "device": f"d{c % (cards // 2 or 1)}",
            "ip": f"10.0.{c % 250}.{rng.randrange(4)}",
            "country": "JP",
            "language": "ja",
        }
        r = rng.random()
        if r < 0.8:
            declined = rng.random() < 0.1
            event = {
                **base,
                "kind": "payment.attempt",
                "card": f"tok{c}",
                "card_bin": f"{400000 + c % 97}",
                "amount": rng.choice((500, 1000, 1000, 2980, 17600, rng.randrange(100, 50000))),
                "currency": "JPY",
                "result": "declined" if declined else "approved",
                "merchant": f"m{rng.randrange(200)}",
                "terminal": f"t{rng.randrange(2000)}",
                "decline_reason": rng.choice(_DECLINES) if declined else None,
                "items_category": rng.choice((None, None, "digital_gift_card", "electronics")),
            }
        elif r < 0.9:
            event = {**base, "kind": "account.login", "success": rng.random() < 0.9}
        elif r < 0.95:
            sku = f"s{rng.randrange(50)}"
            event = {
                **base,
                "kind": "order.placed",
                "order": f"o{i}",
                "amount": 1000,
                "currency": "JPY",
                "items": [{"sku": sku, "category": rng.choice(("digital_gift_card", "books")), "unit_price": 1000}],
            }
        elif r < 0.97:
            event = {**base, "kind": "account.profile_changed", "field": rng.choice(("language", "email"))}
        else:
            event = {**base, "kind": "label", "target": f"e{rng.randrange(max(i, 1))}", "fraud": rng.random() < 0.3}
        out.append(parse_event(event))
    return out


def payments_only(n: int, cards: int = 5000, terminals: int = 10_000, seed: int = 7, rate: float = 0.11) -> list[Any]:
    """``n`` payments shaped like the handbook data set: card, terminal and amount only,
    about 0.11 per second (9,600 a day) over ``cards`` cards."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for i in range(n):
        t += rng.expovariate(rate)
        out.append(
            parse_event(
                {
                    "id": f"e{i}",
                    "time": _START + timedelta(seconds=t),
                    "kind": "payment.attempt",
                    "card": f"c{rng.randrange(cards)}",
                    "terminal": f"t{rng.randrange(terminals)}",
                    "amount": rng.randrange(100, 20_000),
                    "currency": "JPY",
                    "result": "approved",
                }
            )
        )
    return out
