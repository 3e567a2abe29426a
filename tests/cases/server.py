"""``fraudwatch serve`` in a process of its own on a free port, with API keys made by
``fraudwatch keys create``, for the cases tests (as an integrator and analysts use it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import yaml

TOKEN_KEY = "answer-links-key-0123456789abcdef"
# the default response policy names the default rules; the tests bring rules of their own
POLICY = "version: 1\nresponses: []\nanswers:\n  on_yes:\n    never_suppress: []\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


class Service:
    def __init__(self, tmp_path, *, webhook=None, smtp_port=None, cases=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = tmp_path / "service"
        actions = {
            "database": str(data / "fraudwatch-actions.db"),
            "public_url": self.url,
            "link_key": TOKEN_KEY,
            "retry": {"base_delay": 0.05, "max_delay": 0.5, "poll_interval": 0.05, "lease": 2},
        }
        if webhook is not None:
            actions["webhooks"] = {"default": {"url": webhook.url, "secret": webhook.secret.decode()}}
        if smtp_port is not None:
            actions["smtp"] = {"host": "127.0.0.1", "port": smtp_port, "sender": "alerts@fraudwatch.test"}
        (tmp_path / "policy.yaml").write_text(POLICY)
        actions["policy"] = str(tmp_path / "policy.yaml")
        config = {
            "env": "development",  # placeholder security keys: test data only
            "data_dir": str(data),
            "server": {"port": self.port},
            "ingest": {"history": True},  # the stories are dated: replayed history, not live traffic
            "actions": actions,
        }
        if cases:
            config["cases"] = cases
        self.config = tmp_path / "fraudwatch.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
        self.auth = self.key("integrator", "ingest", "admin")
        self.process = None

    def cli(self, *args, check=True, config=True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "fraudwatch.cli", *args, *(("--config", str(self.config)) if config else ())],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def key(self, name: str, *scopes: str) -> dict[str, str]:
        out = self.cli("keys", "create", "--name", name, *(a for s in scopes for a in ("--scope", s)))
        return {"Authorization": f"Bearer {out.stdout.strip()}"}

    def start(self) -> Service:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fraudwatch.cli", "serve", "--config", str(self.config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def ready():
            try:
                return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, interval=0.2)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def send(self, **fields) -> dict:
        raw = {
            "time": "2026-11-21T13:00:00+09:00",
            "kind": "payment.attempt",
            "amount": 17600,
            "currency": "JPY",
            "merchant": "m_1",
            **fields,
        }
        r = httpx.post(f"{self.url}/v1/events", headers=self.auth, json=raw)
        assert r.status_code == 200, r.text
        return r.json()

    def rules(self, text: str, version: str) -> None:
        r = httpx.post(
            f"{self.url}/v1/rules/versions",
            headers=self.auth,
            json={"text": text, "version": version, "activate": True},
        )
        assert r.status_code in (200, 201), r.text

    def get(self, path: str, headers=None, **params) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=headers or self.auth, params=params, timeout=10)

    def post(self, path: str, headers=None, **body) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", headers=headers or self.auth, json=body or None, timeout=10)


class Receiver:
    """A webhook endpoint that keeps every message body (the actions tests check the
    signatures; here only what arrives matters)."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.messages: list[dict] = []
        self.secret = b"whsec_cases_0123456789abcdef"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.messages.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def of_type(self, type_: str) -> list[dict]:
        seen, out = set(), []
        for m in list(self.messages):
            if m["type"] == type_ and m["id"] not in seen:
                seen.add(m["id"])
                out.append(m)
        return out

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


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

    def text_of(self, subject_start: str) -> list[str]:
        return [
            m.get_body(("plain",)).get_content() for m in list(self.messages) if m["Subject"].startswith(subject_start)
        ]

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
