"""Benchmarks of the account-takeover domain (commands, not tests).

``python benchmarks/ato.py logins``: what login scoring adds per login event in process:
the time of the login-risk feature (the score and the history, user-agent parsing and IP
lookups included, each event's first read of them), and of the login-risk, takeover and
failure-streak features together, per ``account.login``, over a population
whose accounts keep a few devices and networks, plus the engine's whole time per login with
and without those features (same events, alternated runs).

``python benchmarks/ato.py generate --lines N --out FILE``: a sorted ``HASH:COUNT``
file of N random SHA-1 hashes (the Pwned Passwords download's format), written in constant
memory.

``python benchmarks/ato.py lookups --corpus DIR``: range lookups (the answer text with
its padding, as the API builds it) on random prefixes.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta

import click

from fraudwatch.sim.network import USER_AGENTS


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _population(accounts: int, logins: int, seed: int) -> list:
    from fraudwatch.events import parse_event

    rng = random.Random(seed)
    t0 = datetime.fromisoformat("2026-11-01T00:00:00+09:00")
    agents = [ua for ua, _ in USER_AGENTS]
    homes = [(f"126.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}") for _ in range(accounts)]
    mobile = [f"153.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(accounts // 50)]
    devices = [[rng.choice(agents) for _ in range(rng.choice((1, 2, 3)))] for _ in range(accounts)]
    events = []
    for i in range(logins):
        a = rng.randrange(accounts)
        d = rng.randrange(len(devices[a]))
        roll = rng.random()
        ip = homes[a] if roll < 0.6 else rng.choice(mobile) if roll < 0.97 else f"3.{rng.randrange(256)}.1.1"
        events.append(
            parse_event(
                {
                    "id": f"l{i}",
                    "time": (t0 + timedelta(seconds=i * 5)).isoformat(),
                    "kind": "account.login",
                    "account": f"a{a}",
                    "device": f"d{a}-{d}",
                    "ip": ip,
                    "user_agent": devices[a][d],
                    "success": rng.random() > 0.03,
                    "channel": "ecommerce",
                }
            )
        )
    return events


@click.group()
def main() -> None:
    """Account-takeover benchmarks."""


@main.command()
@click.option("--accounts", default=20_000, show_default=True)
@click.option("--logins", default=200_000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--clock",
    type=click.Choice(["wall", "cpu"]),
    default="wall",
    show_default=True,
    help="cpu: this thread's CPU time (on a loaded machine, leaves out the time other processes ran)",
)
def logins(accounts: int, logins: int, seed: int, clock: str) -> None:
    """Time added per login by the account-takeover features."""
    timer = time.perf_counter if clock == "wall" else time.thread_time
    from fraudwatch.definitions import load_features, load_rules
    from fraudwatch.engine import Engine
    from fraudwatch.features import FeatureSet

    full = load_features()
    ato_aggs = ("login_risk", "takeover", "failure_streak")
    without = FeatureSet([s for s in full.features if s.agg not in ato_aggs], version="no-ato")
    rules_text = load_rules()
    click.echo(f"preparing {logins:,} logins of {accounts:,} accounts ...", err=True)
    # the first reads of user agents and IPs happen inside the measured calls: fresh events per run
    gc.collect()
    results = {}
    for label, fs in (("with", full), ("without", without), ("with", full), ("without", without)):
        events = _population(accounts, logins, seed)
        rules = rules_text if label == "with" else _rules_without(rules_text, without)
        engine = Engine(features=fs, rules=rules)
        stateful = engine._features._stateful
        scoring: list[float] = []  # login.risk alone: the score and the history (IP and user agent included)
        added: list[float] = []  # the three account-takeover features
        total: list[float] = []
        gc.freeze()
        spent = {f.name: 0.0 for f in stateful}
        if label == "with":
            # wrap the stateful features to time them inside the engine's own calls
            for f in stateful:
                f.process = _timed(f.process, spent, f.name, timer)
                f.decided = _timed(f.decided, spent, f.name, timer)
        for e in events:
            for name in spent:
                spent[name] = 0.0
            t = timer()
            engine.process(e)
            total.append(timer() - t)
            if label == "with":
                scoring.append(spent["login.risk"])
                added.append(sum(spent.values()))
        gc.unfreeze()
        results.setdefault(label, []).append((scoring, added, total))
    for label in ("with", "without"):
        for n, (scoring, added, total) in enumerate(results[label], start=1):
            line = (
                f"run {n} {label:7s} engine per login: p50 {_pct(total, 0.5) * 1e6:6.1f} us  "
                f"p99 {_pct(total, 0.99) * 1e6:6.1f} us"
            )
            if added:
                line += (
                    f"   login.risk: p50 {_pct(scoring, 0.5) * 1e6:5.1f} us  p99 {_pct(scoring, 0.99) * 1e6:5.1f} us"
                    f"  p99.9 {_pct(scoring, 0.999) * 1e6:5.1f} us"
                    f"   the three ato features: p50 {_pct(added, 0.5) * 1e6:5.1f} us"
                    f"  p99 {_pct(added, 0.99) * 1e6:5.1f} us"
                )
            click.echo(line)
    a = [statistics.median(t) for _, _, t in results["with"]]
    b = [statistics.median(t) for _, _, t in results["without"]]
    click.echo(f"median engine time per login, with minus without: {(min(a) - min(b)) * 1e6:.1f} us")


def _timed(fn, spent, name, clock):
    def wrapper(*args):
        t = clock()
        try:
            return fn(*args)
        finally:
            spent[name] += clock() - t

    return wrapper


def _rules_without(rules, features):
    """The default rules that do not read the account-takeover features."""
    from fraudwatch.rules import RuleSet

    names = set(features.names)
    keep = [r for r in rules.rules if all(n in names or not _is_feature(n) for n in r.expression.names)]
    text = "\n".join(f"rule {r.name}:\n    {r.outcome.value} if {r.condition}\n" for r in keep)
    return RuleSet.parse(text, version="no-ato")


def _is_feature(name: str) -> bool:
    return not name.startswith(("event.", "model.", "@"))


@main.command()
@click.option("--lines", default=100_000_000, show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--seed", default=1, show_default=True)
def generate(lines: int, out: str, seed: int) -> None:
    """Write a sorted HASH:COUNT file of random SHA-1 hashes (constant memory)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    per_prefix, extra = divmod(lines, 1 << 20)
    counts = [b":%d\r\n" % c for c in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)]
    with open(out, "wb", buffering=1 << 22) as f:
        for p in range(1 << 20):
            k = per_prefix + (1 if p < extra else 0)
            if not k:
                continue
            # k random 35-hex-digit suffixes of this prefix, sorted (C-level hex, sort and join)
            raw = rng.randbytes(18 * k).hex().upper()
            head = b"%05X" % p
            suffixes = sorted(raw[i : i + 35] for i in range(0, 36 * k, 36))
            f.write(b"".join(head + s.encode() + counts[i % 11] for i, s in enumerate(suffixes)))
            if p % 65536 == 65535:
                click.echo(f"{(p + 1) / (1 << 20):.0%}", err=True)
    size = os.path.getsize(out)
    click.echo(f"{out}: {lines:,} lines, {size / 1e9:.2f} GB in {time.perf_counter() - started:.0f} s")


@main.command()
@click.option("--corpus", "folder", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--n", default=100_000, show_default=True)
@click.option("--pad-to", default=1000, show_default=True)
def lookups(folder: str, n: int, pad_to: int) -> None:
    """Range lookups on random prefixes, as the API answers them (padding included)."""
    from fraudwatch.ato.passwords import PasswordCorpus

    corpus = PasswordCorpus(folder)
    rng = random.Random(3)
    prefixes = [f"{rng.getrandbits(20):05X}" for _ in range(n)]
    times = []
    clock = time.perf_counter
    for p in prefixes:
        t = clock()
        corpus.range_answer(p, pad_to=pad_to)
        times.append(clock() - t)
    click.echo(
        f"{n:,} range lookups on {corpus.entries:,} hashes: p50 {_pct(times, 0.5) * 1e3:.3f} ms  "
        f"p99 {_pct(times, 0.99) * 1e3:.3f} ms  p99.9 {_pct(times, 0.999) * 1e3:.3f} ms  max {max(times) * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
