"""Does a console backtest slow the live decisions? (a command, not a test)

    python benchmarks/console_backtest_load.py --data-dir /tmp/fw-console-bench --rate 500

Serves the data folder with ``fraudwatch demo --serve`` (load it first with
``benchmarks/console_pages.py`` or ``fraudwatch demo --serve --data-dir ...``), then, alternating,
drives ``POST /v1/events`` with ``wrk`` at a steady ``--rate`` (``benchmarks/api_load.lua``)
with no backtest running and while a backtest of the live rules over the last ``--days`` of
the log runs, and prints the decision latency of each run and how long the backtest took.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from api_load import _wrk  # noqa: E402
from console_pages import sign_in, start  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/fw-console-bench"))
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s in all")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each measured run")
    parser.add_argument("--days", type=float, default=7.0, help="backtest period, ending at the latest event")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    proc, base, admin = start(argparse.Namespace(cardholders=10_000, days=30, data_dir=args.data_dir))
    try:
        console = sign_in(base, admin)
        ingest = console.post(
            "/v1/keys", json={"name": "load", "scopes": ["ingest"]}, headers={"Authorization": f"Bearer {admin}"}
        ).json()["key"]
        pause_ms = args.connections / args.rate * 1000
        env = {"FW_KEY": ingest, "FW_CARDS": "5000", "FW_DELAY_MS": f"{pause_ms:.3f}", "FW_T0": "1796169600"}
        editor = console.get("/console/rules/edit").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', editor).group(1)
        text = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", editor, re.S).group(1))
        until = re.search(r'name="until" value="([^"]+)"', editor).group(1)
        since = (datetime.fromisoformat(until) - timedelta(days=args.days)).strftime("%Y-%m-%dT%H:%M")
        print(f"{'run':<22} {'decisions/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}")
        for i in range(args.rounds):
            for with_backtest in (False, True):
                took = {}
                if with_backtest:
                    answer = console.post(
                        "/console/rules/backtest",
                        data={"csrf": csrf, "text": text, "since": since, "until": until},
                        follow_redirects=False,
                    )
                    job = answer.headers["location"].rsplit("/", 1)[1]
                    began = time.perf_counter()

                    def watch(job=job, began=began, took=took) -> None:
                        while console.get(f"/console/backtests/{job}.json").json()["state"] in ("queued", "running"):
                            time.sleep(0.5)
                        took["seconds"] = time.perf_counter() - began

                    watcher = threading.Thread(target=watch)
                    watcher.start()
                r = _wrk(base, {**env, "FW_RUN": f"r{i}{int(with_backtest)}"}, args.connections, args.duration, 1)
                seconds = r["duration_us"] / 1e6
                name = "during a backtest" if with_backtest else "no backtest"
                print(
                    f"{name:<22} {r['requests'] / seconds:>11,.0f} {r['p50_us'] / 1e3:>8.2f} {r['p99_us'] / 1e3:>8.2f}"
                    f" {r['p999_us'] / 1e3:>9.2f} {r['max_us'] / 1e3:>8.2f}   errors {r['errors']}",
                    flush=True,
                )
                if with_backtest:
                    watcher.join()
                    print(f"  the backtest of {args.days:g} days took {took['seconds']:.0f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
