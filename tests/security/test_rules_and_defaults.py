"""Findings 5-8 of the hostile review: slow regexes, unknown names in rules, development
defaults in production, audit gaps."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SLOW = [r".*.*.*.*=", r"\d+\d+\d+x", r"(a+)+$", r"(a|aa)*b", r"(.*a){12}"]


@pytest.mark.parametrize("pattern", SLOW)
def test_a_backtracking_regex_cannot_hold_an_event(pattern):
    """Every pattern is refused or matched in linear time: 1,000 characters, well under a second
    (a subprocess, so that a regression fails the test instead of hanging it)."""
    code = f"""
import time
from fraudwatch.rules import RuleSet
from fraudwatch.rules.context import Context
from types import SimpleNamespace
try:
    rs = RuleSet.parse("rule r:\\n    block if event.email matches {pattern!r}")
except Exception as exc:
    print("refused", exc)
    raise SystemExit(0)
started = time.perf_counter()
rs.evaluate(Context(event=SimpleNamespace(kind="payment.attempt", email="a" * 999 + "1"), features={{}}))
print("matched in", time.perf_counter() - started)
assert time.perf_counter() - started < 0.5
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_check_lists_every_unknown_feature_list_and_model_name(tmp_path):
    path = tmp_path / "typos.rules"
    path.write_text(
        "rule a:\n  block if card.insufficient_funds_24hh >= 3 and event.ip in @blocked_ipz\n"
        "rule b:\n  review if model.scoer > 0.5 or card.same_amount_24 >= 2\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "fraudwatch.cli", "rules", "check", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 1
    for unknown, hint in [
        ("unknown feature 'card.insufficient_funds_24hh'", "did you mean card.insufficient_funds_24h?"),
        ("unknown list '@blocked_ipz'", "did you mean @blocked_ips?"),
        ("unknown model output 'model.scoer'", "did you mean model.score?"),
        ("unknown feature 'card.same_amount_24'", "did you mean card.same_amount_24h?"),
    ]:
        assert unknown in done.stderr and hint in done.stderr, done.stderr
    assert f"{path}: 4 errors" in done.stderr


def test_the_api_refuses_rules_reading_unknown_names(server):
    with server.client(server.keys["admin"]) as admin:
        text = "rule a:\n  block if card.insufficient_funds_24hh >= 3 and event.ip in @no_such_list\n"
        for route in ("/v1/rules/validate", "/v1/rules/versions"):
            r = admin.post(route, json={"text": text})
            assert r.status_code == 422, r.text
            messages = [e["msg"] for e in r.json()["errors"]]
            assert messages == ["unknown feature 'card.insufficient_funds_24hh'", "unknown list '@no_such_list'"]
            assert r.json()["errors"][0]["hint"] == "did you mean card.insufficient_funds_24h?"
        assert admin.put("/v1/lists/no_such_list", json={"values": []}).status_code == 200
        ok = admin.post("/v1/rules/validate", json={"text": text.replace("24hh", "24h")})
        assert ok.status_code == 200, ok.text


def test_serve_refuses_placeholder_secrets_unless_dev(tmp_path):
    import signal
    import time

    import httpx

    from api.conftest import FRAUDWATCH, free_port

    env = _production_env(tmp_path)
    port = str(free_port())
    done = subprocess.run([*FRAUDWATCH, "serve", "--port", port], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "FRAUDWATCH_SECURITY__TOKEN_KEY" in done.stderr and "token_urlsafe" in done.stderr, done.stderr
    assert "--dev" in done.stderr
    with open(tmp_path / "serve.log", "wb") as log:  # (a pipe nobody reads could stall the server)
        dev = subprocess.Popen([*FRAUDWATCH, "serve", "--port", port, "--dev"], env=env, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("serve --dev did not start: " + (tmp_path / "serve.log").read_text()[-2000:])
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(30)
        except subprocess.TimeoutExpired:  # a slow shutdown on a loaded machine is not what this tests
            dev.kill()
            dev.wait(10)


def _production_env(tmp_path) -> dict[str, str]:
    """The environment of a fresh install: no FRAUDWATCH_ variable (env: production, no secrets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env["FRAUDWATCH_DATA_DIR"] = str(tmp_path)
    return env


def test_the_demo_runs_on_a_fresh_install_without_secrets(tmp_path):
    """The README's first command, under the production default: the demo runs the engine in
    process (no service, no keys, no links), so it needs no secret and no --dev."""
    from api.conftest import FRAUDWATCH

    args = ["demo", "--seconds", "0", "--cardholders", "60", "--days", "2"]
    done = subprocess.run(
        [*FRAUDWATCH, *args], env=_production_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "scenario" in done.stdout and "reseller" in done.stdout


def test_outbox_run_refuses_a_placeholder_webhook_secret_unless_dev(tmp_path):
    """The standalone dispatcher signs webhooks: in production it refuses a placeholder secret,
    as serve does, and names the variable; it needs no other secret (the token key is serve's)."""
    from api.conftest import FRAUDWATCH
    from fraudwatch.settings import PLACEHOLDER_SECRET

    env = _production_env(tmp_path)
    once = [*FRAUDWATCH, "outbox", "run", "--once"]
    alone = subprocess.run(once, env=env, capture_output=True, text=True, timeout=60)
    assert alone.returncode == 0 and "0 attempt(s) made" in alone.stdout, alone.stderr
    env["FRAUDWATCH_ACTIONS__WEBHOOKS__BANK__URL"] = "http://127.0.0.1:9/hooks"
    env["FRAUDWATCH_ACTIONS__WEBHOOKS__BANK__SECRET"] = PLACEHOLDER_SECRET
    refused = subprocess.run(once, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "refusing to send" in refused.stderr and "FRAUDWATCH_ACTIONS__WEBHOOKS__BANK__SECRET" in refused.stderr
    assert "TOKEN_KEY" not in refused.stderr and "--dev" in refused.stderr, refused.stderr
    dev = subprocess.run([*once, "--dev"], env=env, capture_output=True, text=True, timeout=60)
    assert dev.returncode == 0 and "0 attempt(s) made" in dev.stdout, dev.stderr


def test_import_of_a_real_history_refuses_the_placeholder_token_key(tmp_path, monkeypatch):
    """Under a known key, a card's token reverses to its number from the BIN and last 4: in
    production ``fraudwatch import`` refuses to tokenize with the placeholder; the handbook's
    public data (no card numbers) needs no key."""
    from click.testing import CliRunner

    from fraudwatch.cli import main

    from .conftest import PAN, clear_pans

    for name in [k for k in os.environ if k.startswith("FRAUDWATCH_")]:
        monkeypatch.delenv(name)
    (tmp_path / "history.csv").write_text(f"id,time,card,amount\np1,2026-11-21T13:00:00+09:00,{PAN},17600\n")
    (tmp_path / "mapping.yaml").write_text(
        "version: 1\nevents:\n  - kind: payment.attempt\n    fields: {id: id, time: time, pan: card, amount: amount, "
        "currency: {value: JPY}}\n"
    )
    out = tmp_path / "out" / "events.jsonl"
    out.parent.mkdir()
    args = ["import", str(tmp_path / "history.csv"), "--mapping", str(tmp_path / "mapping.yaml"), "--out", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code != 0 and "refusing to import" in refused.output, refused.output
    assert "FRAUDWATCH_SECURITY__TOKEN_KEY" in refused.output and "KEY_PEPPER" not in refused.output
    assert not out.exists()
    monkeypatch.setenv("FRAUDWATCH_SECURITY__TOKEN_KEY", "a-real-token-key-0123456789")
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["card_last4"] == PAN[-4:] and not clear_pans(out.parent)


def test_answer_link_alert_ids_are_keyed_macs_not_hashes_of_what_they_are_about(tmp_path):
    import hashlib

    from fraudwatch.actions.responder import Responder
    from fraudwatch.decisions import Decision, Outcome, RuleHit
    from fraudwatch.events import parse_event
    from fraudwatch.settings import ActionsSettings

    r = Responder(ActionsSettings(database=tmp_path / "a.db", link_key="k" * 32))
    e = parse_event(
        {"id": "e1", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt", "card": "tok_1", "amount": 1}
        | {"currency": "JPY"}
    )
    r.on_decision(e, Decision("e1", e.kind, e.time, Outcome.BLOCK, rules=[RuleHit("x", Outcome.BLOCK, {})]), now=e.ts)
    alert, episode = r.db.connection().execute("SELECT id, episode FROM alerts").fetchone()
    assert episode and alert not in (
        "al_" + hashlib.sha256(b"e1").hexdigest()[:20],
        "al_" + hashlib.sha256(f"episode:{episode}".encode()).hexdigest()[:20],
    )
    other = Responder(ActionsSettings(database=tmp_path / "b.db", link_key="x" * 32))
    other.on_decision(e, Decision("e1", e.kind, e.time, Outcome.BLOCK, rules=[RuleHit("x", Outcome.BLOCK, {})]))
    assert other.db.connection().execute("SELECT id FROM alerts").fetchone()[0] != alert
    r.close()
    other.close()


def test_data_files_are_the_owners_only(server):
    written = [p for p in server.data_dir.rglob("*") if p.name.startswith("fraudwatch")]  # the server's own
    assert len(written) >= 3
    for path in written:
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_changes_of_behaviour_and_destinations_are_audited_with_the_key_id(server):
    with server.client(server.keys["admin"]) as admin:
        key_id = next(k["key_id"] for k in admin.get("/v1/keys").json()["keys"] if k["name"] == "ops")
        assert admin.put("/v1/alerts/subscriptions/tok_audit", json={"email": "a@example.jp"}).status_code == 200
        assert admin.delete("/v1/alerts/subscriptions/tok_audit").status_code == 204
        assert admin.post("/v1/outbox/dead-letters/retry").status_code == 200
        assert admin.put("/v1/lists/audit_list", json={"values": ["x"]}).status_code == 200
        audit = admin.get("/v1/audit?limit=1000").json()["items"]
    done = {(a["action"], a["target"]): a["actor"] for a in audit}
    for action, target in [
        ("alerts.subscription.set", "subscriptions/tok_audit"),
        ("alerts.subscription.delete", "subscriptions/tok_audit"),
        ("outbox.retry_dead", "outbox"),
        ("lists.replace", "lists/audit_list"),
    ]:
        assert done.get((action, target)) == f"key:{key_id} (ops)", (action, done)


def test_model_changes_through_the_cli_are_audited(tmp_path):
    from click.testing import CliRunner

    from fraudwatch.cli import main

    for name in ("m1", "m2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.txt").write_text("tree\n")
    runner = CliRunner()
    for args in (["promote", "m1"], ["promote", "m2"], ["rollback"]):
        done = runner.invoke(main, ["models", args[0], "--models", str(tmp_path), *args[1:]])
        assert done.exit_code == 0, done.output
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["action"] for r in records] == ["models.promote", "models.promote", "models.rollback"]
    assert records[-1]["before"] == {"m2": "champion"} and records[-1]["after"] == {"m1": "champion"}
    assert all(r["actor"].startswith("cli") for r in records)
