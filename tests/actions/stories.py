"""The seed stories of the guide as event streams an integrator would send, dated before
``now`` (the cardholder answers at ``now``; what happens after the answer is sent then).

Each story gives ``before`` (events up to the answer), ``after`` (events after it, built
at the time they are sent), the cardholder's profile, and what the test expects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9))
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="milliseconds")


@dataclass
class Story:
    name: str
    subject: str  # the card (or account) whose profile holds the cardholder's e-mail and language
    email: str
    language: str
    before: list[dict[str, Any]]
    after: Callable[[float], list[dict[str, Any]]] = lambda now: []  # events built at the time they are sent
    answer: str | None = None  # the cardholder's answer to the alert, if any
    attacker_orders: set[str] = field(default_factory=set)
    owner_orders: set[str] = field(default_factory=set)


def _ev(kind: str, id: str, ts: float, **fields) -> dict[str, Any]:
    return {"id": id, "time": iso(ts), "kind": kind, **fields}


def _pay(id: str, ts: float, **fields) -> dict[str, Any]:
    base = {"amount": 1000, "currency": "JPY", "channel": "ecommerce", "country": "JP", "card_country": "JP"}
    return _ev("payment.attempt", id, ts, **{**base, **fields})


# ------------------------------------------------------------------ account takeover, the owner active
def account_takeover(now: float, n_gift_cards: int = 40, minutes: float = 100.0) -> Story:
    """Hanako's account is taken over with a leaked password: the attacker switches the
    language to English and buys ``n_gift_cards`` 1,000 yen gift cards within ``minutes``
    (the reports tell of 9 to 40+), hiding every third order; Hanako, on her own phone, logs
    in, removes a gift card from the cart, orders a rice cooker and changes her password
    during the attack. She answers "no" to the Japanese alert."""
    acct, card = "acct_hanako", "tok_hanako"
    own = {"account": acct, "device": "dev_hanako_phone", "ip": "203.0.113.10", "country": "JP"}
    att = {"account": acct, "device": "dev_att_laptop", "ip": "198.51.100.77", "country": "VN", "session": "s_att"}
    mine = {"card": card, "card_last4": "1881", "card_type": "credit"}
    gift = {"sku": "gift-1000", "category": "digital_gift_card", "quantity": 1, "unit_price": 1000}
    t0 = now - 150 * MIN
    ev: list[dict[str, Any]] = [
        _ev("account.login", "h-login-1", now - 3 * DAY, success=True, session="s_own_1", **own),
        _pay(
            "h-pay-1",
            now - 3 * DAY + 5 * MIN,
            amount=4980,
            merchant="m_ec_kaden_select",
            result="approved",
            **mine,
            **own,
        ),
        _ev("account.login", "h-login-2", now - DAY, success=True, session="s_own_2", **own),
        _ev(
            "order.placed",
            "h-order-own-1",
            now - DAY + 2 * MIN,
            order="o_own_1",
            amount=12800,
            currency="JPY",
            items=[{"sku": "shoes", "category": "fashion", "quantity": 1, "unit_price": 12800}],
            session="s_own_2",
            **own,
        ),
        _pay(
            "h-pay-own-1",
            now - DAY + 3 * MIN,
            amount=12800,
            merchant="m_ec_shoes",
            order="o_own_1",
            result="approved",
            session="s_own_2",
            **mine,
            **own,
        ),
        # the takeover
        _ev("account.login", "h-att-login", t0, success=True, method="password", **att),
        _ev(
            "account.profile_changed",
            "h-att-lang",
            t0 + 3 * MIN,
            field="language",
            old_value="ja",
            new_value="en",
            **att,
        ),
    ]
    attacker_orders = set()
    for i in range(n_gift_cards):
        ts = t0 + 5 * MIN + i * (minutes / n_gift_cards) * MIN
        order = f"o_att_{i}"
        attacker_orders.add(order)
        ev.append(_ev("cart.item_added", f"h-att-cart-{i}", ts, item=gift, **att))
        ev.append(
            _ev(
                "order.placed",
                f"h-att-order-{i}",
                ts + 30,
                order=order,
                amount=1000,
                currency="JPY",
                items=[gift],
                **att,
            )
        )
        ev.append(
            _pay(
                f"h-att-pay-{i}",
                ts + 40,
                merchant="m_ec_giftmall",
                order=order,
                items_category="digital_gift_card",
                **mine,
                **att,
            )
        )
        if i % 3 == 1:
            ev.append(_ev("order.hidden", f"h-att-hide-{i}", ts + 60, order=order, **att))
        if i == 2:  # Hanako, on her own phone, during the attack
            ev.append(_ev("account.login", "h-own-login-3", ts + 2 * MIN, success=True, session="s_own_3", **own))
            ev.append(_ev("cart.item_removed", "h-own-cart-rm", ts + 3 * MIN, item=gift, session="s_own_3", **own))
        if i == 4:
            ev.append(
                _ev(
                    "order.placed",
                    "h-order-own-2",
                    ts + 2 * MIN,
                    order="o_own_2",
                    amount=9800,
                    currency="JPY",
                    session="s_own_3",
                    items=[{"sku": "rice-cooker", "category": "appliances", "quantity": 1, "unit_price": 9800}],
                    **own,
                )
            )
            ev.append(
                _pay(
                    "h-pay-own-2",
                    ts + 3 * MIN,
                    amount=9800,
                    merchant="m_ec_kaden_select",
                    order="o_own_2",
                    result="approved",
                    session="s_own_3",
                    **mine,
                    **own,
                )
            )
        if i == 6:
            ev.append(_ev("account.password_changed", "h-own-password", ts + 2 * MIN, session="s_own_3", **own))
    ev.sort(key=lambda e: e["time"])
    return Story(
        "account takeover, the owner active",
        card,
        "hanako@example.jp",
        "ja",
        ev,
        answer="no",
        attacker_orders=attacker_orders,
        owner_orders={"o_own_1", "o_own_2"},
    )


# ------------------------------------------------------------------ a leaked card, tried elsewhere
LEAKED_ATTACKER = {"device": "dev_x_phone", "ip": "192.0.2.200", "country": "US"}


def leaked_card(now: float) -> Story:
    """Taro's card number leaks; it is registered on a stranger's new account abroad and
    charged there. He answers "no"; the same attacker then tries the card as a guest at
    three other merchants, and another card from the same phone."""
    card = {"card": "tok_taro", "card_last4": "0005", "card_type": "credit", "card_bin": "354000"}
    own = {"account": "acct_taro", "device": "dev_taro", "ip": "203.0.113.20", "country": "JP"}
    x = {"account": "acct_stranger", **LEAKED_ATTACKER}
    t0 = now - 40 * MIN
    ev = [
        _ev("account.login", "t-own-login", now - 60 * DAY, success=True, **own),
        _ev("account.payment_method_added", "t-own-add", now - 20 * DAY, **card, **own),
        _pay("t-own-1", now - 6 * DAY, amount=3200, merchant="m_ec_books", result="approved", **card, **own),
        _pay("t-own-2", now - 2 * DAY, amount=5400, merchant="m_ec_books", result="approved", **card, **own),
        _ev("account.login", "t-x-login", t0, success=True, **x),
        _ev("account.payment_method_added", "t-x-add", t0 + 2 * MIN, **card, **x),
        _pay("t-x-pay-1", t0 + 5 * MIN, amount=29800, merchant="m_ec_kaden_select", **card, **x),
        _pay("t-x-pay-2", t0 + 9 * MIN, amount=19800, merchant="m_ec_kaden_select", **card, **x),
    ]

    def after(at: float) -> list[dict[str, Any]]:
        guest = {k: v for k, v in card.items()} | LEAKED_ATTACKER
        return [
            _pay("t-guest-1", at, amount=15000, merchant="m_ec_camera", **guest),
            _pay("t-guest-2", at + 0.01, amount=8000, merchant="m_ec_outdoor", result="approved", **guest),
            _pay(
                "t-guest-3",
                at + 0.02,
                amount=4000,
                merchant="m_store_tokyo",
                channel="pos",
                **card,
                device="dev_pos_1",
                ip="192.0.2.201",
            ),
            _pay(
                "t-other-card",
                at + 0.03,
                amount=6000,
                merchant="m_ec_camera",
                card="tok_someone_else",
                card_last4="7777",
                **LEAKED_ATTACKER,
            ),
            _pay(
                "t-own-new",
                at + 0.04,
                amount=2100,
                merchant="m_ec_books",
                result="approved",
                card="tok_taro_new",
                card_last4="0021",
                **own,
            ),
        ]

    return Story("leaked card", "tok_taro", "taro@example.com", "en", ev, after, answer="no")


# ------------------------------------------------------------------ prepaid card testing
def card_testing(now: float) -> Story:
    """A dormant prepaid card with no balance: 17,600 yen declined for insufficient funds
    at 13:00, 16:00 and 23:00; later a 500 yen attempt."""
    card = {
        "card": "tok_prepaid",
        "card_last4": "3210",
        "card_type": "prepaid",
        "device": "dev_tester",
        "ip": "192.0.2.99",
    }
    declined = {
        "amount": 17600,
        "result": "declined",
        "decline_reason": "insufficient_funds",
        "merchant": "m_ec_giftmall",
    }
    ev = [
        _pay(
            "c-old",
            now - 40 * DAY,
            amount=5000,
            merchant="m_conv",
            result="declined",
            decline_reason="insufficient_funds",
            **card,
        ),
        _pay("c-13", now - 10 * HOUR, **declined, **card),
        _pay("c-16", now - 7 * HOUR, **declined, **card),
        _pay("c-23", now - 30 * MIN, **declined, **card),
    ]

    def after(at: float) -> list[dict[str, Any]]:
        return [_pay("c-500", at, amount=500, merchant="m_ec_music", **card)]

    return Story("prepaid card testing", "tok_prepaid", "prepaid@example.com", "en", ev, after)


# ------------------------------------------------------------------ the reseller
def reseller(now: float, days: int = 3, per_day: int = 18) -> Story:
    """A legitimate reseller: about 18 one-item payments and 180,000 yen a day, from her
    own devices."""
    who = {
        "card": "tok_reseller",
        "card_last4": "5550",
        "account": "acct_reseller",
        "device": "dev_res_pc",
        "ip": "203.0.113.30",
        "card_type": "credit",
    }
    ev = []
    for d in range(days):
        for i in range(per_day):
            ts = now - (days - d) * DAY + 9 * HOUR + i * 25 * MIN
            ev.append(_pay(f"r-{d}-{i}", ts, amount=10000, merchant="m_wholesale_akiba", result="approved", **who))
    return Story("reseller", "tok_reseller", "reseller@example.jp", "ja", ev)
