"""Where the containment lookback reads the recent events of a card or account.

A "no" answer or an automatic response reverts what an attacker did in the lookback
window: profile changes, orders placed (see ``fraudwatch.actions.attribution``). The events come from a
``History``:

* ``TableHistory`` (standalone responder: replays, simulator, ``on_decision``): the
  responder copies every event of a card or account into the actions database
  (``recent_events``) and prunes it after two lookbacks.
* ``LogHistory`` (the decision service): the service's event log already keeps every
  event, indexed by card and account, so nothing is copied. Copying cost the actions
  database about three random index pages per event, the largest share of the disk
  writes under load.

A row is ``(event id, time, kind, event as a dict)``, in time order.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any, Protocol

import orjson

from fraudwatch.storage import EventLog, LogEntry

Row = tuple[str, float, str, dict[str, Any]]
CLOSING = ("order.shipped", "order.cancelled")
WINDOW_LIMIT = 10_000  # events per card or account in one window: an attack is far smaller


class History(Protocol):
    keeps: bool  # True: the responder must ``record`` every event

    def record(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        """Keep ``(id, ts, kind, card, account, event JSON)`` rows."""

    def prune(self, conn: sqlite3.Connection, *, before: float) -> None: ...

    def window(
        self,
        conn: sqlite3.Connection,
        *,
        card: str | None,
        account: str | None,
        since: float,
        until: float,
        before_seq: int | None = None,
    ) -> list[Row]:
        """The events of the card or account with ``since <= time <= until`` (and, from
        the log, logged before position ``before_seq``)."""

    def closed(
        self,
        conn: sqlite3.Connection,
        orders: list[str],
        *,
        card: str | None,
        account: str | None,
        since: float,
        until: float,
    ) -> set[str]:
        """Those of ``orders`` shipped or cancelled, also before ``since`` (as far as kept)."""


class TableHistory:
    keeps = True

    def record(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        conn.executemany(
            "INSERT INTO recent_events(id, ts, kind, card, account, data) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [r for r in rows if r[3] or r[4]],
        )

    def prune(self, conn: sqlite3.Connection, *, before: float) -> None:
        conn.execute("DELETE FROM recent_events WHERE ts < ?", (before,))

    def window(self, conn, *, card, account, since, until, before_seq=None) -> list[Row]:
        rows = conn.execute(
            "SELECT id, ts, kind, data FROM recent_events WHERE ((card = ? AND CAST(? AS TEXT) IS NOT NULL)"
            " OR (account = ? AND CAST(? AS TEXT) IS NOT NULL)) AND ts >= ? AND ts <= ? ORDER BY ts, id",
            (card, card, account, account, since, until),
        ).fetchall()
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def closed(self, conn, orders, *, card, account, since, until) -> set[str]:
        marks = ",".join("?" * len(orders))
        order = "json_extract(data, '$.order')" if isinstance(conn, sqlite3.Connection) else "(data::json ->> 'order')"
        rows = conn.execute(
            f"SELECT data FROM recent_events WHERE kind IN {CLOSING} AND {order} IN ({marks})",
            list(orders),
        )
        return {json.loads(r[0])["order"] for r in rows}


class LogHistory:
    """Reads the decision service's log (a handle of its own, or one shared under its lock)."""

    keeps = False

    def __init__(self, events: EventLog):
        self.events = events

    def record(self, conn, rows) -> None:
        pass  # the log has them

    def prune(self, conn, *, before) -> None:
        pass

    def _entries(self, card, account, since, until, before_seq) -> list[LogEntry]:
        found: dict[int, LogEntry] = {}
        for entity, value in (("card", card), ("account", account)):
            if value:
                for e in self.events.search(
                    entity,
                    value,
                    since=since,
                    until=math.nextafter(until, math.inf),
                    before_seq=before_seq,
                    limit=WINDOW_LIMIT,
                ):
                    if not (b'"duplicate":true' in e.decision and orjson.loads(e.decision).get("duplicate")):
                        found[e.seq] = e  # (a duplicate is not kept in the table either)
        return sorted(found.values(), key=lambda e: (e.ts, e.event_id))

    def window(self, conn, *, card, account, since, until, before_seq=None) -> list[Row]:
        return [
            (e.event_id, e.ts, e.kind, orjson.loads(e.event))
            for e in self._entries(card, account, since, until, before_seq)
        ]

    def closed(self, conn, orders, *, card, account, since, until) -> set[str]:
        # as far back as the table keeps events: two lookbacks
        wanted = set(orders)
        out = set()
        for e in self._entries(card, account, since - (until - since), until, None):
            if e.kind in CLOSING:
                order = orjson.loads(e.event).get("order")
                if order in wanted:
                    out.add(order)
        return out
