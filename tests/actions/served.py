"""``fraudwatch serve`` in a process of its own, configured with a webhook receiver and an
SMTP server, as an integrator runs it; events go in through ``fraudwatch.client``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import yaml

from fraudwatch.client import Client, events

from .conftest import TOKEN_KEY, free_port, wait_until


class Service:
    def __init__(self, tmp_path, receiver, mailbox, *, policy: str | None = None, settings: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = tmp_path / "service"
        config = {
            "env": "development",  # placeholder security keys: test data only
            "data_dir": str(data),
            "server": {"port": self.port},
            "actions": {
                "database": str(data / "fraudwatch-actions.db"),
                "public_url": self.url,
                "link_key": TOKEN_KEY,
                "webhooks": {"default": {"url": receiver.url, "secret": receiver.secret.decode()}},
                "smtp": {"host": "127.0.0.1", "port": mailbox.port, "sender": "alerts@fraudwatch.test"},
                "retry": {"base_delay": 0.05, "max_delay": 0.5, "poll_interval": 0.05, "lease": 2},
            },
        }
        if policy is not None:
            (tmp_path / "policy.yaml").write_text(policy)
            config["actions"]["policy"] = str(tmp_path / "policy.yaml")
        for section, values in (settings or {}).items():
            config[section] = {**config.get(section, {}), **values}
        self.config = tmp_path / "fraudwatch.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
        out = subprocess.run(
            self._cli("keys", "create", "--name", "test", "--scope", "ingest", "--scope", "admin"),
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.auth = {"Authorization": f"Bearer {out.stdout.strip()}"}
        # a generous deadline: these tests want the service's decisions, never a fallback; and
        # a generous timeout: an answer that times out on a loaded machine is not sent twice
        self.client = Client(self.url, out.stdout.strip(), deadline=30, timeout=60)
        self.process = None

    def _cli(self, *args):
        return [sys.executable, "-m", "fraudwatch.cli", *args, "--config", str(self.config)]

    def start(self):
        self.process = subprocess.Popen(
            self._cli("serve"), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def ready():
            try:
                return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        # a loaded machine (CI shares 2 cores with other work) can take over a minute to start it
        wait_until(ready, timeout=180, interval=0.2)
        return self

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self):
        self.client.close()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def send(self, **fields):
        """A payment attempt through the client; the decision as the service gave it."""
        fields = {"time": "2026-11-21T13:00:00+09:00", "amount": 17600, "currency": "JPY", "merchant": "m_1", **fields}
        decision = self.client.decide(events.payment_attempt(**fields))
        assert decision.fallback is None, decision
        return decision.raw

    def post_event(self, raw: dict) -> dict:
        """Send one event as it is, through the client; its decision as the service gave it."""
        decision = self.client.decide(raw)
        assert decision.fallback is None, decision
        return decision.raw
