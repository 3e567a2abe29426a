"""Backtests of a rule or list edit over the logged events of a period, with the same
engine code that decides live (``Engine.process``), in the background.

``backtest(storage, settings, draft, since, until, progress)`` is the one function behind
the console's backtest: it replays the log from before ``since`` (the feature set's longest
window, so the features have their history) to ``until`` through an engine built from the
live definitions with the draft's rules and lists, and evaluates the live rules on the very
same feature values, so every difference it reports is the edit's. What it returns: the
outcomes before and after, what changed (newly blocked, challenged, reviewed or allowed,
from what), which of the changed events were later labelled fraud, the amounts affected per
currency, hits per rule, and the changed events themselves.

``BacktestRunner`` runs one backtest at a time in a child process at a lower CPU priority
(its progress and result go to the console's file, which the page polls), so a backtest
never holds the service's GIL and the requests being decided go first.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import secrets
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from fraudwatch.console.store import ConsoleDB

log = logging.getLogger("fraudwatch.console")

PAGE = 2000
MAX_WARMUP = 90 * 86400.0  # the longest look-back a feature may have
LATE = 3600.0  # events logged after ``until`` with an earlier time (the engine's lateness)
MAX_LISTED = 500  # changed events kept in the result; the counts cover all of them
CAUGHT = ("block", "challenge")


@dataclass(frozen=True)
class Draft:
    """What to try: a rule text (None: the live one) and list values replacing live ones."""

    rules_text: str | None = None
    lists: dict[str, list[str]] = field(default_factory=dict)


def warmup_seconds(feature_set) -> float:
    """How much history before the period the features need (their longest window)."""
    longest = 0.0
    for spec in feature_set.features:
        if spec.agg in ("age", "time_since_last", "previous"):
            longest = max(longest, (spec.window or MAX_WARMUP) + spec.delay)
        elif spec.window:
            longest = max(longest, spec.window + spec.delay)
    return min(longest, MAX_WARMUP)


def seq_at(storage, ts: float) -> int:
    """The log position just before the first entry at or after event time ``ts`` (the
    log is in arrival order, which is about event time: a binary search is close enough,
    the warm-up absorbs the rest)."""
    low, high = 0, storage.events.last_seq()
    while low < high:
        mid = (low + high) // 2
        page = storage.events.after(mid, 1)
        if not page or page[0].ts >= ts:
            high = mid
        else:
            low = mid + 1
    return low


def backtest(
    storage,
    settings,
    draft: Draft,
    since: float,
    until: float,
    progress: Callable[[float], None] = lambda fraction: None,
    labels: Callable[[list[str]], dict[str, bool]] = lambda ids: {},
) -> dict[str, Any]:
    """Replay ``[since, until)`` of the log under ``draft`` and compare with the live rules.
    ``labels(event_ids)`` gives the fraud labels known for those events."""
    from fraudwatch.api import engine_factory, parse_rules
    from fraudwatch.decisions import Outcome
    from fraudwatch.events import EVENT_ADAPTER
    from fraudwatch.rules import Context, ListStore

    started = time.perf_counter()
    engine = engine_factory(settings, storage)()
    live_rules, live_lists = engine.rules, engine.lists
    if draft.rules_text is not None:
        engine.swap_rules(parse_rules(draft.rules_text, "draft"))
    if draft.lists:
        current = {name: live_lists.get(name) or () for name in live_lists.names()}
        engine.lists = ListStore({**current, **draft.lists})
    start = seq_at(storage, since - warmup_seconds(engine.feature_set))
    first, last = seq_at(storage, since), storage.events.last_seq()
    total = max(1, last - start)

    base_counts: Counter[str] = Counter()
    new_counts: Counter[str] = Counter()
    rule_hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    changes: list[dict[str, Any]] = []
    changed = 0
    events = 0
    position = start
    done = False
    while not done and (page := storage.events.after(position, PAGE)):
        for entry in page:
            position = entry.seq
            if entry.ts >= until + LATE and entry.seq > first:
                done = True
                break
            event = EVENT_ADAPTER.validate_json(entry.event)
            decision = engine.process(event)
            if not since <= entry.ts < until:
                continue
            events += 1
            model = {"score": decision.score} if decision.score is not None else None
            hits, _ = live_rules.evaluate(Context(event, decision.features, model, live_lists))
            model_hits = [h for h in decision.rules if h.rule.startswith("model.")]
            base = Outcome.decide(h.outcome for h in [*hits, *model_hits]).value
            new = decision.outcome.value
            base_counts[base] += 1
            new_counts[new] += 1
            for h in hits:
                rule_hits[h.rule][0] += 1
            for h in decision.rules:
                if not h.rule.startswith("model."):
                    rule_hits[h.rule][1] += 1
            if base != new:
                changed += 1
                changes.append(
                    {
                        "event_id": entry.event_id,
                        "ts": entry.ts,
                        "kind": entry.kind,
                        "amount": getattr(event, "amount", None),
                        "currency": getattr(event, "currency", None),
                        "card": entry.card,
                        "account": entry.account,
                        "from": base,
                        "to": new,
                        "rules": [h.rule for h in decision.rules],
                        "was": [h.rule for h in hits],
                    }
                )
        progress(min(1.0, (position - start) / total))
    known = labels([c["event_id"] for c in changes])
    transitions: dict[tuple[str, str], dict[str, Any]] = {}
    by_outcome: dict[str, dict[str, Any]] = {}
    for c in changes:
        c["fraud"] = known.get(c["event_id"])
        for key, bucket in (((c["from"], c["to"]), transitions), (c["to"], by_outcome)):
            row = bucket.setdefault(key, {"n": 0, "fraud": 0, "payments": 0, "amount": Counter()})
            row["n"] += 1
            row["fraud"] += bool(c["fraud"])
            if c["kind"] == "payment.attempt" and c["amount"] is not None:
                row["payments"] += 1
                row["amount"][c["currency"]] += c["amount"]
    changes.sort(key=lambda c: (not c["fraud"], -c["ts"]))
    return {
        "events": events,
        "changed": changed,
        "replayed": position - start,
        "seconds": round(time.perf_counter() - started, 2),
        "since": since,
        "until": until,
        "versions": engine.versions,
        "before": dict(base_counts),
        "after": dict(new_counts),
        "by_outcome": {k: {**v, "amount": dict(v["amount"])} for k, v in by_outcome.items()},
        "transitions": [
            {"from": a, "to": b, **{**v, "amount": dict(v["amount"])}}
            for (a, b), v in sorted(transitions.items(), key=lambda kv: -kv[1]["n"])
        ],
        "rules": {name: {"before": v[0], "after": v[1]} for name, v in sorted(rule_hits.items())},
        "listed": changes[:MAX_LISTED],
    }


# ------------------------------------------------------------------ jobs
def labels_from(db: ConsoleDB) -> Callable[[list[str]], dict[str, bool]]:
    def lookup(ids: list[str]) -> dict[str, bool]:
        out: dict[str, bool] = {}
        conn = db.connection()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for target, fraud in conn.execute(f"SELECT target, fraud FROM labels WHERE target IN ({marks})", chunk):
                out[target] = bool(fraud)
        return out

    return lookup


def run_job(job_id: str, db: ConsoleDB, storage, settings) -> None:
    """Run one queued backtest and store its result (or its error) in the console's file."""
    row = (
        db.connection().execute("SELECT subject, draft, since, until FROM backtests WHERE id = ?", (job_id,)).fetchone()
    )
    if row is None:
        return
    subject, text, since, until = row
    if subject == "rules":
        draft = Draft(rules_text=text)
    else:
        draft = Draft(lists={subject.removeprefix("lists/"): [v for v in text.splitlines() if v.strip()]})
    last_write = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last_write[0] >= 0.25:
            last_write[0] = now
            with db.transaction() as conn:
                conn.execute("UPDATE backtests SET progress = ? WHERE id = ?", (fraction, job_id))

    with db.transaction() as conn:
        conn.execute("UPDATE backtests SET state = 'running' WHERE id = ?", (job_id,))
    try:
        result = backtest(storage, settings, draft, since, until, progress, labels_from(db))
    except Exception as exc:  # reported on the page: the draft, not the service, failed
        log.exception("backtest %s failed", job_id)
        state, payload = "failed", orjson.dumps({"error": f"{type(exc).__name__}: {exc}"})
    else:
        state, payload = "done", orjson.dumps(result)
    with db.transaction() as conn:
        conn.execute(
            "UPDATE backtests SET state = ?, progress = 1, result = ?, finished = ? WHERE id = ?",
            (state, payload.decode(), time.time(), job_id),
        )


def _child(job_id: str, db_path: str, open_storage, settings) -> None:  # in the child process
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.platform == "linux":  # dies with the service
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if hasattr(os, "nice"):
        os.nice(10)  # the service's requests go first
    db = ConsoleDB(db_path)
    storage = open_storage()
    try:
        run_job(job_id, db, storage, settings)
    finally:
        storage.close()
        db.close()


class BacktestRunner:
    """Queues backtests and runs them one at a time: in a child process when the storage
    can be opened from one (SQLite), else in a thread of this process."""

    def __init__(self, db: ConsoleDB, settings, storage):
        self.db = db
        self.settings = settings
        self.storage = storage
        self._wake = threading.Event()
        self._stopping = False
        self._process: multiprocessing.process.BaseProcess | None = None
        with db.transaction() as conn:  # a service stopped during a backtest: that one is lost
            conn.execute(
                "UPDATE backtests SET state = 'failed', result = '{\"error\": \"the service stopped\"}'"
                " WHERE state IN ('queued', 'running')"
            )
        self._thread = threading.Thread(target=self._run, name="fraudwatch-backtests", daemon=True)
        self._thread.start()

    def submit(
        self, *, created_by: str, subject: str, draft: str, base_version: str | None, since: float, until: float
    ) -> str:
        job_id = "bt_" + secrets.token_hex(8)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO backtests(id, created, created_by, subject, draft, base_version, since, until, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                (job_id, time.time(), created_by, subject, draft, base_version, since, until),
            )
        self._wake.set()
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        row = (
            self.db.connection()
            .execute(
                "SELECT id, created, created_by, subject, draft, base_version, since, until, state, progress, result,"
                " finished FROM backtests WHERE id = ?",
                (job_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        keys = ("id created created_by subject draft base_version since until state progress result finished").split()
        job = dict(zip(keys, row, strict=False))
        job["result"] = orjson.loads(job["result"]) if job["result"] else None
        return job

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = (
            self.db.connection()
            .execute(
                "SELECT id, created, created_by, subject, since, until, state, progress FROM backtests"
                " ORDER BY created DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        keys = "id created created_by subject since until state progress".split()
        return [dict(zip(keys, r, strict=False)) for r in rows]

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout=10)
        self._thread.join(timeout=15)

    def _next(self) -> str | None:
        row = (
            self.db.connection()
            .execute("SELECT id FROM backtests WHERE state = 'queued' ORDER BY created LIMIT 1")
            .fetchone()
        )
        return row[0] if row else None

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(timeout=5)
            self._wake.clear()
            while not self._stopping and (job_id := self._next()):
                try:
                    self._run_one(job_id)
                except Exception:
                    log.exception("backtest %s could not run", job_id)
                    with self.db.transaction() as conn:
                        conn.execute(
                            "UPDATE backtests SET state = 'failed', result = ? WHERE id = ?",
                            (orjson.dumps({"error": "the backtest could not be started"}).decode(), job_id),
                        )

    def _run_one(self, job_id: str) -> None:
        opener = self.storage.opener()
        if opener is None:
            run_job(job_id, self.db, self.storage.connect(durable=False), self.settings)
            return
        context = multiprocessing.get_context("spawn")  # never fork a process with threads running
        self._process = context.Process(
            target=_child, name=f"fraudwatch-backtest-{job_id}", args=(job_id, self.db.path, opener, self.settings)
        )
        self._process.start()
        self._process.join()
        if self._process.exitcode != 0 and not self._stopping:
            with self.db.transaction() as conn:
                conn.execute(
                    "UPDATE backtests SET state = 'failed', result = ? WHERE id = ? AND state != 'done'",
                    (orjson.dumps({"error": f"exit code {self._process.exitcode}"}).decode(), job_id),
                )
        self._process = None
