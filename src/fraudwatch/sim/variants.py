"""Attack variants that do not look like the textbook: the same goals as the scenarios of
``attacks.py``, played by attackers who avoid what the default rules key on.

They are not in the default mix: ``fraudwatch simulate --mix ato_gift_card_quiet=40`` adds
them, and the held-out backtest (docs/simulator.md) reports a model trained on textbook
attacks against them.

- ``ato_gift_card_quiet``: the takeover through a residential proxy in Japan, keeping the
  account's language, no hidden orders, a few gift cards spaced out over hours, amounts in
  the victim's own range.
- ``leaked_card_aged``: the leaked card registered on an account opened weeks earlier and
  left to age, charged the next day from a domestic IP, in Japanese.
"""

from __future__ import annotations

import random

from fraudwatch.sim.attacks import World, fraud_item, gift_item, outcomes, report_delay
from fraudwatch.sim.world import DAY, GIFT_AMOUNTS, GIFT_MCC, HOUR, JP_IP_FIRST, MINUTE, SHOP, Holder, hexid, ip_address

__all__ = ["VARIANTS", "ato_gift_card_quiet", "leaked_card_aged"]


def ato_gift_card_quiet(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """A takeover that keeps quiet: domestic residential IP, the account's own language, 3 to
    10 gift cards an hour or two apart at amounts the victim might pay; the owner notices
    the order mails within hours and changes the password."""
    s = w.stream
    atk = {
        "account": victim.account,
        "email": victim.email,
        "device": hexid(rng, "dv_", 64),
        "ip": ip_address(rng, JP_IP_FIRST),
        "country": "JP",
        "language": victim.language,
        "channel": "ecommerce",
        "scenario": tag,
    }
    frauds = [s.emit(t, "account.login", success=True, method="password", **atk)]
    t += rng.uniform(5, 40) * MINUTE
    for _ in range(rng.randint(3, 10)):
        amount = int(round(rng.choice(GIFT_AMOUNTS) * victim.scale, -2)) or 1000
        item = gift_item(amount)
        frauds.append(s.emit(t, "cart.item_added", item=item, **atk))
        t += rng.uniform(30, 180)
        order = hexid(rng, "ord_")
        frauds.append(
            s.emit(
                t,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result="approved",
                merchant=SHOP,
                mcc=GIFT_MCC,
                order=order,
                three_ds="frictionless",
                items_category="digital_gift_card",
                **victim.card.fields(),
                **atk,
            )
        )
        frauds.append(
            s.emit(
                t + 2, "order.placed", order=order, amount=amount, currency="JPY", merchant=SHOP, items=[item], **atk
            )
        )
        t += rng.uniform(40, 150) * MINUTE
    owner = {
        "account": victim.account,
        "email": victim.email,
        "device": victim.devices[-1],
        "ip": victim.home_ip,
        "country": "JP",
        "language": victim.language,
        "channel": "ecommerce",
    }
    t += rng.uniform(10, 120) * MINUTE
    s.emit(t, "account.password_changed", **owner)
    outcomes(w, rng, frauds, t + report_delay(rng, 90, 5 * MINUTE, 3 * DAY), "cardholder")


def leaked_card_aged(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """A stranger's account opened 2 to 6 weeks earlier (a sign-in or two, no purchase) gets
    the leaked card and is charged with it the next day from a Japanese IP, in Japanese,
    2 to 5 times over some hours; the holder's usage alert ends it."""
    s = w.stream
    account = hexid(rng, "acct_")
    on_acct = {
        "account": account,
        "email": hexid(rng, "em_", 64),
        "device": hexid(rng, "dv_", 64),
        "ip": ip_address(rng, JP_IP_FIRST),
        "country": "JP",
        "language": "ja",
        "channel": "ecommerce",
        "scenario": tag,
    }
    opened = t - rng.uniform(14, 42) * DAY
    frauds = [s.emit(opened, "account.login", success=True, method="password", **on_acct)]
    if rng.random() < 0.6:
        frauds.append(s.emit(opened + rng.uniform(3, 10) * DAY, "account.login", success=True, **on_acct))
    frauds.append(s.emit(t, "account.payment_method_added", **victim.card.fields(), **on_acct))
    t += rng.uniform(18, 30) * HOUR
    frauds.append(s.emit(t - rng.uniform(2, 10) * MINUTE, "account.login", success=True, method="password", **on_acct))
    reported_at = None
    for _ in range(rng.randint(2, 5)):
        gift = rng.random() < 0.5
        amount = rng.choice(GIFT_AMOUNTS) * rng.choice((1, 2)) if gift else int(round(rng.uniform(4000, 30000), -2))
        declined = reported_at is not None and t > reported_at
        order = hexid(rng, "ord_")
        frauds.append(
            s.emit(
                t,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result="declined" if declined else "approved",
                decline_reason="stolen_card" if declined else None,
                merchant=SHOP,
                mcc=GIFT_MCC if gift else "5732",
                order=order,
                three_ds="frictionless",
                items_category="digital_gift_card" if gift else "electronics",
                **victim.card.fields(),
                **on_acct,
            )
        )
        if not declined:
            frauds.append(
                s.emit(
                    t + 2,
                    "order.placed",
                    order=order,
                    amount=amount,
                    currency="JPY",
                    merchant=SHOP,
                    items=[fraud_item(amount, gift)],
                    shipping_address=hexid(rng, "addr_", 32),
                    **on_acct,
                )
            )
            if reported_at is None:
                reported_at = t + report_delay(rng, 40, 5 * MINUTE, 12 * HOUR)
        t += rng.uniform(20, 150) * MINUTE
    outcomes(w, rng, frauds, (reported_at or t) + rng.uniform(1, 30) * MINUTE, "cardholder")


VARIANTS = {"ato_gift_card_quiet": ato_gift_card_quiet, "leaked_card_aged": leaked_card_aged}
