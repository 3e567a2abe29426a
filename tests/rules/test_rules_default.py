"""The shipped default rules: valid against the default feature set, and each
DEVELOPERS.md pattern fires the intended rule while the reseller is not blocked."""

from importlib import resources

import pytest

from fraudwatch.decisions import Outcome
from fraudwatch.events.model import parse_event
from fraudwatch.rules import Context, ListStore, RuleSet

TEXT = resources.files("fraudwatch.rules").joinpath("default.rules").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rs():
    from fraudwatch.features import default_feature_set

    return RuleSet.parse(TEXT, version="default", features=default_feature_set().names)


def event(kind, **fields):
    base = {"id": "e1", "time": "2026-11-21T23:00:00+09:00", "kind": kind, "account": "acc_1", "card": "tok_1",
            "device": "dev_1", "ip": "198.51.100.1", "country": "JP"}  # fmt: skip
    return parse_event({**base, **fields})


def payment(**fields):
    return event("payment.attempt", **{"amount": 17600, "currency": "JPY", **fields})


def fired(rs, ev, lists=None, **features):
    hits, shadow = rs.evaluate(Context(event=ev, features=features, lists=lists or ListStore()))
    return {h.rule for h in hits}, {h.rule for h in shadow}, rs.outcome(hits)


def test_twenty_rules(rs):
    assert len(rs) == 20


def test_card_testing_same_amount_third_attempt_is_blocked(rs):
    rules, _, outcome = fired(rs, payment(result="declined", decline_reason="insufficient_funds"),
                              **{"card.insufficient_funds_24h": 2, "card.same_amount_24h": 3, "card.declines_10m": 1})  # fmt: skip
    assert "card_testing_same_amount" in rules and outcome is Outcome.BLOCK


def test_gift_card_burst_after_language_change_is_challenged(rs):
    order = event("order.placed", order="o1", amount=1000, currency="JPY",
                  items=[{"sku": "g", "category": "digital_gift_card", "unit_price": 1000}])  # fmt: skip
    rules, _, outcome = fired(rs, order, **{"account.gift_card_orders_1h": 3, "account.minutes_since_language_change": 14.5,
                                            "account.gift_card_orders_24h": 3})  # fmt: skip
    assert rules == {"language_change_gift_cards"} and outcome is Outcome.CHALLENGE
    rules, _, outcome = fired(rs, order, **{"account.gift_card_orders_24h": 12})
    assert "gift_card_burst" in rules and outcome is Outcome.BLOCK


def test_leaked_card_on_strangers_accounts_is_blocked(rs):
    rules, _, outcome = fired(rs, payment(), **{"card.distinct_accounts_30d": 3})
    assert rules == {"card_on_many_accounts"} and outcome is Outcome.BLOCK


def test_cart_readd_is_a_shadow_rule(rs):
    add = event("cart.item_added", item={"sku": "g", "category": "digital_gift_card", "unit_price": 1000})
    rules, shadow, outcome = fired(rs, add, **{"account.seconds_since_item_removed": 120})
    assert rules == set() and shadow == {"gift_card_readded_to_cart"} and outcome is Outcome.ALLOW


def test_reseller_velocity_is_exempt_when_trusted(rs):
    feats = {"card.payments_10m": 8, "card.payments_24h": 60}
    rules, _, outcome = fired(rs, payment(), **feats)
    assert rules == {"card_velocity"} and outcome is Outcome.CHALLENGE
    trusted = ListStore({"trusted_accounts": ["acc_1"]})
    rules, _, outcome = fired(rs, payment(), lists=trusted, **feats)
    assert rules == set() and outcome is Outcome.ALLOW


def test_blocked_list_changes_apply_at_once(rs):
    lists = ListStore()
    assert fired(rs, payment(), lists=lists)[2] is Outcome.ALLOW
    lists.add("blocked_cards", "tok_1")
    assert fired(rs, payment(), lists=lists)[0] == {"blocked_ip_or_card"}


def test_a_quiet_payment_fires_nothing(rs):
    feats = {name: 0 for name in rs.feature_names}
    feats.update({"account.device_age": 86400 * 30, "account.country_age": 86400 * 30, "card.seconds_since_last_payment": 3600})
    assert fired(rs, payment(), **feats) == (set(), set(), Outcome.ALLOW)
