"""Episodes: the decisions about one card or account that belong together, built once here
and used by the review queue, the responses (actions and alerts once per episode,
containment aimed at the attacker) and the console.

An event *joins* the active episode of its card or of its account when its event time is
within ``window`` of the episode's span (``[started - window, last_seen + window]``);
otherwise it *opens* a new one. Joining is idempotent per event id: an event belongs to
one episode, and calling again returns that episode. Everything is event time (replays
and late batches form the same episodes as live traffic); ``now`` (wall time) only
stamps the rows. Functions take a connection inside the caller's unit of work and never
commit.

>>> import sqlite3
>>> from fraudwatch.cases.store import SCHEMA
>>> conn = sqlite3.connect(":memory:"); conn.row_factory = sqlite3.Row; _ = conn.executescript(SCHEMA)
>>> hour = 3600.0
>>> a = open_or_join(conn, event_id="p1", ts=10 * hour, kind="payment.attempt", card="tok_1", account="u1",
...                  device="dev_x", ip="203.0.113.9", outcome="block", amount=1000, currency="JPY",
...                  window=24 * hour, now=0.0)
>>> b = open_or_join(conn, event_id="p2", ts=11 * hour, kind="payment.attempt", card="tok_2", account="u1",
...                  device="dev_x", outcome="review", amount=1000, currency="JPY", window=24 * hour, now=0.0)
>>> a.created, b.created, a.id == b.id, b.worst_outcome, b.amount_at_risk, b.devices, b.events
(True, False, True, 'block', 1000, ('dev_x',), ('p1', 'p2'))
>>> episode_for(conn, account="u1", at=30 * hour, window=24 * hour).id == a.id
True
>>> open_or_join(conn, event_id="p3", ts=40 * hour, kind="payment.attempt", card="tok_1",
...              outcome="block", window=24 * hour, now=0.0).id == a.id   # 29 h after p2: a new episode
False
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Iterable
from typing import Any

from fraudwatch.cases import store
from fraudwatch.cases.case import ATTACKER_ROLES, CaseStatus, Episode, Role
from fraudwatch.errors import NotFound

_SEVERITY = {"allow": 0, "review": 1, "challenge": 2, "block": 3}


def case_id_for(first_event: str) -> str:
    """Deterministic from the episode's first event, so a replay makes the same ids."""
    return "case_" + hashlib.sha256(first_event.encode()).hexdigest()[:20]


def reference_for(case_id: str) -> str:
    """A short reference the cardholder can quote on the phone: ``FW-XXXX-XXXX`` in
    Crockford's base32 alphabet (no I, L, O, U).

    >>> reference_for("case_0123")
    'FW-7TCK-QH1K'
    """
    digest = hashlib.sha256(("reference:" + case_id).encode()).digest()
    text = base64.b32encode(digest[:5]).decode()
    text = text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ"))
    return f"FW-{text[:4]}-{text[4:8]}"


def at_risk(kind: str, outcome: str | None, result: str | None, role: Role, amount: int | None) -> int:
    """The money an event puts at risk: a payment let through (allowed, held for review, or
    reported approved) or under dispute; a blocked or declined attempt puts nothing at risk."""
    if not amount or kind != "payment.attempt":
        return 0
    if role is Role.DISPUTED or result == "approved" or outcome in (None, "allow", "review"):
        return amount
    return 0


def open_or_join(
    conn: sqlite3.Connection,
    *,
    event_id: str,
    ts: float,
    kind: str,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    session: str | None = None,
    role: Role = Role.FLAGGED,
    outcome: str | None = None,
    score: float | None = None,
    amount: int | None = None,
    currency: str | None = None,
    result: str | None = None,
    rules: Iterable[str] = (),
    scenario: str | None = None,
    seq: int | None = None,
    window: float,
    now: float,
    case_id: str | None = None,
) -> Episode:
    """The episode ``event_id`` belongs to: the one it already joined, else the active
    episode of ``card`` or ``account`` whose span it falls within ``window`` of, else a new
    one (``Episode.created``). ``case_id`` joins that case instead of searching (e.g. a
    chargeback on a payment of a closed case reopens that one)."""
    known = store.case_of_event(conn, event_id)
    if known is not None:
        return get_episode(conn, known)
    role = Role(role)
    row = store.get_case(conn, case_id) if case_id else None
    if row is None and (card is not None or account is not None):
        row = store.find_active(conn, card=card, account=account, since=ts - window, until=ts + window)
    created = row is None
    if created:
        new_id = case_id_for(event_id)
        store.insert_case(
            conn,
            {
                "id": new_id,
                "reference": reference_for(new_id),
                "status": CaseStatus.MONITORING.value,
                "card": card,
                "account": account,
                "started": ts,
                "last_seen": ts,
                "worst_outcome": "allow",
                "currency": currency,
                "scenario": scenario,
                "created": now,
                "updated": now,
            },
        )
        row = store.get_case(conn, new_id)
    assert row is not None
    store.add_event(
        conn,
        row["id"],
        {
            "event_id": event_id,
            "ts": ts,
            "kind": kind,
            "role": role.value,
            "outcome": outcome,
            "score": score,
            "amount": amount,
            "currency": currency,
            "seq": seq,
        },
    )
    changes: dict[str, Any] = {"updated": now}
    if role in ATTACKER_ROLES:  # the span is the attack's: an answer or a chargeback weeks later does not stretch it
        if ts > row["last_seen"]:
            changes["last_seen"] = ts
        if ts < row["started"]:
            changes["started"] = ts
    if outcome is not None and _SEVERITY.get(outcome, 0) > _SEVERITY.get(row["worst_outcome"], 0):
        changes["worst_outcome"] = outcome
    if score is not None and (row["max_score"] is None or score > row["max_score"]):
        changes["max_score"] = score
    risk = at_risk(kind, outcome, result, role, amount)
    if risk and (row["currency"] in (None, currency)):  # amounts in another currency are not added up
        changes["amount_at_risk"] = row["amount_at_risk"] + risk
        changes["currency"] = currency
    if row["card"] is None and card is not None:
        changes["card"] = card
    if row["account"] is None and account is not None:
        changes["account"] = account
    if row["scenario"] is None and scenario:
        changes["scenario"] = scenario
    store.update_case(conn, row["id"], changes)
    attacker = role in ATTACKER_ROLES
    store.add_entities(
        conn,
        row["id"],
        [
            (type_, value, attacker and type_ in ("device", "ip", "session"), ts)
            for type_, value in (
                ("card", card),
                ("account", account),
                ("device", device),
                ("ip", ip),
                ("session", session),
            )
            if value is not None
        ],
    )
    if rules:
        store.add_rules(conn, row["id"], rules)
    episode = get_episode(conn, row["id"])
    return _replace_created(episode) if created else episode


def get_episode(conn: sqlite3.Connection, episode_id: str) -> Episode:
    """Raises ``NotFound`` (404) for an unknown id."""
    row = store.get_case(conn, episode_id)
    if row is None:
        raise NotFound(f"no case or episode {episode_id!r}")
    attackers: dict[str, list[str]] = {"device": [], "ip": [], "session": []}
    for e in store.entities_of(conn, episode_id):
        if e["attacker"] and e["type"] in attackers:
            attackers[e["type"]].append(e["value"])
    return Episode(
        id=row["id"],
        reference=row["reference"],
        card=row["card"],
        account=row["account"],
        status=CaseStatus(row["status"]),
        started=row["started"],
        last_seen=row["last_seen"],
        worst_outcome=row["worst_outcome"],
        max_score=row["max_score"],
        escalation=row["escalation"],
        amount_at_risk=row["amount_at_risk"],
        currency=row["currency"],
        devices=tuple(attackers["device"]),
        ips=tuple(attackers["ip"]),
        sessions=tuple(attackers["session"]),
        events=tuple(r["event_id"] for r in store.events_of(conn, episode_id)),
    )


def episode_for(
    conn: sqlite3.Connection, *, card: str | None = None, account: str | None = None, at: float, window: float
) -> Episode | None:
    """The active episode of ``card`` or ``account`` that an event at ``at`` (event time)
    would join, or None."""
    row = store.find_active(conn, card=card, account=account, since=at - window, until=at + window)
    return None if row is None else get_episode(conn, row["id"])


def episode_of_event(conn: sqlite3.Connection, event_id: str) -> Episode | None:
    """The episode an event joined, or None."""
    case_id = store.case_of_event(conn, event_id)
    return None if case_id is None else get_episode(conn, case_id)


def escalate(conn: sqlite3.Connection, episode_id: str, level: int, *, now: float) -> bool:
    """Raise the episode's escalation level to ``level``; False (nothing changed) if it is
    there or higher already. The response side decides what the levels mean."""
    row = store.get_case(conn, episode_id)
    if row is None:
        raise NotFound(f"no case or episode {episode_id!r}")
    if level <= row["escalation"]:
        return False
    store.update_case(conn, episode_id, {"escalation": level, "updated": now})
    store.add_log(conn, episode_id, at=now, actor="fraudwatch", type="escalation", data={"level": level})
    return True


def _replace_created(e: Episode) -> Episode:
    from dataclasses import replace

    return replace(e, created=True)
