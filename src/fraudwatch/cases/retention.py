"""Retention: ``fraudwatch cases purge`` deletes what is past ``cases.retention``.

* closed cases (with their events, log, disputes, money and attachments), counted from
  when they closed;
* delivered or dead outbox messages, counted from when they were made;
* answered or expired alerts, counted from when they were raised.

Never purged: anything of a case that is not closed (its messages and alerts included),
and a case with a dispute still open or within a stage deadline.

>>> Retention().cases / 86400
400.0
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.actions import Duration
from fraudwatch.cases import store

_DAY = 86400.0


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cases: Duration = Field(400 * _DAY, description="closed cases, from their closing")
    outbox: Duration = Field(90 * _DAY, description="delivered or dead messages, from their making")
    alerts: Duration = Field(90 * _DAY, description="answered or expired alerts, from their raising")


def purge(db, retention: Retention, *, now: float, dry_run: bool = False) -> dict[str, int]:
    """Delete (or with ``dry_run`` count) what is past retention, in one unit of work; then
    the attachment files nothing refers to any more."""
    from pathlib import Path

    from fraudwatch.cases.attachments import purge_unreferenced

    with db.unit_of_work() as conn:
        counts = store.purge(
            conn,
            cases_before=now - retention.cases,
            outbox_before=now - retention.outbox,
            alerts_before=now - retention.alerts,
            now=now,
            dry_run=dry_run,
        )
        if not dry_run:
            counts["files"] = purge_unreferenced(conn, Path(db.path).resolve().parent / "attachments")
    return counts
