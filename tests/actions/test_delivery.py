"""Outbox delivery against a real HTTP receiver: retries, idempotency, restarts, dead letters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from fraudwatch.actions import outbox
from fraudwatch.actions.db import Database
from fraudwatch.actions.dispatcher import Dispatcher

from .conftest import Receiver, wait_until
from .helpers import T0, decision, event, responder, settings

ATO = ["lock_account", "revoke_sessions", "force_password_reset"]


def _ato_block(r, event_id="e1"):
    e = event(event_id, account="acct_1")
    return r.on_decision(e, decision(e, "block", "ato_gift_cards_after_language_switch"), now=T0)


def test_receiver_failing_first_attempts_gets_each_action_exactly_once(tmp_path):
    with Receiver(fail_first=4, lose_acks=2) as rec:
        r = responder(tmp_path, receiver=rec)
        ids = _ato_block(r)
        types = {outbox.get(r.db.connection(), i).type for i in ids}
        assert {f"action.{a}" for a in ATO} <= types and "alert.risk" in types
        r.start()
        try:
            wait_until(lambda: outbox.counts(r.db.connection())["delivered"] == len(ids))
        finally:
            r.close()
        # every message applied once although some were received several times
        assert sorted(rec.effects) == sorted(types)
        assert len(rec.requests) == len(ids) + 4 + 2
        msgs = [outbox.get(r.db.connection(), i) for i in ids]
        assert sum(m.attempts for m in msgs) == len(ids) + 6
        assert all(m.status == "delivered" and m.last_error is None for m in msgs)


def test_same_decision_twice_enqueues_nothing_new(tmp_path, receiver):
    r = responder(tmp_path, receiver=receiver)
    first = _ato_block(r)
    assert first and _ato_block(r) == []
    assert outbox.counts(r.db.connection())["pending"] == len(first)


def test_signature_is_checked_by_the_receiver(tmp_path):
    with Receiver(secret="whsec_other_secret_value") as rec:
        s = settings(tmp_path, receiver=rec, max_attempts=2)
        # the sender signs with a different secret than the receiver expects
        s = s.model_copy(
            update={
                "webhooks": {
                    "default": s.webhooks["default"].model_copy(
                        update={"secret": __import__("pydantic").SecretStr("whsec_wrong_secret_value")}
                    )
                }
            }
        )
        from fraudwatch.actions import Responder

        r = Responder(s)
        ids = _ato_block(r)
        d = Dispatcher(r.db, s)
        wait_until(lambda: d.run_once() == 0 and outbox.counts(r.db.connection())["dead"] == len(ids))
        assert rec.rejected == 2 * len(ids) and rec.effects == []
        assert "HTTP 401" in outbox.get(r.db.connection(), ids[0]).last_error


def test_dead_letters_can_be_listed_and_retried(tmp_path):
    with Receiver(fail_first=10**6) as rec:
        r = responder(tmp_path, receiver=rec, max_attempts=3)
        ids = _ato_block(r)
        d = Dispatcher(r.db, r.settings)
        wait_until(lambda: d.run_once() == 0 and outbox.counts(r.db.connection())["dead"] == len(ids))
        env = {**os.environ, "FRAUDWATCH_ACTIONS__DATABASE": str(r.settings.database)}
        listed = subprocess.run(
            [sys.executable, "-m", "fraudwatch.cli", "outbox", "dead-letters"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert all(i in listed for i in ids) and "HTTP 500" in listed
        rec.fail_first = 0
        out = subprocess.run(
            [sys.executable, "-m", "fraudwatch.cli", "outbox", "retry", "--all-dead"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"{len(ids)} message(s) queued again" in out
        wait_until(lambda: d.run_once() == 0 and outbox.counts(r.db.connection())["delivered"] == len(ids))
        assert len(rec.effects) == len(ids)


def test_retry_of_a_message_that_is_not_dead_is_refused(tmp_path, receiver):
    import pytest

    from fraudwatch.errors import Conflict

    r = responder(tmp_path, receiver=receiver)
    ids = _ato_block(r)
    with pytest.raises(Conflict, match="only dead letters"), r.db.unit_of_work() as conn:
        outbox.retry(conn, ids[0], now=time.time())


def test_a_killed_dispatcher_process_loses_no_message(tmp_path):
    """Messages pending when a standalone dispatcher dies are sent by the next one."""
    with Receiver(fail_first=6) as rec:
        r = responder(tmp_path, receiver=rec)
        ids = []
        for n in range(5):
            ids += _ato_block(r, f"e{n}")
        env = {
            **os.environ,
            "FRAUDWATCH_ACTIONS__DATABASE": str(r.settings.database),
            "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__URL": rec.url,
            "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__SECRET": rec.secret.decode(),
            "FRAUDWATCH_ACTIONS__RETRY__LEASE": "1",
            "FRAUDWATCH_ACTIONS__RETRY__BASE_DELAY": "0.02",
            "FRAUDWATCH_ACTIONS__RETRY__POLL_INTERVAL": "0.02",
        }
        cmd = [sys.executable, "-m", "fraudwatch.cli", "outbox", "run"]
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: len(rec.requests) >= 3, timeout=30)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        delivered = outbox.counts(r.db.connection())["delivered"]
        assert delivered < len(ids)  # killed mid-way
        # a new dispatcher over the same file picks up the rest once the dead one's leases (1 s) end
        second = Dispatcher(Database(r.settings.database), r.settings)
        wait_until(
            lambda: second.run_once() == 0 and outbox.counts(r.db.connection())["delivered"] == len(ids), timeout=30
        )
        assert sorted(rec.applied) == sorted(ids)
        assert len(rec.effects) == len(ids)


def test_backoff_grows_exponentially_with_jitter():
    import random

    rng = random.Random(1)
    for attempts in range(1, 8):
        full = min(600.0, 2 ** (attempts - 1))
        delays = [outbox.backoff(attempts, base=1.0, cap=600.0, rng=rng) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1  # jittered
