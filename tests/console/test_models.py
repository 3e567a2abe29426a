"""Models in the console, over HTTP as a browser's forms send them: the registry the demo
trained (a champion and a challenger), a promotion with its comment (applied to the
running service and audited), and a rollback that puts the roles back."""

from __future__ import annotations

import re

from .helpers import session_client


def _roles(api) -> dict:
    body = api.get("/v1/models").json()
    return {"champion": body["champion"], "challengers": body["challengers"]}


def test_the_registry_is_shown_and_a_promotion_is_applied_audited_and_rolled_back(demo):
    client, csrf = session_client(demo, demo.admin_key)
    with demo.api(demo.admin_key) as api:
        before = _roles(api)
        assert before["champion"] and before["challengers"], before
        challenger = before["challengers"][0]
        page = client.get("/console/models")
        assert page.status_code == 200
        assert f"<code>{before['champion']}</code>" in page.text and f"<code>{challenger}</code>" in page.text
        assert f'action="/console/models/{challenger}/promote"' in page.text

        refused = client.post(f"/console/models/{challenger}/promote", data={"csrf": csrf, "comment": ""})
        assert refused.status_code == 422
        assert _roles(api) == before

        promoted = client.post(
            f"/console/models/{challenger}/promote", data={"csrf": csrf, "comment": "challenger won a week"}
        )
        assert promoted.status_code == 303
        assert _roles(api)["champion"] == challenger
        audit = api.get("/v1/audit", params={"limit": 1000}).json()["items"]
        assert any(
            r["action"] == "models.promote" and r["after"].get("comment") == "challenger won a week" for r in audit
        )

        rolled = client.post("/console/models/rollback", data={"csrf": csrf, "comment": "back"})
        assert rolled.status_code == 303
        assert _roles(api)["champion"] == before["champion"]
        if challenger not in _roles(api)["challengers"]:  # the promotion ended its challenge: restore it
            again = client.post(f"/console/models/{challenger}/challenger", data={"csrf": csrf, "comment": "restore"})
            assert again.status_code == 303
        assert _roles(api) == before


def test_an_analyst_sees_the_registry_without_its_forms(demo):
    client, _ = session_client(demo, demo.analyst_key)
    page = client.get("/console/models")
    assert page.status_code == 200
    assert not re.search(r'action="/console/models/[^"]+/promote"', page.text)
