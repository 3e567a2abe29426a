"""Leave one attack out: the plan's checks and the table (a fold's real run trains a model and
takes minutes: docs/simulator.md has the measured table and its command)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import InvalidValue
from fraudwatch.events.kinds import parse_event
from fraudwatch.sim.backtest import Backtest
from fraudwatch.sim.heldout import HELDOUT_MIX, HeldoutPlan, format_heldout
from fraudwatch.sim.simulate import SCENARIOS


def test_the_training_mix_has_every_scenario_and_the_plan_checks_its_parts():
    assert set(HELDOUT_MIX) == set(SCENARIOS)
    assert HeldoutPlan().scenarios == SCENARIOS
    with pytest.raises(InvalidValue, match="card_tsting"):
        HeldoutPlan(scenarios=("card_tsting",))
    with pytest.raises(InvalidValue, match="seeds"):
        HeldoutPlan(train_seed=5, test_seed=5)


def test_the_command_refuses_an_unknown_scenario():
    from fraudwatch.cli import main

    result = CliRunner().invoke(main, ["heldout", "--scenarios", "leaked_card_agd"])
    assert result.exit_code != 0 and "leaked_card_agd" in result.output


class Scripted:
    def __init__(self, outcomes):
        self.outcomes = outcomes

    def process(self, event) -> Decision:
        return Decision(event.id, event.kind, event.time, self.outcomes.get(event.id, Outcome.ALLOW))


def pay(i, scenario=None, card="tok_g", gift=False):
    return parse_event(
        {
            "id": f"e{i}",
            "time": f"2026-11-05T10:{i:02d}:00+09:00",
            "kind": "payment.attempt",
            "card": card,
            "amount": 1000,
            "currency": "JPY",
            "result": "approved",
            "scenario": scenario,
            "items_category": "digital_gift_card" if gift else None,
        }
    )


def test_the_table_shows_detection_with_the_held_out_model_beside_the_rules_alone():
    events = [
        pay(1, "leaked_card_aged:1"),
        pay(2, "leaked_card_aged:1"),
        pay(3, "leaked_card_aged:2"),
        pay(4, gift=True),
        pay(5, gift=True),
    ]
    model = Backtest({}).run(Scripted({"e2": Outcome.BLOCK, "e3": Outcome.CHALLENGE, "e4": Outcome.CHALLENGE}), events)
    rules = Backtest({}).run(Scripted({"e3": Outcome.BLOCK}), events)
    table = format_heldout({"leaked_card_aged": {"model": model, "rules": rules}})
    row = next(line for line in table.splitlines() if line.startswith("leaked_card_aged"))
    cells = row.split()
    assert cells[1:5] == ["2", "100.0", "%", "50.0"]  # 2 episodes, both caught; the rules alone: 1
    assert "gift_cards 500.00" in row  # one of the two genuine gift cards challenged
    assert "lowest detection 100.0 %" in table
