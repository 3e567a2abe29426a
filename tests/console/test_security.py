"""The console's security over HTTP, against the demo server: pages need a session; the
session cookie's attributes; every form refuses a missing or wrong CSRF token; an analyst
gets 403 from every admin form; no open redirect; sign-out and key revocation end a session."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from fraudwatch.console.views import router
from fraudwatch.console.web import routes

from .helpers import session_client

# forms any signed-in user may send (analysts work cases); every other POST under /console is for admins
EVERYONE = {"/console/signin", "/console/signout", "/console/preferences"}
PAGES = ("/console", "/console/queue", "/console/dashboards", "/console/rules", "/console/lists", "/console/models")


def _concrete(path: str) -> str:
    """A route's path with its parameters filled in."""
    values = {"version": "v1", "name": "blocked_ips", "job_id": "bt_0", "entity": "card", "value": "tok_x"}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


POSTS = sorted({_concrete(path) for path, methods in routes(router) if "POST" in methods})
CASE_FORMS = [p for p in POSTS if p.startswith(("/console/cases/", "/console/disputes/"))]
ADMIN_FORMS = [p for p in POSTS if p not in EVERYONE and p not in CASE_FORMS]


def test_the_forms_are_known():
    assert "/console/rules/save" in ADMIN_FORMS and "/console/lists/blocked_ips/save" in ADMIN_FORMS
    assert len(ADMIN_FORMS) >= 12
    assert "/console/cases/x/verdict" in CASE_FORMS and "/console/disputes/x/moves" in CASE_FORMS
    assert len(CASE_FORMS) >= 9


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_session(demo, path):
    with httpx.Client(base_url=demo.base, follow_redirects=False) as client:
        page = client.get(path)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/signin?next=")
        for json_path in ("/console/backtests/bt_0.json", "/console/queue.json"):
            assert client.get(json_path).status_code == 401


def test_the_session_cookie(demo):
    with httpx.Client(base_url=demo.base, follow_redirects=False) as client:
        page = client.get("/console/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        signed = client.post("/console/signin", data={"key": demo.analyst_key, "csrf": token})
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("fw_console="))
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "samesite", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower() and "path=/console" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; set over TLS
    assert demo.analyst_key not in cookie


def test_sign_in_refuses_a_missing_csrf_token_and_keys_without_the_scope(demo):
    with httpx.Client(base_url=demo.base, follow_redirects=False) as client:
        client.get("/console/signin")
        assert client.post("/console/signin", data={"key": demo.analyst_key}).status_code == 403
        assert client.post("/console/signin", data={"key": demo.analyst_key, "csrf": "forged"}).status_code == 403
    with demo.api(demo.admin_key) as api:
        reader = api.post("/v1/keys", json={"name": "reader", "scopes": ["read"]}).json()["key"]
    with httpx.Client(base_url=demo.base, follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/signin").text).group(1)
        refused = client.post("/console/signin", data={"key": reader, "csrf": token})
        assert refused.status_code == 403 and "neither the analyst nor the admin scope" in refused.text


@pytest.mark.parametrize("path", ADMIN_FORMS)
def test_an_analyst_gets_403_from_every_admin_form(demo, path):
    client, csrf = session_client(demo, demo.analyst_key)
    done = client.post(path, data={"csrf": csrf, "comment": "test", "text": "", "values": "x", "mode": "shadow"})
    assert done.status_code == 403, (path, done.status_code)
    assert "only an admin" in done.text


@pytest.mark.parametrize("path", [*ADMIN_FORMS, *CASE_FORMS, "/console/signout", "/console/preferences"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(demo, path):
    client, _ = session_client(demo, demo.admin_key)
    for fields in ({}, {"csrf": "not-the-token"}):
        done = client.post(path, data={**fields, "comment": "test", "text": "rule x:\n allow if true\n"})
        assert done.status_code == 403, (path, fields, done.status_code)
    assert client.get("/console/rules").status_code == 200  # still signed in: nothing was done


def test_no_redirect_out_of_the_console(demo):
    with httpx.Client(base_url=demo.base, follow_redirects=False) as client:
        for target in ("//evil.example/", "https://evil.example/", "/console\\@evil.example"):
            token = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/signin").text).group(1)
            done = client.post("/console/signin", data={"key": demo.analyst_key, "csrf": token, "next": target})
            assert done.headers["location"] == "/console", target


def test_sign_out_and_revocation_end_the_session(demo):
    client, csrf = session_client(demo, demo.analyst_key)
    cookie = client.cookies.get("fw_console")
    assert client.post("/console/signout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=demo.base, follow_redirects=False, cookies={"fw_console": cookie}) as again:
        assert again.get("/console/rules").status_code == 303  # the old cookie is dead on the server
    with demo.api(demo.admin_key) as api:
        made = api.post("/v1/keys", json={"name": "leaving", "scopes": ["analyst"]}).json()
        client, _ = session_client(demo, made["key"])
        assert client.get("/console/rules").status_code == 200
        assert api.delete(f"/v1/keys/{made['key_id']}").status_code == 200
        time.sleep(1.2)  # keys are cached for a second
        assert client.get("/console/rules").status_code == 303


def test_security_headers(demo):
    client, _ = session_client(demo, demo.analyst_key)
    page = client.get("/console/dashboards")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert "app;dur=" in page.headers["server-timing"]
