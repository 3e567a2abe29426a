"""Real local servers for the actions tests: a webhook receiver, an SMTP server, and a
uvicorn server running the actions router."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fraudwatch.actions.signing import SignatureInvalid, verify_webhook

WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWI="
TOKEN_KEY = "answer-links-key-0123456789abcdef"
ADMIN_KEY = "fw_test_admin_key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class Receiver:
    """A merchant/issuer webhook endpoint: checks signatures, applies each message once
    (by idempotency key), and can fail its first attempts or lose its acknowledgements."""

    def __init__(self, secret: str = WEBHOOK_SECRET, fail_first: int = 0, lose_acks: int = 0):
        self.secret = secret.encode()
        self.fail_first = fail_first  # answer 500 before applying, this many times
        self.lose_acks = lose_acks  # apply, then answer 500 (the sender must retry)
        self.requests: list[dict] = []  # every request received
        self.applied: dict[str, dict] = {}  # idempotency key -> body, applied once
        self.effects: list[str] = []  # one entry per applied effect
        self.rejected = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.handle(body, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def handle(self, body: bytes, headers: dict) -> int:
        with self.lock:
            try:
                key = verify_webhook(self.secret, body, headers)  # the legacy header, for one release
                # and the Standard Webhooks headers, checked by the specification's own verifier
                Webhook(self.secret.decode()).verify(body, headers, json_parse=False)
            except (SignatureInvalid, WebhookVerificationError):
                self.rejected += 1
                return 401
            msg = json.loads(body)
            self.requests.append(msg)
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            if key not in self.applied:
                self.applied[key] = msg
                self.effects.append(msg["type"])
            if self.lose_acks > 0:
                self.lose_acks -= 1
                return 500
            return 200

    def of_type(self, type_: str) -> list[dict]:
        with self.lock:
            return [m for m in self.applied.values() if m["type"] == type_]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


class Mailbox:
    """aiosmtpd on a free port, keeping every message received."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                mailbox.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


@pytest.fixture
def mailbox():
    with Mailbox() as m:
        yield m


class StaticAuth:
    """Stands in for the service's API-key check: one admin key."""

    def principal(self, key, scope):
        from fraudwatch.api.auth import Principal
        from fraudwatch.errors import Unauthorized

        if key != ADMIN_KEY:
            raise Unauthorized("unknown API key")
        return Principal("test", "admin-test", frozenset({"admin", "analyst", "read"}))


class Server:
    """uvicorn serving an app in a thread on a local port."""

    def __init__(self, app, port: int):
        import uvicorn

        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=15)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
