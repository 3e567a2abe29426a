"""Refund, reversal and chargeback: three distinct ways money goes back, with their amounts.

* a **refund** is the merchant paying back (partial refunds too);
* a **reversal** cancels an authorization before settlement;
* a **chargeback** is the issuer taking the money back through a dispute: when the
  merchant loses it, its amount is charged back.

A payment cannot give back more than it took, and a refund or reversal of a payment under
an open dispute is refused: the cardholder would be paid twice (once by the merchant,
once by the chargeback). Accept the dispute instead.

Functions take a connection inside the caller's unit of work and never commit.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any, Literal

from fraudwatch.cases import store
from fraudwatch.cases.case import refused
from fraudwatch.errors import Conflict, ValidationFailed

Kind = Literal["refund", "reversal"]


def paid_back(conn: sqlite3.Connection, payment: str) -> dict[str, int]:
    """Amounts given back so far per kind (requested refunds count: they are on their way)."""
    out = {"refund": 0, "reversal": 0, "chargeback": 0}
    for r in store.money_of_payment(conn, payment):
        out[r["kind"]] += r["amount"]
    return out


def refundable(conn: sqlite3.Connection, payment: dict[str, Any]) -> int:
    return max(0, int(payment.get("amount") or 0) - sum(paid_back(conn, payment["id"]).values()))


def check_refund(conn: sqlite3.Connection, payment: dict[str, Any], *, amount: int, currency: str, kind: Kind) -> None:
    """Raise ``Conflict`` (409) for a disputed payment, ``ValidationFailed`` (422, field
    ``amount`` or ``currency``) for an amount above what is left or another currency."""
    disputes = store.open_disputes_of_payment(conn, payment["id"])
    if disputes:
        d = disputes[0]
        raise refused(
            Conflict,
            f"payment {payment['id']} is disputed ({d['scheme']} chargeback {d['reason_code'] or ''}, stage "
            f"{d['stage']}): a {kind} would pay the cardholder twice; accept the dispute instead",
            "payment",
        )
    if currency != payment.get("currency"):
        raise ValidationFailed(
            f"currency: the payment is in {payment.get('currency')}",
            [{"loc": "currency", "msg": f"the payment is in {payment.get('currency')}, not {currency}"}],
        )
    left = refundable(conn, payment)
    if amount > left:
        back = paid_back(conn, payment["id"])
        msg = (
            f"{amount} is more than the {left} left of the payment's {payment.get('amount')} {currency} "
            f"(refunded {back['refund']}, reversed {back['reversal']}, charged back {back['chargeback']})"
        )
        raise ValidationFailed(f"amount: {msg}", [{"loc": "amount", "msg": msg}])


def request(
    conn: sqlite3.Connection,
    *,
    case_id: str | None,
    payment: dict[str, Any],
    amount: int,
    currency: str,
    kind: Kind,
    at: float,
    actor: str,
    now: float,
    note: str = "",
) -> dict[str, Any]:
    """Record a refund or reversal fraudwatch asks the merchant for (status ``requested``
    until the merchant's ``payment.refund`` / ``payment.reversal`` event arrives)."""
    check_refund(conn, payment, amount=amount, currency=currency, kind=kind)
    n = len(store.money_of_payment(conn, payment["id"]))
    money_id = "mny_" + hashlib.sha256(f"{payment['id']}\x1f{kind}\x1f{n}".encode()).hexdigest()[:20]
    row = {
        "id": money_id,
        "case_id": case_id,
        "payment": payment["id"],
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "status": "requested",
        "at": at,
        "source": actor,
        "note": note or None,
    }
    store.add_money(conn, row)
    if case_id:
        store.add_log(conn, case_id, at=now, actor=actor, type=kind, data={**row, "status": "requested"})
    return row


def record_event(conn: sqlite3.Connection, event: Any, *, case_id: str | None, now: float) -> dict[str, Any]:
    """A ``payment.refund`` or ``payment.reversal`` event: completes the matching request,
    or records one the merchant made by itself. One on a disputed payment is recorded with
    a warning in the case log (the money went out twice)."""
    kind = "refund" if event.kind == "payment.refund" else "reversal"
    requested = store.requested_refund(conn, event.payment, kind, event.amount)
    if requested is not None:
        store.set_money_status(conn, requested["id"], "done", event.id)
        row = dict(requested) | {"status": "done", "source": event.id}
    else:
        row = {
            "id": "mny_" + hashlib.sha256(event.id.encode()).hexdigest()[:20],
            "case_id": case_id,
            "payment": event.payment,
            "kind": kind,
            "amount": event.amount,
            "currency": event.currency,
            "status": "done",
            "at": event.ts,
            "source": event.id,
            "note": None,
        }
        store.add_money(conn, row)
    if case_id:
        data = {**row}
        disputed = store.open_disputes_of_payment(conn, event.payment)
        if disputed:
            data["warning"] = f"the payment is under dispute {disputed[0]['id']}: the cardholder may be paid twice"
        store.add_log(conn, case_id, at=now, actor="merchant", type=kind, data=data)
    return row


def dispute_decided(conn: sqlite3.Connection, dispute: Any, *, now: float) -> None:
    """A lost dispute is a chargeback of its amount. A case recovering money closes once
    nothing is left open (no open dispute)."""
    if dispute.outcome == "lost":
        store.add_money(
            conn,
            {
                "id": "mny_" + hashlib.sha256(f"{dispute.id}\x1fchargeback".encode()).hexdigest()[:20],
                "case_id": dispute.case_id,
                "payment": dispute.payment,
                "kind": "chargeback",
                "amount": dispute.amount,
                "currency": dispute.currency,
                "status": "done",
                "at": dispute.decided,
                "source": dispute.id,
                "note": None,
            },
        )
    row = store.get_case(conn, dispute.case_id)
    if row is not None and row["status"] == "recovering":
        if not any(d["outcome"] is None for d in store.disputes_of_case(conn, dispute.case_id)):
            store.update_case(conn, dispute.case_id, {"status": "closed", "closed_at": now, "updated": now})
            store.add_log(
                conn,
                dispute.case_id,
                at=now,
                actor="fraudwatch",
                type="status",
                data={"from": "recovering", "to": "closed", "dispute": dispute.id},
            )


def summary(conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """What went back for the case's payments, per kind and status."""
    out: dict[str, Any] = {"refunded": 0, "reversed": 0, "charged_back": 0, "requested": 0, "currency": None}
    names = {"refund": "refunded", "reversal": "reversed", "chargeback": "charged_back"}
    for r in store.money_of_case(conn, case_id):
        out["currency"] = out["currency"] or r["currency"]
        out["requested" if r["status"] == "requested" else names[r["kind"]]] += r["amount"]
    won = [d for d in store.disputes_of_case(conn, case_id) if d["outcome"] == "won"]
    out["disputes_won"] = sum(d["amount"] for d in won)
    return out
