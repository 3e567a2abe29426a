"""Leave one attack out: how the policy does on an attack its model never saw.

For each scenario (the textbook attacks and their variants), a model is trained on a stream
with every *other* scenario (seed ``train_seed``) and its thresholds tuned on another
(``tune_seed``), exactly as ``fraudwatch train-default`` makes the shipped one; then the
default rules with that model are backtested on a third seed (``test_seed``) whose only
attack is the one left out. The rules were written knowing every textbook attack, so the
rules-alone detection is shown beside it: what the model adds on an attack it did not see.

The genuine population (look-alikes included) is the same in every fold's test stream, so
its rows show what each fold's model costs the customers who resemble an attack.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fraudwatch.errors import InvalidValue
from fraudwatch.sim.backtest import Backtest, _table
from fraudwatch.sim.simulate import DEFAULT_MIX, SCENARIOS, SimConfig, simulate
from fraudwatch.sim.stepup import StepUpResponder
from fraudwatch.sim.training import TrainingPlan, train_default_model

__all__ = ["HELDOUT_MIX", "HeldoutPlan", "leave_one_out", "format_heldout"]

# the training mix: every scenario, the variants at the rate of the attack they vary
HELDOUT_MIX: dict[str, float] = {**DEFAULT_MIX, "ato_gift_card_quiet": 40, "leaked_card_aged": 40}


@dataclass
class HeldoutPlan:
    scenarios: tuple[str, ...] = SCENARIOS
    train_seed: int = 101
    tune_seed: int = 102
    test_seed: int = 21
    cardholders: int = 3000
    days: int = 30
    test_rate: float = 60.0  # episodes of the left-out scenario per 10,000 cardholders per 30 days
    rounds: int = 100
    mix: dict[str, float] = field(default_factory=lambda: dict(HELDOUT_MIX))

    def __post_init__(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown or not self.scenarios:
            raise InvalidValue(
                f"scenarios: {', '.join(unknown) or 'none given'}; expected some of {', '.join(SCENARIOS)}"
            )
        if len({self.train_seed, self.tune_seed, self.test_seed}) < 3:
            raise InvalidValue("seeds: training, tuning and test seeds must differ")


def leave_one_out(
    plan: HeldoutPlan,
    engine_for: Callable[[Path | None], Any],
    workdir: Path,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """One fold per scenario of ``plan.scenarios``: its model goes to ``workdir/without-<name>``,
    ``engine_for(model_dir)`` builds the engine to backtest (``None``: the rules alone).
    Returns, per scenario, the backtest report with the model (``model``) and the rules
    alone (``rules``)."""
    from fraudwatch.events.kinds import parse_event

    results: dict[str, dict[str, Any]] = {}
    for name in plan.scenarios:
        mix = {k: v for k, v in plan.mix.items() if k != name}
        log(f"-- {name} left out: training on {', '.join(sorted(mix))}")
        model_dir = train_default_model(
            workdir / f"without-{name}",
            TrainingPlan(
                seed=plan.train_seed,
                tune_seed=plan.tune_seed,
                cardholders=plan.cardholders,
                days=plan.days,
                rounds=plan.rounds,
                mix=mix,
            ),
            log=log,
        )
        raw, truth = simulate(
            SimConfig(seed=plan.test_seed, cardholders=plan.cardholders, days=plan.days, mix={name: plan.test_rate})
        )
        events = [parse_event(e) for e in raw]
        del raw
        results[name] = {}
        for policy, model in (("model", model_dir), ("rules", None)):
            results[name][policy] = Backtest(truth).run(
                engine_for(model), events, step_ups=StepUpResponder(seed=plan.test_seed)
            )
        s = results[name]["model"]["scenarios"].get(name, {})
        log(f"   {name}: {s.get('detected', 0)} of {s.get('instances', 0)} detected with its held-out model")
    return results


def format_heldout(results: dict[str, dict[str, Any]]) -> str:
    """The per-scenario table: detection and loss with the held-out model (and the rules alone),
    and what the fold's model cost genuine customers."""
    rows = [
        (
            "left out",
            "instances",
            "detected",
            "rules alone",
            "approved before",
            "yen lost before",
            "genuine blocked /1000",
            "challenged /1000",
            "worst look-alike group (challenged /1000)",
            "look-alikes blocked",
            "reseller blocked / challenged",
        )
    ]
    for name, r in results.items():
        s = r["model"]["scenarios"].get(name)
        alone = r["rules"]["scenarios"].get(name)
        genuine = r["model"]["genuine"]
        groups = {g: v for g, v in genuine.items() if g not in ("all", "reseller", "family")}
        worst = max(groups, key=lambda g: groups[g]["challenged_per_1000"], default=None)
        reseller = genuine.get("reseller", {})
        rows.append(
            (
                name,
                str(s["instances"]) if s else "0",
                f"{100 * s['detected_share']:.1f} %" if s else "-",
                f"{100 * alone['detected_share']:.1f} %" if alone else "-",
                f"{s['median_approved_before']:.1f} (max {s['max_approved_before']})" if s else "-",
                f"{s['money_lost_before']:,}" if s else "-",
                f"{genuine['all']['blocked_per_1000']:.2f}",
                f"{genuine['all']['challenged_per_1000']:.2f}",
                f"{worst} {groups[worst]['challenged_per_1000']:.2f}" if worst else "-",
                str(sum(g["blocked"] for g in groups.values())),
                f"{reseller.get('blocked', 0)} / {reseller.get('challenged', 0)}",
            )
        )
    shares = [r["model"]["scenarios"][n]["detected_share"] for n, r in results.items() if n in r["model"]["scenarios"]]
    footer = (
        f"lowest detection {100 * min(shares):.1f} %, median {100 * statistics.median(shares):.1f} % "
        "(rules + a model that never saw the scenario; 'rules alone': the default rules without a model)"
        if shares
        else ""
    )
    return _table(rows) + "\n" + footer
