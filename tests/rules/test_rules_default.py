"""The shipped default rules: valid against the default feature set, and each
DEVELOPERS.md pattern fires the intended rule while the reseller is not blocked."""

from importlib import resources

import pytest

from fraudwatch.decisions import Outcome
from fraudwatch.events.kinds import parse_event
from fraudwatch.rules import Context, ListStore, RuleSet

TEXT = resources.files("fraudwatch.rules").joinpath("default.rules").read_text(encoding="utf-8")

MIN, HOUR, DAY = 60, 3600, 86400


@pytest.fixture(scope="module")
def feature_names():
    from fraudwatch.features import default_feature_set

    return default_feature_set().names


@pytest.fixture(scope="module")
def rs(feature_names):
    return RuleSet.parse(TEXT, version="default", features=feature_names)


def event(kind, **fields):
    base = {
        "id": "e1",
        "time": "2026-11-21T23:00:00+09:00",
        "kind": kind,
        "account": "acc_1",
        "card": "tok_1",
        "device": "dev_1",
        "ip": "198.51.100.1",
        "country": "JP",
    }
    return parse_event({**base, **fields})


def payment(**fields):
    return event("payment.attempt", **{"amount": 17600, "currency": "JPY", **fields})


# An established customer on a known device, card and account: every feature a rule reads that is
# a number for such a customer (time-since features of things that never happened stay missing).
KNOWN = {
    "account.age": 365 * DAY,
    "account.device_age": 90 * DAY,
    "account.ip_age": 90 * DAY,
    "account.country_age": 90 * DAY,
    "account.failed_logins_1h": 0,
    "account.gift_card_payments_1h": 0,
    "account.order_hides_24h": 0,
    "card.age": 90 * DAY,
    "card.device_age": 90 * DAY,
    "card.approved_30d": 6,
    "card.seconds_since_last_payment": 3 * DAY,
    "card.declines_10m": 0,
    "card.insufficient_funds_24h": 0,
    "card.same_amount_24h": 1,
    "card.distinct_accounts_30d": 1,
    "card.distinct_accounts_added_30d": 1,
    "card.wallet_devices_30d": 1,
    "card.amount_ratio_30d": 1.0,
    "device.declined_cards_1h": 0,
    "device.distinct_cards_24h": 1,
    "device.payments_1h": 1,
    "ip.declined_cards_1h": 0,
    "ip.distinct_cards_same_bin_1h": 1,
    "ip.distinct_accounts_failed_login_1h": 0,
    "ip.distinct_accounts_failed_login_24h": 0,
}


def fired(rs, ev, lists=None, **features):
    hits, shadow = rs.evaluate(Context(event=ev, features=features, model=None, lists=lists or ListStore()))
    return {h.rule for h in hits}, {h.rule for h in shadow}, rs.outcome(hits)


def test_every_rule_parses_against_the_default_features(rs, feature_names):
    assert len(rs) >= 20
    assert rs.feature_names <= set(feature_names)
    for rule in rs:
        alone = RuleSet.parse(
            f"rule {rule.name}:\n    {rule.outcome.value} if {rule.condition}\n", features=feature_names
        )
        assert [r.name for r in alone] == [rule.name]
    assert set(KNOWN) <= set(feature_names)


def test_card_testing_same_amount_third_attempt_is_blocked(rs):
    # a dormant prepaid card (no approved payment), 17,600 yen declined for insufficient funds at 13:00, 16:00, 23:00
    declined = payment(result="declined", decline_reason="insufficient_funds", card_type="prepaid")
    dormant = {**KNOWN, "card.approved_30d": 0, "card.declines_10m": 1, "card.seconds_since_last_payment": 7 * HOUR}
    rules, _, outcome = fired(rs, declined, **{**dormant, "card.insufficient_funds_24h": 2, "card.same_amount_24h": 2})
    assert rules == {"card_testing_dormant_same_amount"} and outcome is Outcome.CHALLENGE
    rules, _, outcome = fired(rs, declined, **{**dormant, "card.insufficient_funds_24h": 3, "card.same_amount_24h": 3})
    assert rules == {"card_testing_dormant_same_amount", "card_testing_dormant_same_amount_again"}
    assert outcome is Outcome.BLOCK
    # the genuine retry minutes later, and a card that has paid before (topped up), are left alone
    retry = {**dormant, "card.insufficient_funds_24h": 3, "card.same_amount_24h": 3}
    assert fired(rs, declined, **{**retry, "card.seconds_since_last_payment": 5 * MIN}) == (set(), set(), Outcome.ALLOW)
    assert fired(rs, declined, **{**retry, "card.approved_30d": 4}) == (set(), set(), Outcome.ALLOW)


def test_gift_card_burst_after_language_change_is_blocked(rs):
    # the attacker signs in from a new device, IP and country, switches the language to English, buys gift cards
    login = event("account.login", success=True, device="dev_x", ip="203.0.113.9", country="VN", language="en")
    new = {**KNOWN, "account.device_age": 0, "account.ip_age": 0, "account.country_age": 0}
    rules, _, outcome = fired(rs, login, **new)
    assert rules == {"ato_login_new_device_new_country"} and outcome is Outcome.CHALLENGE
    gift = payment(
        amount=10000,
        items_category="digital_gift_card",
        device="dev_x",
        language="en",
        channel="ecommerce",
        card_country="JP",
    )
    burst = {**KNOWN, "account.device_age": 20 * MIN, "card.device_age": 0, "account.gift_card_payments_1h": 3}
    rules, _, outcome = fired(rs, gift, **{**burst, "account.seconds_since_language_change": 14.5 * MIN})
    assert rules == {"ato_gift_cards_after_language_switch", "ato_gift_cards_from_new_device"}
    assert outcome is Outcome.BLOCK
    # without the language switch the burst from a new device is still challenged
    rules, _, outcome = fired(rs, gift, **burst)
    assert rules == {"ato_gift_cards_from_new_device"} and outcome is Outcome.CHALLENGE
    # gift cards put back in the cart after the owner removed them, from the new device
    readd = event(
        "cart.item_added", device="dev_x", item={"sku": "g", "category": "digital_gift_card", "unit_price": 10000}
    )
    rules, _, outcome = fired(rs, readd, **{**burst, "account.seconds_since_item_removed": 2 * MIN})
    assert rules == {"ato_gift_card_readded_after_removal"} and outcome is Outcome.CHALLENGE
    # the family's child buying game gift cards on the known tablet (language unchanged) is left alone
    assert fired(rs, gift, **{**KNOWN, "account.gift_card_payments_1h": 2}) == (set(), set(), Outcome.ALLOW)


def test_leaked_card_on_strangers_accounts_is_stopped(rs):
    stranger = {
        **KNOWN,
        "account.age": 10 * MIN,
        "account.device_age": 0,
        "account.ip_age": 0,
        "account.country_age": 0,
        "card.device_age": 0,
        "card.distinct_accounts_30d": 2,
    }
    online = {"channel": "ecommerce", "card_country": "JP"}
    rules, _, outcome = fired(rs, payment(account="acc_new", device="dev_x", **online), **stranger)
    assert rules == {"leaked_card_on_new_account"} and outcome is Outcome.CHALLENGE
    abroad = payment(account="acc_new", device="dev_x", ip="203.0.113.9", country="VN", **online)
    rules, _, outcome = fired(rs, abroad, **stranger)
    assert rules == {"leaked_card_on_new_account", "leaked_card_on_new_account_abroad", "card_abroad_new_device"}
    assert outcome is Outcome.BLOCK
    added = event("account.payment_method_added", account="acc_new", device="dev_x", card_country="JP")
    rules, _, outcome = fired(rs, added, **{**stranger, "card.distinct_accounts_added_30d": 2})
    assert rules == {
        "leaked_card_added_to_new_account",
        "leaked_card_on_new_account",
        "card_registered_on_second_account",
    }
    assert outcome is Outcome.CHALLENGE
    # the spouse's long-standing account paying with the same card is not stopped
    assert fired(rs, payment(account="acc_2"), **{**KNOWN, "card.distinct_accounts_30d": 2}) == (
        set(),
        set(),
        Outcome.ALLOW,
    )


def test_a_traveller_on_their_own_phone_is_not_the_card_abroad(rs):
    abroad = payment(account="acc_1", device="dev_phone", country="TH", channel="ecommerce", card_country="JP")
    # the card never paid from this phone, but the account has used it for months
    assert fired(rs, abroad, **{**KNOWN, "card.device_age": 0}) == (set(), set(), Outcome.ALLOW)
    # a phone the account met yesterday, or a guest checkout (no account): challenged
    rules, _, outcome = fired(rs, abroad, **{**KNOWN, "card.device_age": 0, "account.device_age": DAY})
    assert "card_abroad_new_device" in rules and outcome is Outcome.CHALLENGE
    guest = payment(device="dev_x", country="TH", channel="ecommerce", card_country="JP")
    rules, _, _ = fired(rs, guest, **{**KNOWN, "card.device_age": 0, "account.device_age": None})
    assert "card_abroad_new_device" in rules


def test_reseller_velocity_is_not_blocked(rs):
    # ~19 one-item payments a day in release-time bursts, an old card, a known PC, no declines
    reseller = {
        **KNOWN,
        "card.payments_10m": 8,
        "card.payments_1h": 12,
        "card.payments_24h": 60,
        "account.payments_1h": 12,
        "device.payments_1h": 12,
        "ip.payments_1h": 12,
        "card.approved_30d": 500,
        "card.seconds_since_last_payment": 30,
        "card.same_amount_24h": 3,
        "card.amount_sum_24h": 180_000,
    }
    assert fired(rs, payment(amount=9800, channel="ecommerce", card_country="JP"), **reseller) == (
        set(),
        set(),
        Outcome.ALLOW,
    )
    # the issuer's three do_not_honor declines in a row do not make it a block either
    declined = payment(amount=9800, result="declined", decline_reason="do_not_honor")
    assert fired(rs, declined, **{**reseller, "card.declines_10m": 3})[2] is not Outcome.BLOCK


LISTED = {  # field, listed value, rule, outcome, another value of the field
    "blocked_cards": ("card", "tok_1", "blocked_card", Outcome.BLOCK, "other"),
    "blocked_ips": ("ip", "198.51.100.1", "blocked_ip", Outcome.BLOCK, "198.51.100.2"),
    "blocked_devices": ("device", "dev_1", "blocked_device", Outcome.BLOCK, "other"),
    # kept by the engine from confirmed frauds (fraudwatch.actions.containment)
    "suspended_cards": ("card", "tok_1", "suspended_card", Outcome.BLOCK, "other"),
    "watched_devices": ("device", "dev_1", "watched_device", Outcome.CHALLENGE, "other"),
    "watched_ips": ("ip", "198.51.100.1", "watched_ip", Outcome.CHALLENGE, "198.51.100.2"),
}


def test_every_named_list_of_the_policy_is_covered(rs):
    assert set(rs.list_names) == set(LISTED)


@pytest.mark.parametrize("name", sorted(LISTED))
def test_list_changes_apply_at_once(rs, name):
    field, value, rule, outcome, other = LISTED[name]
    lists = ListStore()
    assert fired(rs, payment(), lists=lists, **KNOWN) == (set(), set(), Outcome.ALLOW)
    lists.add(name, value)
    assert fired(rs, payment(), lists=lists, **KNOWN) == ({rule}, set(), outcome)
    assert fired(rs, payment(**{field: other}), lists=lists, **KNOWN)[0] == set()
    lists.remove(name, value)
    assert fired(rs, payment(), lists=lists, **KNOWN)[0] == set()
    lists.replace(name, [value])
    assert fired(rs, payment(), lists=lists, **KNOWN)[0] == {rule}
    lists.delete(name)
    assert fired(rs, payment(), lists=lists, **KNOWN)[0] == set()


@pytest.mark.parametrize("name", ["suspended_cards", "watched_devices", "watched_ips"])
def test_containment_entries_hold_for_their_span_of_event_time(rs, name):
    field, value, rule, outcome, _ = LISTED[name]
    ts = payment().ts
    lists = ListStore()
    lists.add_entry(name, value, since=ts - 60, until=ts + 60, reason="cardholder: fraud confirmed")
    assert fired(rs, payment(), lists=lists, **KNOWN) == ({rule}, set(), outcome)
    lists = ListStore()
    lists.add_entry(name, value, since=ts + 1, until=ts + 60)  # confirmed after this event: a replay agrees
    assert fired(rs, payment(), lists=lists, **KNOWN)[0] == set()
    lists = ListStore()
    lists.add_entry(name, value, since=ts - 60, until=ts)  # expired
    assert fired(rs, payment(), lists=lists, **KNOWN)[0] == set()


def test_shadow_rules_are_recorded_not_enforced(rs):
    shadow = [r for r in rs if r.shadow]
    if not shadow:
        pytest.skip("the default policy has no shadow rule")
    # a shadow rule sits beside enforced ones: force every shadow rule's outcome through the rule set
    from fraudwatch.decisions.decision import RuleHit

    hits = [RuleHit(r.name, r.outcome, {}, True) for r in shadow]
    assert rs.outcome(hits) is Outcome.ALLOW


def test_a_quiet_payment_fires_nothing(rs):
    feats = {name: 0 for name in rs.feature_names}
    feats.update(
        {"account.device_age": 86400 * 30, "account.country_age": 86400 * 30, "card.seconds_since_last_payment": 3600}
    )
    assert fired(rs, payment(), **feats) == (set(), set(), Outcome.ALLOW)
