"""The policy file: the packaged default validates, mistakes get errors naming the field."""

from __future__ import annotations

import pytest

from fraudwatch.actions import ActionsSettings, Policy, PolicyError, Responder, default_policy
from fraudwatch.decisions import Outcome

from .helpers import decision, event


def test_default_policy_maps_outcomes_and_rules_to_actions():
    p = default_policy()
    e = event("e1")
    ato = p.responses_for(e.kind, decision(e, "block", "ato_gift_cards_after_language_switch"))
    assert [a for a, _, _ in ato] == [
        "lock_account",
        "revoke_sessions",
        "force_password_reset",
        "revert_profile_changes",
        "cancel_unshipped_orders",
    ]
    assert [a for a, _, _ in p.responses_for(e.kind, decision(e, "block", "bin_enumeration_ip"))] == ["suspend_card"]
    assert p.responses_for(e.kind, decision(e, "challenge", "ato_gift_cards_from_new_device")) == []
    assert p.answers.on_yes.actions[Outcome.CHALLENGE] == ["lift_challenge"]
    assert p.lookback == 72 * 3600 and p.alerts.risk.link_ttl == 86400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2", "version: Input should be 1"),
        (
            "responses:\n  - name: a\n    when: {outcomes: [blok]}\n    actions: [suspend_card]",
            "responses[0].when.outcomes[0]: Input should be 'allow', 'review', 'challenge' or 'block'",
        ),
        (
            "responses:\n  - name: a\n    when: {outcomes: [block]}\n    actions: []",
            "responses[0].actions: List should have at least 1 item",
        ),
        (
            "responses:\n  - {name: a, when: {outcomes: [block]}, actions: [suspend_card]}\n"
            "  - {name: a, when: {outcomes: [review]}, actions: [suspend_card]}",
            "responses: two responses named 'a'",
        ),
        ("answers:\n  on_yes:\n    suppress_for: forever", "answers.on_yes.suppress_for: 'forever' is not a duration"),
        (
            "answers:\n  yes:\n    suppress_for: 1d",
            "answers.true: a key YAML reads as true/false (yes, no, on, off); answers use on_yes and on_no",
        ),
        ("alerts:\n  risk:\n    link_tll: 1h", "alerts.risk.link_tll: Extra inputs are not permitted"),
        ("lookback: -5", "lookback: a duration must be positive"),
        ("- a list", "expected a mapping at the top"),
        ("a: [", "not YAML"),
    ],
)
def test_policy_errors_name_the_field(text, message):
    with pytest.raises(PolicyError) as info:
        Policy.from_yaml(text, source="policy.yaml")
    assert message in str(info.value) and "policy.yaml" in str(info.value)
    assert info.value.status_code == 422


def test_policy_from_a_file_and_endpoints_checked_against_settings(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "responses:\n  - {name: cards, when: {outcomes: [block]}, actions: [reissue_card], endpoint: issuer}\n"
    )
    s = ActionsSettings(
        database=str(tmp_path / "a.db"),
        link_key="k" * 32,
        policy=str(path),
        webhooks={"default": {"url": "http://127.0.0.1:9/h", "secret": "s" * 20}},
    )
    with pytest.raises(Exception, match=r"endpoint\(s\) \['issuer'\] not in settings.webhooks"):
        Responder(s)
    ok = s.model_copy(update={"webhooks": {**s.webhooks, "issuer": s.webhooks["default"]}})
    assert Responder(ok).policy.responses[0].actions == ["reissue_card"]


def test_placeholder_secrets_refused_in_production(tmp_path):
    from fraudwatch.settings import Settings

    real = {"token_key": "t" * 32, "key_pepper": "p" * 32}
    with pytest.raises(ValueError, match="actions.link_key is a placeholder"):
        Settings.model_validate({"env": "production", "security": real, "actions": {"link_key": "change-me"}})
    with pytest.raises(ValueError, match="actions.webhooks.default.secret"):
        Settings.model_validate(
            {
                "env": "production",
                "security": real,
                "actions": {
                    "link_key": "k" * 32,
                    "webhooks": {"default": {"url": "https://h.example/x", "secret": "short"}},
                },
            }
        )
    assert Settings.model_validate({"env": "production", "security": real}).actions_resolved().link_key


def test_the_default_policy_names_only_rules_of_the_default_rules():
    from fraudwatch.definitions import load_rules

    default_policy().check_rules_of(load_rules())  # raises if a name or glob matches no rule


def test_a_policy_naming_unknown_rules_is_an_error_with_the_closest_names():
    from fraudwatch.definitions import load_rules

    policy = Policy.from_yaml(
        "responses:\n"
        "  - {name: ato, when: {outcomes: [block], rules: [gift_card_burst, 'ato_*']}, actions: [lock_account]}\n"
        "  - {name: cards, when: {outcomes: [block], rules: [bin_enumeration, 'card_test_*']},"
        " actions: [suspend_card]}\n"
        "answers: {on_yes: {never_suppress: ['blockd_*']}}\n"
    )
    with pytest.raises(PolicyError) as info:
        policy.check_rules_of(load_rules(), source="policy.yaml")
    errors = {e["field"]: e["message"] for e in info.value.errors}
    assert set(errors) == {
        "responses[0].when.rules[0]",
        "responses[1].when.rules[0]",
        "responses[1].when.rules[1]",
        "answers.on_yes.never_suppress[0]",
    }
    assert errors["responses[0].when.rules[0]"].startswith("unknown rule 'gift_card_burst'; closest: ato_")
    assert errors["responses[1].when.rules[0]"] == (
        "unknown rule 'bin_enumeration'; closest: bin_enumeration_ip, bin_enumeration_device"
    )
    assert errors["responses[1].when.rules[1]"].startswith("'card_test_*' matches no rule; closest: card_testing_")
    assert "closest: blocked_" in errors["answers.on_yes.never_suppress[0]"]
    assert "policy.yaml does not fit rules version 'default'" in str(info.value)
    assert info.value.status_code == 422
    # the model's threshold hits are not rules
    Policy.from_yaml(
        "responses:\n  - {name: m, when: {outcomes: [block], rules: ['model.score*']}, actions: [suspend_card]}"
    ).check_rules([])
