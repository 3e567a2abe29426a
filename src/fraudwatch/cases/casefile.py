"""The case file: everything about a case on one timeline.

Entries, each with ``at`` (POSIX seconds) and ``type``:

* ``event``: an event of the episode with its decision (outcome, score, the rules that
  fired with their values, the model's reasons), from the event log; ``role`` says what
  it is to the episode (flagged, disputed, answer, label, trigger, recovery);
* ``context``: the other events of the card or account around the episode (the owner's
  and the attacker's activity that was allowed), from the event log;
* ``alert`` and ``answer``: the "was this you?" alerts sent and the cardholder's answers;
* ``message``: actions and notifications sent for the case, with their delivery status;
* ``dispute``: each stage of each dispute with its deadline;
* the case's own log: ``status`` (with who), ``assign``, ``note``, ``verdict``,
  ``attachment``, ``police_report``, ``refund``, ``reversal``, ..., each with its ``actor``
  and its ``data``

Events are at their event time; what people and deliveries did is at the wall time it
happened (live, the two agree; in a replay of old traffic they do not).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import orjson

from fraudwatch.cases import store
from fraudwatch.cases.disputes import list_disputes
from fraudwatch.cases.episodes import get_episode
from fraudwatch.cases.money import summary as money_summary
from fraudwatch.cases.service import get_case

CONTEXT_LIMIT = 200  # context events per entity


def case_file(
    conn: sqlite3.Connection,
    case_id: str,
    *,
    log: Any = None,
    context_before: float = 72 * 3600.0,
) -> dict[str, Any]:
    """The case, its episode and its timeline; ``log`` (the event log's ``Storage``) adds
    the events' decisions and the context events."""
    case = get_case(conn, case_id)
    episode = get_episode(conn, case.id)
    timeline: list[dict[str, Any]] = []
    members = store.events_of(conn, case.id)
    ids = {r["event_id"] for r in members}
    for r in members:
        entry: dict[str, Any] = {"at": r["ts"], "type": "event", "event_id": r["event_id"], "role": r["role"]}
        logged = log.get(r["event_id"]) if log is not None else None
        if logged is not None:
            entry["event"] = orjson.loads(logged.event)
            entry["decision"] = _decision(orjson.loads(logged.decision))
        else:
            entry["event"] = {"id": r["event_id"], "kind": r["kind"], "amount": r["amount"], "currency": r["currency"]}
            entry["decision"] = {"outcome": r["outcome"], "score": r["score"]} if r["outcome"] else None
        timeline.append(entry)
    if log is not None:
        timeline += _context(log, case, ids, since=case.started - context_before, until=case.last_seen)
    for a in store.alerts_for_events(conn, list(ids)):
        timeline.append(
            {
                "at": a["created"],
                "type": "alert",
                "alert": a["id"],
                "event_id": a["event_id"],
                "outcome": a["outcome"],
                "rules": json.loads(a["rules"]),
            }
        )
        if a["answered_at"] is not None:
            timeline.append(
                {
                    "at": a["answered_at"],
                    "type": "answer",
                    "alert": a["id"],
                    "event_id": a["event_id"],
                    "answer": a["answer"],
                }
            )
    for m in store.messages_of(conn, case.id):
        timeline.append(
            {
                "at": m["created"],
                "type": "message",
                "message": m["id"],
                "channel": m["channel"],
                "destination": m["destination"],
                "message_type": m["type"],
                "status": m["status"],
                "attempts": m["attempts"],
                "delivered_at": m["delivered_at"],
                "last_error": m["last_error"],
            }
        )
    disputes = [d.to_dict() for d in list_disputes(conn, case_id=case.id, limit=100)]
    for d in disputes:
        for s in store.stages_of(conn, d["id"]):
            timeline.append(
                {
                    "at": s["started"],
                    "type": "dispute",
                    "dispute": d["id"],
                    "scheme": d["scheme"],
                    "stage": s["stage"],
                    "party": s["party"],
                    "deadline": s["deadline"],
                    "ended": s["ended"],
                    "move": s["move"],
                    "actor": s["actor"],
                }
            )
    for entry in store.log_of(conn, case.id):
        if entry["type"] == "dispute":
            continue  # the stages above say it, at their own dates
        timeline.append({"at": entry["at"], "type": entry["type"], "actor": entry["actor"], "data": entry["data"]})
    timeline.sort(key=lambda e: (e["at"], _ORDER.get(e["type"], 9)))
    return {
        "case": case.to_dict(),
        "episode": episode.to_dict(),
        "timeline": timeline,
        "disputes": disputes,
        "money": money_summary(conn, case.id),
        "attachments": [
            {k: a[k] for k in ("sha256", "name", "content_type", "size", "at", "actor")}
            for a in store.attachments_of(conn, case.id)
        ],
        "police_report": (
            {"reference": case.police_reference, "authority": case.police_authority} if case.police_reference else None
        ),
        "linked": linked_cases(conn, case.id),
    }


def linked_cases(conn: sqlite3.Connection, case_id: str) -> list[dict[str, Any]]:
    """Other cases sharing the card, the account, or an attacker device, IP or session."""
    by_case: dict[str, dict[str, Any]] = {}
    for r in store.cases_sharing(conn, case_id):
        entry = by_case.setdefault(r["case_id"], {"case": r["case_id"], "shared": []})
        entry["shared"].append({"type": r["type"], "value": r["value"]})
    for entry in by_case.values():
        row = store.get_case(conn, entry["case"])
        if row is not None:
            entry.update(reference=row["reference"], status=row["status"], started=row["started"])
    return sorted(by_case.values(), key=lambda e: e.get("started") or 0)


_ORDER = {"event": 0, "context": 0, "alert": 1, "message": 2, "answer": 3}


def _decision(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "outcome": d.get("outcome"),
        "score": d.get("score"),
        "rules": [
            {"rule": h["rule"], "outcome": h["outcome"], "values": h.get("values", {})} for h in d.get("rules", [])
        ],
        "shadow_rules": [{"rule": h["rule"], "values": h.get("values", {})} for h in d.get("shadow_rules", [])],
        "reasons": d.get("reasons", []),
        "versions": d.get("versions", {}),
    }


def _context(log: Any, case, member_ids: set[str], *, since: float, until: float) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for entity, value in (("card", case.card), ("account", case.account)):
        if not value:
            continue
        for e in log.search(entity, value, since=since, until=until + 1e-3, limit=CONTEXT_LIMIT):
            if e.event_id in member_ids or e.event_id in seen:
                continue
            event = orjson.loads(e.event)
            seen[e.event_id] = {
                "at": e.ts,
                "type": "context",
                "event_id": e.event_id,
                "kind": e.kind,
                "outcome": e.outcome,
                "event": event,
            }
    return list(seen.values())
