"""docs/from-radar.md stays true: every rule it maps is replayed through the engine with events
where it must fire and events where it must not, with the page's own feature file."""

import re
from pathlib import Path

import pytest

from fraudwatch.engine import Engine
from fraudwatch.events import parse_event
from fraudwatch.features import FeatureSet
from fraudwatch.rules import ListStore, RuleSet

DOC = Path(__file__).resolve().parents[2] / "docs" / "from-radar.md"
TEXT = DOC.read_text(encoding="utf-8")
RULES_TEXT = re.search(r"## The rules\n\n```\n(.*?)```", TEXT, re.S).group(1)
FEATURES_TEXT = re.search(r"```yaml\n(.*?)```", TEXT, re.S).group(1)
FEATURES = FeatureSet.from_yaml(FEATURES_TEXT)
ALL = RuleSet.parse(RULES_TEXT, features=FEATURES.names, metadata=FEATURES.metadata)
LISTS = {
    "blocked_cards": ["tok_stolen"],
    "blocked_ips": ["41.58.0.1"],
    "risky_email_domains": ["mailinator.com", "example.ru"],
    "risky_postal_codes": ["100-0001"],
    "risky_bins": ["411111"],
}

JP_IP, US_IP, NG_IP, GH_IP = "126.0.0.1", "8.8.8.8", "41.58.0.1", "154.160.0.1"
HOSTING_IP = "3.5.0.1"  # a cloud network (AMAZON-AES) in the offline IP data
_n = [0]


def pay(minute=0, **fields):
    _n[0] += 1
    base = {
        "id": f"e{_n[0]}",
        "time": f"2026-11-21T13:{minute:02d}:00+09:00",
        "kind": "payment.attempt",
        "card": "tok_1",
        "account": "acc_1",
        "email": "taro@example.jp",
        "ip": JP_IP,
        "card_country": "JP",
        "amount": 17600,
        "currency": "JPY",
        "result": "approved",
    }
    return {**base, **fields}


def usd(amount, **fields):
    return pay(amount=amount, currency="USD", **fields)


class Score:
    """A stand-in model giving each event the score it names in its metadata."""

    version, kinds = "fixed", frozenset({"payment.attempt"})

    def score(self, event, values):
        return (event.metadata or {}).get("score", 0.5)

    def explain(self, event, values):
        return []


# rule: ([events, the last of which must make it fire], [events, the last of which must not])
CASES = {
    "radar_01_allow_small": ([usd(999)], [usd(1000)]),
    # 140,000 yen is 952 dollars at the sample table's 0.0068 (from 2026-07-01)
    "radar_02_allow_domestic_normal": (
        [pay(ip=US_IP, metadata={"score": 0.1})],
        [pay(ip=US_IP, metadata={"score": 0.5})],
    ),
    "radar_03_block_highest": ([pay(metadata={"score": 0.95})], [pay(metadata={"score": 0.5})]),
    "radar_04_block_large": ([usd(100_001)], [pay(amount=140_000)]),
    "radar_05_review_foreign_card": ([pay(card_country="GB")], [pay(card_country="US")]),
    "radar_06_card_ip_country_mismatch": ([pay(ip=US_IP)], [pay(ip=JP_IP)]),
    "radar_07_risky_email_domain": ([pay(email="X@Example.RU")], [pay(email="x@example.jp")]),
    "radar_08_missing_email": ([pay(email=None)], [pay()]),
    "radar_09_young_customer": ([pay(metadata={"customer_age": 20})], [pay(metadata={"customer_age": 45})]),
    "radar_10_allow_trusted_customer": ([pay(metadata={"trusted": True})], [pay(metadata={"trusted": False})]),
    "radar_11_blocked_card": ([pay(card="tok_stolen")], [pay()]),
    "radar_12_blocked_ip": ([pay(ip=NG_IP)], [pay(ip=GH_IP)]),
    "radar_13_review_large_prepaid": (
        [pay(amount=200_000, card_type="prepaid")],
        [pay(amount=140_000, card_type="prepaid")],
    ),
    "radar_14_three_ds_new_customer": ([pay()], [pay(0), pay(5)]),
    "radar_15_allow_call_center": ([pay(ip=JP_IP)], [pay(ip="133.1.1.1")]),
    "radar_17_cvc_fail": ([pay(cvc_check="fail")], [pay(cvc_check="unavailable")]),
    "radar_18_postal_code_check_fail": (
        [pay(address_postal_code_check="fail")],
        [pay(address_postal_code_check="pass")],
    ),
    "radar_19_anonymous_ip": ([pay(ip=HOSTING_IP)], [pay(ip=JP_IP)]),
    "radar_16_block_outside_japan": ([pay(card_country="US")], [pay()]),
    "radar_20_card_hourly_velocity": ([pay(m) for m in range(4)], [pay(m) for m in range(3)]),
    "radar_21_card_daily_declines": (
        [pay(m, result="declined") for m in range(3)],
        [pay(0, result="declined"), pay(1, result="declined"), pay(2)],
    ),
    "radar_22_email_weekly_authorized": (
        [pay(m, card=f"tok_{m}") for m in range(6)],
        [pay(m, card=f"tok_{m}") for m in range(5)],
    ),
    "radar_23_ip_hourly_velocity": ([pay(m, card=f"t{m}") for m in range(11)], [pay(m) for m in range(10)]),
    "radar_24_ip_cards_hourly": ([pay(m, card=f"t{m}") for m in range(4)], [pay(m, card="t1") for m in range(9)]),
    "radar_25_card_emails_weekly": (
        [pay(m, email=f"u{m}@example.jp") for m in range(3)],
        [pay(m, email="u1@example.jp") for m in range(5)],
    ),
    "radar_26_card_names_weekly": (
        [pay(m, cardholder_name_hash=f"h{m}") for m in range(3)],
        [pay(m, cardholder_name_hash="h1") for m in range(5)],
    ),
    "radar_28_new_email": ([pay(amount=60_000)], [pay(amount=1_000)]),
    "radar_29_disposable_email": ([pay(email="x@yopmail.com")], [pay(email="x@gmail.com")]),
    "radar_30_amex": ([pay(card_bin="371449")], [pay(card_bin="411111")]),
    "radar_31_prepaid": ([pay(card_type="prepaid")], [pay(card_type="debit")]),
    "radar_32_risky_bin": ([pay(card_bin="411111")], [pay(card_bin="520000")]),
    "radar_33_wallet": ([usd(60_000, wallet="apple_pay")], [usd(60_000, wallet="google_pay")]),
    "radar_34_off_session_recurring": ([pay(off_session=True, recurring=True)], [pay(off_session=True)]),
    "radar_39_billing_card_country": ([pay(billing_country="US")], [pay(billing_country="JP")]),
    "radar_40_shipping_postal_code": ([pay(shipping_postal_code="100-0001")], [pay(shipping_postal_code="150-0001")]),
    "radar_35_three_ds_authenticated": ([pay(three_ds_trans_status="Y")], [pay(three_ds_trans_status="N")]),
    "radar_36_no_liability_shift": (
        [pay(amount=60_000, eci="07", card_bin="411111")],
        [pay(amount=60_000, eci="05", card_bin="411111")],
    ),
    "radar_37_risk_score": ([pay(metadata={"score": 0.8})], [pay(metadata={"score": 0.7})]),
    "radar_38_ip_country_list": ([pay(ip=GH_IP)], [pay(ip=US_IP)]),
    "radar_41_email_domain_ignore_case": ([pay(email="Hanako@GMail.com")], [pay(email="hanako@gmail.co")]),
    "radar_42_card_with_fraud_warning": (
        [
            {
                "id": "efw1",
                "time": "2026-11-20T10:00:00+09:00",
                "kind": "early_fraud_warning",
                "payment": "old",
                "card": "tok_1",
                "amount": 5000,
                "currency": "JPY",
            },
            pay(),
        ],
        [pay()],
    ),
    "radar_44_amount_above_card_average": (
        [*(pay(m, amount=1000) for m in range(4)), usd(50_000, minute=5)],
        [*(pay(m, amount=1000) for m in range(4)), usd(3000, minute=5)],
    ),
    "radar_45_three_ds_used": ([pay(amount=60_000)], [pay(amount=60_000, three_ds="frictionless")]),
}
# the card's first payment an hour before makes it older than 3,600 s
CASES["radar_27_new_card"] = (
    [pay(amount=60_000)],
    [pay(0, amount=100), {**pay(0, amount=60_000), "time": "2026-11-21T14:01:00+09:00"}],
)


def fires(rule_name, events):
    rules = RuleSet.parse(f"rule {rule_name}:\n    {_rule_text(rule_name)}\n", version="t", metadata=FEATURES.metadata)
    engine = Engine(FEATURES, rules, model=Score(), lists=ListStore(LISTS))
    for raw in events:
        decision = engine.process(parse_event({k: v for k, v in raw.items() if v is not None}))
    return [h.rule for h in decision.rules] == [rule_name]


def _rule_text(name):
    rule = ALL.rule(name)
    step_up = f" {rule.step_up}" if rule.step_up else ""
    return f"{rule.outcome.value}{step_up} if {rule.condition}"


def test_every_mapped_rule_has_a_case_and_every_case_a_rule():
    assert sorted(CASES) == sorted(r.name for r in ALL.rules)
    mapped = set(re.findall(r"`(radar_\d\d_\w+)`", TEXT))
    assert mapped == set(CASES)


def test_the_table_has_46_rows():
    rows = re.findall(r"^\| (\d+) \|", TEXT, re.M)
    assert [int(r) for r in rows] == list(range(1, 47))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_rule_fires_where_it_must_and_not_where_it_must_not(name):
    positive, negative = CASES[name]
    assert fires(name, positive), f"{name} did not fire"
    assert not fires(name, negative), f"{name} fired"
