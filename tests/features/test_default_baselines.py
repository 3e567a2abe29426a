"""The default feature set's behavioural baselines, through the engine as served: how unusual
a payment is for this card and this account, against their own history."""

from __future__ import annotations

from fraudwatch.definitions import load_features, load_rules
from fraudwatch.engine import Engine
from fraudwatch.events.kinds import parse_event

DAY = 86400


def _event(n: int, day: int, hour: int, kind: str = "payment.attempt", **fields):
    base = {
        "id": f"e{n}",
        "time": f"2025-11-{1 + int(day):02d}T{hour:02d}:{n % 60:02d}:00+09:00",
        "kind": kind,
        "account": "u1",
        "device": "d1",
        "language": "ja",
    }
    if kind == "payment.attempt":
        base.update(
            card="tok_1",
            amount=1200,
            currency="JPY",
            result="approved",
            mcc="5411",
            merchant="m_grocer",
            items_category="groceries",
        )
    base.update(fields)
    return parse_event(base)


def test_a_payment_unlike_the_cards_and_accounts_own_history():
    engine = Engine(features=load_features(), rules=load_rules())
    first = engine.process(_event(0, 0, 19)).features
    # no history yet: nothing to compare with
    assert first["card.mcc_share_30d"] is None and first["card.amount_rank_30d"] is None
    for n in range(1, 10):  # a month of evening groceries, same device, in Japanese
        engine.process(_event(n, n, 19, amount=1000 + 50 * n))
    usual = engine.process(_event(10, 10, 19, amount=1200)).features
    assert usual["card.mcc_share_30d"] == 1.0 and usual["card.merchant_share_30d"] == 1.0
    assert usual["card.hour_share_30d"] == 1.0
    assert 0.2 < usual["card.amount_rank_30d"] < 0.8
    assert usual["account.device_share_30d"] == 1.0 and usual["account.language_share_30d"] == 1.0
    # a gift card at 3 a.m., at a new merchant, more than ever before, from a new device in English
    odd = engine.process(
        _event(
            11,
            11,
            3,
            amount=9000,
            mcc="5815",
            merchant="m_gift",
            items_category="digital_gift_card",
            device="d_new",
            language="en",
        )
    ).features
    assert odd["card.mcc_share_30d"] == 0.0 and odd["card.merchant_share_30d"] == 0.0
    assert odd["card.hour_share_30d"] == 0.0 and odd["card.amount_rank_30d"] == 1.0
    assert odd["account.category_share_30d"] == 0.0
    assert odd["account.device_share_30d"] == 0.0 and odd["account.language_share_30d"] == 0.0


def test_a_card_remembers_the_youngest_account_it_paid_on():
    engine = Engine(features=load_features(), rules=load_rules())
    engine.process(_event(0, 0, 12, kind="account.login", success=True))  # the owner's account, known since day 0
    engine.process(_event(1, 20, 12))
    # day 20: a stranger's account opened today pays with the same card
    engine.process(_event(2, 20, 13, kind="account.login", success=True, account="u_new", device="d_x"))
    stranger = engine.process(_event(3, 20, 14, account="u_new", device="d_x")).features
    assert stranger["card.youngest_account_age_30d"] == 3660.0  # the new account is an hour and a minute old
    assert stranger["card.distinct_accounts_90d"] == 2
    # back on the owner's account, the card still remembers it was on a day-old account
    owner = engine.process(_event(4, 20, 15)).features
    assert owner["card.youngest_account_age_30d"] == 3660.0
