"""The SQLite log stores event and decision JSON as zstd frames with a dictionary
trained on its own entries; every reader gets the JSON back."""

from __future__ import annotations

import sqlite3

import orjson

from fraudwatch.storage import LogEntry, sql
from fraudwatch.storage.codec import ZSTD_MAGIC
from fraudwatch.storage.sqlite import SQLiteStore


def _entry(n: int) -> LogEntry:
    event = orjson.dumps({"id": f"e{n}", "kind": "payment.attempt", "card": f"tok_{n % 7}", "amount": 1000 + n})
    decision = orjson.dumps(
        {
            "event_id": f"e{n}",
            "outcome": "allow",
            "score": n / 3,
            "features": {f"card.feature_{i}": (n * i) % 11 for i in range(40)},
        }
    )
    return LogEntry(n, f"e{n}", "payment.attempt", float(n), b"d", event, decision, "allow", f"tok_{n % 7}")


def _append(storage, first: int, last: int) -> None:
    with storage.unit() as uow:
        uow.events.append([_entry(n) for n in range(first, last + 1)])


def test_entries_read_back_the_same_before_and_after_a_dictionary(tmp_path, monkeypatch):
    monkeypatch.setattr(sql, "DICTIONARY_SAMPLES", 200)
    monkeypatch.setattr(sql, "DICTIONARY_CHECK_EVERY", 10)
    storage = SQLiteStore(tmp_path / "fw.db")
    writer = storage.connect()  # another handle: it learns of the dictionary on its own
    _append(writer, 1, 250)
    early = storage.connect()  # opened before the dictionary: it loads it on its first read of a frame
    storage.maintain()  # trains the first dictionary on the latest 200 entries
    _append(writer, 251, 400)
    reader = storage.connect()
    expected = [_entry(n) for n in range(1, 401)]
    assert reader.events.after(0, 1000) == expected
    assert reader.events.get("e333") == expected[332]
    assert early.events.get("e333") == expected[332]
    assert reader.events.search("card", "tok_3", limit=3) == [e for e in reversed(expected) if e.card == "tok_3"][:3]

    raw = sqlite3.connect(tmp_path / "fw.db")
    stored = dict(raw.execute("SELECT seq, decision FROM events WHERE seq IN (1, 400)").fetchall())
    assert stored[1][:4] == ZSTD_MAGIC and stored[400][:4] == ZSTD_MAGIC
    assert len(stored[400]) * 3 < len(stored[1])  # the dictionary knows the feature names
    assert len(stored[400]) * 8 < len(expected[399].decision)
    assert raw.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == 1
    storage.maintain()  # not due again
    assert raw.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == 1


def test_uncompressed_rows_written_earlier_read_as_they_are(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    e = _entry(1)
    with storage.unit():
        storage._db.execute(
            "INSERT INTO events(seq, id, kind, ts, digest, event, decision, outcome, card) VALUES (?,?,?,?,?,?,?,?,?)",
            (e.seq, e.event_id, e.kind, e.ts, e.digest, e.event, e.decision, e.outcome, e.card),
        )
    assert storage.events.get("e1") == e
