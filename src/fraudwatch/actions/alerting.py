"""One risk alert per episode, and what the response side did per episode.

An episode (``fraudwatch.cases``: the decisions about one card or account within a window
of event time) gets one "was this you?" alert, raised by its first stopped event that a
cardholder's answer could change. Later stopped events of the episode join that alert
(``events``, ``last_ts``); the cardholder hears about them in updates ("3 more attempts
were stopped"), at most ``alerts.risk.max_per_hour`` messages per cardholder per hour of
event time. Answering the alert answers the episode.

``episode_actions`` records each action (and each order, field or session it acted on)
once per episode: an action never repeats within an episode, however many events or
answers ask for it. Plain service functions over the actions database; they never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from typing import Any

from fraudwatch.actions.service import get_alert, stopping_rules, summary
from fraudwatch.decisions import Decision
from fraudwatch.events.kinds import Envelope

__all__ = [
    "alert_of_episode",
    "add_to_alert",
    "done_targets",
    "open_alert",
    "messages_since",
    "record_action",
    "record_message",
    "stopped_entry",
]

ENTITY_FIELDS = ("card", "account", "device", "ip", "session")


def alert_id_for(key: bytes, episode_id: str) -> str:
    """The id of an episode's alert (what an answer link names): a keyed MAC of the episode
    id under the link key, so that knowing or guessing an episode gives no alert id to put
    in a forged link.

    >>> alert_id_for(b"k" * 32, "ep1") == alert_id_for(b"k" * 32, "ep1") != alert_id_for(b"x" * 32, "ep1")
    True
    """
    return "al_" + hmac.new(key, b"alert\x1fepisode:" + episode_id.encode(), hashlib.sha256).hexdigest()[:24]


def stopped_entry(event: Envelope, decision: Decision) -> dict[str, Any]:
    """What an alert keeps of a stopped event: enough to label it after an answer."""
    entry: dict[str, Any] = {"id": event.id, "ts": event.ts, "outcome": decision.outcome.value}
    entry.update({f: getattr(event, f) for f in ENTITY_FIELDS if getattr(event, f, None) is not None})
    return entry


def alert_of_episode(conn: sqlite3.Connection, key: bytes, episode_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id_for(key, episode_id),)).fetchone()


def open_alert(
    conn: sqlite3.Connection,
    *,
    key: bytes,
    episode_id: str,
    event: Envelope,
    decision: Decision,
    now: float,
    ttl: float,
    language: str | None,
) -> sqlite3.Row:
    """The episode's alert, raised by ``event`` (the link expiry ``now + ttl`` is wall
    time: a link lives for the cardholder's day, whatever the events' dates)."""
    alert_id = alert_id_for(key, episode_id)
    conn.execute(
        "INSERT INTO alerts(id, event_id, kind, card, account, outcome, rules, summary, created, expires,"
        " language, episode, events, last_ts, told) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
        " ON CONFLICT DO NOTHING",
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
            episode_id,
            json.dumps([stopped_entry(event, decision)]),
            event.ts,
        ),
    )
    return get_alert(conn, alert_id)


def add_to_alert(
    conn: sqlite3.Connection, alert: sqlite3.Row, event: Envelope, decision: Decision
) -> sqlite3.Row | None:
    """Join a stopped event to the episode's alert; None if it had joined already."""
    events = json.loads(alert["events"])
    if any(e["id"] == event.id for e in events):
        return None
    events.append(stopped_entry(event, decision))
    rules = list(dict.fromkeys([*json.loads(alert["rules"]), *stopping_rules(decision)]))
    conn.execute(
        # CASE, not the two-argument max: the same SQL on PostgreSQL
        "UPDATE alerts SET events = ?, rules = ?, last_ts = CASE WHEN ? > last_ts THEN ? ELSE last_ts END,"
        " summary_latest = ? WHERE id = ?",
        (
            json.dumps(events),
            json.dumps(rules),
            event.ts,
            event.ts,
            json.dumps(summary(event, decision)),
            alert["id"],
        ),
    )
    return get_alert(conn, alert["id"])


def mark_told(conn: sqlite3.Connection, alert_id: str, told: int, *, expires: float) -> None:
    """The cardholder has been told of ``told`` stopped events; the links live on to ``expires``."""
    conn.execute(
        "UPDATE alerts SET told = ?, expires = CASE WHEN ? > expires THEN ? ELSE expires END WHERE id = ?",
        (told, expires, expires, alert_id),
    )


# ------------------------------------------------------------------ the rate limit
def record_message(conn: sqlite3.Connection, *, subject: str, ts: float, alert: str, type: str) -> None:
    conn.execute(
        "INSERT INTO cardholder_messages(subject, ts, alert, type) VALUES (?, ?, ?, ?)", (subject, ts, alert, type)
    )


def messages_since(conn: sqlite3.Connection, subject: str, since: float) -> int:
    """Messages to a cardholder with event time after ``since``."""
    return conn.execute(
        "SELECT count(*) FROM cardholder_messages WHERE subject = ? AND ts > ?", (subject, since)
    ).fetchone()[0]


# ------------------------------------------------------------------ actions once per episode
def done_targets(conn: sqlite3.Connection, episode_id: str, action: str, endpoint: str) -> dict[str, str]:
    """What ``action`` was done on within the episode (``""``: the action itself), each
    with the event that caused it."""
    rows = conn.execute(
        "SELECT target, event FROM episode_actions WHERE episode = ? AND action = ? AND endpoint = ?",
        (episode_id, action, endpoint),
    )
    return {r[0]: r[1] for r in rows}


def record_action(
    conn: sqlite3.Connection, *, episode_id: str, action: str, endpoint: str, targets: list[str], event: str, ts: float
) -> None:
    conn.executemany(
        "INSERT INTO episode_actions(episode, action, endpoint, target, event, ts) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(episode_id, action, endpoint, t, event, ts) for t in targets],
    )
