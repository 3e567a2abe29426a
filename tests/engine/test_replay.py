"""Replay: event-time order, dead letters, duplicates, decisions with reasons."""

import json
import subprocess
import sys

import pytest

from fraudwatch.decisions import Decision
from fraudwatch.engine import Engine
from fraudwatch.events import parse_event
from fraudwatch.features import FeatureSet
from fraudwatch.rules import RuleSet

FEATURES = """
version: test-1
features:
  - name: card.declines_24h
    entity: card
    kinds: [payment.attempt]
    filter: "event.result == 'declined'"
    agg: count
    window: 24h
  - name: card.payments_24h
    entity: card
    kinds: [payment.attempt]
    agg: count
    window: 24h
"""

RULES = """
rule repeated_declines:
    block if card.declines_24h >= 3
rule busy_card [shadow]:
    review if card.payments_24h >= 2
"""


def pay(i, hour, result="declined", card="tok_1"):
    return {
        "id": f"p{i}",
        "time": f"2026-11-21T{hour:02d}:00:00+09:00",
        "kind": "payment.attempt",
        "card": card,
        "amount": 17600,
        "currency": "JPY",
        "result": result,
        "decline_reason": "insufficient_funds",
    }


def write_lines(path, lines):
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")


def test_replay_orders_by_event_time_and_keeps_going(tmp_path):
    (tmp_path / "f.yaml").write_text(FEATURES)
    (tmp_path / "r.rules").write_text(RULES)
    # out of order on purpose, a duplicate id, and two bad lines
    write_lines(
        tmp_path / "in.jsonl",
        [pay(3, 23), pay(1, 13), "not json", pay(2, 16), pay(2, 16), {**pay(9, 12), "amount": -1}],
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "fraudwatch.cli",
            "replay",
            str(tmp_path / "in.jsonl"),
            "--out",
            str(tmp_path / "out.jsonl"),
            "--features",
            str(tmp_path / "f.yaml"),
            "--rules",
            str(tmp_path / "r.rules"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    decisions = [Decision.from_dict(json.loads(x)) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [d.event_id for d in decisions] == ["p1", "p2", "p3"]
    assert [d.outcome.value for d in decisions] == ["allow", "allow", "block"]
    last = decisions[-1]
    assert last.rules[0].rule == "repeated_declines" and last.rules[0].values == {"card.declines_24h": 3}
    assert [h.rule for h in last.shadow_rules] == ["busy_card"]  # recorded, not enforced
    assert last.features["card.payments_24h"] == 3
    assert last.versions["rules"].startswith("r@") and last.versions["features"].startswith("test-1@")
    letters = [json.loads(x) for x in (tmp_path / "out.dead-letters.jsonl").read_text().splitlines()]
    assert [(x["line"], x["reason"]) for x in letters] == [(3, "invalid JSON"), (6, "invalid event")]
    assert letters[1]["errors"][0]["loc"] == "amount"
    assert "1 duplicate ids skipped" in run.stdout and "2 dead letters" in run.stdout


def test_duplicate_ids_do_not_count_twice_and_snapshot_restores_them():
    engine = Engine(features=FeatureSet.from_yaml(FEATURES), rules=RuleSet.parse(RULES, version="t"))
    engine.process(parse_event(pay(1, 13)))
    assert engine.process(parse_event(pay(1, 13))).duplicate
    blob = engine.snapshot()
    restored = Engine(features=FeatureSet.from_yaml(FEATURES), rules=RuleSet.parse(RULES, version="t"))
    restored.restore(blob)
    assert restored.process(parse_event(pay(1, 13))).duplicate
    for e in (engine, restored):
        d = e.process(parse_event(pay(2, 14)))
        assert d.features == {"card.declines_24h": 2, "card.payments_24h": 2}


def test_model_thresholds_and_challenger_scores():
    class Constant:
        kinds = frozenset({"payment.attempt"})
        feature_names = []

        def __init__(self, version, value):
            self.version, self.value = version, value

        def score(self, event, features):
            return self.value

        def explain(self, event, features, top=3):
            return []

    engine = Engine(
        features=FeatureSet.from_yaml(FEATURES),
        rules=RuleSet.parse(RULES, version="t"),
        model=Constant("champion", 0.7),
        challengers=[Constant("challenger", 0.1)],
        thresholds={"block": 0.9, "challenge": 0.6, "review": 0.3},
    )
    d = engine.process(parse_event(pay(1, 13, result="approved")))
    assert d.score == 0.7 and d.outcome.value == "challenge" and d.rules[0].rule == "model.score>=0.6"
    assert d.shadow_scores == {"challenger": 0.1} and d.versions["model"] == "champion"
    with pytest.raises(ValueError, match="thresholds.block"):
        engine.set_thresholds({"block": 1.5})


def test_confirmed_genuine_behaviour_is_waived_not_forgotten():
    from fraudwatch.actions.suppression import Suppression, SuppressionSet

    confirmed = SuppressionSet()
    engine = Engine(
        features=FeatureSet.from_yaml(FEATURES), rules=RuleSet.parse(RULES, version="t"), suppressions=confirmed
    )
    for i, hour in enumerate((13, 16, 23)):
        d = engine.process(parse_event(pay(i, hour)))
    assert d.outcome.value == "block"
    confirmed.add(Suppression("tok_1", "repeated_declines", since=d_ts(d), until=d_ts(d) + 86400))
    d = engine.process(parse_event({**pay(4, 23), "time": "2026-11-21T23:30:00+09:00"}))
    assert d.outcome.value == "allow"
    waived = [h for h in d.shadow_rules if h.rule == "repeated_declines"]
    assert waived and "suppressed_until" in waived[0].values
    other = engine.process(parse_event({**pay(5, 23, card="tok_2")}))
    assert other.outcome.value == "allow"  # first decline on another card: nothing to waive


def d_ts(decision):
    return decision.event_time.timestamp()


def test_restored_engine_is_bit_identical_on_float_statistics():
    """Float sums depend on the order of additions and removals: a snapshot must keep
    them as they were, or a restart changes decisions in the last digits."""
    import random

    from fraudwatch.definitions import load_features, load_rules

    rng = random.Random(5)
    events = []
    for i in range(3000):
        gift, other = rng.randint(1, 9) * 1000, rng.randint(1, 7) * 777
        events.append(
            parse_event(
                {
                    "id": f"o{i}",
                    "time": f"2026-11-{1 + i // 400:02d}T{(i // 20) % 24:02d}:{i % 60:02d}:00+09:00",
                    "kind": "order.placed",
                    "account": f"a{i % 7}",
                    "order": f"o{i}",
                    "amount": gift + other,
                    "currency": "JPY",
                    "items": [
                        {"sku": "g", "category": "digital_gift_card", "unit_price": gift},
                        {"sku": "b", "category": "books", "unit_price": other},
                    ],
                }
            )
        )
    make = lambda: Engine(features=load_features(), rules=load_rules())  # noqa: E731
    straight, first = make(), make()
    for e in events[:2000]:
        straight.process(e)
        first.process(e)
    restarted = make()
    restarted.restore(first.snapshot())
    for e in events[2000:]:
        a, b = straight.process(e), restarted.process(e)
        assert a.features == b.features and a.outcome == b.outcome
