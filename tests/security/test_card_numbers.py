"""Finding 4: card numbers in clear. Whatever field a card number is put in and however it
is written, nothing the server stores, logs or sends carries it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from security.conftest import PAN, clear_pans

NOW = datetime.now(UTC).replace(microsecond=0).isoformat()
FULL_WIDTH = PAN.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
WRITTEN = {
    "leading space": " " + PAN,
    "trailing newline": PAN + "\n",
    "spaced": " ".join(PAN[i : i + 4] for i in range(0, 16, 4)),
    "dotted": ".".join(PAN[i : i + 4] for i in range(0, 16, 4)),
    "full-width": FULL_WIDTH,
    "tabs and dashes": "\t" + "-".join(PAN[i : i + 4] for i in range(0, 16, 4)) + " ",
}


def base(event_id: str, **fields) -> dict:
    return {"id": event_id, "time": NOW, "kind": "payment.attempt", "amount": 1000, "currency": "JPY", **fields}


@pytest.fixture(scope="module")
def ingest(server):
    with server.client(server.keys["ingest"]) as c:
        yield c


@pytest.fixture(scope="module")
def admin(server):
    with server.client(server.keys["admin"]) as c:
        yield c


@pytest.mark.parametrize("how", sorted(WRITTEN))
def test_a_card_number_in_card_is_tokenized_however_written(ingest, admin, how):
    r = ingest.post("/v1/events", json=base(f"card-{how}", card=WRITTEN[how]))
    assert r.status_code == 200, r.text
    stored = admin.get(f"/v1/events/card-{how}").json()["event"]
    assert stored["card"].startswith("tok_") and stored["card_last4"] == PAN[-4:], stored


FIELDS = {
    "session": lambda v: base("f-session", card="tok_f", session=v),
    "email": lambda v: base("f-email", card="tok_f", email=v),
    "order": lambda v: base("f-order", card="tok_f", order=v),
    "merchant": lambda v: base("f-merchant", card="tok_f", merchant=v),
    "device": lambda v: base("f-device", card="tok_f", device=v),
    "account": lambda v: base("f-account", card="tok_f", account=v),
    "ip": lambda v: base("f-ip", card="tok_f", ip=v),
    "terminal": lambda v: base("f-terminal", card="tok_f", terminal=v),
    "id": lambda v: base(v, card="tok_f"),
    "item sku": lambda v: {
        "id": "f-sku",
        "time": NOW,
        "kind": "cart.item_added",
        "account": "acct_f",
        "item": {"sku": v, "category": "gift_card", "unit_price": 100},
    },
    "shipping address": lambda v: {
        "id": "f-ship",
        "time": NOW,
        "kind": "order.placed",
        "order": "o-f",
        "amount": 100,
        "currency": "JPY",
        "shipping_address": f"1-2-3 Chiyoda, card {v}",
    },
    "profile values": lambda v: {
        "id": "f-profile",
        "time": NOW,
        "kind": "account.profile_changed",
        "account": "acct_f",
        "field": "name",
        "old_value": v,
        "new_value": f"Taro {v}",
    },
    "refund reason": lambda v: {
        "id": "f-refund",
        "time": NOW,
        "kind": "payment.refund",
        "payment": "p-f",
        "amount": 100,
        "currency": "JPY",
        "reason": f"customer said card {v} was charged twice",
    },
    "label target": lambda v: {"id": "f-label", "time": NOW, "kind": "label", "target": v, "fraud": True},
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_card_number_in_any_other_field_never_rests_in_clear(server, ingest, admin, field):
    for i, (how, value) in enumerate(sorted(WRITTEN.items())):
        if field in ("id", "label target"):
            value = f"ref-{'abcdef'[i]}-{value.strip()}"
        event = FIELDS[field](value)
        if field != "id":
            event["id"] += f"-{i}"
        r = ingest.post("/v1/events", json=event)
        # refused with the field named, or accepted with the number replaced
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert PAN not in r.text, r.text
            # an address field refuses any text that is not an address (the number's token too)
            assert "card number" in r.text or field == "ip", r.text
        else:
            assert PAN not in r.text and FULL_WIDTH not in r.text, (how, r.text)
    assert clear_pans(server.data_dir) == []


def test_searching_by_card_number_is_not_logged_in_clear(server, admin):
    assert admin.get("/v1/events", params={"card": PAN}).status_code == 200
    assert admin.get(f"/v1/decisions/{PAN}").status_code in (404, 422)
    log = (server.data_dir / f"server-{server.port}.log").read_text()
    assert "GET /v1/events" in log  # the access log is on
    assert PAN not in log


def test_usage_alert_subscriptions_tokenize_card_numbers(server, admin):
    r = admin.put(f"/v1/alerts/subscriptions/{PAN}", json={"email": "taro@example.jp", "usage_alerts": True})
    assert r.status_code == 200, r.text
    assert PAN not in r.text
    assert admin.get(f"/v1/alerts/subscriptions/{PAN}").json()["usage_alerts"] is True
    assert clear_pans(server.data_dir) == []
