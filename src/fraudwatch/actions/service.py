"""Plain service functions over the actions database; they never commit."""

from __future__ import annotations

import sqlite3
from typing import Any

from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import NotFound, ValidationFailed
from fraudwatch.events.kinds import Envelope

# ------------------------------------------------------------------ subscriptions


def set_subscription(
    conn: sqlite3.Connection,
    subject: str,
    *,
    email: str | None,
    usage_alerts: bool,
    now: float,
    language: str | None = None,
) -> dict[str, Any]:
    """Contact, opt-in and message language of a card token (or account id): the
    cardholder's profile as the issuer knows it (never the account's language setting,
    which an attacker can change)."""
    if email is not None and ("@" not in email or len(email) > 254 or any(c in email for c in "\r\n")):
        raise ValidationFailed("email: not an e-mail address", [{"field": "email", "message": "not an e-mail address"}])
    conn.execute(
        "INSERT INTO subscriptions(subject, email, usage_alerts, updated, language) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(subject) DO UPDATE SET email = excluded.email, usage_alerts = excluded.usage_alerts,"
        " updated = excluded.updated, language = excluded.language",
        (subject, email, int(usage_alerts), now, language),
    )
    return get_subscription(conn, subject)


def get_subscription(conn: sqlite3.Connection, subject: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM subscriptions WHERE subject = ?", (subject,)).fetchone()
    if row is None:
        raise NotFound(f"no alert subscription for {subject!r}")
    return {
        "subject": row["subject"],
        "email": row["email"],
        "usage_alerts": bool(row["usage_alerts"]),
        "language": row["language"],
    }


def find_subscription(conn: sqlite3.Connection, *subjects: str | None) -> dict[str, Any] | None:
    for s in subjects:
        if s:
            try:
                return get_subscription(conn, s)
            except NotFound:
                continue
    return None


def delete_subscription(conn: sqlite3.Connection, subject: str) -> None:
    if conn.execute("DELETE FROM subscriptions WHERE subject = ?", (subject,)).rowcount == 0:
        raise NotFound(f"no alert subscription for {subject!r}")


# ------------------------------------------------------------------ alerts


def summary(event: Envelope, decision: Decision) -> dict[str, Any]:
    """What a cardholder message says about an event; no card number, only last 4."""
    fields = ("amount", "currency", "merchant", "card_last4", "result", "decline_reason", "order")
    s = {f: getattr(event, f) for f in fields if getattr(event, f, None) is not None}
    s.update(event_id=event.id, kind=event.kind, time=event.time.isoformat(), outcome=decision.outcome.value)
    return s


def stopping_rules(decision: Decision) -> list[str]:
    """The rules that made the decision worse than allow; ``model`` when only the score did."""
    from fraudwatch.actions.suppression import MODEL_RULE

    rules = [h.rule for h in decision.rules if not h.shadow and h.outcome is not Outcome.ALLOW]
    return list(dict.fromkeys(rules)) or [MODEL_RULE]


def get_alert(conn: sqlite3.Connection, alert_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None:
        raise NotFound(f"no alert {alert_id!r}")
    return row


# ------------------------------------------------------------------ usage alerts


def usage_subscribers(conn: sqlite3.Connection, cards: list[str]) -> set[str]:
    """Those of ``cards`` that opted in to usage alerts (one query for many cards)."""
    if not cards:
        return set()
    rows = conn.execute(
        f"SELECT subject FROM subscriptions WHERE usage_alerts != 0 AND subject IN ({','.join('?' * len(cards))})",
        cards,
    )
    return {r[0] for r in rows}
