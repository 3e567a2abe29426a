"""Durable decisions reach the actions domain (alerts, webhooks) through the log follower."""

from __future__ import annotations

import time


def test_a_review_decision_enqueues_a_risk_alert_webhook(make_server):
    server = make_server(
        env={
            "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__URL": "http://127.0.0.1:9/hooks",
            "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__SECRET": "webhook-secret-0123456789",
        }
    )
    key = server.create_key("ops", "admin", "ingest")
    server.start()
    with server.client(key) as c:
        rules = {"text": "rule everything:\n    review if event.amount >= 0\n", "version": "all", "activate": True}
        assert c.post("/v1/rules/versions", json=rules).status_code == 201
        event = {
            "id": "follow-1",
            "time": "2026-11-21T13:00:00+09:00",
            "kind": "payment.attempt",
            "card": "tok_follow",
            "amount": 1000,
            "currency": "JPY",
        }
        assert c.post("/v1/events", json=event).json()["outcome"] == "review"
        deadline = time.monotonic() + 60  # the follower is a process of its own: slow to start on a loaded machine
        messages = []
        while time.monotonic() < deadline and not messages:
            messages = c.get("/v1/outbox").json()["messages"]
            time.sleep(0.1)
    server.stop()
    assert messages and all(m["channel"] == "webhook" for m in messages)
    assert any("follow-1" in str(m) for m in messages)
