"""Which of an account's recent events are the attacker's: what containment may undo.

An episode knows the attacker's devices, IPs and sessions (those of its flagged events).
Containment must cancel the attacker's orders and revert the attacker's profile changes,
never the owner's, also when the owner is active during the attack (she logs in from her
usual phone, removes the gift card from the cart, changes her password). An event is the
attacker's when:

* its device or session is one of the attacker's (sessions grow: the session of an
  attacker's event, e.g. the takeover's login, marks the events without a device that
  carry it); or
* its IP is one of the attacker's and its device is not one the owner uses (an IP can be a
  shared carrier or office address: the owner's own phone behind it stays the owner's).

The owner's devices are those of the events no attacker device or session explains. The
takeover began at the attacker's first event (the login, often before the first flagged
payment). An event with no device, IP or session is never the attacker's: containment
leaves what it cannot attribute alone (send ``device``, ``ip`` and ``session`` on order
and profile events).

>>> rows = [
...     ("own-order", 100.0, "order.placed", {"order": "o1", "device": "phone", "ip": "10.0.0.1", "amount": 3000}),
...     ("att-login", 200.0, "account.login", {"device": "evil", "ip": "198.51.100.9", "session": "s9"}),
...     ("att-lang", 210.0, "account.profile_changed",
...      {"field": "language", "old_value": "ja", "new_value": "en", "session": "s9"}),
...     ("att-order", 220.0, "order.placed", {"order": "o2", "device": "evil", "amount": 1000}),
...     ("own-order-2", 230.0, "order.placed", {"order": "o3", "device": "phone", "ip": "198.51.100.9"}),
... ]
>>> a = attribute(rows, devices={"evil"}, ips={"198.51.100.9"}, sessions=set())
>>> a.started, a.events, [o["order"] for o in a.orders], [c["field"] for c in a.profile_changes], a.sessions
(200.0, ['att-login', 'att-lang', 'att-order'], ['o2'], ['language'], ['s9'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attack", "attribute"]

Row = tuple[str, float, str, dict[str, Any]]  # (event id, time, kind, event as a dict), in time order
CLOSING = ("order.shipped", "order.cancelled")
# what is said about events afterwards, not anybody's activity (a label carries its target's device)
NOT_ACTIVITY = frozenset(
    {
        "label",
        "cardholder.answer",
        "chargeback",
        "fraud_report",
        "early_fraud_warning",
        "payment.refund",
        "payment.reversal",
    }
)


@dataclass(slots=True)
class Attack:
    """The attacker's part of an account's or card's recent events."""

    started: float | None  # event time of the attacker's first event
    events: list[str] = field(default_factory=list)  # the attacker's event ids, in time order
    orders: list[dict[str, Any]] = field(default_factory=list)  # placed by the attacker, not shipped or cancelled
    profile_changes: list[dict[str, Any]] = field(default_factory=list)  # to revert, with the value to restore
    sessions: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    owner_devices: list[str] = field(default_factory=list)


def attribute(rows: Iterable[Row], *, devices: Iterable[str], ips: Iterable[str], sessions: Iterable[str]) -> Attack:
    """Split ``rows`` (an account's or card's events in time order) into the attacker's and
    the owner's, from the attacker's known ``devices``, ``ips`` and ``sessions``."""
    rows = [r for r in rows if r[2] not in NOT_ACTIVITY]
    evil_devices, evil_ips, evil_sessions = set(devices), set(ips), set(sessions)

    def by_device_or_session(data: dict[str, Any]) -> bool:
        return data.get("device") in evil_devices or data.get("session") in evil_sessions

    # sessions opened on an attacker's device mark the events of that session without one
    for _, _, _, data in rows:
        if data.get("session") and data.get("device") in evil_devices:
            evil_sessions.add(data["session"])
    owner = {d.get("device") for _, _, _, d in rows if d.get("device") and not by_device_or_session(d)}
    owner -= evil_devices

    def attackers(data: dict[str, Any]) -> bool:
        if by_device_or_session(data):
            return True
        return data.get("ip") in evil_ips and data.get("device") not in owner

    mine = [r for r in rows if attackers(r[3])]
    for _, _, _, data in mine:  # an attacker's event (by IP) may name a session of theirs
        if data.get("session"):
            evil_sessions.add(data["session"])
    mine = [r for r in rows if attackers(r[3])]
    ids = {r[0] for r in mine}
    attack = Attack(
        started=mine[0][1] if mine else None,
        events=[r[0] for r in mine],
        sessions=sorted({d["session"] for _, _, _, d in mine if d.get("session")}),
        devices=sorted({d["device"] for _, _, _, d in mine if d.get("device")}),
        ips=sorted({d["ip"] for _, _, _, d in mine if d.get("ip")}),
        owner_devices=sorted(owner),
    )
    closed = {d.get("order") for _, _, kind, d in rows if kind in CLOSING}
    hidden = {d.get("order") for _, _, kind, d in rows if kind == "order.hidden"}
    for event_id, _, kind, data in mine:
        if kind == "order.placed" and data.get("order") not in closed:
            attack.orders.append(
                {
                    "order": data["order"],
                    "event": event_id,
                    "amount": data.get("amount"),
                    "currency": data.get("currency"),
                    "hidden": data["order"] in hidden,
                }
            )
    attack.profile_changes = _reverts(rows, ids)
    return attack


def _reverts(rows: list[Row], attacker_ids: set[str]) -> list[dict[str, Any]]:
    """Per field, the attacker's change with the value to restore (the value before the
    attacker's first change), unless the owner changed the field again since."""
    changes: dict[str, dict[str, Any]] = {}
    for event_id, _, kind, data in rows:
        if kind == "account.profile_changed":
            name, before, after = data.get("field"), data.get("old_value"), data.get("new_value")
        elif kind in ("account.2fa_removed", "account.2fa_enrolled"):
            removed = kind.endswith("removed")
            name, before, after = "2fa", "enrolled" if removed else "removed", "removed" if removed else "enrolled"
        else:
            continue
        if event_id in attacker_ids:
            change = changes.setdefault(name, {"field": name, "restore_value": before, "events": []})
            if name == "2fa":
                change["method"] = data.get("method")
            change["changed_to"] = after
            change["events"].append(event_id)
        elif name in changes:
            changes[name]["owner_changed"] = True  # the owner set it since: hers to keep
    return [
        {k: v for k, v in c.items() if k != "owner_changed"}
        for c in changes.values()
        if not c.get("owner_changed") and c.get("changed_to") != c.get("restore_value")
    ]
