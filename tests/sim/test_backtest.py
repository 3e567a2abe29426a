"""The backtest's accounting, and the default policy end to end on a small simulated stream."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from fraudwatch.actions import Containment, default_policy
from fraudwatch.decisions import Decision, Outcome, RuleHit
from fraudwatch.events.kinds import parse_event
from fraudwatch.sim.backtest import Backtest, format_table
from fraudwatch.sim.simulate import SimConfig, parse_mix, simulate


def pay(i: int, minute: int, result: str = "approved", scenario: str | None = None, card: str = "tok_v", amount=1000):
    return parse_event(
        {
            "id": f"e{i}",
            "time": f"2026-11-05T10:{minute:02d}:00+09:00",
            "kind": "payment.attempt",
            "card": card,
            "amount": amount,
            "currency": "JPY",
            "result": result,
            "scenario": scenario,
        }
    )


class Scripted:
    """An engine whose outcomes are given per event id."""

    def __init__(self, outcomes: dict[str, Outcome]):
        self.outcomes = outcomes

    def process(self, event) -> Decision:
        outcome = self.outcomes.get(event.id, Outcome.ALLOW)
        hits = [RuleHit("r_" + outcome.value, outcome, {})] if outcome is not Outcome.ALLOW else []
        return Decision(event.id, event.kind, event.time, outcome, rules=hits)


def test_counts_what_got_through_before_the_first_block_or_challenge():
    truth = {
        "measure_from": "2026-11-05T00:00:00+09:00",
        "high_volume": {"reseller": [{"account": "acct_r", "card": "tok_r"}]},
    }
    events = [
        pay(1, 0, scenario="ato_gift_card:1", amount=1000),
        pay(2, 1, scenario="ato_gift_card:1", amount=2000, result="declined"),
        pay(3, 2, scenario="ato_gift_card:1", amount=3000),
        pay(4, 5, scenario="ato_gift_card:1", amount=5000),  # challenged: caught here
        pay(5, 6, scenario="ato_gift_card:1", amount=5000),
        pay(6, 0, scenario="card_testing:1", result="declined"),  # never caught
        pay(7, 1, card="tok_g"),
        pay(8, 2, card="tok_g"),
        pay(9, 3, card="tok_r"),
        pay(10, 4, card="tok_r"),
    ]
    bt = Backtest(truth)
    report = bt.run(
        Scripted({"e4": Outcome.CHALLENGE, "e5": Outcome.BLOCK, "e8": Outcome.BLOCK, "e9": Outcome.CHALLENGE}), events
    )
    ato = report["instances"]["ato_gift_card:1"]
    assert (ato["events_before"], ato["approved_before"], ato["money_before"]) == (3, 2, 4000)
    assert (ato["approved"], ato["money"], ato["outcome"], ato["detected_by"]) == (4, 14000, "challenge", "r_challenge")
    assert report["scenarios"]["ato_gift_card"]["median_minutes_to_detection"] == 5.0
    assert report["scenarios"]["card_testing"]["detected_share"] == 0.0
    assert report["scenarios"]["card_testing"]["missed"] == ["card_testing:1"]
    everyone, reseller = report["genuine"]["all"], report["genuine"]["reseller"]
    assert (everyone["payments"], everyone["blocked"], everyone["challenged"]) == (4, 1, 1)
    assert everyone["blocked_per_1000"] == 250.0
    assert (reseller["payments"], reseller["blocked"], reseller["max_challenges_in_a_day"]) == (2, 0, 1)
    table = format_table(report)
    assert "ato_gift_card" in table and "reseller" in table


def test_genuine_payments_before_measure_from_do_not_count():
    bt = Backtest({"measure_from": "2026-11-05T10:02:00+09:00"})
    report = bt.run(Scripted({"e7": Outcome.BLOCK}), [pay(7, 1, card="tok_g"), pay(8, 3, card="tok_g")])
    assert (report["genuine"]["all"]["payments"], report["genuine"]["all"]["blocked"]) == (1, 0)


@pytest.fixture(scope="module")
def small_backtest():
    from fraudwatch.definitions import load_features, load_rules
    from fraudwatch.engine import Engine

    features, rules = load_features(), load_rules()
    unknown = sorted(rules.feature_names - set(features.names))
    assert not unknown, f"default.rules reads features that features/default.yaml does not define: {unknown}"
    mix = {name: 300.0 for name in parse_mix("default")}
    events, truth = simulate(SimConfig(seed=5, cardholders=500, days=8, warmup=3, mix=mix))
    # as the service runs it: a confirmed fraud puts the card on @suspended_cards
    engine = Engine(features=features, rules=rules, containment=Containment(default_policy()))
    return Backtest(truth).run(engine, [parse_event(e) for e in events])


def test_default_policy_catches_every_scenario_and_never_blocks_the_reseller(small_backtest):
    scenarios = small_backtest["scenarios"]
    assert set(scenarios) == set(parse_mix("default"))
    for name, s in scenarios.items():
        assert s["instances"] >= 3, name
        assert s["detected_share"] >= 0.9, (name, s["missed"])
    for name in ("ato_gift_card", "card_testing"):
        assert scenarios[name]["median_approved_before"] <= 1, name
    everyone, reseller = small_backtest["genuine"]["all"], small_backtest["genuine"]["reseller"]
    assert everyone["payments"] > 500
    assert everyone["blocked_share"] <= 0.001
    assert reseller["payments"] > 50
    assert reseller["blocked"] == 0 and reseller["days_with_a_block"] == 0
    assert reseller["max_challenges_in_a_day"] <= 1


def test_a_suspended_card_blocks_no_genuine_payment(small_backtest):
    """The victims' cards are suspended after a confirmed fraud and reissued: the holders
    pay with the new card, and no genuine payment meets @suspended_cards."""
    assert small_backtest["genuine_rule_hits"].get("suspended_card", 0) == 0
    assert small_backtest["fraud_rule_hits"], "the attacks were seen"


def test_simulate_then_backtest_on_the_command_line(tmp_path):
    from fraudwatch.cli import main

    events = tmp_path / "events.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "simulate",
            "--seed",
            "2",
            "--cardholders",
            "200",
            "--days",
            "2",
            "--warmup",
            "1",
            "--mix",
            "only:card_testing=2000",
            "--out",
            str(events),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "events.truth.json").exists()
    result = runner.invoke(main, ["backtest", str(events), "--json", str(tmp_path / "report.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert list(report["scenarios"]) == ["card_testing"]
    assert "card_testing" in result.output and "reseller" in result.output
    bad = runner.invoke(main, ["simulate", "--mix", "phishing=3", "--out", str(events)])
    assert bad.exit_code == 2 and "phishing" in bad.output


def test_demo_runs_without_a_terminal_and_ends_with_the_table():
    import io

    from fraudwatch.definitions import load_features, load_rules
    from fraudwatch.engine import Engine
    from fraudwatch.sim.demo import run_demo

    out = io.StringIO()
    report = run_demo(
        Engine(features=load_features(), rules=load_rules()), seed=4, cardholders=300, days=3, seconds=0, out=out
    )
    text = out.getvalue()
    assert "\r" not in text and "\033" not in text, "plain lines when not a terminal"
    # one "caught" line per detected attack (the periodic status line says "attacks caught n/m" too)
    caught_lines = re.findall(r"^  \d\d-\d\d \d\d:\d\d  caught ", text, re.M)
    assert len(caught_lines) == sum(s["detected"] for s in report["scenarios"].values()) > 0
    assert "scenario" in text and "reseller" in text.split("genuine")[-1]
    # the response side: one alert per episode, not one per event
    episodes = report["episodes"]
    assert "one episode per attack" in text and episodes
    assert all(s.get("alerts", 0) <= s["episodes"] for s in episodes.values())
