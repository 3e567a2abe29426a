"""The policy file: the packaged default validates, mistakes get errors naming the field."""

from __future__ import annotations

import pytest

from fraudwatch.actions import ActionsSettings, Policy, PolicyError, Responder, default_policy
from fraudwatch.decisions import Outcome

from .helpers import decision, event


def test_default_policy_maps_outcomes_and_rules_to_actions():
    p = default_policy()
    e = event("e1")
    ato = p.responses_for(e.kind, decision(e, "block", "gift_card_burst"))
    assert [a for a, _, _ in ato] == [
        "lock_account",
        "revoke_sessions",
        "force_password_reset",
        "revert_profile_changes",
        "cancel_unshipped_orders",
    ]
    assert [a for a, _, _ in p.responses_for(e.kind, decision(e, "block", "bin_enumeration"))] == ["suspend_card"]
    assert p.responses_for(e.kind, decision(e, "challenge", "gift_card_burst")) == []
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
