"""Cardholder messages (plain text and HTML) and the answer pages.

>>> format_amount(17600, "JPY"), format_amount(1234, "EUR")
('17,600 JPY', '12.34 EUR')
>>> m = risk_alert({"amount": 17600, "currency": "JPY", "merchant": "m_1", "time": "2026-11-21T13:00:00+09:00",
...                 "card_last4": "4242", "outcome": "block"}, yes_url="https://x/y", no_url="https://x/n")
>>> m["subject"]
'Was this you? 17,600 JPY at m_1 with card ending 4242'
"""

from __future__ import annotations

from html import escape
from typing import Any

_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG"})
_THREE_DECIMAL = frozenset({"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"})

_OUTCOME_TEXT = {
    "allow": "approved",
    "review": "held for review",
    "challenge": "held until you confirm it (3-D Secure)",
    "block": "blocked",
}


def format_amount(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "an amount"
    currency = currency or ""
    digits = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    value = amount / 10**digits
    return f"{value:,.{digits}f} {currency}".strip()


def _what(s: dict[str, Any]) -> str:
    text = format_amount(s.get("amount"), s.get("currency"))
    if s.get("merchant"):
        text += f" at {s['merchant']}"
    if s.get("card_last4"):
        text += f" with card ending {s['card_last4']}"
    return text


def usage_alert(s: dict[str, Any]) -> dict[str, str]:
    """Instant usage alert for an opted-in card: every attempt, approved or declined."""
    result = (
        s.get("result") if s.get("result") in ("approved", "declined") else _OUTCOME_TEXT.get(s.get("outcome", ""), "")
    )
    subject = f"Card used: {_what(s)} ({result})"
    text = (
        f"A payment of {_what(s)} was attempted at {s.get('time', '')}: {result}.\n"
        "If this was not you, contact your card issuer now.\n"
    )
    html = (
        f"<p>A payment of <b>{escape(_what(s))}</b> was attempted at {escape(str(s.get('time', '')))}: "
        f"<b>{escape(str(result))}</b>.</p><p>If this was not you, contact your card issuer now.</p>"
    )
    return {"subject": subject, "text": text, "html": _page(subject, html)}


def risk_alert(s: dict[str, Any], *, yes_url: str, no_url: str) -> dict[str, str]:
    """ "Was this you?" with one-tap links; each opens a confirmation page."""
    status = _OUTCOME_TEXT.get(s.get("outcome", ""), "stopped")
    subject = f"Was this you? {_what(s)}"
    text = (
        f"A payment of {_what(s)} at {s.get('time', '')} was {status}.\n\n"
        f"Yes, it was me:      {yes_url}\n"
        f"No, it wasn't me:    {no_url}\n\n"
        "Each link asks you to confirm before anything changes, and works once.\n"
    )
    html = (
        f"<p>A payment of <b>{escape(_what(s))}</b> at {escape(str(s.get('time', '')))} was {escape(status)}.</p>"
        f'<p><a href="{escape(yes_url)}">Yes, it was me</a></p>'
        f'<p><a href="{escape(no_url)}">No, it wasn\'t me</a></p>'
        "<p>Each link asks you to confirm before anything changes, and works once.</p>"
    )
    return {"subject": subject, "text": text, "html": _page(subject, html)}


def confirm_page(s: dict[str, Any], *, answer: str, action_url: str) -> str:
    """GET of an answer link: nothing changes until the form is posted (link previews
    fetch GET)."""
    label = "Yes, it was me" if answer == "yes" else "No, it wasn't me"
    body = (
        f"<p>Payment of <b>{escape(_what(s))}</b> at {escape(str(s.get('time', '')))}.</p>"
        f'<form method="post" action="{escape(action_url)}">'
        f'<button type="submit" name="confirm" value="1">Confirm: {escape(label)}</button></form>'
    )
    return _page("Was this you?", body)


def result_page(answer: str) -> str:
    if answer == "yes":
        body = "<p>Thank you. The payment is confirmed as yours; we will not stop it again.</p>"
    else:
        body = (
            "<p>Thank you. Your card is suspended and your account secured. "
            "We will contact you about the payments involved.</p>"
        )
    return _page("Answer recorded", body)


def error_page(title: str, message: str) -> str:
    return _page(title, f"<p>{escape(message)}</p><p>Nothing was changed.</p>")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
