"""Skipping rules that cannot fire, and the kind tests a plan decides, never changes the result."""

from hypothesis import given, settings
from hypothesis import strategies as st

from fraudwatch.definitions import load_rules
from fraudwatch.events.kinds import parse_event
from fraudwatch.features import default_feature_set
from fraudwatch.rules import Context, ListStore

RULES = load_rules()
NAMES = sorted(default_feature_set().names)
EVENTS = [
    {
        "kind": "payment.attempt",
        "amount": 17600,
        "currency": "JPY",
        "result": "declined",
        "decline_reason": "insufficient_funds",
        "items_category": "digital_gift_card",
    },
    {"kind": "account.login", "success": True},
    {"kind": "order.placed", "order": "o1", "amount": 3000, "currency": "JPY"},
    {"kind": "account.profile_changed", "field": "language", "new_value": "en"},
    {"kind": "account.payment_method_added"},  # rules guarded by `event.kind == A or event.kind == B`
    {"kind": "cart.item_added", "item": {"sku": "s1", "category": "digital_gift_card", "unit_price": 1000}},
    {
        "kind": "payment.attempt",
        "amount": 1000,
        "currency": "JPY",
        "channel": "wallet",
        "decline_reason": "stolen_card",
    },
]


def every_rule(ctx):
    hits = []
    for rule in RULES.rules:
        if rule.expression(ctx) is True:
            hits.append(rule.name)
    return hits


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(EVENTS),
    st.dictionaries(
        st.sampled_from(NAMES), st.one_of(st.none(), st.integers(0, 200_000), st.floats(0, 1e7)), max_size=30
    ),
    st.booleans(),
)
def test_plan_gives_the_same_hits_as_evaluating_every_rule(fields, features, with_account):
    base = {
        "id": "e",
        "time": "2026-11-21T23:00:00+09:00",
        "card": "tok",
        "device": "d",
        "ip": "1.2.3.4",
        "country": "US",
    }
    if with_account:
        base["account"] = "a"
    ctx = Context(parse_event({**base, **fields}), features, {}, ListStore())
    hits, shadow = RULES.evaluate(ctx)
    assert sorted(h.rule for h in hits + shadow) == sorted(every_rule(ctx))
