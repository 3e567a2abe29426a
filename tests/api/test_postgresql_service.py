"""The decision service on PostgreSQL (``fraudwatch serve --storage postgresql://...``): the
log, definitions, keys and actions data in one database; state carried across restarts; a
restart of PostgreSQL gives 503, never an acknowledgement of what was not stored, and the
service goes on once the database is back."""

from __future__ import annotations

import time

import psycopg

from conftest import Server


def _payment(n: int) -> dict:
    return {
        "id": f"p{n}",
        "time": f"2026-11-21T13:{n // 60:02d}:{n % 60:02d}+09:00",
        "kind": "payment.attempt",
        "card": "tok_pg",
        "account": "u1",
        "amount": 1000,
        "currency": "JPY",
    }


def _server(tmp_path, url: str) -> Server:
    server = Server(tmp_path, {"FRAUDWATCH_STORAGE__TYPE": "postgresql", "FRAUDWATCH_STORAGE__URL": url})
    server.keys = {"ingest": server.create_key("checkout", "ingest"), "admin": server.create_key("ops", "admin")}
    return server


def test_the_service_on_postgresql_keeps_its_state_across_restarts(tmp_path, postgresql_url):
    server = _server(tmp_path, postgresql_url).start()
    with server.client(server.keys["ingest"]) as c:
        for n in range(20):
            assert c.post("/v1/events", json=_payment(n)).json()["features"]["card.payments_1h"] == n + 1
    server.kill()  # SIGKILL: no final snapshot, the log is replayed
    server.start()
    with server.client(server.keys["ingest"]) as c, server.client(server.keys["admin"]) as admin:
        assert c.post("/v1/events", json=_payment(20)).json()["features"]["card.payments_1h"] == 21
        assert c.post("/v1/events", json=_payment(3)).json()["features"]["card.payments_1h"] == 4  # a resend
        assert admin.get("/v1/events/p20").json()["seq"] == 21
        assert admin.post("/v1/lists/vip/add", json={"values": ["u1"]}).status_code == 200
    server.stop()
    with psycopg.connect(postgresql_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 21
        assert conn.execute("SELECT count(*) FROM snapshots").fetchone()[0] >= 1  # the clean stop wrote one
        assert conn.execute("SELECT value FROM list_values").fetchall() == [("u1",)]
        assert conn.execute("SELECT count(*) FROM cursors WHERE name = 'actions'").fetchone()[0] == 1


def test_a_postgresql_restart_gives_503_then_the_service_goes_on(tmp_path, postgresql_cluster):
    server = _server(tmp_path, postgresql_cluster.url).start()
    acked: dict[str, int] = {}
    with server.client(server.keys["ingest"]) as c:
        for n in range(10):
            r = c.post("/v1/events", json=_payment(n))
            acked[f"p{n}"] = r.json()["features"]["card.payments_1h"]
        postgresql_cluster.stop(keep=True)
        refused = [c.post("/v1/events", json=_payment(n)).status_code for n in range(10, 15)]
        assert set(refused) == {503}  # nothing acknowledged that was not stored
        assert c.get(f"{server.url}/readyz").status_code == 503
        postgresql_cluster.start()
        deadline = time.monotonic() + 30
        while c.get(f"{server.url}/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the service did not come back"
            time.sleep(0.2)
        # the refused events, sent again, are decided once: counted after the ten acknowledged
        values = [c.post("/v1/events", json=_payment(n)).json()["features"]["card.payments_1h"] for n in range(10, 15)]
        assert values == [11, 12, 13, 14, 15]
        assert c.post("/v1/events", json=_payment(2)).json()["features"]["card.payments_1h"] == acked["p2"]
    # the actions follower (alerts, webhooks) goes on after the restart: it reaches the log's end
    deadline = time.monotonic() + 60
    with psycopg.connect(postgresql_cluster.url) as conn:
        while conn.execute("SELECT seq FROM cursors WHERE name = 'actions'").fetchone() != (15,):
            assert time.monotonic() < deadline, "the actions follower did not come back"
            time.sleep(0.5)
    server.stop()
