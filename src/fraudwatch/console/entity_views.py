"""The entity view: a card, account, device or IP with its link graph, what stands out,
its feature values as of its latest event, the named lists it is on, and its recent
events with their decisions (newest first, paged)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request

from fraudwatch.console import graph
from fraudwatch.console.web import Page, Viewer, console, render, svg
from fraudwatch.errors import NotFound

router = APIRouter()
PAGE = 50

EntityType = Annotated[str, Path(pattern="^(card|account|device|ip)$")]


@router.get("/entities/{entity}/{value:path}")
def entity_page(
    request: Request,
    entity: EntityType,
    value: Annotated[str, Path(min_length=1, max_length=256)],
    session: Viewer,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
):
    state = request.app.state
    conn = console(request).db.connection()
    g = graph.neighbourhood(conn, entity, value)
    entries = state.storage.events.search(entity, value, before_seq=before, limit=PAGE)
    if not entries and before is None and not g.centre.events:
        raise NotFound(f"no {entity} {value!r} in the log")
    rows = []
    latest_features: dict = {}
    details: dict = {}
    for entry in entries:
        event = orjson.loads(entry.event)
        decision = orjson.loads(entry.decision)
        if not latest_features and decision.get("features"):
            latest_features = {"at": entry.ts, "event": entry.event_id, "values": decision["features"]}
        if entity == "card" and not details and event.get("card_last4"):
            details = {k: event[k] for k in ("card_bin", "card_last4", "card_type", "card_country") if event.get(k)}
        rows.append({"entry": entry, "event": event, "decision": decision})
    prefix = f"{entity}."
    features = sorted(
        (k, v) for k, v in (latest_features.get("values") or {}).items() if k.startswith(prefix) and v is not None
    )
    lists = state.service.engine.lists if state.service.engine is not None else None
    on_lists = [name for name in (lists.names() if lists else []) if lists.contains(name, value)]
    labels = dict(
        conn.execute(
            f"SELECT target, fraud FROM labels WHERE target IN ({','.join('?' * len(entries))})",
            [e.event_id for e in entries],
        ).fetchall()
        if entries
        else []
    )
    picture = graph.draw(g, Page(request, session).t)
    return render(
        request,
        "entity.html",
        entity=entity,
        value=value,
        graph=g,
        picture=svg(picture),
        rows=rows,
        labels=labels,
        features=features,
        features_at=latest_features.get("at"),
        features_event=latest_features.get("event"),
        details=details,
        on_lists=on_lists,
        older=entries[-1].seq if len(entries) == PAGE else None,
    )
