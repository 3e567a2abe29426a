"""The console's parts without a browser: the words in both languages, the index of the
log (labels moving counts, no double counting), and the backtest over a real log."""

from __future__ import annotations

import re
from importlib import resources

import orjson
import pytest

from fraudwatch.console.backtest import Draft, backtest, labels_from
from fraudwatch.console.indexer import Indexer
from fraudwatch.console.messages import MESSAGES


def test_every_word_the_templates_use_is_there_in_english_and_japanese():
    used = set()
    folder = resources.files("fraudwatch.console").joinpath("templates")
    for template in folder.iterdir():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    # keys built from data: every value the cases domain can give has its words
    from fraudwatch.cases import CaseStatus, FraudType, Priority, Trigger

    for prefix, values in (("case_", CaseStatus), ("priority_", Priority), ("trigger_", Trigger)):
        used |= {prefix + v.value for v in values}
    used |= {"fraud_type_" + v.value for v in FraudType}
    missing = sorted(k for k in used if k not in MESSAGES)
    assert not missing
    for key, (en, ja) in MESSAGES.items():
        assert en and ja, key
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", ja)), key


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A simulated fortnight decided by the default engine and written to a SQLite log,
    as the service would have."""
    from fraudwatch.api.definitions import engine_factory
    from fraudwatch.events import EVENT_ADAPTER
    from fraudwatch.settings import Settings
    from fraudwatch.sim.simulate import SimConfig, simulate
    from fraudwatch.storage import LogEntry, open_storage

    folder = tmp_path_factory.mktemp("log")
    settings = Settings.model_validate({"data_dir": str(folder), "server": {"actions": False}})
    storage = open_storage(settings)
    engine = engine_factory(settings, storage)()
    events, _ = simulate(SimConfig(seed=3, cardholders=200, days=7, warmup=2))
    entries = []
    for seq, raw in enumerate(events, start=1):
        event = EVENT_ADAPTER.validate_python(raw)
        decision = engine.process(event)
        body = event.__pydantic_serializer__.to_json(event, exclude_none=True)
        entries.append(
            LogEntry(
                seq,
                event.id,
                event.kind,
                event.ts,
                b"d",
                body,
                orjson.dumps(decision),
                decision.outcome.value,
                event.card,
                event.account,
                event.device,
                event.ip,
            )
        )
    with storage.unit() as uow:
        uow.events.append(entries)
    yield settings, storage, events
    storage.close()


def test_the_index_counts_each_event_once_and_moves_labelled_scores(logged, tmp_path):
    settings, storage, events = logged
    indexer = Indexer(str(tmp_path / "console.db"), storage)
    half = storage.events.last_seq() // 2
    indexer.on_logged(storage.events.after(half, 10**6))  # a gap first: filled from the log
    indexer.on_logged(storage.events.after(0, 10**6))  # all of it again: nothing counted twice
    conn = indexer.db.connection()
    assert conn.execute("SELECT sum(n) FROM outcomes_minute").fetchone()[0] == len(events)
    assert conn.execute("SELECT sum(n) FROM outcomes_hour").fetchone()[0] == len(events)
    labelled = {e["target"] for e in events if e["kind"] == "label" and e.get("fraud")}
    assert conn.execute("SELECT count(*) FROM labels WHERE fraud = 1").fetchone()[0] == len(labelled)
    payments = {e["id"] for e in events if e["kind"] == "payment.attempt"}
    caught, missed = (
        conn.execute("SELECT coalesce(sum(n), 0) FROM fraud_day WHERE caught = ?", (c,)).fetchone()[0] for c in (1, 0)
    )
    assert caught + missed == len(labelled & payments) and caught > 0
    # every entity's events add up to the events naming it
    cards = sum(1 for e in events if e.get("card"))
    assert conn.execute("SELECT sum(events) FROM nodes WHERE id LIKE 'card:%'").fetchone()[0] == cards
    edge = conn.execute("SELECT a, b, n FROM edges LIMIT 1").fetchone()
    assert conn.execute("SELECT n FROM edges WHERE a = ? AND b = ?", (edge[1], edge[0])).fetchone()[0] == edge[2]


def test_a_backtest_of_the_live_rules_changes_nothing_and_a_new_rule_is_seen(logged, tmp_path):
    settings, storage, events = logged
    indexer = Indexer(str(tmp_path / "console.db"), storage)
    indexer.catch_up()
    since = min(e["ts"] for e in ({"ts": _ts(e)} for e in events))
    until = max(_ts(e) for e in events) + 1
    same = backtest(storage, settings, Draft(), since, until, labels=labels_from(indexer.db))
    assert same["changed"] == 0 and same["events"] > 1000
    assert same["before"] == same["after"]
    live = storage.definitions.get("rules", storage.definitions.active_version("rules")).text
    rule = "\nrule every_big_payment:\n    block if event.kind == 'payment.attempt' and event.amount >= 30000\n"
    seen = []
    edited = backtest(
        storage, settings, Draft(rules_text=live + rule), since, until, seen.append, labels_from(indexer.db)
    )
    big = [e for e in events if e["kind"] == "payment.attempt" and e["amount"] >= 30000 and since <= _ts(e) < until]
    assert 0 < edited["changed"] <= len(big)
    assert edited["rules"]["every_big_payment"] == {"before": 0, "after": len(big)}
    assert edited["by_outcome"]["block"]["payments"] == edited["changed"]
    assert edited["by_outcome"]["block"]["amount"]["JPY"] >= 30000 * edited["changed"]
    assert all(c["to"] == "block" and "every_big_payment" in c["rules"] for c in edited["listed"])
    assert seen and seen[-1] == pytest.approx(1.0, abs=0.01)
    # a later period replays the history before it, so its features are the live ones
    later = backtest(storage, settings, Draft(), until - 2 * 86400, until, labels=labels_from(indexer.db))
    assert later["changed"] == 0 and later["replayed"] > later["events"]


def _ts(raw: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(raw["time"]).timestamp()
