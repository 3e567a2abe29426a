"""Benchmark: ``python benchmarks/actions.py [--alerts 200] [--events 5000]``.

Prints (1) the overhead of ``Responder.on_decision`` per event on the hot path (allowed
events, no subscription), and of ``Responder.on_logged`` on the same kind of events in
pages of 8 log entries (as the decision service's log follower hands them over), and (2)
the latency from ``on_decision`` to a usage alert reaching a local webhook receiver and a
local SMTP server (aiosmtpd), with the dispatcher running as a background thread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def main(argv: list[str] | None = None) -> None:
    from aiosmtpd.controller import Controller

    from fraudwatch.actions import ActionsSettings, Responder
    from fraudwatch.decisions import Decision, Outcome
    from fraudwatch.events import parse_event

    args = argparse.ArgumentParser()
    args.add_argument("--alerts", type=int, default=200)
    args.add_argument("--events", type=int, default=5000)
    args.add_argument("--concurrency", type=int, default=4, help="retry.concurrency of the dispatcher")
    opts = args.parse_args(argv)

    received: dict[str, float] = {}
    lock = threading.Lock()

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            import json

            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                received.setdefault("hook:" + body["data"]["event"]["event_id"], time.perf_counter())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Mail:
        async def handle_DATA(self, server, session, envelope):
            subject_id = envelope.content.split(b"X-Fraudwatch-Event: ", 1)[-1].split(b"\r\n", 1)[0].decode()
            with lock:
                received.setdefault("mail:" + subject_id, time.perf_counter())
            return "250 OK"

    http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        smtp_port = s.getsockname()[1]
    smtp = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    tmp = tempfile.mkdtemp()
    settings = ActionsSettings.model_validate(
        {
            "database": f"{tmp}/bench.db",
            "link_key": "k" * 32,
            "webhooks": {"default": {"url": f"http://127.0.0.1:{http.server_address[1]}/", "secret": "s" * 32}},
            "smtp": {"host": "127.0.0.1", "port": smtp_port},
            "retry": {"concurrency": opts.concurrency},
        }
    )
    responder = Responder(settings)
    now = datetime.now(UTC)

    def payment(i: int, card: str):
        return parse_event(
            {
                "id": f"b{i}",
                "time": now.isoformat(),
                "kind": "payment.attempt",
                "card": card,
                "amount": 1000,
                "currency": "JPY",
                "result": "approved",
            }
        )

    # (1) hot path: allowed events of cards without a subscription
    events = [payment(i, f"tok_{i % 500}") for i in range(opts.events)]
    started = time.perf_counter()
    for e in events:
        responder.on_decision(e, Decision(e.id, e.kind, e.time, Outcome.ALLOW))
    elapsed = time.perf_counter() - started
    print(
        f"on_decision, allowed event, no subscription: {elapsed / len(events) * 1e6:.0f} us/event "
        f"({len(events) / elapsed:.0f} events/s, one SQLite transaction each)"
    )
    # the same events as the decision service's log follower hands them over: pages of log entries
    import orjson

    from fraudwatch.storage import LogEntry

    def entry(seq: int, e) -> LogEntry:
        d = Decision(e.id, e.kind, e.time, Outcome.ALLOW)
        return LogEntry(
            seq,
            e.id,
            e.kind,
            e.ts,
            b"",
            e.__pydantic_serializer__.to_json(e, exclude_none=True),
            orjson.dumps(d),
            d.outcome.value,
            e.card,
        )

    entries = [entry(n, payment(opts.events + opts.alerts + n, f"tok_{n % 500}")) for n in range(opts.events)]
    started = time.perf_counter()
    for page in range(0, len(entries), 8):
        responder.on_logged(entries[page : page + 8])
    elapsed = time.perf_counter() - started
    print(
        f"on_logged, the same in pages of 8 log entries: {elapsed / len(entries) * 1e6:.0f} us/event "
        f"({len(entries) / elapsed:.0f} events/s)"
    )

    # (2) usage alerts to an opted-in card, one at a time
    with responder.db.unit_of_work() as conn:
        from fraudwatch.actions.service import set_subscription

        set_subscription(conn, "tok_alert", email="holder@example.com", usage_alerts=True, now=time.time())
    responder.start()
    sent: dict[str, float] = {}
    for i in range(opts.alerts):
        e = payment(opts.events + i, "tok_alert")
        sent[e.id] = time.perf_counter()
        responder.on_decision(e, Decision(e.id, e.kind, e.time, Outcome.ALLOW))
        time.sleep(0.01)
    deadline = time.time() + 30
    while time.time() < deadline and len(received) < 2 * opts.alerts:
        time.sleep(0.05)
    responder.close()
    smtp.stop()
    http.shutdown()
    for channel in ("hook", "mail"):
        lat = [(received[f"{channel}:{k}"] - t) * 1000 for k, t in sent.items() if f"{channel}:{k}" in received]
        print(
            f"usage alert {'webhook' if channel == 'hook' else 'e-mail '} latency over {len(lat)}/{len(sent)}: "
            f"median {statistics.median(lat):.1f} ms, p95 {_pct(lat, 95):.1f} ms, max {max(lat):.1f} ms"
        )


if __name__ == "__main__":
    main()
