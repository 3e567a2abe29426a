"""Console page times on the embedded default with the simulator's month loaded.

    python benchmarks/console_pages.py --cardholders 10000 --days 30 --data-dir /tmp/fw-console-bench

Starts ``fraudwatch demo --serve`` on the data folder (loading the month through the service
the first time, which takes minutes; later runs serve what is there), signs in, then asks
for every page ``--requests`` times, one after the other, and prints per page the server
time (the ``Server-Timing`` header: from the session check to the rendered page) and the
time the client waited on the loopback, p50 / p99 / max in milliseconds. The queue and the
case files are those the traffic opened (the review queue untouched by anyone).
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx


def start(args) -> tuple[subprocess.Popen, str, str]:
    command = [sys.executable, "-m", "fraudwatch.cli", "demo", "--serve", "--port", "0"]
    command += ["--cardholders", str(args.cardholders), "--days", str(args.days), "--data-dir", str(args.data_dir)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = key = None
    assert proc.stdout is not None
    for line in proc.stdout:
        print("  | " + line.rstrip(), flush=True)
        if m := re.search(r"fraudwatch console: (http://\S+)", line):
            url = m.group(1).removesuffix("/console")
        if m := re.search(r"admin key:\s+(\S+)", line):
            key = m.group(1)
        if url and key:
            return proc, url, key
    raise SystemExit("the demo server stopped before printing its URL and key")


def sign_in(base: str, key: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/signin").text).group(1)
    client.post("/console/signin", data={"key": key, "csrf": token})
    return client


def pages(data_dir: Path) -> dict[str, str]:
    db = sqlite3.connect(data_dir / "fraudwatch-console.db")
    one = lambda sql: (db.execute(sql).fetchone() or (None,))[0]  # noqa: E731
    leaked = one(
        "SELECT id FROM nodes WHERE fraud > 0 AND id LIKE 'card:%' AND accounts >= 2 ORDER BY fraud DESC LIMIT 1"
    )
    stuffing = one("SELECT id FROM nodes WHERE failed_logins >= 20 ORDER BY failed_logins DESC LIMIT 1")
    shared = one("SELECT id FROM nodes WHERE cards >= 5 ORDER BY cards DESC LIMIT 1")
    log = sqlite3.connect(data_dir / "fraudwatch.db")
    event = (log.execute("SELECT id FROM events WHERE kind = 'payment.attempt' LIMIT 1 OFFSET 1000").fetchone())[0]
    cases = sqlite3.connect(data_dir / "fraudwatch-actions.db")
    biggest = cases.execute(
        "SELECT case_id FROM case_events GROUP BY case_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    disputed = cases.execute("SELECT case_id FROM disputes GROUP BY case_id ORDER BY count(*) DESC LIMIT 1").fetchone()
    out = {
        "queue": "/console/queue",
        "queue, filtered": "/console/queue?status=open&priority=high&sort=amount&min_amount=1000",
        "queue refresh (json)": "/console/queue.json",
    }
    if biggest:
        out["case file: most events"] = f"/console/cases/{biggest[0]}"
    if disputed:
        out["case file: most disputes"] = f"/console/cases/{disputed[0]}"
    out |= {
        "dashboards, day": "/console/dashboards?range=24h",
        "dashboards, week": "/console/dashboards?range=7d",
        "dashboards, month": "/console/dashboards?range=30d",
        "rules": "/console/rules",
        "rule editor": "/console/rules/edit",
        "lists": "/console/lists",
        "models": "/console/models",
        "audit log": "/console/audit",
        "event": f"/console/events/{quote(event, safe='')}",
    }
    for name, node in (("entity: leaked card", leaked), ("entity: stuffing IP", stuffing), ("entity: shared", shared)):
        if node:
            kind, value = node.split(":", 1)
            out[name] = f"/console/entities/{kind}/{quote(value, safe='')}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cardholders", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/fw-console-bench"))
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("FRAUDWATCH_ENV", "development")
    began = time.perf_counter()
    proc, base, key = start(args)
    print(f"ready in {time.perf_counter() - began:.0f} s", flush=True)
    try:
        client = sign_in(base, key)
        print(f"{'page':<22} {'server p50':>10} {'p99':>8} {'max':>8}   {'client p50':>10} {'p99':>8}")
        for name, path in pages(args.data_dir).items():
            server, waited = [], []
            for _ in range(args.requests):
                t0 = time.perf_counter()
                page = client.get(path)
                waited.append((time.perf_counter() - t0) * 1000)
                assert page.status_code == 200, (path, page.status_code)
                timing = page.headers.get("server-timing") or page.headers.get("x-server-timing")
                server.append(float(timing.split("dur=")[1]) if timing else waited[-1])
            q = lambda xs, p: statistics.quantiles(xs, n=100, method="inclusive")[p - 1]  # noqa: E731
            print(
                f"{name:<22} {q(server, 50):>10.1f} {q(server, 99):>8.1f} {max(server):>8.1f}"
                f"   {q(waited, 50):>10.1f} {q(waited, 99):>8.1f}",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
