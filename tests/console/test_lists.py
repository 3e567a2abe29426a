"""Lists in the console, over HTTP as a browser's forms send them: a backtest of an edited
list, then saving it with a comment (audited, applied to the running engine), then a
rollback."""

from __future__ import annotations

import re
import sqlite3
import time

from .helpers import session_client
from .test_browser import BACKTEST_WAIT


def _busiest_ip(demo) -> str:
    db = sqlite3.connect(demo.data_dir / "fraudwatch-console.db")
    try:
        return db.execute("SELECT id FROM nodes WHERE id LIKE 'ip:%' ORDER BY events DESC LIMIT 1").fetchone()[0][3:]
    finally:
        db.close()


def test_a_list_edit_is_backtested_saved_with_its_comment_and_rolled_back(demo):
    client, csrf = session_client(demo, demo.admin_key)
    ip = _busiest_ip(demo)
    started = client.post(
        "/console/lists/blocked_ips/backtest",
        data={"csrf": csrf, "values": f"{ip}\n", "since": "2026-10-01T00:00", "until": "2027-01-01T00:00"},
    )
    assert started.status_code == 303
    job = started.headers["location"]
    deadline = time.monotonic() + BACKTEST_WAIT
    while client.get(job + ".json").json()["state"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    page = client.get(job).text
    blocked = re.search(r"newly blocked</th>\s*<td class=\"num\">([\d,]+)</td>", page)
    assert blocked and int(blocked.group(1).replace(",", "")) > 0, page[:2000]
    assert "blocked_ip" in page  # the rule reading @blocked_ips is what changes
    saved = client.post(
        "/console/lists/blocked_ips/save", data={"csrf": csrf, "values": f"{ip}\n", "comment": "busiest IP"}
    )
    assert saved.status_code == 303
    with demo.api(demo.admin_key) as api:
        assert api.get("/v1/lists/blocked_ips").json()["values"] == [ip]
        audit = api.get("/v1/audit", params={"limit": 1000}).json()["items"]
        assert any(
            r["target"] == "lists/blocked_ips" and (r["after"] or {}).get("comment") == "busiest IP" for r in audit
        )
        # without a comment nothing is saved
        refused = client.post("/console/lists/blocked_ips/save", data={"csrf": csrf, "values": "", "comment": " "})
        assert refused.status_code == 422
        assert api.get("/v1/lists/blocked_ips").json()["values"] == [ip]
        rolled = client.post("/console/lists/blocked_ips/rollback", data={"csrf": csrf, "comment": "undo"})
        assert rolled.status_code == 303
        assert api.get("/v1/lists/blocked_ips").json()["values"] == []
