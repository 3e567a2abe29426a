"""The analyst's language: custom fields (event.metadata), allow precedence, feature files
that extend the default set."""

import pytest
from pydantic import ValidationError

from fraudwatch.decisions import Outcome
from fraudwatch.engine import Engine
from fraudwatch.events import parse_event
from fraudwatch.events.pan import Tokenizer
from fraudwatch.features import FeatureSet, default_feature_set
from fraudwatch.features.featureset import FeatureSetError
from fraudwatch.features.spec import FeatureSpecError
from fraudwatch.rules import Context, ListStore, RuleSet, RuleSyntaxError


def pay(i=1, minute=0, **fields):
    base = {
        "id": f"p{i}",
        "time": f"2026-11-21T13:{minute:02d}:00+09:00",
        "kind": "payment.attempt",
        "card": "tok_1",
        "account": "acc_1",
        "amount": 17600,
        "currency": "JPY",
    }
    return parse_event({**base, **fields})


# ------------------------------------------------------------------ metadata
def test_metadata_is_read_by_rules_and_missing_when_absent():
    rs = RuleSet.parse("""
rule young_customer:
    review if event.metadata.customer_age < 30 and event.metadata.item_id == 'sku_9'
rule trusted:
    allow if event.metadata.trusted == true
""")
    hits, _ = rs.evaluate(Context(pay(metadata={"customer_age": 20, "item_id": "sku_9"}), {}))
    assert [h.rule for h in hits] == ["young_customer"]
    assert hits[0].values == {"event.metadata.customer_age": 20, "event.metadata.item_id": "sku_9"}
    assert rs.evaluate(Context(pay(metadata={"customer_age": 40}), {}))[0] == []
    assert rs.evaluate(Context(pay(), {}))[0] == []  # no metadata: missing, never fires
    assert rs.evaluate(Context(pay(metadata={"customer_age": "20"}), {}))[0] == []  # a text is not a number


@pytest.mark.parametrize(
    "metadata, why",
    [
        ({"Customer Age": 1}, "lower-case letters"),
        ({"x" * 41: 1}, "at most 40"),
        ({"k": "a" * 501}, "longer than 500"),
        ({"k": 2**60}, "beyond 2**53"),
        ({"k": 4111111111111111}, "card number"),
        ({"k": [1, 2]}, "valid"),
        ({"k": {"nested": 1}}, "valid"),
        ({f"k{i}": 1 for i in range(51)}, "at most 50"),
    ],
)
def test_hostile_metadata_is_refused_with_the_key(metadata, why):
    with pytest.raises(ValidationError) as err:
        pay(metadata=metadata)
    assert why in str(err.value) and "metadata" in str(err.value)


def test_card_numbers_in_metadata_text_are_tokenized_on_the_way_in():
    t = Tokenizer(b"test-key-from-config-0123456789ab")
    clean = t.sanitize({"id": "e", "metadata": {"note": "card 4111 1111 1111 1111"}})
    assert "4111" not in clean["metadata"]["note"] and "tok_" in clean["metadata"]["note"]


def test_declared_metadata_types_are_checked_and_undeclared_keys_suggested():
    declared = {"customer_age": "number", "trusted": "bool"}
    RuleSet.parse("rule a:\n review if event.metadata.customer_age < 30\n", metadata=declared)
    with pytest.raises(RuleSyntaxError) as err:
        RuleSet.parse("rule a:\n review if event.metadata.customer_age == 'young'\n", metadata=declared)
    assert "comparing number with string" in str(err.value)
    with pytest.raises(RuleSyntaxError) as err:
        RuleSet.parse("rule a:\n review if event.metadata.custmer_age < 30\n", metadata=declared)
    assert "did you mean event.metadata.customer_age" in str(err.value)
    with pytest.raises(RuleSyntaxError, match="one key"):
        RuleSet.parse("rule a:\n review if event.metadata == 1\n")
    # without declarations any key reads, typed at run time
    RuleSet.parse("rule a:\n review if event.metadata.anything == 'x'\n")


def test_metadata_keys_features_and_filters():
    fs = FeatureSet.from_yaml("""
version: t
metadata: {customer_id: string, vip: bool}
features:
  - {name: customer.payments_1h, entity: metadata.customer_id, kinds: [payment.attempt], agg: count, window: 1h}
  - name: card.vip_payments_1h
    entity: card
    kinds: [payment.attempt]
    filter: "event.metadata.vip == true"
    agg: count
    window: 1h
""")
    engine = Engine(fs, RuleSet.parse("rule r:\n block if customer.payments_1h >= 3\n", version="t"))
    outcomes = []
    for i in range(3):
        d = engine.process(pay(i, i, card=f"tok_{i}", metadata={"customer_id": "c1", "vip": i == 0}))
        outcomes.append(d.outcome.value)
    assert outcomes == ["allow", "allow", "block"]
    assert d.features["customer.payments_1h"] == 3 and d.features["card.vip_payments_1h"] == 0
    assert "customer.payments_1h" not in engine.process(pay(9, 9)).features  # no key: the feature does not apply
    with pytest.raises(FeatureSetError, match="undeclared metadata key"):
        FeatureSet.from_yaml("""
metadata: {vip: bool}
features:
  - {name: card.x, entity: card, filter: "event.metadata.vipp == true", agg: count, window: 1h}
""")
    with pytest.raises(FeatureSetError, match="type 'int'"):
        FeatureSet.from_yaml("metadata: {age: int}\nfeatures: []\n")
    with pytest.raises(FeatureSpecError, match="list or record"):
        FeatureSet.from_yaml("features:\n  - {name: card.x, entity: metadata, agg: count, window: 1h}\n")


def test_rules_check_reads_the_declarations_of_the_feature_file(tmp_path):
    from click.testing import CliRunner

    from fraudwatch.cli import main

    features = tmp_path / "f.yaml"
    features.write_text("extends: default\nversion: mine\nmetadata: {customer_age: number}\n")
    rules = tmp_path / "r.rules"
    rules.write_text("rule a:\n    review if event.metadata.customer_agee < 30\n")
    result = CliRunner().invoke(main, ["rules", "check", str(rules), "--features", str(features), "--lists", ""])
    assert result.exit_code == 1 and "did you mean event.metadata.customer_age" in result.output
    rules.write_text("rule a:\n    review if event.metadata.customer_age < 30 and card.payments_1h > 1\n")
    result = CliRunner().invoke(main, ["rules", "check", str(rules), "--features", str(features), "--lists", ""])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ precedence
POLICY = """
rule velocity:
    challenge if card.payments_10m >= 3
rule big:
    block if event.amount >= 100_000
rule review_everything:
    review if event.amount > 0
rule trusted_reseller:
    allow if event.account in @trusted_accounts
rule trusted_flag [shadow]:
    allow if event.metadata.trusted == true
"""


def engine_with(lists):
    fs = FeatureSet.from_yaml(
        "features:\n  - {name: card.payments_10m, entity: card, kinds: [payment.attempt], agg: count, window: 10m}\n"
    )
    return Engine(fs, RuleSet.parse(POLICY, version="t"), lists=ListStore(lists))


def test_an_allow_rule_overrides_block_challenge_and_review_and_the_decision_says_so():
    engine = engine_with({"trusted_accounts": ["acc_1"]})
    for i in range(2):
        engine.process(pay(i, i))
    d = engine.process(pay(2, 2, amount=150_000))
    assert d.outcome is Outcome.ALLOW and d.decided_by == "trusted_reseller"
    assert [h.rule for h in d.rules] == ["trusted_reseller"]
    overridden = {h.rule: h for h in d.shadow_rules}
    assert set(overridden) == {"velocity", "big", "review_everything"}
    assert all(h.shadow and h.values["allowed_by"] == "trusted_reseller" for h in overridden.values())
    assert d.step_up is None


def test_without_the_allow_the_most_severe_wins_and_a_shadow_allow_changes_nothing():
    engine = engine_with({"trusted_accounts": []})
    for i in range(2):
        engine.process(pay(i, i))
    d = engine.process(pay(2, 2, amount=150_000, metadata={"trusted": True}))
    assert d.outcome is Outcome.BLOCK and d.decided_by == "big"
    assert [h.rule for h in d.shadow_rules] == ["trusted_flag"]
    d = engine.process(pay(3, 3))
    assert d.outcome is Outcome.CHALLENGE and d.decided_by == "velocity"
    assert engine_with({}).process(pay(5, 5, amount=0)).decided_by is None


def test_an_allow_rule_overrides_the_model_threshold():
    class Model:
        version, kinds = "m", frozenset({"payment.attempt"})

        def score(self, event, values):
            return 0.99

        def explain(self, event, values):
            return []

    fs = FeatureSet([])
    rules = RuleSet.parse("rule trusted:\n    allow if event.account in @trusted\nrule x:\n    review if false\n")
    engine = Engine(fs, rules, model=Model(), thresholds={"block": 0.9}, lists=ListStore({"trusted": ["acc_1"]}))
    d = engine.process(pay())
    assert d.outcome is Outcome.ALLOW and d.decided_by == "trusted"
    assert [h.rule for h in d.shadow_rules] == ["model.score>=0.9"]
    d = engine.process(pay(2, account="acc_2"))
    assert d.outcome is Outcome.BLOCK and d.decided_by == "model.score>=0.9"


# ------------------------------------------------------------------ extends
def test_a_feature_file_extends_the_default_set_with_additions_and_overrides():
    default = default_feature_set()
    fs = FeatureSet.from_yaml("""
extends: default
version: mine.1
features:
  - {name: card.payments_10m, entity: card, kinds: [payment.attempt], agg: count, window: 15m}
  - {name: email.payments_1h, entity: email, kinds: [payment.attempt], agg: count, window: 1h}
""")
    assert fs.version == "mine.1"
    assert len(fs) == len(default) + 1
    assert fs.names[: len(default)] == default.names  # an override keeps its place
    assert fs["card.payments_10m"].window == 900.0 and fs.names[-1] == "email.payments_1h"
    assert fs.digest != default.digest
    with pytest.raises(FeatureSetError, match="only 'default'"):
        FeatureSet.from_yaml("extends: other.yaml\n")


# ------------------------------------------------------------------ --lists
def test_replay_bench_and_backtest_load_named_lists(tmp_path):
    import json

    from click.testing import CliRunner

    from fraudwatch.cli import main

    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "blocked_ips.txt").write_text("# incident 11-21\n203.0.113.7\n")
    (lists / "trusted_accounts.list").write_text("acc_reseller\n")
    rules = tmp_path / "r.rules"
    rules.write_text(
        "rule blocked_ip:\n    block if event.ip in @blocked_ips\n"
        "rule trusted:\n    allow if event.account in @trusted_accounts\n"
    )
    events = tmp_path / "e.jsonl"
    rows = [
        pay(1, 1, ip="203.0.113.7"),
        pay(2, 2, ip="203.0.113.8"),
        pay(3, 3, ip="203.0.113.7", account="acc_reseller"),
    ]
    events.write_text("".join(json.dumps(r.model_dump(mode="json", exclude_none=True)) + "\n" for r in rows))
    out = tmp_path / "d.jsonl"
    args = ["--rules", str(rules), "--model", "none"]
    result = CliRunner().invoke(main, ["replay", str(events), "--out", str(out), *args, "--lists", str(lists)])
    assert result.exit_code == 0, result.output
    decisions = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["outcome"] for d in decisions] == ["block", "allow", "allow"]
    assert [d["decided_by"] for d in decisions] == ["blocked_ip", None, "trusted"]
    result = CliRunner().invoke(main, ["replay", str(events), "--out", str(out), *args])
    assert [json.loads(line)["outcome"] for line in out.read_text().splitlines()] == ["allow"] * 3  # no lists
    result = CliRunner().invoke(main, ["bench", str(events), *args, "--lists", str(lists)])
    assert result.exit_code == 0 and "events:" in result.output
    result = CliRunner().invoke(main, ["backtest", str(events), *args, "--lists", str(lists)])
    assert result.exit_code == 0, result.output
    (lists / "bad name.txt").write_text("x\n")
    result = CliRunner().invoke(main, ["replay", str(events), "--out", str(out), *args, "--lists", str(lists)])
    assert result.exit_code != 0 and "bad name.txt" in result.output


# ------------------------------------------------------------------ functions
@pytest.mark.parametrize(
    "expression, event, expected",
    [
        ("email_domain(event.email)", {"email": "Taro@Example.JP"}, "example.jp"),
        ("email_domain(event.email)", {"email": "no-at-sign"}, None),
        ("email_domain(event.email)", {"email": "a@"}, None),
        ("is_disposable_email(event.email)", {"email": "x@mailinator.com"}, True),
        ("is_disposable_email(event.email)", {"email": "x@eu.Mailinator.com"}, True),
        ("is_disposable_email(event.email)", {"email": "x@example.jp"}, False),
        ("ip_in_cidr(event.ip, '203.0.113.0/24', '2001:db8::/32')", {"ip": "203.0.113.200"}, True),
        ("ip_in_cidr(event.ip, '203.0.113.0/24', '2001:db8::/32')", {"ip": "2001:db8::1"}, True),
        ("ip_in_cidr(event.ip, '203.0.113.0/24')", {"ip": "203.0.114.1"}, False),
        ("equals_ignore_case(event.email, 'TARO@EXAMPLE.JP')", {"email": "taro@example.jp"}, True),
        ("split(event.email, '@', 0)", {"email": "taro@example.jp"}, "taro"),
        ("split(event.email, '.', -1)", {"email": "taro@example.jp"}, "jp"),
        ("split(event.email, '@', 2)", {"email": "taro@example.jp"}, None),
    ],
)
def test_enrichment_functions(expression, event, expected):
    from fraudwatch.rules import MISSING, compile_expression

    value = compile_expression(expression)(Context(pay(**event), {}))
    assert (None if value is MISSING else value) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("ip_in_cidr(event.ip, '10.0.0.0/33')", "not a CIDR range"),
        ("ip_in_cidr(event.ip, event.email)", "must be a literal"),
        ("split(event.email, '', 0)", "must not be empty"),
        ("split(event.email, '@', 0.5)", "whole number"),
    ],
)
def test_enrichment_functions_refuse_bad_literals_when_compiled(expression, message):
    from fraudwatch.rules import compile_expression

    with pytest.raises(RuleSyntaxError, match=message):
        compile_expression(expression)


def test_the_disposable_domain_list_is_an_updatable_file(tmp_path, monkeypatch):
    from fraudwatch.rules import compile_expression

    mine = tmp_path / "disposable.txt"
    mine.write_text("# ours\nthrowaway.example\n")
    monkeypatch.setenv("FRAUDWATCH_DISPOSABLE_EMAIL_DOMAINS", str(mine))
    expr = compile_expression("is_disposable_email(event.email)")
    assert expr(Context(pay(email="a@throwaway.example"), {})) is True
    assert expr(Context(pay(email="a@mailinator.com"), {})) is False


# ------------------------------------------------------------------ payment context and currencies
def test_payment_context_fields_take_their_value_lists_with_unknown():
    e = pay(
        cvc_check="fail",
        address_line1_check="unknown",
        address_postal_code_check="pass",
        wallet="apple_pay",
        off_session=True,
        recurring=False,
        network_token=True,
        cryptogram=True,
        three_ds_support="unknown",
        card_brand="unknown",
        card_bin="371449",
        card_type="unknown",
        billing_country="JP",
        billing_postal_code="100-0001",
        billing_line_hash="h_1",
        shipping_country="US",
        shipping_postal_code="94105",
        shipping_line_hash="h_2",
        cardholder_name_hash="h_3",
        email_domain="example.jp",
    )
    assert (e.cvc_check, e.wallet, e.off_session, e.card_scheme) == ("fail", "apple_pay", True, "amex")
    for field, bad in [
        ("cvc_check", "failed"),
        ("off_session", "yes"),
        ("wallet", "paypal"),
        ("billing_country", "jp"),
    ]:
        with pytest.raises(ValidationError, match=field):
            pay(**{field: bad})
    rs = RuleSet.parse(
        "rule r:\n    block if event.cvc_check == 'fail' and event.shipping_country != event.billing_country\n"
    )
    assert [h.rule for h in rs.evaluate(Context(e, {}))[0]] == ["r"]
    with pytest.raises(RuleSyntaxError):
        RuleSet.parse("rule r:\n    block if event.off_session == 'yes'\n")  # a bool field


def test_amount_usd_converts_minor_units_with_the_rate_of_the_day(tmp_path, monkeypatch):
    from fraudwatch.events.currency import Rates

    assert pay(amount=17600).amount_usd == 119.68  # 0.0068 from 2026-07-01 in the sample table
    assert pay(amount=1999, currency="USD").amount_usd == 19.99
    assert pay(amount=1234, currency="KWD").amount_usd == round(1.234 * 3.25, 2)  # three decimals
    assert pay(amount=100, currency="XOF").amount_usd is None  # no rate: missing in rules
    table = tmp_path / "rates.csv"
    table.write_text("date,currency,usd\n2026-11-21,JPY,0.01\n2026-11-22,JPY,0.02\n")
    monkeypatch.setenv("FRAUDWATCH_CURRENCY_RATES", str(table))
    assert pay(amount=1000).amount_usd == 10.0  # 13:00 in Tokyo is 04:00 UTC on the 21st
    late = parse_event({**pay(amount=1000).model_dump(), "time": "2026-11-22T09:00:00+09:00"})
    assert late.amount_usd == 20.0
    for bad in [
        "date,currency,usd\n2026-13-01,JPY,1\n",
        "2026-01-01,jpy,1\n",
        "2026-01-01,JPY,-1\n",
        "2026-01-01,JPY\n",
    ]:
        with pytest.raises(ValueError, match="line 1"):
            Rates.parse(bad.removeprefix("date,currency,usd\n"))


def test_features_aggregate_converted_amounts():
    fs = FeatureSet.from_yaml("""
features:
  - {name: card.usd_24h, entity: card, kinds: [payment.attempt], agg: sum, field: amount_usd, window: 24h}
""")
    engine = Engine(fs, RuleSet.parse("rule r:\n    review if card.usd_24h > 200\n", version="t"))
    d1 = engine.process(pay(1, 1, amount=17600))
    d2 = engine.process(pay(2, 2, amount=10000, currency="USD"))
    assert d1.features["card.usd_24h"] == 119.68 and d2.features["card.usd_24h"] == pytest.approx(219.68)
    assert (d1.outcome.value, d2.outcome.value) == ("allow", "review")
