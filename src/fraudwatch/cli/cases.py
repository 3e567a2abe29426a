"""``fraudwatch cases list|show|claim|assign|note|verdict|export|purge``.

The working commands talk to the running service over HTTP, as the console and any
client do (so the labels of a verdict go through its engine, and every change is audited
under the key's name): ``--url`` (default ``$FRAUDWATCH_URL`` or http://127.0.0.1:8000) and
``--key`` (default ``$FRAUDWATCH_API_KEY``; a key with the ``analyst`` scope). ``purge``
works on the database files (run it with the service's settings).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

_url = click.option("--url", envvar="FRAUDWATCH_URL", default="http://127.0.0.1:8000", show_default=True)
_key = click.option("--key", envvar="FRAUDWATCH_API_KEY", help="API key with the analyst scope ($FRAUDWATCH_API_KEY)")


def _call(url: str, key: str | None, method: str, path: str, **kw):
    import httpx

    if not key:
        raise click.ClickException("no API key: give --key or set FRAUDWATCH_API_KEY")
    try:
        r = httpx.request(method, url.rstrip("/") + path, headers={"Authorization": f"Bearer {key}"}, timeout=30, **kw)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{url}: {exc}") from None
    if r.status_code >= 400:
        try:
            errors = r.json().get("errors") or [{"loc": "", "msg": r.text}]
        except ValueError:
            errors = [{"loc": "", "msg": r.text}]
        text = "; ".join(f"{e['loc']}: {e['msg']}" if e.get("loc") else e["msg"] for e in errors)
        raise click.ClickException(f"{r.status_code}: {text}")
    return r


def _when(ts) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) + "Z"


@click.group("cases")
def cases_group() -> None:
    """The review queue: list, show, claim, assign, note, verdict, export; purge old data."""


@cases_group.command("list")
@_url
@_key
@click.option("--status", multiple=True, help="open, in_review, monitoring, recovering, closed (default: the queue)")
@click.option("--assignee", help="an analyst, or 'me'")
@click.option("--rule")
@click.option("--card")
@click.option("--account")
@click.option("--min-amount", type=int, help="at least this amount at risk (minor units)")
@click.option("--min-age", help="queued at least this long ago: 4h, 2d")
@click.option("--overdue", is_flag=True, help="only cases past their due date")
@click.option("--sort", default="priority", show_default=True)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(
    url, key, status, assignee, rule, card, account, min_amount, min_age, overdue, sort, limit, as_json
) -> None:
    """The queue, most urgent first."""
    params = {
        "status": list(status),
        "assignee": assignee,
        "rule": rule,
        "card": card,
        "account": account,
        "min_amount": min_amount,
        "min_age": min_age,
        "overdue": overdue,
        "sort": sort,
        "limit": limit,
    }
    data = _call(url, key, "GET", "/v1/cases", params={k: v for k, v in params.items() if v}).json()
    if as_json:
        click.echo(json.dumps(data["cases"], indent=2))
        return
    if not data["cases"]:
        click.echo("no cases")
    for c in data["cases"]:
        who = c["assignee"] or "-"
        click.echo(
            f"{c['reference']}  {c['status']:10} {c['priority']:8} due {_when(c['due_at'])}  {c['trigger'] or '-':21}"
            f" {c['amount_at_risk']:>10} {c['currency'] or '':3}  {who:12} {c['card'] or c['account'] or ''}"
        )


@cases_group.command("show")
@_url
@_key
@click.argument("case")
@click.option("--json", "as_json", is_flag=True)
def show(url, key, case, as_json) -> None:
    """A case file: the case and its timeline."""
    data = _call(url, key, "GET", f"/v1/cases/{case}/file").json()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    c = data["case"]
    click.echo(
        f"{c['reference']} ({c['id']})  {c['status']}  priority {c['priority']}  assignee {c['assignee'] or '-'}"
    )
    click.echo(
        f"card {c['card'] or '-'}  account {c['account'] or '-'}  at risk {c['amount_at_risk']} {c['currency'] or ''}"
    )
    e = data["episode"]["attacker"]
    click.echo(f"attacker devices {', '.join(e['devices']) or '-'}  IPs {', '.join(e['ips']) or '-'}")
    for t in data["timeline"]:
        click.echo(f"  {_when(t['at'])}  {t['type']:12} {_line(t)}")


def _line(t: dict) -> str:
    """One timeline entry in a line: what it is about, and its outcome, status or text."""
    if t["type"] in ("event", "context"):
        decision = t.get("decision") or {}
        rules = ", ".join(h["rule"] for h in decision.get("rules", []))
        outcome = t.get("outcome") or decision.get("outcome") or ""
        return f"{t['event_id']:16} {t['event'].get('kind', ''):24} {outcome} {rules}"
    if t["type"] == "message":
        return f"{t['message_type']:40} {t['status']}"
    if t["type"] == "dispute":
        return f"{t['scheme']} {t['stage']} until {_when(t['deadline'])} {t.get('move') or ''}"
    if t["type"] in ("alert", "answer"):
        return f"{t['event_id']:16} {t.get('answer') or t.get('outcome') or ''}"
    data = t.get("data", {})
    detail = (
        data.get("text") or (f"{data['from']} -> {data['to']}" if "to" in data else "") or data.get("verdict") or ""
    )
    return f"{t.get('actor', '')}: {detail}"


@cases_group.command("claim")
@_url
@_key
@click.argument("case")
def claim(url, key, case) -> None:
    """Take an open case."""
    c = _call(url, key, "POST", f"/v1/cases/{case}/claim").json()
    click.echo(f"{c['reference']}: {c['status']} by {c['assignee']}")


@cases_group.command("assign")
@_url
@_key
@click.argument("case")
@click.argument("analyst")
def assign(url, key, case, analyst) -> None:
    """Hand a case to an analyst."""
    c = _call(url, key, "POST", f"/v1/cases/{case}/assign", json={"analyst": analyst}).json()
    click.echo(f"{c['reference']}: {c['status']} by {c['assignee']}")


@cases_group.command("note")
@_url
@_key
@click.argument("case")
@click.argument("text")
def note(url, key, case, text) -> None:
    """Add a note to a case."""
    _call(url, key, "POST", f"/v1/cases/{case}/notes", json={"text": text})
    click.echo("noted")


@cases_group.command("verdict")
@_url
@_key
@click.argument("case")
@click.argument("verdict", type=click.Choice(["fraud", "genuine"]))
@click.option(
    "--type",
    "fraud_type",
    type=click.Choice(["account_takeover", "stolen_card_number", "card_testing", "friendly_fraud", "other"]),
)
@click.option("--note", default="")
def verdict(url, key, case, verdict, fraud_type, note) -> None:
    """Fraud (with --type) or genuine; labels go to the engine."""
    body = {"verdict": verdict, "note": note, **({"fraud_type": fraud_type} if fraud_type else {})}
    c = _call(url, key, "POST", f"/v1/cases/{case}/verdict", json=body).json()
    click.echo(f"{c['reference']}: {c['verdict']} -> {c['status']} ({len(c['labels'])} labels)")


@cases_group.command("export")
@_url
@_key
@click.argument("case")
@click.option("--format", "fmt", type=click.Choice(["file", "evidence-json", "evidence-html"]), default="file")
@click.option("--payment", help="the disputed payment (evidence; default: the first dispute's)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="default: standard output")
def export(url, key, case, fmt, payment, out) -> None:
    """The case file (JSON) or its evidence pack (JSON or printable HTML)."""
    if fmt == "file":
        text = json.dumps(_call(url, key, "GET", f"/v1/cases/{case}/file").json(), indent=2)
    else:
        params = {"format": "html" if fmt == "evidence-html" else "json", **({"payment": payment} if payment else {})}
        r = _call(url, key, "GET", f"/v1/cases/{case}/evidence", params=params)
        text = r.text if fmt == "evidence-html" else json.dumps(r.json(), indent=2)
    if out:
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
    else:
        sys.stdout.write(text + "\n")


@cases_group.command("purge")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="settings file")
@click.option("--dry-run", is_flag=True, help="count what would go, change nothing")
def purge(config, dry_run) -> None:
    """Delete what is past its retention (cases.retention): closed cases, delivered or dead
    messages, answered or expired alerts. Nothing of an open case, nor of a dispute within
    its deadlines, is ever purged."""
    from fraudwatch.actions.db import Database
    from fraudwatch.cases.retention import purge as run_purge
    from fraudwatch.settings import load_settings

    settings = load_settings(config)
    db = Database(str(settings.actions_resolved().database))
    counts = run_purge(db, settings.cases.retention, now=time.time(), dry_run=dry_run)
    click.echo(("would delete: " if dry_run else "deleted: ") + ", ".join(f"{k}={v}" for k, v in counts.items()))


commands = [cases_group]
