"""The console's index of the event log: a log follower (see ``fraudwatch.api.follower``)
that turns every logged event and its decision into the counts the console's pages read
(``fraudwatch.console.store``), so that no page scans the log.

It runs in a process of its own beside the service (like the actions follower), so its
work never holds the service's GIL. Each page of entries is counted in memory and written
in one transaction together with the last position indexed; entries at or before that
position are skipped, so a page handed over again after a crash is not counted twice. A
gap between the position and the page (a new console file beside an old log) is filled
from the log first.

Labels arrive after the events they label: a ``label`` event moves its target's score from
the "not labelled fraud" histogram to the "fraud" one and counts the payment as fraud
caught or missed; a ``cardholder.answer`` counts the answer with its latency.

>>> import os, tempfile
>>> from fraudwatch.storage.sqlite import MemoryStore
>>> from fraudwatch.storage import LogEntry
>>> log = MemoryStore()
>>> ev = b'{"id":"e1","time":"2026-11-21T13:00:00+09:00","kind":"payment.attempt","card":"c1",' \\
...      b'"account":"a1","amount":1000,"currency":"JPY","result":"declined"}'
>>> de = b'{"event_id":"e1","outcome":"block","score":0.97,"rules":[{"rule":"r1","outcome":"block"}],' \\
...      b'"shadow_rules":[],"versions":{"model":"m1"},"shadow_scores":{"m2":0.5}}'
>>> with log.unit() as uow:
...     uow.events.append([LogEntry(1, "e1", "payment.attempt", 1795233600.0, b"", ev, de, "block", "c1", "a1")])
>>> ix = Indexer(os.path.join(tempfile.mkdtemp(), "c.db"), log)
>>> ix.on_logged(log.events.after(0))
>>> conn = ix.db.connection()
>>> conn.execute("SELECT id, events, declines, blocked FROM nodes ORDER BY id").fetchall()
[('account:a1', 1, 1, 1), ('card:c1', 1, 1, 1)]
>>> conn.execute("SELECT a, b, n FROM edges ORDER BY a").fetchall()
[('account:a1', 'card:c1', 1), ('card:c1', 'account:a1', 1)]
>>> ix.on_logged(log.events.after(0))  # handed over again: not counted twice
>>> conn.execute("SELECT sum(n) FROM outcomes_minute").fetchone()[0]
1
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson

from fraudwatch.console.store import DAY, HOUR, LATENCY_BOUNDS, MINUTE, SCORE_BINS, ConsoleDB
from fraudwatch.storage import ENTITY_FIELDS, LogEntry, Store

log = logging.getLogger("fraudwatch.console")

NAME = "console"  # the follower's name in the log's cursors
GAP_PAGE = 2000
CAUGHT = frozenset({"block", "challenge"})
# kinds that tell of earlier events, days or months later: they do not move "now" (the end
# of the traffic, where the console's ranges end)
AFTERWARDS = frozenset(
    {"label", "chargeback", "fraud_report", "early_fraud_warning", "payment.refund", "payment.reversal"}
)


def score_bin(score: float) -> int:
    """The histogram bin of a score in [0, 1].

    >>> score_bin(0.0), score_bin(0.049), score_bin(0.05), score_bin(1.0)
    (0, 0, 1, 19)
    """
    return min(SCORE_BINS - 1, max(0, int(score * SCORE_BINS)))


def latency_bucket(minutes: float) -> int:
    """Index into ``LATENCY_BOUNDS`` (``len(LATENCY_BOUNDS)`` for the open last bucket).

    >>> latency_bucket(0.5), latency_bucket(3), latency_bucket(10_000)
    (0, 1, 6)
    """
    for i, bound in enumerate(LATENCY_BOUNDS):
        if minutes < bound:
            return i
    return len(LATENCY_BOUNDS)


class _Page:
    """Counts of one page, added to the tables in one go."""

    def __init__(self) -> None:
        self.minute: defaultdict[tuple, int] = defaultdict(int)
        self.hour: defaultdict[tuple, int] = defaultdict(int)
        self.rules: defaultdict[tuple, int] = defaultdict(int)
        self.scores: defaultdict[tuple, int] = defaultdict(int)
        self.fraud: defaultdict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        self.answers: defaultdict[tuple, int] = defaultdict(int)
        self.nodes: dict[str, list] = {}
        self.edges: dict[tuple[str, str], list] = {}
        self.labels: dict[str, tuple[int, float]] = {}
        self.min_ts: float | None = None
        self.max_ts: float | None = None


class Indexer:
    """``on_logged(entries)`` for the log follower; ``log`` is a handle of the event log
    (to read a label's target and to fill gaps)."""

    def __init__(self, db_path: str, log: Store):
        self.db = ConsoleDB(db_path)
        self.log = log

    # ------------------------------------------------------------ the follower's interface
    def on_logged(self, entries: list[LogEntry]) -> None:
        if not entries:
            return
        position = self.db.position()[0]
        if entries[0].seq > position + 1:
            self._fill_gap(position, entries[0].seq - 1)
            position = self.db.position()[0]
        fresh = [e for e in entries if e.seq > position]
        if fresh:
            self._index(fresh)

    def sync(self) -> None:
        """Nothing to make durable: the index is rebuilt from the log if it is lost."""

    def close(self) -> None:
        self.db.close()

    def catch_up(self) -> int:
        """Index what the log holds past our position; returns the entries indexed."""
        done = 0
        position = self.db.position()[0]
        while page := self.log.events.after(position, GAP_PAGE):
            self._index(page)
            position = page[-1].seq
            done += len(page)
        return done

    def _fill_gap(self, position: int, last: int) -> None:
        while position < last:
            page = [e for e in self.log.events.after(position, GAP_PAGE) if e.seq <= last]
            if not page:
                return
            self._index(page)
            position = page[-1].seq

    # ------------------------------------------------------------ counting
    def _index(self, entries: Iterable[LogEntry]) -> None:
        page = _Page()
        last = 0
        for entry in entries:
            last = entry.seq
            try:
                self._count(page, entry)
            except (ValueError, KeyError, TypeError):  # a malformed entry is not the page's fault
                log.exception("console index: entry %d (%s) skipped", entry.seq, entry.event_id)
        with self.db.transaction() as conn:
            self._write(conn, page, last)

    def _count(self, page: _Page, entry: LogEntry) -> None:
        ts = entry.ts
        event = orjson.loads(entry.event)
        decision = orjson.loads(entry.decision)
        outcome = decision.get("outcome") or entry.outcome or "allow"
        if entry.kind not in AFTERWARDS:
            page.min_ts = ts if page.min_ts is None else min(page.min_ts, ts)
            page.max_ts = ts if page.max_ts is None else max(page.max_ts, ts)
        page.minute[(int(ts // MINUTE) * MINUTE, outcome)] += 1
        hour = int(ts // HOUR) * HOUR
        page.hour[(hour, outcome)] += 1
        for hit in decision.get("rules") or ():
            page.rules[(hour, hit["rule"], 0)] += 1
        for hit in decision.get("shadow_rules") or ():
            page.rules[(hour, hit["rule"], 1)] += 1
        day = int(ts // DAY) * DAY
        for model, champion, score in _scores(decision):
            page.scores[(day, model, champion, score_bin(score), 0)] += 1
        self._count_entities(page, entry, event, outcome, ts)
        kind = entry.kind
        if kind == "label" and event.get("target"):
            self._count_label(page, event["target"], bool(event.get("fraud")), ts)
        elif kind == "cardholder.answer" and event.get("target"):
            target = self.log.events.get(event["target"])
            if target is not None:
                minutes = max(0.0, (ts - target.ts) / 60)
                page.answers[(day, str(event.get("answer")), latency_bucket(minutes))] += 1

    def _count_entities(self, page: _Page, entry: LogEntry, event: dict, outcome: str, ts: float) -> None:
        ids = [f"{field}:{event[field]}" for field in ENTITY_FIELDS if event.get(field)]
        if not ids:
            return
        kind = entry.kind
        declined = kind == "payment.attempt" and event.get("result") == "declined"
        failed_login = kind == "account.login" and event.get("success") is False
        for node in ids:
            n = page.nodes.get(node)
            if n is None:
                n = page.nodes[node] = _new_node(ts)
            n[0] += 1
            n[1] += declined
            n[2] += failed_login
            n[3] += outcome == "block"
            n[4] += outcome == "challenge"
            n[6] = min(n[6], ts)
            n[7] = max(n[7], ts)
        for a in ids:
            for b in ids:
                if a != b:
                    e = page.edges.get((a, b))
                    if e is None:
                        page.edges[(a, b)] = [1, ts, ts]
                    else:
                        e[0] += 1
                        e[1] = min(e[1], ts)
                        e[2] = max(e[2], ts)

    def _count_label(self, page: _Page, target_id: str, fraud: bool, ts: float) -> None:
        """Move the target's counts between "fraud" and "not labelled fraud"."""
        before = page.labels.get(target_id)
        if before is None:
            row = self.db.connection().execute("SELECT fraud FROM labels WHERE target = ?", (target_id,)).fetchone()
            before = (row[0], 0.0) if row else (0, 0.0)
        page.labels[target_id] = (int(fraud), ts)
        change = int(fraud) - before[0]
        if change == 0:
            return
        target = self.log.events.get(target_id)
        if target is None:
            return
        event = orjson.loads(target.event)
        decision = orjson.loads(target.decision)
        day = int(target.ts // DAY) * DAY
        for model, champion, score in _scores(decision):
            b = score_bin(score)
            page.scores[(day, model, champion, b, 0)] -= change
            page.scores[(day, model, champion, b, 1)] += change
        if target.kind == "payment.attempt" and event.get("currency"):
            caught = int((decision.get("outcome") or target.outcome) in CAUGHT)
            row = page.fraud[(day, event["currency"], caught)]
            row[0] += change
            row[1] += change * int(event.get("amount") or 0)
        for field in ENTITY_FIELDS:
            if event.get(field):
                node = page.nodes.get(f"{field}:{event[field]}")
                if node is None:
                    node = page.nodes[f"{field}:{event[field]}"] = _new_node(target.ts)
                node[5] += change

    # ------------------------------------------------------------ writing
    def _write(self, conn, page: _Page, last: int) -> None:
        add = "INSERT INTO {t}({cols}, n) VALUES ({marks}, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n"
        for table, counts, cols in (
            ("outcomes_minute", page.minute, "t, outcome"),
            ("outcomes_hour", page.hour, "t, outcome"),
            ("rule_hits_hour", page.rules, "t, rule, shadow"),
            ("scores_day", page.scores, "t, model, champion, bin, fraud"),
            ("answers_day", page.answers, "t, answer, latency"),
        ):
            if counts:
                marks = ", ".join("?" * len(cols.split(",")))
                conn.executemany(add.format(t=table, cols=cols, marks=marks), [(*k, n) for k, n in counts.items() if n])
        if page.fraud:
            conn.executemany(
                "INSERT INTO fraud_day(t, currency, caught, n, amount) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT DO UPDATE SET n = n + excluded.n, amount = amount + excluded.amount",
                [(*k, v[0], v[1]) for k, v in page.fraud.items()],
            )
        exists = "SELECT 1 FROM edges WHERE a = ? AND b = ?"
        for a, b in page.edges:  # a pair seen for the first time: one more neighbour of its type
            if conn.execute(exists, (a, b)).fetchone() is None:
                page.nodes[a][8 + DEGREE[b.split(":", 1)[0]]] += 1
        if page.nodes:
            conn.executemany(
                "INSERT INTO nodes(id, events, declines, failed_logins, blocked, challenged, fraud, first, last,"
                " cards, accounts, devices, ips) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO UPDATE SET events = events + excluded.events,"
                " declines = declines + excluded.declines, failed_logins = failed_logins + excluded.failed_logins,"
                " blocked = blocked + excluded.blocked, challenged = challenged + excluded.challenged,"
                " fraud = fraud + excluded.fraud, first = min(first, excluded.first), last = max(last, excluded.last),"
                " cards = cards + excluded.cards, accounts = accounts + excluded.accounts,"
                " devices = devices + excluded.devices, ips = ips + excluded.ips",
                [(k, *v) for k, v in page.nodes.items()],
            )
        if page.edges:
            conn.executemany(
                "INSERT INTO edges(a, b, n, first, last) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " n = n + excluded.n, first = min(first, excluded.first), last = max(last, excluded.last)",
                [(a, b, *v) for (a, b), v in page.edges.items()],
            )
        if page.labels:
            conn.executemany(
                "INSERT OR REPLACE INTO labels(target, fraud, ts) VALUES (?, ?, ?)",
                [(k, f, ts) for k, (f, ts) in page.labels.items()],
            )
        conn.execute("UPDATE position SET seq = ? WHERE id = 1", (last,))
        if page.min_ts is not None:
            conn.execute(
                "UPDATE position SET min_ts = min(coalesce(min_ts, ?1), ?1), max_ts = max(coalesce(max_ts, ?2), ?2)"
                " WHERE id = 1",
                (page.min_ts, page.max_ts),
            )


DEGREE = {field: i for i, field in enumerate(ENTITY_FIELDS)}  # card, account, device, ip


def _new_node(ts: float) -> list:
    """events, declines, failed logins, blocked, challenged, fraud, first, last, then the
    number of cards, accounts, devices and IPs it shares an event with."""
    return [0, 0, 0, 0, 0, 0, ts, ts, 0, 0, 0, 0]


def _scores(decision: dict[str, Any]) -> list[tuple[str, int, float]]:
    """``(model version, is champion, score)`` of the champion and each challenger."""
    out = []
    score = decision.get("score")
    if score is not None:
        out.append(((decision.get("versions") or {}).get("model") or "model", 1, float(score)))
    for version, value in (decision.get("shadow_scores") or {}).items():
        if value is not None:
            out.append((version, 0, float(value)))
    return out


def make_indexer(db_path: str, log: Store) -> Indexer:
    """The follower's handler factory (picklable with ``functools.partial``); indexes what
    the log already holds before it is handed new pages."""
    indexer = Indexer(db_path, log)
    done = indexer.catch_up()
    if done:
        logging.getLogger("fraudwatch.console").info("console index: %d logged events indexed", done)
    return indexer
