"""The dashboards page: every plot for one range of event time (the last hour, day, week,
month, or dates of the user's choosing, in their time zone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from fraudwatch.console import case_views, dashboards
from fraudwatch.console.rule_views import parse_local
from fraudwatch.console.web import Page, Viewer, console, render, svg
from fraudwatch.errors import ValidationFailed

router = APIRouter()


@router.get("/dashboards")
def dashboards_page(
    request: Request,
    session: Viewer,
    range: Annotated[str | None, Query(max_length=8)] = None,
    since: Annotated[str | None, Query(max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
):
    page = Page(request, session)
    db = console(request).db
    latest = db.position()[2]
    start_ts = end_ts = None
    error = None
    if since and until:
        try:
            start_ts, end_ts = parse_local(since, page.timezone), parse_local(until, page.timezone)
        except ValidationFailed as exc:
            error = str(exc)
    start, end, name = dashboards.pick_range(range, start_ts, end_ts, latest)
    figures = dashboards.build(db.connection(), start, end, page.timezone, page.t)
    plots = {k: svg(v) for k, v in figures.items() if isinstance(v, str) and v.startswith("<svg")}
    # the review queue as it is now (the cases domain's figures; wall time, not the range)
    queue = case_views.queue_plots(request, session, page.t)
    plots["queue"] = queue["queue"]
    figures["queue_stats"] = queue["queue_stats"]
    from datetime import datetime

    from fraudwatch.console.i18n import zone

    tz = zone(page.timezone)
    return render(
        request,
        "dashboards.html",
        plots=plots,
        figures=figures,
        range_name=name,
        ranges=list(dashboards.RANGES),
        since=datetime.fromtimestamp(start, tz).strftime("%Y-%m-%dT%H:%M"),
        until=datetime.fromtimestamp(end, tz).strftime("%Y-%m-%dT%H:%M"),
        latest=latest,
        error=error,
    )
