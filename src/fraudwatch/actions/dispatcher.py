"""The dispatcher: sends due outbox messages (signed webhooks, SMTP e-mail), retries
failures with exponential backoff and jitter, and turns messages out of attempts into
dead letters. Runs as a background thread in the service or standalone
(``fraudwatch outbox run``); several may share one database (claims are leased).
"""

from __future__ import annotations

import json
import logging
import random
import smtplib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage

from fraudwatch.actions import outbox
from fraudwatch.actions.db import Database
from fraudwatch.actions.signing import sign_webhook
from fraudwatch.cases import mark_contained
from fraudwatch.settings import ActionsSettings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """One failed attempt; the message will be tried again."""


def webhook_body(msg: outbox.Message) -> bytes:
    """The JSON body a receiver gets; identical on every attempt."""
    created = datetime.fromtimestamp(msg.created, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"id": msg.id, "type": msg.type, "created": created, "data": msg.payload}, separators=(",", ":")
    ).encode()


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: ActionsSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = None
        self._http_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # ---------------------------------------------------------------- running
    def run_once(self) -> int:
        """Try every due message once (``retry.concurrency`` at a time, so one slow
        endpoint does not hold up the rest); returns how many were attempted."""
        r = self.settings.retry
        with self.db.unit_of_work() as conn:
            batch = outbox.claim(conn, now=self.clock(), lease=r.lease, limit=r.batch)
        if len(batch) > 1 and r.concurrency > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(r.concurrency, thread_name_prefix="fraudwatch-send")
            list(self._pool.map(self._attempt, batch))
        else:
            for msg in batch:
                self._attempt(msg)
        return len(batch)

    def _attempt(self, msg: outbox.Message) -> None:
        r = self.settings.retry
        try:
            self._send(msg)
        except Exception as exc:  # any failure is one attempt; the message stays safe
            error = f"{type(exc).__name__}: {exc}"
            with self.db.unit_of_work() as conn:
                delay = outbox.backoff(msg.attempts + 1, base=r.base_delay, cap=r.max_delay, rng=self.rng)
                status = outbox.mark_failed(
                    conn, msg.id, now=self.clock(), error=error, max_attempts=r.max_attempts, delay=delay
                )
            log.warning("outbox %s %s attempt %d failed (%s): %s", msg.id, msg.type, msg.attempts + 1, status, error)
        else:
            with self.db.unit_of_work() as conn:
                outbox.mark_delivered(conn, msg.id, now=self.clock())
                if msg.incident:
                    self._maybe_contained(conn, msg.incident)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake during it is not lost
            try:
                attempted = self.run_once()
            except Exception:  # a locked or broken database must not kill the worker
                log.exception("dispatcher pass failed")
                attempted = 0
            if attempted == 0:
                self._wake.wait(self.settings.retry.poll_interval)

    def wake(self) -> None:
        """Look at the outbox now (called after a unit of work enqueued messages)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, name="fraudwatch-dispatcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._http is not None:
            self._http.close()
            self._http = None

    # ---------------------------------------------------------------- sending
    def _send(self, msg: outbox.Message) -> None:
        if msg.channel == "webhook":
            self._send_webhook(msg)
        elif msg.channel == "email":
            self._send_email(msg)
        else:
            raise DeliveryError(f"unknown channel {msg.channel!r}")

    def _send_webhook(self, msg: outbox.Message) -> None:
        endpoint = self.settings.webhooks.get(msg.destination)
        if endpoint is None:
            raise DeliveryError(f"no webhook endpoint named {msg.destination!r} in settings")
        with self._http_lock:
            if self._http is None:
                import httpx  # the server extra; only the dispatcher needs it

                self._http = httpx.Client(timeout=self.settings.retry.timeout)
        body = webhook_body(msg)
        secrets = [s.get_secret_value() for s in (endpoint.secret, *endpoint.previous_secrets)]
        headers = sign_webhook(secrets, body, msg_id=msg.id, timestamp=int(self.clock()))
        headers["Fraudwatch-Attempt"] = str(msg.attempts + 1)
        headers["User-Agent"] = "fraudwatch-webhooks/1"
        response = self._http.post(endpoint.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"HTTP {response.status_code} from {endpoint.url}: {response.text[:200]}")

    def _send_email(self, msg: outbox.Message) -> None:
        smtp = self.settings.smtp
        if smtp is None:
            raise DeliveryError("no SMTP settings")
        email = EmailMessage()
        email["Subject"] = msg.payload["subject"]
        email["From"] = smtp.sender
        email["To"] = msg.destination
        email["Message-ID"] = f"<{msg.id}@fraudwatch>"  # the same on a resend: clients de-duplicate
        email["X-Fraudwatch-Id"] = msg.id
        if msg.payload.get("event_id"):
            email["X-Fraudwatch-Event"] = msg.payload["event_id"]
        email.set_content(msg.payload["text"])
        email.add_alternative(msg.payload["html"], subtype="html")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
            client.send_message(email)

    def _maybe_contained(self, conn, case_id: str) -> None:
        """A case is contained once every containment message reached its receiver."""
        if outbox.pending_for_incident(conn, case_id) == 0:
            mark_contained(conn, case_id, now=self.clock())
