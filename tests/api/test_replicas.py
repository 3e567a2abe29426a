"""Two decision services on one PostgreSQL database: one decides and logs (it holds the
database's leader lock), the other stands by (503) and takes over from the log when the
first is killed, with every acknowledged event counted once."""

from __future__ import annotations

import time

import httpx

from conftest import Server


def _payment(n: int) -> dict:
    return {
        "id": f"p{n}",
        "time": f"2026-11-21T13:{n // 60:02d}:{n % 60:02d}+09:00",
        "kind": "payment.attempt",
        "card": "tok_replica",
        "account": "u1",
        "amount": 1000,
        "currency": "JPY",
    }


def _ready(server: Server) -> dict:
    return httpx.get(server.url + "/readyz", timeout=5).json()


def test_a_standby_takes_over_when_the_leader_is_killed(tmp_path, postgresql_url):
    env = {"FRAUDWATCH_STORAGE__TYPE": "postgresql", "FRAUDWATCH_STORAGE__URL": postgresql_url}
    first = Server(tmp_path / "a", env)
    first.data_dir.mkdir()
    key = first.create_key("checkout", "ingest")
    first.start()
    second = Server(tmp_path / "b", env)
    second.data_dir.mkdir()
    second.start(until="/healthz")
    try:
        assert _ready(first)["role"] == "leader"
        standby = httpx.get(second.url + "/readyz", timeout=5)
        assert standby.status_code == 503 and standby.json()["role"] == "standby"
        with first.client(key) as a, second.client(key) as b:
            acked = [a.post("/v1/events", json=_payment(n)).json()["features"]["card.payments_1h"] for n in range(20)]
            assert acked == list(range(1, 21))
            refused = b.post("/v1/events", json=_payment(20))
            assert refused.status_code == 503 and "stands by" in refused.json()["errors"][0]["msg"]
            first.kill()  # SIGKILL: its session ends, and with it the lock
            killed = time.monotonic()
            while b.get("/readyz").status_code != 200:
                assert time.monotonic() - killed < 30, "the standby did not take over"
                time.sleep(0.1)
            assert _ready(second)["role"] == "leader" and _ready(second)["log_position"] == 20
            # the new leader goes on from the log: the next payment is the 21st, a resend is answered once
            assert b.post("/v1/events", json=_payment(20)).json()["features"]["card.payments_1h"] == 21
            resent = b.post("/v1/events", json=_payment(5))
            assert resent.headers.get("fraudwatch-resent") == "true"
            assert resent.json()["features"]["card.payments_1h"] == 6
        # the killed one, started again, stands by
        first.start(until="/healthz")
        assert _ready(first)["role"] == "standby"
    finally:
        first.stop()
        second.stop()
