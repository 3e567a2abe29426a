"""The decision service over HTTP, against ``fraudwatch serve`` running as a subprocess."""

from __future__ import annotations

import pytest

T0 = "2026-11-21T13:00:00+09:00"


def payment(event_id: str, **fields) -> dict:
    return {
        "id": event_id,
        "time": T0,
        "kind": "payment.attempt",
        "card": "tok_a",
        "account": "acct_a",
        "amount": 1000,
        "currency": "JPY",
        **fields,
    }


@pytest.fixture(scope="module")
def admin(live):
    with live.client(live.keys["admin"]) as c:
        yield c


@pytest.fixture(scope="module")
def ingest(live):
    with live.client(live.keys["ingest"]) as c:
        yield c


@pytest.fixture(scope="module")
def reader(live):
    with live.client(live.keys["read"]) as c:
        yield c


def test_keys_are_required_and_scoped(live, ingest, reader, admin):
    with live.client() as anonymous:
        r = anonymous.post("/v1/events", json=payment("auth-1"))
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert anonymous.get("/v1/decisions/x").status_code == 401
    with live.client("fw_not-a-key") as wrong:
        assert wrong.post("/v1/events", json=payment("auth-2")).status_code == 401
        assert wrong.get("/v1/lists").status_code == 401
    assert reader.post("/v1/events", json=payment("auth-3")).status_code == 403
    assert ingest.get("/v1/decisions/auth-3").status_code == 403
    assert reader.put("/v1/lists/x", json={"values": ["a"]}).status_code == 403
    assert admin.get("/v1/decisions/nope").status_code == 404  # admin implies read


def test_revoked_key_stops_working_and_key_changes_are_audited(live, admin):
    created = admin.post("/v1/keys", json={"name": "temp", "scopes": ["ingest"]})
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["key_id"]
    with live.client(key) as temp:
        assert temp.post("/v1/events", json=payment("rev-1", card="tok_rev")).status_code == 200
        assert admin.delete(f"/v1/keys/{key_id}").status_code == 200
        assert temp.post("/v1/events", json=payment("rev-2", card="tok_rev")).status_code == 401
    listed = {k["key_id"]: k for k in admin.get("/v1/keys").json()["keys"]}
    assert listed[key_id]["revoked_at"] is not None and "key" not in listed[key_id]
    actions = [(a["actor"], a["action"], a["target"]) for a in admin.get("/v1/audit?limit=1000").json()["items"]]
    ops = next(a for a, act, target in actions if act == "keys.create" and target == f"keys/{key_id}")
    assert ops.startswith("key:") and ops.endswith(" (ops)")  # the key's id, and its name
    assert (ops, "keys.revoke", f"keys/{key_id}") in actions
    assert any(a.startswith("cli:") and act == "keys.create" for a, act, _ in actions)  # the fixture's keys


def test_decision_then_resend_returns_the_original(ingest, reader):
    first = ingest.post("/v1/events", json=payment("idem-1", card="tok_idem"))
    assert first.status_code == 200
    decision = first.json()
    assert decision["event_id"] == "idem-1" and decision["outcome"] in {"allow", "review", "challenge", "block"}
    assert decision["features"]["card.payments_1h"] == 1
    again = ingest.post("/v1/events", json=payment("idem-1", card="tok_idem"))
    assert again.status_code == 200 and again.headers["fraudwatch-resent"] == "true"
    assert again.content == first.content
    # the resend was not counted: the next payment on the card is the second one
    second = ingest.post("/v1/events", json=payment("idem-2", card="tok_idem")).json()
    assert second["features"]["card.payments_1h"] == 2
    conflict = ingest.post("/v1/events", json=payment("idem-1", card="tok_idem", amount=999))
    assert conflict.status_code == 409
    assert reader.get("/v1/decisions/idem-1").content == first.content


def test_bad_input_names_the_field(ingest):
    r = ingest.post("/v1/events", json=payment("bad-1", amount=-5))
    assert r.status_code == 422
    assert r.json() == {"errors": [{"loc": "amount", "msg": "Input should be greater than or equal to 0"}]}
    r = ingest.post("/v1/events", json={**payment("bad-2"), "kind": "nope"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "kind"
    r = ingest.post("/v1/events", content=b'{"id": "x", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["loc"] == "body"
    r = ingest.post("/v1/events", json=[1, 2])
    assert r.status_code == 422
    r = ingest.post("/v1/events", json=payment("bad-3", items_category="x" * 70_000))
    assert r.status_code == 413
    r = ingest.post("/v1/events", json=payment("bad-4", time="2026-11-21T13:00:00"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == "time"


def test_batch_decides_each_event_on_its_own(ingest, reader):
    r = ingest.post(
        "/v1/events/batch",
        json={
            "events": [
                payment("batch-1", card="tok_batch"),
                payment("batch-2", card="tok_batch", amount="lots"),
                payment("batch-3", card="tok_batch"),
                payment("batch-1", card="tok_batch"),
            ]
        },
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200, 422, 200, 200]
    assert results[1]["errors"][0]["loc"] == "amount"
    assert results[2]["decision"]["features"]["card.payments_1h"] == 2
    assert results[3]["resent"] is True and results[3]["decision"] == results[0]["decision"]
    assert reader.get("/v1/decisions/batch-3").json() == results[2]["decision"]
    assert ingest.post("/v1/events/batch", json={"events": "no"}).status_code == 422


def test_card_numbers_are_tokenized_never_stored(live, ingest, reader):
    r = ingest.post("/v1/events", json=payment("pan-1", card="4111 1111 1111 1111"))
    assert r.status_code == 200
    r = ingest.post("/v1/events", json={**payment("pan-2"), "card": None, "pan": "5555555555554444"})
    assert r.status_code == 200
    event = reader.get("/v1/events/pan-1").json()["event"]
    assert event["card"].startswith("tok_") and event["card_last4"] == "1111" and event["card_bin"] == "411111"
    assert "pan" not in reader.get("/v1/events/pan-2").json()["event"]
    found = reader.get("/v1/events", params={"card": "4111-1111-1111-1111"}).json()["items"]
    assert [i["event"]["id"] for i in found] == ["pan-1"]
    raw = b"".join(p.read_bytes() for p in live.data_dir.glob("fraudwatch.db*"))
    for digits in (b"4111111111111111", b"4111 1111 1111 1111", b"5555555555554444"):
        assert digits not in raw


def test_search_by_entity_and_time_with_pages(ingest, reader):
    for i in range(5):
        ev = payment(f"search-{i}", card="tok_search", device="dev_search", time=f"2026-11-21T13:0{i}:00+09:00")
        assert ingest.post("/v1/events", json=ev).status_code == 200
    page = reader.get("/v1/events", params={"card": "tok_search", "limit": 2}).json()
    assert [i["event"]["id"] for i in page["items"]] == ["search-4", "search-3"]
    rest = reader.get("/v1/events", params={"card": "tok_search", "limit": 2, "cursor": page["next_cursor"]}).json()
    assert [i["event"]["id"] for i in rest["items"]] == ["search-2", "search-1"]
    window = reader.get(
        "/v1/decisions",
        params={"device": "dev_search", "since": "2026-11-21T04:01:00Z", "until": "2026-11-21T04:03:00Z"},
    ).json()
    assert [d["event_id"] for d in window["items"]] == ["search-2", "search-1"] and window["next_cursor"] is None
    assert reader.get("/v1/events", params={"card": "a", "ip": "b"}).status_code == 422
    assert reader.get("/v1/events").status_code == 422


RULES = """
rule big_amount:
    block if event.amount >= 1_000_000

rule blocked_ip:
    block if event.ip in @blocked_ips
"""


def test_rules_versions_activate_rollback_shadow_and_audit(admin, ingest, reader):
    bad = admin.post("/v1/rules/validate", json={"text": "rule x:\n    block if event.amount >= \n"})
    assert bad.status_code == 422
    err = bad.json()["errors"][0]
    assert err["line"] >= 2 and err["column"] >= 1 and err["loc"] == f"text:{err['line']}:{err['column']}"
    assert admin.post("/v1/rules/validate", json={"text": RULES}).json()["valid"] is True
    before = admin.get("/v1/rules/versions").json()["active"]
    created = admin.post("/v1/rules/versions", json={"text": RULES, "version": "api-test-1", "activate": True})
    assert created.status_code == 201 and created.json()["active"] is True
    assert admin.post("/v1/rules/versions", json={"text": RULES, "version": "api-test-1"}).status_code == 409
    d = ingest.post("/v1/events", json=payment("rules-1", card="tok_rules", amount=2_000_000)).json()
    assert d["outcome"] == "block" and [h["rule"] for h in d["rules"]] == ["big_amount"]
    assert d["versions"]["rules"].startswith("api-test-1@")

    shadow = admin.post("/v1/rules/shadow", json={"rules": {"big_amount": True}})
    assert shadow.status_code == 201
    d = ingest.post("/v1/events", json=payment("rules-2", card="tok_rules", amount=2_000_000)).json()
    assert d["outcome"] == "allow" and [h["rule"] for h in d["shadow_rules"]] == ["big_amount"]
    text = reader.get(f"/v1/rules/versions/{shadow.json()['version']}").json()["text"]
    assert "rule big_amount [shadow]:" in text
    assert admin.post("/v1/rules/shadow", json={"rules": {"nope": True}}).status_code == 422

    rolled = admin.post("/v1/rules/rollback").json()
    assert rolled["active"] == "api-test-1"
    d = ingest.post("/v1/events", json=payment("rules-3", card="tok_rules", amount=2_000_000)).json()
    assert d["outcome"] == "block"
    audit = admin.get("/v1/audit?limit=1000").json()["items"]
    acts = [(a["action"], a["before"], a["after"]) for a in audit if a["action"].startswith("rules.")]
    assert ("rules.activate", {"version": before}, {"version": "api-test-1"}) in acts
    assert ("rules.rollback", {"version": shadow.json()["version"]}, {"version": "api-test-1"}) in acts
    assert all(a["actor"].endswith(" (ops)") for a in audit if a["action"].startswith("rules."))
    assert admin.post("/v1/rules/versions/nope/activate").status_code == 404
    assert admin.post("/v1/rules/versions/api-test-1/activate").status_code == 200


def test_lists_change_decisions_at_once_and_are_audited(admin, ingest, reader):
    admin.post("/v1/rules/versions/api-test-1/activate")
    assert admin.put("/v1/lists/blocked_ips", json={"values": ["203.0.113.7"]}).json()["values"] == ["203.0.113.7"]
    d = ingest.post("/v1/events", json=payment("list-1", card="tok_list", ip="203.0.113.7")).json()
    assert d["outcome"] == "block" and d["rules"][0]["rule"] == "blocked_ip"
    admin.post("/v1/lists/blocked_ips/add", json={"values": ["198.51.100.1"]})
    assert reader.get("/v1/lists/blocked_ips").json()["values"] == ["198.51.100.1", "203.0.113.7"]
    admin.post("/v1/lists/blocked_ips/remove", json={"values": ["203.0.113.7"]})
    d = ingest.post("/v1/events", json=payment("list-2", card="tok_list", ip="203.0.113.7")).json()
    assert d["outcome"] == "allow"
    # (the lists the default rules read are created empty at the first start)
    assert {"blocked_cards", "blocked_devices", "blocked_ips"} <= set(reader.get("/v1/lists").json()["lists"])
    assert reader.get("/v1/lists/nope").status_code == 404
    audit = [a for a in admin.get("/v1/audit?limit=1000").json()["items"] if a["target"] == "lists/blocked_ips"]
    assert [(a["action"], a["before"], a["after"]) for a in audit] == [
        ("lists.replace", [], ["203.0.113.7"]),
        ("lists.add", ["203.0.113.7"], ["198.51.100.1", "203.0.113.7"]),
        ("lists.remove", ["198.51.100.1", "203.0.113.7"], ["198.51.100.1"]),
    ]


def test_features_validate_and_new_version(admin, reader):
    bad = admin.post("/v1/features/validate", json={"text": "version: x\nfeatures:\n  - {name: a, agg: nope}\n"})
    assert bad.status_code == 422 and bad.json()["errors"]
    text = """version: api-f1
features:
  - {name: card.payments_1h, entity: card, kinds: [payment.attempt], agg: count, window: 1h}
"""
    assert admin.post("/v1/features/versions", json={"text": text}).status_code == 201
    versions = reader.get("/v1/features/versions").json()
    assert "api-f1" in [v["version"] for v in versions["versions"]] and versions["active"] != "api-f1"


def test_activating_features_rebuilds_state_from_the_log(admin, ingest):
    before = admin.get("/v1/features/versions").json()["active"]
    for i in range(3):
        ingest.post("/v1/events", json=payment(f"feat-{i}", card="tok_feat", time=f"2026-11-21T14:0{i}:00+09:00"))
    assert admin.post("/v1/features/versions/api-f1/activate").json()["active"] == "api-f1"
    d = ingest.post("/v1/events", json=payment("feat-3", card="tok_feat", time="2026-11-21T14:05:00+09:00")).json()
    assert d["features"] == {"card.payments_1h": 4}  # the three before were replayed under api-f1
    assert d["versions"]["features"].startswith("api-f1@")
    assert admin.post("/v1/features/rollback").json()["active"] == before
    d = ingest.post("/v1/events", json=payment("feat-4", card="tok_feat", time="2026-11-21T14:06:00+09:00")).json()
    assert d["features"]["card.payments_1h"] == 5 and "card.payments_10m" in d["features"]


def test_health_metrics_and_openapi(live, ingest):
    with live.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz").json()
        assert ready["ready"] is True and ready["log_position"] > 0
        metrics = c.get("/metrics").text
        assert 'fraudwatch_http_requests_total{method="POST",route="/v1/events",status="200"}' in metrics
        assert "fraudwatch_decisions_total{outcome=" in metrics
        assert 'fraudwatch_rule_hits_total{rule="big_amount",shadow="false"}' in metrics
        assert "fraudwatch_decision_seconds_bucket" in metrics
        doc = c.get("/openapi.json").json()
        assert "/v1/events" in doc["paths"] and "Event" in doc["components"]["schemas"]
        assert c.get("/docs").status_code == 200


def test_models_registry_errors_are_4xx(admin, reader):
    assert reader.get("/v1/models").json()["champion"] is None
    assert admin.post("/v1/models/nope/promote", json={}).status_code == 404
    assert admin.post("/v1/models/rollback").status_code == 409
    assert admin.post("/v1/models/..%2Fetc/promote", json={}).status_code in (404, 422)
    assert reader.post("/v1/models/rollback").status_code == 403


def test_concurrent_events_share_group_commits(live):
    import asyncio
    import re

    import httpx

    def commits() -> tuple[float, float]:
        text = httpx.get(live.url + "/metrics").text
        count = float(re.search(r"^fraudwatch_group_commit_events_count (\S+)", text, re.M).group(1))
        total = float(re.search(r"^fraudwatch_group_commit_events_sum (\S+)", text, re.M).group(1))
        return count, total

    async def send_all() -> list[int]:
        headers = {"Authorization": f"Bearer {live.keys['ingest']}"}
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=live.url, headers=headers, limits=limits, timeout=30) as c:
            rs = await asyncio.gather(
                *(c.post("/v1/events", json=payment(f"group-{i}", card=f"tok_g{i}")) for i in range(200))
            )
        return [r.status_code for r in rs]

    count0, total0 = commits()
    assert set(asyncio.run(send_all())) == {200}
    count1, total1 = commits()
    assert total1 - total0 == 200
    assert count1 - count0 < 180  # requests arriving during a commit share the next one
    batch = {"events": [payment(f"group-b{i}", card=f"tok_gb{i}") for i in range(500)]}
    with live.client(live.keys["ingest"]) as c:
        assert c.post("/v1/events/batch", json=batch).status_code == 200
    count2, total2 = commits()
    assert (count2 - count1, total2 - total1) == (1, 500)  # one tick, one transaction


def test_admin_bodies_are_limited_too(admin):
    huge = {"values": ["x" * 200] * 25_000}  # about 5 MB, over server.max_admin_body_bytes
    assert admin.put("/v1/lists/huge", json=huge).status_code == 413
    assert admin.get("/v1/nope").json() == {"errors": [{"loc": "", "msg": "Not Found"}]}
