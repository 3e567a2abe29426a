"""Feature definitions: YAML round-trips, digests, and errors that name the feature and field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudwatch.features import (
    MAX_WINDOW,
    FeatureSet,
    FeatureSetError,
    FeatureSpec,
    FeatureSpecError,
    default_feature_set,
)
from fraudwatch.features.spec import parse_duration


def test_default_set_loads_round_trips_and_covers_the_patterns():
    fs = default_feature_set()
    assert 30 <= len(fs) <= 90  # payments, behaviour baselines and account takeover
    again = FeatureSet.from_yaml(fs.to_yaml())
    assert again == fs and again.digest == fs.digest
    for name in (
        "card.declines_10m",
        "card.insufficient_funds_24h",
        "card.same_amount_24h",
        "card.distinct_accounts_30d",
        "device.distinct_cards_24h",
        "ip.distinct_cards_24h",
        "card.amount_zscore_30d",
        "card.age",
        "account.device_age",
        "account.failed_logins_1h",
        "account.minutes_since_password_change",
        "account.minutes_since_language_change",
        "account.gift_card_share_24h",
        "account.order_hides_24h",
        "terminal.fraud_rate_7d",
        "card.amount_rank_30d",
        "card.mcc_share_30d",
        "card.hour_share_30d",
        "account.category_share_30d",
        "card.youngest_account_age_30d",
    ):
        assert name in fs.names


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(default_feature_set().to_yaml())
    assert FeatureSet.load(path) == default_feature_set()


def test_digest_follows_content_not_formatting():
    a = FeatureSet.from_yaml("features:\n  - {name: card.n_1h, entity: card, agg: count, window: 1h}\n")
    b = FeatureSet.from_yaml("features:\n  - name: card.n_1h\n    window: 3600\n    agg: count\n    entity: [card]\n")
    c = FeatureSet.from_yaml("features:\n  - {name: card.n_1h, entity: card, agg: count, window: 2h}\n")
    assert a.digest == b.digest != c.digest


_NAMES = st.sampled_from(["card.a", "card.b_1h", "account.c", "device.d"])


@st.composite
def feature_sets(draw):
    specs = []
    for name in draw(st.lists(_NAMES, unique=True, min_size=1)):
        agg = draw(st.sampled_from(["count", "sum", "distinct", "time_since_last", "age", "previous", "std"]))
        needs_field = agg in ("sum", "distinct", "previous", "std")
        scalar = agg in ("age", "time_since_last", "previous")
        windows = [1, 60.5, 600, 86400, MAX_WINDOW] + ([None] if scalar else [])  # scalar: default lookback
        specs.append(
            FeatureSpec(
                name,
                entity=draw(st.sampled_from([("card",), ("account", "device"), ("card_bin", "device")])),
                kinds=draw(st.sampled_from([(), ("payment.attempt",), ("account.login", "order.placed")])),
                agg=agg,
                field="amount" if needs_field else None,
                window=draw(st.sampled_from(windows)),
                filter=draw(st.sampled_from([None, "event.amount > 100", "event.result == 'declined'"])),
                delay=0 if scalar else draw(st.sampled_from([0, 30, 7 * 86400])),
                description=draw(st.sampled_from(["", "why: a pattern"])),
            )
        )
    return FeatureSet(specs, version=draw(st.sampled_from(["1", "2026-11-21.1"])))


@settings(max_examples=60, deadline=None)
@given(feature_sets())
def test_yaml_round_trips(fs):
    again = FeatureSet.from_yaml(fs.to_yaml())
    assert again == fs and again.digest == fs.digest and again.version == fs.version


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "features: [{name: card.x, entity: card, agg: count, window: 1h, windw: 2}]",
            "feature 'card.x': unknown key(s) windw",
        ),
        ("featurez: []", "unknown top-level key(s) featurez"),
        (
            "features:\n - {name: card.x, entity: card, agg: count, window: 1h}\n"
            " - {name: card.x, entity: card, agg: count, window: 2h}",
            "duplicate feature names: card.x",
        ),
        (
            "features: [{name: card.x, entity: card, agg: median, field: amount, window: 1h}]",
            "feature 'card.x': agg: 'median' is not one of",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count, window: 91d}]",
            "feature 'card.x': window: must be more than 0 and at most 90 days",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count, window: soon}]",
            "feature 'card.x': window: must be seconds",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count}]",
            "feature 'card.x': window: agg 'count' needs a window",
        ),
        (
            "features: [{name: card.x, entity: card, agg: sum, window: 1h}]",
            "feature 'card.x': field: agg 'sum' needs a field",
        ),
        (
            "features: [{name: card.x, entity: card, agg: age, field: amount}]",
            "feature 'card.x': field: agg 'age' takes no field",
        ),
        (
            "features: [{name: card.x, entity: card, agg: sum, field: amout, window: 1h}]",
            "feature 'card.x': field: no event kind has a field 'amout'",
        ),
        (
            "features: [{name: card.x, entity: cardd, agg: count, window: 1h}]",
            "feature 'card.x': entity: no event kind has a field 'cardd'",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count, field: scenario, window: 1h}]",
            "feature 'card.x': field: 'scenario' is the ground truth",
        ),
        (
            "features: [{name: card.x, entity: card, kinds: [payment.attempted], agg: count, window: 1h}]",
            "feature 'card.x': kinds: 'payment.attempted' is not an event kind",
        ),
        (
            "features: [{name: card.x, entity: card, agg: mean, field: label.fraud, window: 7d}]",
            "feature 'card.x': delay: label.fraud needs a delay",
        ),
        (
            "features: [{name: card.x, entity: card, agg: time_since_last, delay: 1h}]",
            "feature 'card.x': delay: agg 'time_since_last' takes no delay",
        ),
        ("features: [{name: x, entity: card, agg: count, window: 1h}]", "feature 'x': name: must be dotted"),
        ("features: [{name: event.x, entity: card, agg: count, window: 1h}]", "feature 'event.x': name: prefixes"),
        ("features: [{name: card.r, expr: event.amount / card.mean}]", "feature 'card.r': expr"),
        (
            "features: [{name: card.r, expr: event.amount, window: 1h}]",
            "feature 'card.r': window: a derived feature (expr) takes no window",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count, window: 1h, filter: 'card.y > 1'}]",
            "feature 'card.x': filter",
        ),
        (
            "features: [{name: card.x, entity: card, agg: count, window: 1h, filter: 'event.amount >'}]",
            "feature 'card.x': filter",
        ),
        (
            "features:\n - {name: card.a, expr: card.b + 1}\n - {name: card.b, expr: card.a * 2}",
            "cycle card.a -> card.b -> card.a",
        ),
        ("features: [{name: card.a, expr: model.score * 2}]", "feature 'card.a': expr"),
        (
            "features: [{name: account.x, entity: [account, items], agg: count, window: 1h}]",
            "feature 'account.x': entity: 'items' holds a list or record",
        ),
        (
            "features: [{name: account.x, entity: account, agg: distinct, field: items, window: 1h}]",
            "feature 'account.x': field: 'items' holds a list or record",
        ),
        ("[1, 2]", "a feature set is a mapping"),
        ("features: {a: 1", "not valid YAML"),
    ],
)
def test_errors_name_the_feature_and_the_field(text, message):
    with pytest.raises(FeatureSpecError) as info:
        FeatureSet.from_yaml(text)
    assert message in str(info.value)


def test_spec_errors_are_structured():
    with pytest.raises(FeatureSpecError) as info:
        FeatureSpec("card.x", entity="card", agg="sum", window="1h")
    assert info.value.errors == [{"feature": "card.x", "field": "field", "reason": "agg 'sum' needs a field"}]
    assert isinstance(info.value, FeatureSpecError) and not isinstance(info.value, FeatureSetError)


def test_derived_features_are_ordered_after_what_they_read():
    fs = FeatureSet.from_yaml(
        "features:\n"
        " - {name: card.c, expr: card.b * 2}\n"
        " - {name: card.b, expr: card.m + 1}\n"
        " - {name: card.m, entity: card, agg: mean, field: amount, window: 1h}\n"
    )
    assert [s.name for s in fs.derived] == ["card.b", "card.c"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("10m", 600), ("1h", 3600), ("7d", 604800), ("2w", 1209600), (" 90 ", 90), (1.5, 1.5)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_the_default_rules_read_only_default_features():
    from pathlib import Path

    import fraudwatch.rules
    from fraudwatch.rules import RuleSet

    path = Path(fraudwatch.rules.__file__).with_name("default.rules")
    if not path.exists():
        return  # the rules domain ships no default policy yet
    rules = RuleSet.parse(path.read_text(encoding="utf-8"), features=default_feature_set().names)
    assert set(rules.feature_names) <= set(default_feature_set().names)


def test_of_reads_a_first_pass_feature_and_its_readers_go_second():
    fs = FeatureSet.from_yaml(
        "features:\n"
        " - {name: account.age, entity: account, agg: age}\n"
        " - {name: card.youngest_account, entity: card, agg: min, of: account.age, window: 30d}\n"
        " - {name: card.youngest_account_days, expr: card.youngest_account / 86400}\n"
        " - {name: account.age_days, expr: account.age / 86400}\n"
    )
    assert fs.second_pass == {"card.youngest_account", "card.youngest_account_days"}
    assert fs["card.youngest_account"].source == "of:account.age"
    assert FeatureSet.from_yaml(fs.to_yaml()) == fs


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("{name: card.x, entity: card, agg: min, of: card.nope, window: 1h}", "of: unknown feature 'card.nope'"),
        ("{name: card.x, entity: card, agg: min, of: card.y, window: 1h}", "one level only"),
        ("{name: card.x, entity: card, agg: min, of: account.age, field: amount, window: 1h}", "not both"),
        ("{name: card.x, entity: card, agg: age, of: account.age}", "reads no value"),
        ("{name: card.x, expr: '1', of: account.age}", "takes no of"),
    ],
)
def test_bad_of(item, why):
    text = (
        "features:\n - {name: account.age, entity: account, agg: age}\n"
        " - {name: card.y, entity: card, agg: max, of: account.age, window: 1h}\n"
        f" - {item}\n"
    )
    with pytest.raises(FeatureSpecError, match=why):  # FeatureSetError for the references
        FeatureSet.from_yaml(text)
