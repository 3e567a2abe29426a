"""Rule files: parsing, versions, evaluation, shadow rules, outcome precedence."""

import hashlib
import textwrap
from types import SimpleNamespace

import pytest

from fraudwatch.decisions import Outcome, RuleHit
from fraudwatch.events.kinds import parse_event
from fraudwatch.rules import Context, ListStore, RuleSet, RuleSyntaxError

RULES = textwrap.dedent("""\
    # card testing: same amount declined for insufficient funds again and again
    rule card_testing_same_amount:
        block if card.declines_insufficient_funds_24h >= 2 and card.same_amount_24h >= 2

    rule new_device_gift_cards [shadow]:
        description "gift-card burst after a new-device login"
        challenge if account.gift_card_orders_1h >= 3
                 and account.minutes_since_language_change < 120   # condition spans lines

    rule blocked_ip:
        block if event.ip in @blocked_ips
    rule big_amount:
        review if event.amount >= 100_000
    rule trusted_reseller:
        allow if event.account in @trusted_accounts
    rule risky_score:
        challenge if model.score >= 0.8
    """)


def payment(**fields):
    base = {
        "id": "e1",
        "time": "2026-11-21T13:00:00+09:00",
        "kind": "payment.attempt",
        "card": "tok_1",
        "amount": 17600,
        "currency": "JPY",
        "ip": "198.51.100.1",
        "account": "acc_1",
    }
    return parse_event({**base, **fields})


@pytest.fixture
def rs():
    return RuleSet.parse(RULES, version="2026-11-21.1")


def test_parse(rs):
    assert [r.name for r in rs.rules] == [
        "card_testing_same_amount",
        "new_device_gift_cards",
        "blocked_ip",
        "big_amount",
        "trusted_reseller",
        "risky_score",
    ]
    first, second = rs.rules[:2]
    assert (first.outcome, first.shadow, first.line, first.description) == (Outcome.BLOCK, False, 2, None)
    assert first.condition == "card.declines_insufficient_funds_24h >= 2 and card.same_amount_24h >= 2"
    assert (second.outcome, second.shadow, second.line) == (Outcome.CHALLENGE, True, 5)
    assert second.description == "gift-card burst after a new-device login"
    assert second.condition.startswith("account.gift_card_orders_1h >= 3\n") and second.condition.endswith("< 120")
    assert rs.version == "2026-11-21.1"
    assert rs.digest == hashlib.sha256(RULES.encode()).hexdigest()
    assert rs.feature_names == {
        "card.declines_insufficient_funds_24h",
        "card.same_amount_24h",
        "account.gift_card_orders_1h",
        "account.minutes_since_language_change",
    }
    assert rs.list_names == {"blocked_ips", "trusted_accounts"}
    assert rs.model_names == {"score"}
    assert rs.rule("big_amount").outcome is Outcome.REVIEW
    assert len(rs) == 6


def test_default_version_is_the_digest():
    rs = RuleSet.parse("rule a: block if x > 1")
    assert rs.version == "sha256:" + rs.digest[:12]


def test_ruleset_is_immutable(rs):
    with pytest.raises(AttributeError):
        rs.version = "other"
    with pytest.raises(AttributeError):
        rs.rules[0].outcome = Outcome.ALLOW


def test_evaluate_reports_values_of_fired_rules_only(rs):
    ctx = Context(event=payment(), features={"card.declines_insufficient_funds_24h": 3, "card.same_amount_24h": 2})
    hits, shadow = rs.evaluate(ctx)
    assert hits == [
        RuleHit(
            "card_testing_same_amount",
            Outcome.BLOCK,
            {"card.declines_insufficient_funds_24h": 3, "card.same_amount_24h": 2},
            False,
        )
    ]
    assert shadow == []
    assert rs.outcome(hits) is Outcome.BLOCK


def test_shadow_rules_are_recorded_not_enforced(rs):
    feats = {"account.gift_card_orders_1h": 9, "account.minutes_since_language_change": 12}
    hits, shadow = rs.evaluate(Context(event=payment(), features=feats))
    assert hits == []
    assert [(h.rule, h.shadow, h.values) for h in shadow] == [
        ("new_device_gift_cards", True, {"account.gift_card_orders_1h": 9, "account.minutes_since_language_change": 12})
    ]
    assert rs.outcome(hits) is Outcome.ALLOW
    assert rs.outcome(shadow) is Outcome.ALLOW  # even if passed by mistake, shadow hits never count


def test_outcome_precedence_allow_overrides_then_most_severe_wins(rs):
    lists = ListStore({"trusted_accounts": ["acc_1"], "blocked_ips": []})
    ctx = Context(event=payment(amount=150_000), features={}, model={"score": 0.9}, lists=lists)
    hits, _ = rs.evaluate(ctx)
    assert [h.rule for h in hits] == ["big_amount", "trusted_reseller", "risky_score"]  # file order
    assert rs.outcome(hits) is Outcome.ALLOW  # the explicit allow overrides the challenge
    lists.add("blocked_ips", "198.51.100.1")
    hits, _ = rs.evaluate(ctx)
    assert rs.outcome(hits) is Outcome.ALLOW  # and a block
    lists.replace("trusted_accounts", [])
    hits, _ = rs.evaluate(ctx)
    assert rs.outcome(hits) is Outcome.BLOCK
    assert rs.outcome([]) is Outcome.ALLOW
    order = [Outcome.REVIEW, Outcome.CHALLENGE, Outcome.BLOCK]
    for i, low in enumerate(order):
        for high in order[i:]:
            hs = [RuleHit("a", low, {}), RuleHit("b", high, {})]
            assert rs.outcome(hs) is high and rs.outcome(hs[::-1]) is high
        hs = [RuleHit("a", low, {}), RuleHit("b", Outcome.ALLOW, {})]
        assert rs.outcome(hs) is Outcome.ALLOW and rs.outcome(hs[::-1]) is Outcome.ALLOW
        # a shadow allow overrides nothing
        assert rs.outcome([RuleHit("a", low, {}), RuleHit("b", Outcome.ALLOW, {}, shadow=True)]) is low


def test_missing_never_fires(rs):
    hits, shadow = rs.evaluate(Context(event=SimpleNamespace(), features={}))
    assert hits == [] and shadow == []


def test_list_changes_while_running_are_seen_by_the_next_evaluation(rs):
    lists = ListStore()
    ctx = Context(event=payment(), lists=lists)
    assert rs.missing_lists(lists) == ["blocked_ips", "trusted_accounts"]
    assert rs.evaluate(ctx)[0] == []  # no list yet: missing, does not fire
    lists.replace("blocked_ips", ["198.51.100.1"])
    assert [h.rule for h in rs.evaluate(ctx)[0]] == ["blocked_ip"]
    lists.remove("blocked_ips", "198.51.100.1")
    assert rs.evaluate(ctx)[0] == []
    assert lists.version("blocked_ips") == 2


@pytest.mark.parametrize(
    "text, line, column, message",
    [
        ("rule a:\n  block x > 1", 2, 9, "expected 'if', found 'x'"),
        ("rule a:\n  deny if x", 2, 3, "expected an outcome, found 'deny'"),
        ("rule a\n  block if x", 2, 3, "expected ':', found 'block'"),
        ("rule a [dry]:\n  block if x", 1, 9, "unknown rule option 'dry'"),
        ("rule card.x:\n  block if x", 1, 6, "expected a rule name, found 'card.x'"),
        ("block if x", 1, 1, "expected 'rule', found 'block'"),
        ("rule a:\n  block if", 2, 11, "expected a condition after 'if'"),
        ("rule a:\n  block if x > 1 y", 2, 18, "unexpected 'y' after the condition"),
        ("rule a:\n  block if event.amount + 1", 2, 12, "a condition must be true or false, got a number"),
        ("rule a:\n  description 'x' 'y'\n  block if x", 2, 19, "expected an outcome, found \"'y'\""),
    ],
)
def test_rule_syntax_errors(text, line, column, message):
    with pytest.raises(RuleSyntaxError) as info:
        RuleSet.parse(text)
    assert (info.value.line, info.value.column, info.value.message) == (line, column, message)


def test_known_features_are_checked_across_the_file():
    with pytest.raises(RuleSyntaxError) as info:
        RuleSet.parse("rule a:\n  block if card.x > 1\nrule b:\n  block if card.y > 1", features={"card.x"})
    assert (info.value.line, info.value.column) == (4, 12)


def test_empty_file_is_an_empty_ruleset():
    rs = RuleSet.parse("# nothing yet\n")
    assert len(rs) == 0 and rs.evaluate(Context()) == ([], [])
