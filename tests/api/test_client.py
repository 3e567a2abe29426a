"""``fraudwatch.client`` against the real server (``fraudwatch serve`` in a process of its own):
decisions, idempotent retries through failures, chunked batches, the deadline's fallback, and
errors raised before sending with the service's own messages."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from fraudwatch.client import AsyncClient, Client, ClientError, EventInvalid, Unavailable, events, validate

pytest.importorskip("fraudwatch.cli.api")

BAD_EVENTS = [
    {"id": "b1", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt", "amount": -5, "currency": "JPY"},
    {"id": "b2", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt", "amount": 5, "currency": "yen"},
    {"id": "b3", "time": "2026-11-21T13:00:00", "kind": "payment.attempt", "amount": 5, "currency": "JPY"},
    {"id": "b4", "time": "2026-11-21T13:00:00Z", "kind": "payment.attempted", "amount": 5},
    {"id": "b5", "time": "2026-11-21T13:00:00Z", "kind": "account.login"},
    {
        "id": "b6",
        "time": "2026-11-21T13:00:00Z",
        "kind": "payment.attempt",
        "amount": 5,
        "currency": "JPY",
        "pan": "4111 1111 1111 1112",
    },
    {
        "id": "b7",
        "time": "2026-11-21T13:00:00Z",
        "kind": "order.placed",
        "order": "o1",
        "amount": 5,
        "currency": "JPY",
        "items": [{"sku": "g", "category": "digital_gift_card", "unit_price": -1}],
    },
    {
        "id": "b8",
        "time": "2026-11-21T13:00:00Z",
        "kind": "payment.attempt",
        "amount": 5,
        "currency": "JPY",
        "colour": "red",
    },
]


def payment(n: int, **fields):
    return events.payment_attempt(
        id=f"pay-{n}", time="2026-11-21T13:00:00+09:00", card=f"tok_{n % 7}", amount=1000 + n, currency="JPY", **fields
    )


def test_decide_and_resend_same_id(live):
    with Client(live.url, live.keys["ingest"], deadline=5) as fw:
        first = fw.decide(payment(1, account="u1", merchant="m1"))
        assert first.fallback is None and first.outcome == "allow" and not first.resent
        again = fw.decide(payment(1, account="u1", merchant="m1"))
        assert again.resent and again.raw == first.raw
        with pytest.raises(ClientError) as refused:  # the same id with another body
            fw.decide(payment(1, account="u2"))
        assert refused.value.status_code == 409
    with Client(live.url, live.keys["read"]) as reader:
        assert reader.decision("pay-1").outcome == first.outcome
        assert reader.decision("no-such-event") is None
        assert reader.event("pay-1")["event"]["account"] == "u1"


def test_card_number_tokenized_by_the_service(live):
    with Client(live.url, live.keys["ingest"], deadline=5) as fw:
        d = fw.decide(events.payment_attempt(id="pan-1", amount=500, currency="JPY", pan="4111 1111 1111 1111"))
    assert d.fallback is None
    with Client(live.url, live.keys["read"]) as reader:
        logged = reader.event("pan-1")["event"]
    assert logged["card"].startswith("tok_") and logged["card_last4"] == "1111" and "pan" not in logged


@pytest.mark.parametrize("raw", BAD_EVENTS, ids=[e["id"] for e in BAD_EVENTS])
def test_errors_before_sending_are_the_services(live, raw):
    with pytest.raises(EventInvalid) as raised:
        validate(raw)
    served = httpx.post(f"{live.url}/v1/events", json=raw, headers={"Authorization": f"Bearer {live.keys['ingest']}"})
    assert served.status_code == 422
    assert raised.value.errors == served.json()["errors"]


def test_bad_key_is_an_error_not_a_fallback(live):
    with Client(live.url, "fw_not_a_key", deadline=5) as fw, pytest.raises(ClientError) as refused:
        fw.decide(payment(2))
    assert refused.value.status_code == 401


class Flaky:
    """A proxy in front of the service that answers 503 to the first ``fail`` requests (or
    drops the connection) and counts the bodies it was sent."""

    def __init__(self, upstream: str, fail: int = 0, drop: int = 0):
        self.upstream, self.fail, self.drop = upstream, fail, drop
        self.bodies: list[bytes] = []
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                flaky.bodies.append(body)
                if flaky.drop > 0:
                    flaky.drop -= 1
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if flaky.fail > 0:
                    flaky.fail -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                r = httpx.post(
                    flaky.upstream + self.path,
                    content=body,
                    headers={"Authorization": self.headers["Authorization"], "Content-Type": "application/json"},
                )
                self.send_response(r.status_code)
                for name in ("content-type", "fraudwatch-resent"):
                    if name in r.headers:
                        self.send_header(name, r.headers[name])
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_retries_on_5xx_and_dropped_connections_resend_the_same_event(live):
    proxy = Flaky(live.url, fail=2, drop=1)
    try:
        with Client(proxy.url, live.keys["ingest"], deadline=10, backoff=0.01) as fw:
            d = fw.decide(payment(3))
        assert d.fallback is None and d.event_id == "pay-3"
        assert len(proxy.bodies) == 4 and len(set(proxy.bodies)) == 1  # one event, sent four times
    finally:
        proxy.close()


def test_fallback_when_the_service_is_down_or_too_slow(live):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    with Client(down, "k", deadline=0.5, backoff=0.01) as fw:
        started = time.monotonic()
        d = fw.decide(payment(4))
        assert d.fallback == "unavailable" and d.outcome == "allow" and d.review
        assert time.monotonic() - started < 0.5

    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with Client(f"http://127.0.0.1:{silent.getsockname()[1]}", "k", deadline=0.2, fallback_outcome="review") as fw:
            started = time.monotonic()
            d = fw.decide(payment(5))
            took = time.monotonic() - started
        assert d.fallback == "deadline" and d.outcome == "review" and 0.2 <= took < 1.0
    finally:
        silent.close()


def test_send_batch_in_chunks_with_bad_events_kept_out(live):
    proxy = Flaky(live.url, fail=1)
    batch = [payment(1000 + n, account=f"u{n % 13}") for n in range(1100)]
    batch.insert(7, dict(BAD_EVENTS[0]))
    try:
        with Client(proxy.url, live.keys["ingest"], backoff=0.01) as fw:
            results = fw.send_batch(batch, chunk_size=500)
            assert [r.index for r in results] == list(range(1101))
            assert results[7].status == 422 and results[7].errors == [
                {"loc": "amount", "msg": "Input should be greater than or equal to 0"}
            ]
            ok = [r for r in results if r.ok]
            assert len(ok) == 1100 and all(r.decision.event_id == r.event_id and not r.decision.resent for r in ok)
            assert len(proxy.bodies) == 4  # three chunks, the first sent twice
            again = fw.send_batch(batch[:20], chunk_size=500)
            assert all(r.decision.resent for r in again if r.ok)
    finally:
        proxy.close()


def test_send_batch_raises_when_the_service_stays_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{s.getsockname()[1]}"
    with Client(down, "k", retries=2, backoff=0.01) as fw, pytest.raises(Unavailable):
        fw.send_batch([payment(6)])


def test_async_client(live):
    async def run():
        async with AsyncClient(live.url, live.keys["ingest"], deadline=5) as fw:
            decisions = await asyncio.gather(*(fw.decide(payment(5000 + n)) for n in range(20)))
            batch = await fw.send_batch([payment(5100 + n) for n in range(30)], chunk_size=8)
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        try:
            async with AsyncClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "k", deadline=0.2) as slow:
                started = time.monotonic()
                fallback = await slow.decide(payment(5200))
                took = time.monotonic() - started
        finally:
            silent.close()
        return decisions, batch, fallback, took

    decisions, batch, fallback, took = asyncio.run(run())
    assert [d.event_id for d in decisions] == [f"pay-{5000 + n}" for n in range(20)]
    assert all(d.fallback is None for d in decisions) and all(r.ok for r in batch) and len(batch) == 30
    assert fallback.fallback == "deadline" and 0.2 <= took < 0.5


def test_the_checkout_example(live, capsys):
    path = Path(__file__).resolve().parents[2] / "examples" / "checkout.py"
    spec = importlib.util.spec_from_file_location("checkout_example", path)
    checkout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checkout)
    with Client(live.url, live.keys["ingest"]) as fw:
        assert checkout.charge(fw, "order-1", "u-ex", "tok_ex", 1000, "JPY") == "charge"
    with Client(live.url, live.keys["admin"]) as admin:
        admin.list_add("blocked_cards", ["tok_ex_blocked"])
    with Client(live.url, live.keys["ingest"]) as fw:
        assert checkout.charge(fw, "order-2", "u-ex", "tok_ex_blocked", 1000, "JPY") == "decline"
    with Client("http://127.0.0.1:9", "k", deadline=0.05) as down:  # nothing listens on port 9
        assert checkout.charge(down, "order-3", "u-ex", "tok_ex", 1000, "JPY") == "charge"
    assert "queued for review" in capsys.readouterr().out
