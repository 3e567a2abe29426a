"""Replay on several processes (features partitioned per entity key) gives the decisions
of one process, byte for byte: on the simulator's stream with the default policy and model,
and on handbook-shaped payments with delayed labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from fraudwatch.actions.containment import Containment
from fraudwatch.actions.policy import default_policy
from fraudwatch.definitions import load_features, load_rules
from fraudwatch.engine import Engine
from fraudwatch.events import parse_event
from fraudwatch.features.partition import owner, partition_of
from fraudwatch.models import default_model_path, load_scorer
from fraudwatch.models.dataset import load_feature_set
from fraudwatch.replay import decision_record, replay
from fraudwatch.rules import RuleSet
from fraudwatch.sim.simulate import SimConfig, simulate

PARQUET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "handbook" / "transactions.parquet"


def default_engine() -> Engine:
    scorer = load_scorer(default_model_path())
    return Engine(
        features=load_features(),
        rules=load_rules(),
        model=scorer,
        thresholds=scorer.thresholds,
        containment=Containment(default_policy()),
    )


def records(engine: Engine, events, workers: int) -> list[bytes]:
    names = engine.feature_set.names
    return [
        orjson.dumps(decision_record(d, names), option=orjson.OPT_SERIALIZE_NUMPY)
        for _, d in replay(engine, events, workers)
    ]


@pytest.fixture(scope="module")
def sim_events():
    events, _ = simulate(SimConfig(seed=11, cardholders=300, days=5, warmup=1))
    return [parse_event(e) for e in events]


def test_simulator_stream_same_bytes_with_1_2_and_3_workers(sim_events):
    one = records(default_engine(), sim_events, 1)
    assert len(one) == len(sim_events)
    blocked = sum(b'"outcome":"block"' in r for r in one)
    assert blocked > 0  # the policy acts on this stream: rules, model and lists all matter
    for workers in (2, 3):
        assert records(default_engine(), sim_events, workers) == one


def test_features_equal_the_single_engine(sim_events):
    """Beside the records: every feature value, as Engine.process gives it on its own."""
    single = default_engine()
    expected = [single.process(e).features for e in sim_events]
    got = [d.features for _, d in replay(default_engine(), sim_events, 2)]
    assert got == expected


def handbook_shaped(n_cards=40, n_terminals=25, days=30, seed=3):
    """Payments at terminals with fraud labels a week later (the handbook's shape)."""
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(seed)
    start = datetime(2018, 4, 1, tzinfo=UTC)
    rows = []
    for i in range(days * n_cards * 2):
        t = start + timedelta(seconds=rng.uniform(0, days * 86400))
        card, terminal = f"c{rng.randrange(n_cards)}", f"t{rng.randrange(n_terminals)}"
        rows.append(
            (
                t,
                {
                    "id": f"tx{i}",
                    "kind": "payment.attempt",
                    "card": card,
                    "terminal": terminal,
                    "amount": rng.randrange(100, 20000),
                    "currency": "EUR",
                    "result": "approved",
                },
            )
        )
        if rng.random() < 0.05:
            rows.append(
                (
                    t + timedelta(days=7),
                    {
                        "id": f"lb{i}",
                        "kind": "label",
                        "card": card,
                        "terminal": terminal,
                        "target": f"tx{i}",
                        "fraud": True,
                        "source": "dataset",
                    },
                )
            )
    rows.sort(key=lambda r: r[0])
    return [parse_event({**e, "time": t.isoformat()}) for t, e in rows]


@pytest.mark.parametrize("feature_set", ["handbook_baseline", "handbook_rich"])
def test_handbook_features_with_delayed_labels(feature_set):
    events = handbook_shaped()
    fs = load_feature_set(feature_set)
    none = RuleSet.parse("", version="test")
    one = records(Engine(fs, none), events, 1)
    assert any(b'"terminal.fraud_' in r or b"risk" in r for r in one)
    for workers in (2, 3):
        assert records(Engine(fs, none), events, workers) == one


@pytest.mark.skipif(not PARQUET.exists(), reason="shared data set not beside the checkout")
def test_handbook_sample():
    from fraudwatch.importer import handbook_mapping, iter_events

    events = [parse_event(e) for e in iter_events(PARQUET, handbook_mapping(7), limit=8000)]
    fs = load_feature_set("handbook_rich")
    none = RuleSet.parse("", version="test")
    one = records(Engine(fs, none), events, 1)
    assert records(Engine(fs, none), events, 2) == one
    assert records(Engine(fs, none), events, 3) == one


def test_partitions_split_keys_and_agree_with_owner():
    keys = [f"tok_{i}" for i in range(1000)] + [("c1", 1200), 42]
    for n in (1, 2, 3):
        counts = [0] * n
        for key in keys:
            p = partition_of(key, n)
            counts[p] += 1
            assert [owner(w, n)(key) for w in range(n)] == [w == p for w in range(n)]
        assert min(counts) > len(keys) / n / 2  # no partition starved


def test_replay_command_same_file_with_workers(tmp_path):
    events, _ = simulate(SimConfig(seed=12, cardholders=150, days=3, warmup=1))
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"d{workers}.jsonl"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "fraudwatch.cli",
                "replay",
                str(source),
                "--out",
                str(out),
                "--workers",
                str(workers),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""  # no progress bar when not on a terminal
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == len(events)


def test_decision_dict_is_asdict_with_names(sim_events):
    """Decision.to_dict is built field by field: the same data as dataclasses.asdict."""
    from dataclasses import asdict

    engine = default_engine()
    decisions = [engine.process(e) for e in sim_events]
    assert any(d.rules for d in decisions) and any(d.reasons for d in decisions)
    for d in decisions:
        expected = asdict(d)
        expected["event_time"] = d.event_time.isoformat()
        expected["outcome"] = d.outcome.value
        for key in ("rules", "shadow_rules"):
            for hit in expected[key]:
                hit["outcome"] = hit["outcome"].value
        got = d.to_dict()
        assert got == expected and list(got) == list(expected)
        assert got["features"] is not d.features


def test_replay_shows_a_progress_bar_on_a_terminal(tmp_path):
    """On a terminal: a bar with the rate and the time left (tqdm); in a pipe: nothing (above)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    events, _ = simulate(SimConfig(seed=13, cardholders=100, days=2, warmup=1))
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on a terminal 120 columns wide
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "fraudwatch.cli",
                "replay",
                str(source),
                "--out",
                str(tmp_path / "d.jsonl"),
                "--model",
                "none",
            ],
        )
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    assert status == 0, seen
    text = seen.decode(errors="replace")
    assert "reading events.jsonl" in text and "B/s" in text  # rate
    assert "<" in text and "%" in text  # elapsed<remaining, share done


def test_training_features_same_with_workers():
    """train and evaluate replay through models.dataset.replay: the same matrices with --workers."""
    import numpy as np

    from fraudwatch.models.dataset import replay as features_replay

    events = handbook_shaped(n_cards=30, n_terminals=20, days=20, seed=5)
    sets = [load_feature_set("handbook_baseline"), load_feature_set("handbook_rich")]
    end = events[len(events) * 3 // 4].ts  # the events after it are not needed: workers stopped
    one, labels_one = features_replay(events, sets, end=end)
    two, labels_two = features_replay(events, sets, end=end, workers=2)
    for a, b in zip(one, two, strict=True):
        assert a.names == b.names and a.X.shape == b.X.shape and len(a.ids) > 100
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(labels_one.target, labels_two.target)
