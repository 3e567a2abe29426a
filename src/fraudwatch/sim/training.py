"""The default model: trained on one simulated stream, its thresholds tuned on another, and
reported (``fraudwatch backtest``) on streams of neither seed.

Training goes through :meth:`Engine.process` (``fraudwatch.models.dataset``): the features
of each payment are the ones the engine served at that moment, and a payment's label is the
``label`` events that had arrived by the training time (the simulator emits them with the
delays of real reports: minutes to days).

Thresholds: the model score adds a ``challenge`` (a 3-D Secure challenge) at the score that
challenges ``target_challenge`` of the tuning stream's genuine payments, and a ``block`` at
the score that would block ``target_block`` of them (never below ``min_block``: a block
needs a confident model), and high enough that each look-alike group of ``TUNED_GROUPS``
(English, gift cards, new phones, travellers: the customers an attack resembles, who would
otherwise carry the challenges) is challenged strictly less than ``target_group`` of its
payments. A card registered on a spouse's account and charged there is the leaked card's
pattern: its challenge (which the spouse passes) is the right answer, so that group is
reported, not tuned for. The rules stay beside it for the patterns they explain.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fraudwatch.errors import InvalidValue
from fraudwatch.sim.simulate import DEFAULT_MIX, SimConfig, simulate, write_jsonl
from fraudwatch.sim.world import DAY

__all__ = ["TrainingPlan", "train_default_model", "tune_thresholds"]


class TrainingPlan:
    """Seeds and sizes of the default model's streams, and its operating targets."""

    def __init__(
        self,
        seed: int = 101,
        tune_seed: int = 102,
        cardholders: int = 8000,
        days: int = 30,
        label_delay_days: float = 3.0,
        calibration_days: float = 7.0,
        target_challenge: float = 0.002,
        target_block: float = 0.0002,
        min_block: float = 0.9,
        rounds: int = 100,
        target_group: float = 0.01,
        mix: dict[str, float] | None = None,
    ) -> None:
        if seed == tune_seed:
            raise InvalidValue("tune_seed: thresholds are tuned on another stream than the training one")
        if not 0 < target_block <= target_challenge < 1 or not 0 < target_group < 1:
            raise InvalidValue("targets: need 0 < target_block <= target_challenge < 1 and 0 < target_group < 1")
        if days <= calibration_days:
            raise InvalidValue("days: must be more than calibration_days")
        self.seed, self.tune_seed = seed, tune_seed
        self.cardholders, self.days = cardholders, days
        self.label_delay_days, self.calibration_days = label_delay_days, calibration_days
        self.target_challenge, self.target_block, self.min_block = target_challenge, target_block, min_block
        self.rounds, self.target_group = rounds, target_group
        self.mix = dict(DEFAULT_MIX if mix is None else mix)  # attacks in both streams

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


TUNED_GROUPS = ("english", "gift_cards", "new_phone", "traveller")


def _above(scores: list[float], share: float, strictly: bool = False) -> float:
    """The lowest score (six decimals, strictly above) that at most ``share`` of ``scores``
    reach (``strictly``: less than ``share`` of them)."""
    ranked = sorted(scores)
    allowed = math.ceil(share * len(ranked)) - 1 if strictly else math.floor(share * len(ranked))
    k = len(ranked) - max(0, allowed)  # only ranked[k:] may reach it
    if k < 1:
        return 0.0
    step = math.floor(ranked[k - 1] * 1e6) + 1
    while step / 1e6 <= ranked[k - 1]:  # float rounding: strictly above it
        step += 1
    return step / 1e6


def tune_thresholds(
    scores: list[float],
    target_challenge: float,
    target_block: float,
    min_block: float,
    groups: dict[str, list[float]] | None = None,
    target_group: float = 1.0,
) -> dict:
    """Thresholds for genuine payments' ``scores``: the lowest scores that challenge at most
    ``target_challenge`` and block at most ``target_block`` of them, and less than
    ``target_group`` of each group of ``TUNED_GROUPS`` in ``groups``.

    >>> tune_thresholds([i / 1000 for i in range(1000)], 0.01, 0.002, 0.5)
    {'block': 0.997001, 'challenge': 0.989001}
    >>> gift = [i / 100 for i in range(100)]  # one of them (0.99) may stay above: under 2 %
    >>> tune_thresholds([i / 1000 for i in range(1000)], 0.01, 0.002, 0.5, {"gift_cards": gift}, 0.02)
    {'block': 0.997001, 'challenge': 0.989001}
    >>> tune_thresholds([i / 1000 for i in range(1000)], 0.01, 0.002, 0.5, {"gift_cards": gift}, 0.01)
    {'block': 0.997001, 'challenge': 0.990001}
    """
    if not scores:
        raise InvalidValue("no genuine payments to tune thresholds on")
    tuned = [g for name, g in (groups or {}).items() if name in TUNED_GROUPS and g]
    challenge = max([_above(scores, target_challenge), *(_above(g, target_group, strictly=True) for g in tuned)])
    block = max(_above(scores, target_block), min_block, challenge)
    return {"block": block, "challenge": challenge}


def _genuine_scores(events: list[Any], truth: dict[str, Any], model: Any) -> tuple[list[float], dict[str, list[float]]]:
    """Model scores of the genuine payments of a stream replayed through the engine (rules
    off: thresholds are set on the model's own scores), and the same per look-alike group."""
    from fraudwatch.definitions import load_features
    from fraudwatch.engine import Engine
    from fraudwatch.rules import RuleSet
    from fraudwatch.sim.backtest import Backtest

    engine = Engine(load_features(), RuleSet.parse("", version="tuning"), model=model)
    measure_from = datetime.fromisoformat(truth["measure_from"]).timestamp()
    lookalikes = Backtest({"lookalikes": truth.get("lookalikes")})
    scores: list[float] = []
    groups: dict[str, list[float]] = {}
    for event in events:
        decision = engine.process(event)
        if event.kind == "payment.attempt" and not event.scenario and event.ts >= measure_from:
            scores.append(decision.score)
            for group in lookalikes.groups_of(event):
                groups.setdefault(group, []).append(decision.score)
    return scores, groups


def train_default_model(
    out: str | Path, plan: TrainingPlan | None = None, log: Callable[[str], None] = print, threads: int = 1
) -> Path:
    """Simulate, train, tune, and write the model artifact to ``out`` (replaced if there)."""
    from fraudwatch.events.kinds import parse_event
    from fraudwatch.features.defaults import DEFAULT_PATH
    from fraudwatch.models.scorer import load_scorer
    from fraudwatch.models.train import train

    plan = plan or TrainingPlan()
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="fraudwatch-train-") as tmp:
        cfg = SimConfig(seed=plan.seed, cardholders=plan.cardholders, days=plan.days, mix=plan.mix)
        events, truth = simulate(cfg)
        data = Path(tmp) / f"sim{plan.seed}.jsonl"
        with open(data, "wb") as f:
            write_jsonl(events, f)
        log(f"training stream: seed {plan.seed}, {plan.cardholders:,} cardholders, {len(events):,} events")
        del events
        end = datetime.fromisoformat(truth["end"]).timestamp()
        with tempfile.TemporaryDirectory(prefix="fraudwatch-features-") as features_tmp:
            featureset = Path(features_tmp) / "default.yaml"
            featureset.write_text(DEFAULT_PATH.read_text(encoding="utf-8"))
            trained = train(
                data,
                str(featureset),
                Path(tmp) / "models",
                as_of=end + plan.label_delay_days * DAY,
                train_days=plan.days + cfg.warmup - plan.calibration_days,
                calibration_days=plan.calibration_days,
                label_delay_days=plan.label_delay_days,
                rounds=plan.rounds,
                threads=threads,
                version="simulator",
                log=log,
                cache_dir=Path(tmp) / "cache",
            )
        tune_raw, tune_truth = simulate(
            SimConfig(seed=plan.tune_seed, cardholders=plan.cardholders, days=plan.days, mix=plan.mix)
        )
        log(f"tuning stream: seed {plan.tune_seed}, {len(tune_raw):,} events")
        scorer = load_scorer(trained, compiled=False)
        scores, groups = _genuine_scores([parse_event(e) for e in tune_raw], tune_truth, scorer)
        thresholds = tune_thresholds(
            scores, plan.target_challenge, plan.target_block, plan.min_block, groups, plan.target_group
        )
        sizes = ", ".join(f"{g} {len(v)}" for g, v in sorted(groups.items()))
        log(f"thresholds on {len(scores):,} genuine payments (look-alikes: {sizes}): {thresholds}")
        metadata = json.loads((trained / "metadata.json").read_text())
        metadata["thresholds"] = thresholds
        metadata["simulator"] = {
            **plan.as_dict(),
            "tuning_genuine_payments": len(scores),
            "tuning_lookalike_payments": {g: len(v) for g, v in sorted(groups.items())},
        }
        metadata["data"] = {"simulator_seed": plan.seed, "cardholders": plan.cardholders, "days": plan.days}
        metadata["feature_set"]["name"] = "default"
        metadata.pop("created", None)  # the artifact is reproducible byte for byte
        metadata.pop("training_seconds", None)
        (trained / "metadata.json").write_text(json.dumps(metadata, indent=1, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(trained, out)
    log(f"saved {out}")
    return out
