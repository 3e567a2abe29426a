"""Retention: what is past it goes; nothing of an open case, nor of a dispute within its
deadlines, is ever purged."""

from __future__ import annotations

import subprocess
import sys
import time

import yaml

from fraudwatch.actions import outbox
from fraudwatch.actions.db import Database
from fraudwatch.cases import disputes, store
from fraudwatch.cases.attachments import save_blob
from fraudwatch.cases.episodes import open_or_join
from fraudwatch.cases.retention import Retention, purge
from fraudwatch.cases.service import queue, transition
from fraudwatch.cases.settings import CasesSettings

DAY = 86400.0
NOW = time.time()


def _case(conn, name, *, closed_days_ago=None, dispute_deadline=None):
    e = open_or_join(
        conn,
        event_id=f"ev-{name}",
        ts=NOW - 500 * DAY,
        kind="payment.attempt",
        card=f"tok_{name}",
        outcome="block",
        window=DAY,
        now=NOW - 500 * DAY,
    )
    queue(conn, e.id, trigger="review", settings=CasesSettings(), now=NOW - 500 * DAY)
    outbox.enqueue(
        conn,
        id=f"msg-{name}",
        channel="webhook",
        destination="default",
        type="action.suspend_card",
        payload={},
        now=NOW - 500 * DAY,
        incident=e.id,
    )
    conn.execute("UPDATE outbox SET status = 'delivered' WHERE id = ?", (f"msg-{name}",))
    store.add_attachment(
        conn,
        {
            "case_id": e.id,
            "sha256": "ab" * 32,
            "name": "x",
            "content_type": "text/plain",
            "size": 1,
            "at": NOW,
            "actor": "t",
        },
    )
    if dispute_deadline is not None:
        d = disputes.open_dispute(
            conn,
            case_id=e.id,
            opened_by=f"cb-{name}",
            payment=f"ev-{name}",
            at=dispute_deadline - 30 * DAY,
            amount=1,
            currency="JPY",
            scheme="visa",
            reason_code="10.4",
            acquirer=None,
            actor="t",
            now=NOW,
        )
        disputes.move(conn, d.id, "pre_arbitration", at=dispute_deadline - 30 * DAY, actor="t", now=NOW)
    if closed_days_ago is not None:
        transition(conn, e.id, "closed", actor="t", now=NOW - closed_days_ago * DAY)
    return e.id


def test_purge_keeps_open_cases_and_disputes_within_their_deadlines(tmp_path):
    db = Database(str(tmp_path / "cases.db"))
    save_blob(tmp_path / "attachments", b"x")
    with db.unit_of_work() as conn:
        old = _case(conn, "old", closed_days_ago=500)
        recent = _case(conn, "recent", closed_days_ago=10)
        still_open = _case(conn, "open")
        in_dispute = _case(conn, "dispute", closed_days_ago=500, dispute_deadline=NOW + 5 * DAY)
        outbox.enqueue(
            conn,
            id="msg-loose",
            channel="email",
            destination="a@b",
            type="alert.usage",
            payload={},
            now=NOW - 200 * DAY,
        )
        conn.execute("UPDATE outbox SET status = 'dead' WHERE id = 'msg-loose'")
    counts = purge(db, Retention(), now=NOW, dry_run=True)
    assert counts == {"cases": 1, "outbox": 2, "alerts": 0}
    assert purge(db, Retention(), now=NOW)["cases"] == 1
    conn = db.connection()
    left = {r[0] for r in conn.execute("SELECT id FROM cases")}
    assert left == {recent, still_open, in_dispute} and old not in left
    assert not store.events_of(conn, old) and not store.log_of(conn, old) and not store.attachments_of(conn, old)
    assert {r[0] for r in conn.execute("SELECT id FROM outbox")} == {"msg-recent", "msg-open", "msg-dispute"}
    assert (tmp_path / "attachments").exists() and not list((tmp_path / "attachments").glob("*/*"))


def test_the_purge_command_reads_the_settings(tmp_path):
    config = tmp_path / "fraudwatch.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "cases": {"retention": {"cases": "30d"}}}))
    db = Database(str(tmp_path / "data" / "fraudwatch-actions.db"))
    with db.unit_of_work() as conn:
        _case(conn, "gone", closed_days_ago=40)
    out = subprocess.run(
        [sys.executable, "-m", "fraudwatch.cli", "cases", "purge", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "deleted: cases=1" in out.stdout
