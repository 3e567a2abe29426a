"""The victim's side: the case reference, a status page behind a signed link (the same
mechanism as the alert links, with a key of its own), and status-change notifications.

The page says what happened, what was stopped, what is being given back, and the next
step with its date. It never shows a card number, an IP address or another cardholder's
data: the link is the cardholder's own.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from datetime import UTC, datetime
from html import escape
from typing import Any

from fraudwatch.actions import format_amount, make_link, read_link
from fraudwatch.cases import store
from fraudwatch.cases.money import summary as money_summary
from fraudwatch.cases.service import get_case

STATUS_TEXT = {
    "monitoring": "We noticed unusual activity and are watching it. Nothing is needed from you.",
    "open": "Your case is waiting for a fraud analyst.",
    "in_review": "A fraud analyst is reviewing your case.",
    "recovering": "Fraud is confirmed. Your money is being recovered.",
    "closed": "Your case is closed.",
}


def status_key(token_key: bytes) -> bytes:
    """The status links' key, derived from the alert links' key (never the same bytes)."""
    return hmac.new(token_key, b"fraudwatch case status links", hashlib.sha256).digest()


def status_token(key: bytes, case_id: str, *, expires: float) -> str:
    return make_link(status_key(key), {"c": case_id, "t": "status"}, expires=expires)


def read_status_token(key: bytes, token: str, *, now: float | None = None) -> str:
    """The case id of a status link; raises ``TokenInvalid`` (403) or ``TokenExpired`` (410)."""
    from fraudwatch.actions import TokenInvalid

    claims = read_link(status_key(key), token, now=now)
    if claims.get("t") != "status" or not isinstance(claims.get("c"), str):
        raise TokenInvalid("not a case status link")
    return claims["c"]


def _date(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def status_view(conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    """What the cardholder (or the support desk reading it to them) sees."""
    case = get_case(conn, case_id)
    stopped, let_through, currency = 0, 0, case.currency
    attempts = 0
    for r in store.events_of(conn, case.id):
        if r["kind"] != "payment.attempt":
            continue
        attempts += 1
        currency = currency or r["currency"]
        if r["outcome"] in ("block", "challenge"):
            stopped += r["amount"] or 0
        else:
            let_through += r["amount"] or 0
    money = money_summary(conn, case.id)
    disputes = store.disputes_of_case(conn, case.id)
    open_dispute = next((d for d in disputes if d["outcome"] is None), None)
    if case.status.value in ("open", "in_review"):
        step = {"text": "A fraud analyst decides on your case.", "by": _date(case.due_at)}
    elif open_dispute is not None:
        step = {
            "text": f"The chargeback is at its '{open_dispute['stage'].replace('_', ' ')}' stage.",
            "by": _date(open_dispute["deadline"]),
        }
    elif money["requested"]:
        step = {
            "text": f"A refund of {format_amount(money['requested'], money['currency'])} is on its way.",
            "by": None,
        }
    elif case.status.value == "closed":
        step = {"text": "Nothing more: this case is finished.", "by": None}
    else:
        step = {"text": "Nothing is needed from you.", "by": None}
    outside = [e["data"] for e in store.log_of(conn, case.id) if e["type"] == "compensation"]
    return {
        "reference": case.reference,
        "status": case.status.value,
        "status_text": STATUS_TEXT[case.status.value],
        "verdict": case.verdict,
        "since": _date(case.started),
        "payments": attempts,
        "stopped": format_amount(stopped, currency),
        "let_through": format_amount(let_through, currency),
        "refunded": format_amount(money["refunded"] + money["reversed"], money["currency"] or currency),
        "charged_back": format_amount(money["charged_back"], money["currency"] or currency),
        "next_step": step,
        "outside_compensation": outside,
    }


def status_page(view: dict[str, Any]) -> str:
    e = escape
    step = view["next_step"]
    by = f" (by {e(step['by'])})" if step.get("by") else ""
    late = (
        "<p>Some of these payments are older than the period your issuer compensates; your issuer will tell you "
        "what applies.</p>"
        if view["outside_compensation"]
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Case {e(view["reference"])}</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:2em auto">
<h1>Case {e(view["reference"])}</h1>
<p><strong>{e(view["status_text"])}</strong></p>
<p>Since {e(view["since"] or "")}: {view["payments"]} payment attempt(s); stopped: {e(view["stopped"])};
let through: {e(view["let_through"])}; given back: {e(view["refunded"])} refunded or reversed,
{e(view["charged_back"])} through a chargeback.</p>
<p>Next: {e(step["text"])}{by}</p>{late}
<p>Quote the reference {e(view["reference"])} when you contact us. We never ask for your card number or
password.</p></body></html>
"""


def case_details(view: dict[str, Any], link: str | None) -> str:
    """The ``details`` of the ``case_status`` message: where the case stands, the next
    step with its date, and the status page link."""
    step = view["next_step"]
    text = f"{view['status_text']}\nNext: {step['text']}" + (f" (by {step['by']})" if step.get("by") else "")
    if view["outside_compensation"]:
        text += "\nSome of these payments are older than the period your issuer compensates."
    if link:
        text += f"\nFollow your case: {link}"
    return text
