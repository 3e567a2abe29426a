"""Evidence packs for a disputed card-not-present payment, with Visa Compelling Evidence 3.0.

CE 3.0 (Visa, dispute condition 10.4): the merchant may show at least **2** earlier
payments on the same card that were **not disputed and not reported as fraud**, made **120
to 365 days before the dispute**, each matching the disputed payment on at least **2 of
{account, IP address, device, shipping address}**, at least **one of them the IP address or
the device**.

>>> from datetime import datetime, timedelta, timezone
>>> day = 86400.0
>>> dispute = datetime(2026, 11, 21, tzinfo=timezone.utc).timestamp()
>>> disputed = {"id": "p0", "account": "u1", "ip": "203.0.113.9", "device": "d1"}
>>> earlier = [
...     {"id": "p1", "ts": dispute - 200 * day, "account": "u1", "ip": "203.0.113.9", "result": "approved"},
...     {"id": "p2", "ts": dispute - 300 * day, "account": "u1", "device": "d1", "result": "approved"},
...     {"id": "p3", "ts": dispute - 119 * day, "account": "u1", "device": "d1", "result": "approved"},
... ]
>>> result = compelling_evidence(disputed, earlier, dispute_ts=dispute)
>>> result["qualifies"], [c["payment"] for c in result["qualifying"]], result["considered"][2]["why"]
(True, ['p2', 'p1'], ['119 days before the dispute: CE 3.0 needs 120 to 365'])
"""

from __future__ import annotations

import html
import sqlite3
from datetime import UTC, datetime
from typing import Any

import orjson

from fraudwatch.cases import store
from fraudwatch.cases.disputes import get_dispute
from fraudwatch.cases.service import get_case
from fraudwatch.errors import NotFound, ValidationFailed

MIN_DAYS, MAX_DAYS = 120, 365
NEEDED = 2
ELEMENTS = ("account", "ip", "device", "shipping_address")
DAY = 86400.0


def _day(ts: float) -> int:
    return datetime.fromtimestamp(ts, UTC).toordinal()


def compelling_evidence(
    disputed: dict[str, Any],
    earlier: list[dict[str, Any]],
    *,
    dispute_ts: float,
    excluded: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Which of ``earlier`` (payment dicts with ``ts`` and any of ``account``, ``ip``,
    ``device``, ``shipping_address``, ``result``) qualify for CE 3.0 against ``disputed``,
    and why each does or does not. ``excluded``: payments disputed or reported as fraud.
    Days are calendar days (UTC) between the payment and the dispute."""
    considered = []
    for p in sorted(earlier, key=lambda p: p["ts"]):
        if p.get("id") == disputed.get("id"):
            continue
        why = []
        days = _day(dispute_ts) - _day(p["ts"])
        if not MIN_DAYS <= days <= MAX_DAYS:
            why.append(f"{days} days before the dispute: CE 3.0 needs {MIN_DAYS} to {MAX_DAYS}")
        if p.get("id") in excluded:
            why.append("disputed or reported as fraud")
        if p.get("result") not in (None, "approved"):
            why.append(f"not a completed payment ({p.get('result')})")
        matches = [k for k in ELEMENTS if p.get(k) and p.get(k) == disputed.get(k)]
        if len(matches) < 2:
            why.append(f"matches on {len(matches)} of account, IP, device, shipping address: 2 needed")
        elif not {"ip", "device"} & set(matches):
            why.append("neither the IP address nor the device matches: one of them is needed")
        considered.append(
            {
                "payment": p.get("id"),
                "time": datetime.fromtimestamp(p["ts"], UTC).isoformat(),
                "days_before": days,
                "matches": matches,
                "qualifies": not why,
                "why": why,
            }
        )
    qualifying = [c for c in considered if c["qualifies"]]
    ok = len(qualifying) >= NEEDED
    if ok:
        reason = f"{len(qualifying)} earlier payments qualify ({NEEDED} needed)"
    elif not considered:
        reason = "no earlier payment on this card within the history kept"
    else:
        reason = f"{len(qualifying)} earlier payment(s) qualify; {NEEDED} needed"
    return {"qualifies": ok, "reason": reason, "qualifying": qualifying, "considered": considered}


def evidence_pack(conn: sqlite3.Connection, *, log: Any, case_id: str, payment: str | None = None) -> dict[str, Any]:
    """The evidence pack of a case's disputed payment (``payment``; default: the payment of
    the case's first dispute). ``log``: the event log (``fraudwatch.storage.EventLog``)."""
    case = get_case(conn, case_id)
    disputes = store.disputes_of_case(conn, case.id)
    if payment is None:
        if not disputes:
            raise ValidationFailed(
                "payment: the case has no dispute; name the payment", [{"loc": "payment", "msg": "required"}]
            )
        payment = disputes[0]["payment"]
    dispute = next((d for d in disputes if d["payment"] == payment), None)
    entry = log.get(payment) if log is not None else None
    if entry is None:
        raise NotFound(f"payment {payment!r} is not in the event log")
    p = orjson.loads(entry.event)
    decision = orjson.loads(entry.decision)
    dispute_ts = dispute["opened"] if dispute is not None else entry.ts
    order = _order_of(log, p)
    disputed = {**p, "shipping_address": (order or {}).get("shipping_address")}
    history, excluded, usage = _history(log, p, payment_ts=entry.ts, dispute_ts=dispute_ts)
    pack = {
        "case": {"id": case.id, "reference": case.reference, "status": case.status.value},
        "dispute": None if dispute is None else get_dispute(conn, dispute["id"]).to_dict(),
        "payment": {
            k: p.get(k)
            for k in (
                "id",
                "time",
                "amount",
                "currency",
                "merchant",
                "card_last4",
                "card_bin",
                "result",
                "channel",
                "order",
            )
        },
        "three_d_secure": {
            "result": p.get("three_ds"),
            "eci": p.get("eci"),
            "authentication_value_present": p.get("authentication_value_present", p.get("cavv_present")),
            "transaction_id": p.get("ds_transaction_id", p.get("three_ds_transaction_id")),
        },
        "device": p.get("device"),
        "ip": p.get("ip"),
        "country": p.get("country"),
        "account": p.get("account"),
        "shipping_address": disputed["shipping_address"],
        "order": order,
        "decision": {"outcome": decision.get("outcome"), "score": decision.get("score")},
        "delivery_and_usage": usage,
        "compelling_evidence_3": compelling_evidence(disputed, history, dispute_ts=dispute_ts, excluded=excluded),
    }
    return pack


def _order_of(log, p: dict[str, Any]) -> dict[str, Any] | None:
    if not p.get("order") or not p.get("account"):
        return None
    for e in log.search("account", p["account"], limit=5000):
        if e.kind == "order.placed":
            o = orjson.loads(e.event)
            if o.get("order") == p["order"]:
                return {k: o.get(k) for k in ("order", "time", "amount", "currency", "shipping_address", "items")}
    return None


def _history(
    log, p: dict[str, Any], *, payment_ts: float, dispute_ts: float
) -> tuple[list[dict], set[str], list[dict]]:
    """Earlier payments of the card (with their orders' shipping addresses), the payment ids
    disputed or reported, and the delivery and usage after the disputed payment."""
    since = dispute_ts - (MAX_DAYS + 2) * DAY
    earlier: list[dict[str, Any]] = []
    excluded: set[str] = set()
    usage: list[dict[str, Any]] = []
    addresses: dict[str, str] = {}
    entries = log.search("card", p["card"], since=since, limit=20_000) if p.get("card") else []
    if p.get("account"):
        entries += log.search("account", p["account"], since=since, limit=20_000)
    seen = set()
    for e in entries:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        ev = orjson.loads(e.event)
        if e.kind in ("chargeback", "fraud_report") and ev.get("payment"):
            excluded.add(ev["payment"])
        elif e.kind == "order.placed" and ev.get("shipping_address"):
            addresses[ev["order"]] = ev["shipping_address"]
        elif e.kind == "payment.attempt" and ev.get("card") == p.get("card") and e.ts < dispute_ts:
            earlier.append({**ev, "ts": e.ts})
        if e.kind in ("order.shipped", "account.login") and e.ts >= payment_ts:
            if e.kind == "order.shipped" and ev.get("order") == p.get("order") or ev.get("device") == p.get("device"):
                usage.append({"time": ev["time"], "kind": e.kind, "device": ev.get("device"), "ip": ev.get("ip")})
    for ev in earlier:
        if ev.get("order") in addresses:
            ev["shipping_address"] = addresses[ev["order"]]
    return earlier, excluded, sorted(usage, key=lambda u: u["time"])[:50]


def to_html(pack: dict[str, Any]) -> str:
    """A printable page of the pack (print it to PDF from a browser)."""
    e = html.escape
    ce = pack["compelling_evidence_3"]
    rows = "".join(
        f"<tr><td>{e(str(c['payment']))}</td><td>{e(c['time'][:10])}</td><td>{c['days_before']}</td>"
        f"<td>{e(', '.join(c['matches']))}</td><td>{'yes' if c['qualifies'] else e('; '.join(c['why']))}</td></tr>"
        for c in ce["considered"]
    )

    def kv(d: dict[str, Any]) -> str:
        return "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in d.items() if v is not None)

    usage = "".join(
        f"<li>{e(u['time'])} {e(u['kind'])} {e(str(u.get('device') or ''))}</li>" for u in pack["delivery_and_usage"]
    )
    dispute = pack.get("dispute") or {}
    verdict = "Qualifies" if ce["qualifies"] else "Does not qualify"
    sections = [
        (
            "Dispute",
            kv({k: dispute.get(k) for k in ("scheme", "reason_code", "stage", "deadline", "amount", "currency")}),
        ),
        ("Payment", kv(pack["payment"])),
        ("3-D Secure", kv(pack["three_d_secure"])),
        (
            "Device, IP, account, shipping",
            kv({k: pack[k] for k in ("device", "ip", "country", "account", "shipping_address")}),
        ),
    ]
    body = "".join(f"<h2>{title}</h2><table>{table}</table>" for title, table in sections)
    head = "<tr><th>payment</th><th>date</th><th>days before</th><th>matches</th><th>qualifies</th></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence {e(pack["case"]["reference"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.2em .5em;text-align:left}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>Evidence pack: case {e(pack["case"]["reference"])}</h1>{body}
<h2>Delivery and usage</h2><ul>{usage or "<li>none recorded</li>"}</ul>
<h2>Visa Compelling Evidence 3.0</h2><p><strong>{verdict}</strong>: {e(ce["reason"])}</p>
<table>{head}{rows}</table>
</body></html>
"""
