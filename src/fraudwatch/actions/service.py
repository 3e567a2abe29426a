"""Plain service functions over the actions database; they never commit."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

from fraudwatch.actions.history import History
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


def create_alert(
    conn: sqlite3.Connection,
    event: Envelope,
    decision: Decision,
    *,
    now: float,
    ttl: float,
    language: str | None = None,
) -> sqlite3.Row:
    """One alert per event (processing the event again returns the first)."""
    alert_id = "al_" + hashlib.sha256(event.id.encode()).hexdigest()[:20]
    conn.execute(
        "INSERT INTO alerts(id, event_id, kind, card, account, outcome, rules, summary, created, expires,"
        " language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            alert_id,
            event.id,
            event.kind,
            event.card,
            event.account,
            decision.outcome.value,
            json.dumps(stopping_rules(decision)),
            json.dumps(summary(event, decision)),
            now,
            now + ttl,
            language,
        ),
    )
    return get_alert(conn, alert_id)


def get_alert(conn: sqlite3.Connection, alert_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None:
        raise NotFound(f"no alert {alert_id!r}")
    return row


# ------------------------------------------------------------------ recent events (attack context)


def usage_subscribers(conn: sqlite3.Connection, cards: list[str]) -> set[str]:
    """Those of ``cards`` that opted in to usage alerts (one query for many cards)."""
    if not cards:
        return set()
    rows = conn.execute(
        f"SELECT subject FROM subscriptions WHERE usage_alerts != 0 AND subject IN ({','.join('?' * len(cards))})",
        cards,
    )
    return {r[0] for r in rows}


def attack_context(
    conn: sqlite3.Connection,
    history: History,
    *,
    card: str | None,
    account: str | None,
    since: float,
    until: float,
    before_seq: int | None = None,
) -> dict[str, Any]:
    """The events of the card or account in ``[since, until]``: what containment reverts.

    ``profile_changes``: per field (and 2FA), the value to restore (the oldest old value
    in the window). ``orders``: placed and neither shipped nor cancelled.
    """
    rows = history.window(conn, card=card, account=account, since=since, until=until, before_seq=before_seq)
    events = [r[0] for r in rows]
    changes: dict[str, dict[str, Any]] = {}
    placed: dict[str, dict[str, Any]] = {}
    closed: set[str] = set()
    hidden: set[str] = set()
    for event_id, _, kind, data in rows:
        if kind == "account.profile_changed":
            change = changes.setdefault(
                data["field"], {"field": data["field"], "restore_value": data.get("old_value"), "events": []}
            )
            change["changed_to"] = data.get("new_value")
            change["events"].append(event_id)
        elif kind in ("account.2fa_removed", "account.2fa_enrolled"):
            change = changes.setdefault(
                "2fa",
                {
                    "field": "2fa",
                    "restore_value": "enrolled" if kind.endswith("removed") else "removed",
                    "method": data.get("method"),
                    "events": [],
                },
            )
            change["changed_to"] = "removed" if kind.endswith("removed") else "enrolled"
            change["events"].append(event_id)
        elif kind == "order.placed":
            placed[data["order"]] = {
                "order": data["order"],
                "event": event_id,
                "amount": data.get("amount"),
                "currency": data.get("currency"),
            }
        elif kind in ("order.shipped", "order.cancelled"):
            closed.add(data["order"])
        elif kind == "order.hidden":
            hidden.add(data["order"])
    # an order shipped before the window still counts as shipped
    if placed:
        closed |= history.closed(conn, list(placed), card=card, account=account, since=since, until=until)
    orders = [{**o, "hidden": o["order"] in hidden} for k, o in placed.items() if k not in closed]
    # a change undone within the window needs no revert
    reverts = [c for c in changes.values() if c.get("changed_to") != c.get("restore_value")]
    return {"events": events, "profile_changes": reverts, "orders": orders}
