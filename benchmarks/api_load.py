"""Load benchmark of the decision service on loopback (a command, not a test).

Starts ``fraudwatch serve`` on a fresh data dir with the default features and rules (and
a model when ``--model`` is given), creates an ingest key, drives ``POST /v1/events`` with
``wrk`` (Debian package ``wrk``; script ``benchmarks/api_load.lua``) and prints throughput,
latency percentiles and the server's CPU time per decision.

    python benchmarks/api_load.py --duration 20 --connections 8

wrk is closed-loop: each connection sends its next request when the answer came, so the
latency figures include the queueing that ``--connections`` concurrent callers cause.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
FRAUDWATCH = str(Path(sys.executable).with_name("fraudwatch"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds of a process's event-loop thread, of its other threads and of its
    child processes (the log followers) (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}

    def add(name: str, stat: Path) -> None:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick

    for task in Path(f"/proc/{pid}/task").iterdir():
        add("event loop" if task.name == str(pid) else "writer and other threads", task / "stat")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and proc.name != str(pid):
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            if ppid == pid:
                add("follower processes", proc / "stat")
    return out


def _wrk(url: str, env: dict, connections: int, duration: float, threads: int) -> dict[str, int]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "5s",
            "-s",
            str(HERE / "api_load.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("RESULT"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=20.0, help="seconds of measured load")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="paced load: about this many requests/s in all (each connection pauses "
        "connections/rate seconds between requests); 0: as fast as answered",
    )
    p.add_argument("--cards", type=int, default=5000, help="distinct cards (accounts, devices follow)")
    p.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument("--model", type=Path, help="model artifact directory: promoted to champion before the start")
    p.add_argument("--no-actions", action="store_true", help="server.actions: false (no alerts follower)")
    p.add_argument("--keep", action="store_true", help="keep the data dir")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk: apt-get install wrk")

    data = Path(tempfile.mkdtemp(prefix="fraudwatch-bench-"))
    env = {
        **os.environ,
        "FRAUDWATCH_ENV": "test",
        "FRAUDWATCH_DATA_DIR": str(data),
        "FRAUDWATCH_SECURITY__TOKEN_KEY": "bench-token-key-0123456789",
        "FRAUDWATCH_SECURITY__KEY_PEPPER": "bench-pepper-0123456789ab",
        "FRAUDWATCH_STORAGE__SYNCHRONOUS": args.synchronous,
        "FRAUDWATCH_SERVER__ACTIONS": "false" if args.no_actions else "true",
        "FRAUDWATCH_INGEST__HISTORY": "true",  # the load's event times start on a fixed date
    }
    if args.model:
        from fraudwatch.models.registry import ModelRegistry

        (data / "models").mkdir()
        (data / "models" / args.model.name).symlink_to(args.model.resolve(), target_is_directory=True)
        ModelRegistry(data / "models").promote(args.model.name)
    key = subprocess.run(
        [FRAUDWATCH, "keys", "create", "--name", "bench", "--scope", "ingest"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [FRAUDWATCH, "serve", "--port", str(port)],
        env=env,
        stdout=open(data / "server.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            sys.exit(f"server not ready; see {data / 'server.log'}")
        pause_ms = args.connections / args.rate * 1000 if args.rate else 0.0
        load_env = {**env, "FW_KEY": key, "FW_CARDS": str(args.cards), "FW_DELAY_MS": f"{pause_ms:.3f}"}
        if args.warmup:
            _wrk(url, {**load_env, "FW_RUN": "warm"}, args.connections, args.warmup, args.threads)
        cpu0 = _cpu_seconds(server.pid)
        r = _wrk(url, {**load_env, "FW_RUN": "run"}, args.connections, args.duration, args.threads)
        cpu1 = _cpu_seconds(server.pid)
        threads = {name: cpu1[name] - cpu0.get(name, 0.0) for name in cpu1}
        cpu = sum(threads.values())
        seconds = r["duration_us"] / 1e6
        metrics = httpx.get(url + "/metrics").text
        commits = re.search(r"^fraudwatch_group_commit_events_count (\S+)", metrics, re.M)
        print(
            f"decisions/s        {r['requests'] / seconds:,.0f}  ({r['requests']:,} in {seconds:.1f}s, "
            f"{args.connections} connections{f', paced at {args.rate:g}/s' if args.rate else ''}, "
            f"synchronous={args.synchronous}, "
            f"actions {'off' if args.no_actions else 'on'}, model {args.model.name if args.model else 'none'})"
        )
        print(
            f"latency p50/p99/p99.9/max  {r['p50_us'] / 1e3:.2f} / {r['p99_us'] / 1e3:.2f} / "
            f"{r['p999_us'] / 1e3:.2f} / {r['max_us'] / 1e3:.2f} ms"
        )
        print(f"errors             {r['errors']} (non-2xx {r['non2xx']})")
        print(
            f"server CPU         {cpu / max(r['requests'], 1) * 1e6:.0f} us per decision "
            f"({cpu / seconds * 100:.0f}% of one core); by thread or process: "
            + ", ".join(f"{n} {t / max(r['requests'], 1) * 1e6:.0f} us" for n, t in sorted(threads.items()) if t > 0)
        )
        if commits:
            print(f"group commits      {float(commits.group(1)):,.0f} (all runs)")
        print(f"load average       {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
