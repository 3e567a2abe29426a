"""Micro benchmark of rule evaluation: ``python benchmarks/rules.py``.

Evaluates the shipped 20 default rules (``default.rules``) against synthetic events
and feature values of the default feature set, and prints per-event latency of
``RuleSet.evaluate`` (mean, p50, p99), the share of events where rules fired, the
time to parse and compile the file, and the cost of one compiled expression.
Not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from importlib import resources

from fraudwatch.events.kinds import parse_event
from fraudwatch.rules.context import Context
from fraudwatch.rules.expression import compile_expression
from fraudwatch.rules.lists import ListStore
from fraudwatch.rules.ruleset import RuleSet

KINDS = ("payment.attempt",) * 6 + ("account.login", "order.placed", "cart.item_added")


def _event(rng: random.Random, i: int):
    kind = rng.choice(KINDS)
    base = {
        "id": f"e{i}",
        "time": "2026-11-21T13:00:00+09:00",
        "kind": kind,
        "account": f"acc{rng.randrange(500)}",
        "ip": f"10.0.{rng.randrange(8)}.{rng.randrange(256)}",
        "device": f"dev{rng.randrange(900)}",
        "country": "JP",
    }
    if kind == "payment.attempt":
        return parse_event(
            {
                **base,
                "card": f"tok{rng.randrange(2000)}",
                "amount": rng.choice([1000, 17600, 5400, 120000]),
                "currency": "JPY",
                "result": rng.choice(["approved"] * 9 + ["declined"]),
            }
        )
    if kind == "account.login":
        return parse_event({**base, "success": rng.random() < 0.95})
    if kind == "order.placed":
        items = [{"sku": "g1", "category": rng.choice(["digital_gift_card", "books"]), "unit_price": 1000}]
        return parse_event({**base, "order": f"o{i}", "amount": 1000, "currency": "JPY", "items": items})
    item = {"sku": "g1", "category": "digital_gift_card", "unit_price": 1000}
    return parse_event({**base, "item": item})


def _features(rng: random.Random, names, hot: bool) -> dict:
    """Feature values. Typical: a known customer (counts 0-2, old device and country,
    amounts near the mean), so few rules fire. Hot: counts and ratios pushed up so
    most events fire several rules and their values are collected."""
    out = {}
    for name in names:
        if rng.random() < 0.1:
            continue  # some features absent: missing
        if "age" in name or "seconds_since" in name or "minutes_since" in name:
            out[name] = rng.choice([0, 30, 600]) if hot else rng.choice([86400 * 3, 86400 * 20, 86400 * 60])
        elif "zscore" in name or "ratio" in name:
            out[name] = rng.random() * 12 if hot else rng.random() * 2
        elif "amount" in name:
            out[name] = rng.choice([1000.0, 5400.0, 17600.0])
        else:
            out[name] = rng.choice([2, 3, 5, 9, 12]) if hot else rng.choice([0, 0, 0, 1, 1, 2])
    return out


def _measure(rs: RuleSet, contexts: list[Context], rounds: int) -> tuple[list[float], int, float]:
    """Wall-clock latency per evaluation, events that fired, and CPU time per event
    over a separate untimed pass (unaffected by other processes taking the CPU)."""
    timings: list[float] = []
    fired = 0
    clock = time.perf_counter_ns
    evaluate = rs.evaluate
    for _ in range(rounds):
        for ctx in contexts:
            t0 = clock()
            hits, shadow = evaluate(ctx)
            timings.append((clock() - t0) / 1000)
            fired += bool(hits or shadow)
    cpu0 = time.thread_time_ns()
    for _ in range(rounds):
        for ctx in contexts:
            evaluate(ctx)
    cpu = (time.thread_time_ns() - cpu0) / 1000 / (rounds * len(contexts))
    return timings, fired, cpu


def _report(label: str, timings: list[float], fired: int, cpu: float) -> None:
    timings.sort()
    n = len(timings)
    print(
        f"{label:<34} p50 {timings[n // 2]:6.2f} us   p99 {timings[int(n * 0.99)]:6.2f} us   "
        f"mean {statistics.fmean(timings):6.2f} us   CPU {cpu:6.2f} us/event   "
        f"fired in {100 * fired / n:5.1f} % of {n:,}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="distinct synthetic events")
    parser.add_argument("--rounds", type=int, default=5, help="passes over them")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    text = resources.files("fraudwatch.rules").joinpath("default.rules").read_text(encoding="utf-8")
    t0 = time.perf_counter()
    rs = RuleSet.parse(text, version="bench")
    compile_ms = (time.perf_counter() - t0) * 1000
    names = sorted(rs.feature_names)
    lists = ListStore(
        {
            "blocked_ips": [f"192.0.2.{i}" for i in range(256)],
            "blocked_cards": ["tok_x"],
            "trusted_accounts": ["acc1", "acc2"],
        }
    )
    events = [_event(rng, i) for i in range(args.events)]
    typical = [Context(e, _features(rng, names, hot=False), {"score": rng.random()}, lists) for e in events]
    hot = [Context(e, _features(rng, names, hot=True), {"score": rng.random()}, lists) for e in events]

    print(
        f"rule set: {len(rs)} rules ({sum(r.shadow for r in rs.rules)} shadow), {len(names)} features, "
        f"parsed and compiled in {compile_ms:.1f} ms"
    )
    _measure(rs, typical[:200], 1)  # warm up
    _report("20 rules, typical features", *_measure(rs, typical, args.rounds))
    _report("20 rules, hot features (many fire)", *_measure(rs, hot, args.rounds))

    expr = compile_expression("card.declines_10m >= 3 and event.amount >= 10_000")
    ctx = typical[0]
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        expr(ctx)
    per = (time.perf_counter() - t0) / n * 1e9
    print(f"one expression ({expr.text!r}): {per:.0f} ns per call")
    print(f"load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
