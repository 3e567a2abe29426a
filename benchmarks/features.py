"""Benchmark of the feature engine alone on a synthetic stream (a command, not a test).

    python benchmarks/features.py --events 200000 [--payments-only]

Builds the events first (not timed), then times ``FeatureEngine.process`` per event with
the default feature set, and prints events/s, mean / p50 / p99 microseconds per event and
memory per entity. The default stream mixes payments, logins, orders, profile changes and
labels over cards with accounts, devices and IPs; ``--payments-only`` is shaped like the
handbook data set (card, terminal, amount).
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from fraudwatch.features.defaults import default_feature_set
from fraudwatch.features.engine import FeatureEngine
from fraudwatch.features.featureset import FeatureSet
from fraudwatch.sim.synthetic import payments_only, synthetic_events


def run(feature_set: FeatureSet, events: list[Any]) -> dict[str, Any]:
    engine = FeatureEngine(feature_set)
    stamps = [e.ts for e in events]
    clock = time.perf_counter_ns
    lat = [0] * len(events)
    gc.collect()
    gc.freeze()  # the prepared events are scaffolding: keep them out of the collector's walks
    started, cpu_started = clock(), time.process_time()
    for i, (event, ts) in enumerate(zip(events, stamps, strict=False)):
        t0 = clock()
        engine.process(event, ts)
        lat[i] = clock() - t0
    total = (clock() - started) / 1e9
    cpu = time.process_time() - cpu_started  # unlike wall time, not inflated by other processes
    gc.unfreeze()
    lat.sort()
    return {
        "events": len(events),
        "events_per_s": len(events) / total,
        "cpu_us": cpu / len(events) * 1e6,
        "mean_us": sum(lat) / len(lat) / 1000,
        "p50_us": lat[len(lat) // 2] / 1000,
        "p99_us": lat[int(len(lat) * 0.99)] / 1000,
        "max_us": lat[-1] / 1000,
        "memory": engine.memory_report(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--cards", type=int, default=5000)
    parser.add_argument("--features", help="feature set YAML (default: the shipped set)")
    parser.add_argument("--payments-only", action="store_true", help="handbook-like payments (card, terminal, amount)")
    args = parser.parse_args(argv)
    fs = FeatureSet.load(args.features) if args.features else default_feature_set()
    make = payments_only if args.payments_only else synthetic_events
    events = make(args.events, cards=args.cards)
    r = run(fs, events)
    print(
        f"{len(fs)} features, {r['events']} events: {r['events_per_s']:,.0f} events/s, "
        f"mean {r['mean_us']:.1f} us, p50 {r['p50_us']:.1f} us, p99 {r['p99_us']:.1f} us, max {r['max_us']:.0f} us; "
        f"CPU {r['cpu_us']:.1f} us/event ({1e6 / r['cpu_us']:,.0f} events per CPU-second)"
    )
    mem = r["memory"]
    for entity, m in sorted(mem["by_entity"].items()):
        print(f"  {entity:<16} {m['entities']:>8} entities  {m['bytes_per_entity']:>7} bytes/entity")
    print(f"  labels {mem['labels']['count']}, total {mem['total_bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
