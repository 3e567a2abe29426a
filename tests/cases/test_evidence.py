"""Visa Compelling Evidence 3.0 on constructed histories: the 119/120/365/366-day edges, the
"2 of 4, one of them IP or device" rule, disputed and reported payments left out; and the
evidence pack read from an event log."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases.episodes import open_or_join
from fraudwatch.cases.evidence import compelling_evidence, evidence_pack, to_html
from fraudwatch.cases.service import queue
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import MemoryStore

DAY = 86400.0
DISPUTE = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()
DISPUTED = {"id": "p0", "account": "u1", "ip": "203.0.113.9", "device": "d1", "shipping_address": "h:tokyo-1"}


def _earlier(id, days, **match):
    return {"id": id, "ts": DISPUTE - days * DAY, "result": "approved", **match}


@pytest.mark.parametrize(
    ("days", "qualifies"), [(119, False), (120, True), (200, True), (365, True), (366, False), (30, False)]
)
def test_the_120_to_365_day_window_edges(days, qualifies):
    same = {"account": "u1", "device": "d1"}
    result = compelling_evidence(
        DISPUTED, [_earlier("a", days, **same), _earlier("b", 200, **same)], dispute_ts=DISPUTE
    )
    [a] = [c for c in result["considered"] if c["payment"] == "a"]
    assert a["days_before"] == days and a["qualifies"] is qualifies
    assert result["qualifies"] is qualifies  # "b" alone is one of the two needed
    if not qualifies:
        assert a["why"] == [f"{days} days before the dispute: CE 3.0 needs 120 to 365"]
        assert result["reason"] == "1 earlier payment(s) qualify; 2 needed"


@pytest.mark.parametrize(
    ("match", "qualifies", "why"),
    [
        ({"account": "u1", "ip": "203.0.113.9"}, True, []),
        ({"account": "u1", "device": "d1"}, True, []),
        ({"ip": "203.0.113.9", "device": "d1"}, True, []),
        ({"device": "d1", "shipping_address": "h:tokyo-1"}, True, []),
        ({"account": "u1", "shipping_address": "h:tokyo-1"}, False, ["neither the IP address nor the device"]),
        ({"device": "d1"}, False, ["matches on 1 of account, IP, device, shipping address: 2 needed"]),
        ({"account": "u2", "ip": "198.51.100.1", "device": "d1"}, False, ["matches on 1 of"]),
        ({}, False, ["matches on 0 of"]),
    ],
)
def test_two_of_four_elements_one_of_them_the_ip_or_the_device(match, qualifies, why):
    result = compelling_evidence(DISPUTED, [_earlier("a", 150, **match)], dispute_ts=DISPUTE)
    [a] = result["considered"]
    assert a["qualifies"] is qualifies
    assert len(a["why"]) == len(why) and all(w in got for w, got in zip(why, a["why"], strict=True))


def test_disputed_reported_or_declined_payments_never_qualify():
    same = {"account": "u1", "ip": "203.0.113.9", "device": "d1"}
    history = [
        _earlier("disputed", 150, **same),
        {**_earlier("declined", 160, **same), "result": "declined"},
        _earlier("good-1", 170, **same),
        _earlier("good-2", 300, **same),
    ]
    result = compelling_evidence(DISPUTED, history, dispute_ts=DISPUTE, excluded={"disputed"})
    assert [c["payment"] for c in result["qualifying"]] == ["good-2", "good-1"]
    why = {c["payment"]: c["why"] for c in result["considered"]}
    assert why["disputed"] == ["disputed or reported as fraud"] and why["declined"] == [
        "not a completed payment (declined)"
    ]
    assert result["qualifies"] and result["reason"] == "2 earlier payments qualify (2 needed)"


def _entry(seq, event, outcome="allow"):
    ts = datetime.fromisoformat(event["time"]).timestamp()
    return LogEntry(
        seq,
        event["id"],
        event["kind"],
        ts,
        b"d" * 32,
        orjson.dumps(event),
        orjson.dumps({"outcome": outcome}),
        outcome,
        event.get("card"),
        event.get("account"),
        event.get("device"),
        event.get("ip"),
    )


def test_the_evidence_pack_reads_the_history_and_the_shipping_address_of_each_order(tmp_path):
    def iso(days):
        return datetime.fromtimestamp(DISPUTE - days * DAY, UTC).isoformat()

    common = {"card": "tok_ce", "account": "u1", "device": "d1", "currency": "JPY"}
    events = [
        {
            "id": "o-old",
            "kind": "order.placed",
            "time": iso(250),
            "order": "ord-old",
            "amount": 5000,
            "shipping_address": "h:tokyo-1",
            **common,
        },
        {
            "id": "p-old",
            "kind": "payment.attempt",
            "time": iso(250),
            "amount": 5000,
            "result": "approved",
            "order": "ord-old",
            "ip": "198.51.100.3",
            **common,
        },
        {
            "id": "p-mid",
            "kind": "payment.attempt",
            "time": iso(140),
            "amount": 7000,
            "result": "approved",
            "ip": "203.0.113.9",
            **common,
        },
        {"id": "p-late", "kind": "payment.attempt", "time": iso(100), "amount": 7000, "result": "approved", **common},
        {
            "id": "o-0",
            "kind": "order.placed",
            "time": iso(30),
            "order": "ord-0",
            "amount": 9000,
            "shipping_address": "h:tokyo-1",
            **common,
        },
        {
            "id": "p0",
            "kind": "payment.attempt",
            "time": iso(30),
            "amount": 9000,
            "result": "approved",
            "order": "ord-0",
            "ip": "203.0.113.9",
            "three_ds": "frictionless",
            "channel": "ecommerce",
            **common,
        },
        {"id": "ship-0", "kind": "order.shipped", "time": iso(29), "order": "ord-0", **common},
        {
            "id": "cb-0",
            "kind": "chargeback",
            "time": iso(0),
            "payment": "p0",
            "amount": 9000,
            "reason_code": "10.4",
            "scheme": "visa",
            **common,
        },
    ]
    log = MemoryStore()
    with log.unit() as uow:
        uow.events.append([_entry(n, e) for n, e in enumerate(events, start=1)])
    db = Database(str(tmp_path / "cases.db"))
    with db.unit_of_work() as conn:
        from fraudwatch.cases import disputes

        episode = open_or_join(
            conn,
            event_id="p0",
            ts=DISPUTE - 30 * DAY,
            kind="payment.attempt",
            card="tok_ce",
            role="disputed",
            amount=9000,
            currency="JPY",
            window=DAY,
            now=0.0,
        )
        queue(conn, episode.id, trigger="chargeback", settings=CasesSettings(), now=0.0)
        disputes.open_dispute(
            conn,
            case_id=episode.id,
            opened_by="cb-0",
            payment="p0",
            at=DISPUTE,
            amount=9000,
            currency="JPY",
            scheme="visa",
            reason_code="10.4",
            acquirer=None,
            actor="t",
            now=0.0,
        )
    pack = evidence_pack(db.connection(), log=log.events, case_id=episode.id)
    assert pack["payment"]["id"] == "p0" and pack["shipping_address"] == "h:tokyo-1"
    assert pack["three_d_secure"]["result"] == "frictionless" and pack["dispute"]["stage"] == "dispute"
    assert [u["kind"] for u in pack["delivery_and_usage"]] == ["order.shipped"]
    ce = pack["compelling_evidence_3"]
    matches = {c["payment"]: c["matches"] for c in ce["considered"]}
    assert matches["p-old"] == ["account", "device", "shipping_address"]  # the address from its order
    assert matches["p-mid"] == ["account", "ip", "device"]
    assert [c["payment"] for c in ce["qualifying"]] == ["p-old", "p-mid"] and ce["qualifies"]
    assert "p-late" not in [c["payment"] for c in ce["qualifying"]]
    page = to_html(pack)
    assert "Qualifies" in page and "p-mid" in page and "<script" not in page
