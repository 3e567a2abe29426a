"""Benchmark: the review queue and the case file on the embedded default (SQLite), with
100,000 cases and 5 million logged events.

    python benchmarks/cases_queue.py [--events 5000000] [--cases 100000] [--data DIR] [--runs 1000] [--build-only]

Builds (once; kept in ``--data`` and reused for the same sizes) an event log of ``--events`` payment attempts
with their decisions, spread over cards and accounts, and ``--cases`` episodes built with
``open_or_join`` from its flagged events, in every status (queued ones with priorities,
due dates, assignees and rules; some with disputes, notes and delivered messages). Then
times, in this process and over the same files the service uses:

* queue listings (``cases.service.list_cases``, what ``GET /v1/cases`` calls) by priority,
  due date, age and amount, filtered by rule, assignee, card and amount, and a deep page;
  the counts per filter (``GET /v1/cases/counts``);
* case files (``cases.casefile.case_file`` with the event log, what ``GET /v1/cases/{id}/file``
  calls) of random cases, serialised to JSON as the response is.

Prints p50, p99 and max per query. Take ``flock /work/tools/.bench.lock`` around it on a
shared machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import orjson

from fraudwatch.actions.db import Database
from fraudwatch.cases import casefile, service
from fraudwatch.cases.disputes import open_dispute
from fraudwatch.cases.episodes import open_or_join
from fraudwatch.cases.service import queue
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import SQLiteStore

T0 = 1_790_000_000.0  # 2026-09-21
DAY = 86400.0
RULES = [f"rule_{n:02d}" for n in range(20)]
ANALYSTS = [f"analyst_{n}" for n in range(10)]
FEATURES = [f"card.feature_{n:02d}_24h" for n in range(24)]


def build(data: Path, events: int, cases: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    data.mkdir(parents=True, exist_ok=True)
    log = SQLiteStore(data / "fraudwatch.db", synchronous="NORMAL")
    log._db.execute("PRAGMA cache_size=-1000000")  # 1 GB: the five indexes are written at random places
    db = Database(str(data / "fraudwatch-actions.db"))
    cards = max(1, events // 10)
    flagged_cards = rng.sample(range(cards), min(cards, cases))
    attacked = {c: n for n, c in enumerate(flagged_cards)}
    # feature values drawn once: a decision's JSON is the bulk of an entry, not of the time it takes to make
    pool = [orjson.Fragment(orjson.dumps({f: rng.randrange(50) for f in FEATURES})) for _ in range(256)]
    started = time.perf_counter()
    batch: list[LogEntry] = []
    flagged: list[tuple] = []
    for seq in range(1, events + 1):
        card = rng.randrange(cards)
        ts = T0 + seq * (60 * DAY / events)
        bad = card in attacked and rng.random() < 0.5
        outcome = rng.choice(("block", "review", "challenge")) if bad else "allow"
        hits = [{"rule": rng.choice(RULES), "outcome": outcome, "values": {"card.feature_01_24h": 7}}] if bad else []
        event = {
            "id": f"ev{seq:010d}",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts)),
            "kind": "payment.attempt",
            "card": f"tok_{card:08d}",
            "account": f"acct_{card:08d}",
            "device": f"dev_{card % 50_000:06d}" if not bad else f"dev_evil_{rng.randrange(1000):04d}",
            "ip": f"198.51.{card % 250}.{seq % 250}",
            "amount": rng.randrange(100, 200_000),
            "currency": "JPY",
            "merchant": f"m_{rng.randrange(500)}",
            "result": "approved" if outcome == "allow" else "declined",
        }
        decision = {
            "event_id": event["id"],
            "kind": "payment.attempt",
            "event_time": event["time"],
            "outcome": outcome,
            "score": round(rng.random(), 4),
            "rules": hits,
            "shadow_rules": [],
            "reasons": [],
            "features": pool[seq & 255],
            "versions": {"engine": "1", "rules": "bench@0", "features": "bench@0"},
            "processing_us": 40.0,
        }
        batch.append(
            LogEntry(
                seq,
                event["id"],
                event["kind"],
                ts,
                seq.to_bytes(32, "big"),
                orjson.dumps(event),
                orjson.dumps(decision),
                outcome,
                event["card"],
                event["account"],
                event["device"],
                event["ip"],
            )
        )
        if bad:
            flagged.append((event, outcome, hits, ts, seq))
        if len(batch) == 5000:
            log.log(batch)
            batch = []
            if seq % 200_000 == 0:
                log.maintain()
                print(f"  {seq:,} events logged ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if batch:
        log.log(batch)
    log.maintain()
    print(f"event log: {events:,} events in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    settings = CasesSettings()
    started = time.perf_counter()
    made = 0
    for start in range(0, len(flagged), 2000):
        with db.unit_of_work() as conn:
            for event, outcome, hits, ts, seq in flagged[start : start + 2000]:
                e = open_or_join(
                    conn,
                    event_id=event["id"],
                    ts=ts,
                    kind="payment.attempt",
                    card=event["card"],
                    account=event["account"],
                    device=event["device"],
                    ip=event["ip"],
                    outcome=outcome,
                    score=0.5,
                    amount=event["amount"],
                    currency="JPY",
                    result=event["result"],
                    rules=[h["rule"] for h in hits],
                    seq=seq,
                    window=90 * DAY,
                    now=ts,
                )
                if e.created:
                    made += 1
                    _shape(conn, rng, e.id, event, settings, now=ts)
    print(f"cases: {made:,} episodes in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    log.close()
    db.close()


def _shape(conn, rng, case_id, event, settings, *, now) -> None:
    """Give a new case a place in the queue's life: queued, claimed, disputed, closed."""
    r = rng.random()
    if r < 0.15:
        return  # monitoring
    queue(conn, case_id, trigger=rng.choice(("review", "cardholder_no", "chargeback")), settings=settings, now=now)
    service.add_note(conn, case_id, author=rng.choice(ANALYSTS), text="looked at it", now=now)
    if r < 0.35:
        return  # open
    service.claim(conn, case_id, analyst=rng.choice(ANALYSTS), now=now)
    if r < 0.45:
        return  # in review
    if r < 0.5:
        open_dispute(
            conn,
            case_id=case_id,
            opened_by=f"cb-{case_id}",
            payment=event["id"],
            at=now + 30 * DAY,
            amount=event["amount"],
            currency="JPY",
            scheme="visa",
            reason_code="10.4",
            acquirer=None,
            actor="bench",
            now=now,
        )
        service.transition(conn, case_id, "recovering", actor="bench", now=now)
        return
    service.transition(conn, case_id, "closed", actor="bench", now=now)


def _times(fn, runs: int) -> tuple[float, float, float]:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))], took[-1]


def measure(data: Path, runs: int, seed: int = 2) -> None:
    rng = random.Random(seed)
    db = Database(str(data / "fraudwatch-actions.db"))
    log = SQLiteStore(data / "fraudwatch.db", synchronous="NORMAL").connect(durable=False)
    conn = db.connection()
    total = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    logged = log.events.last_seq()
    ids = [r[0] for r in conn.execute("SELECT id FROM cases")]
    cards = [r[0] for r in conn.execute("SELECT card FROM cases LIMIT 5000")]
    print(f"{total:,} cases, {logged:,} logged events; {runs} runs per query (ms)")
    queries = {
        "queue by priority": lambda: service.list_cases(conn),
        "queue by due date": lambda: service.list_cases(conn, sort="due"),
        "queue by age": lambda: service.list_cases(conn, sort="age"),
        "queue by amount": lambda: service.list_cases(conn, sort="amount"),
        "queue of a rule": lambda: service.list_cases(conn, rule=rng.choice(RULES)),
        "queue of an analyst": lambda: service.list_cases(conn, assignee=rng.choice(ANALYSTS)),
        "cases of a card": lambda: service.list_cases(conn, entity=("card", rng.choice(cards)), status=None),
        "queue page 100 (offset 5000)": lambda: service.list_cases(conn, offset=5000),
        "closed, most recent": lambda: service.list_cases(conn, status=["closed"], sort="recent"),
        "queue above 150,000 at risk": lambda: service.list_cases(conn, min_amount=150_000),
        "queue counts per filter": lambda: [service.queue_counts(conn, now=T0 + 60 * DAY)],
    }
    print(f"{'query':34} {'p50':>7} {'p99':>7} {'max':>7}")
    for name, fn in queries.items():
        p50, p99, worst = _times(lambda fn=fn: orjson.dumps([_plain(c) for c in fn()]), runs)
        print(f"{name:34} {p50:7.2f} {p99:7.2f} {worst:7.2f}")
    sizes = []

    def one_file():
        body = orjson.dumps(casefile.case_file(conn, rng.choice(ids), log=log.events))
        sizes.append(len(body))

    p50, p99, worst = _times(one_file, runs)
    print(f"{'case file (with the event log)':34} {p50:7.2f} {p99:7.2f} {worst:7.2f}")
    print(f"case file JSON: median {statistics.median(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB")


def _plain(item):
    return item if isinstance(item, dict) else item.to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/fraudwatch-cases-bench"))
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--build-only", action="store_true", help="build the data set (if needed) and stop")
    args = parser.parse_args()
    built = args.data / "built"  # written last: a build that was stopped half-way is started again
    if not built.exists() or built.read_text() != f"{args.events} {args.cases}\n":
        for name in ("fraudwatch.db", "fraudwatch-actions.db"):
            for suffix in ("", "-wal", "-shm"):
                (args.data / (name + suffix)).unlink(missing_ok=True)
        build(args.data, args.events, args.cases)
        built.write_text(f"{args.events} {args.cases}\n")
    if args.build_only:
        return
    measure(args.data, args.runs)


if __name__ == "__main__":
    main()
