"""Builders shared by the actions tests."""

from __future__ import annotations

from datetime import UTC

from fraudwatch.actions import ActionsSettings, Responder
from fraudwatch.decisions import Decision, Outcome, RuleHit
from fraudwatch.events import parse_event

T0 = 1795233600.0  # 2026-11-21T13:00:00+09:00


def settings(tmp_path, *, receiver=None, mailbox=None, public_url="http://127.0.0.1:9", **retry):
    data = {
        "database": str(tmp_path / "actions.db"),
        "public_url": public_url,
        "link_key": "answer-links-key-0123456789abcdef",
        "retry": {"base_delay": 0.02, "max_delay": 0.2, "poll_interval": 0.02, "lease": 5.0, **retry},
    }
    if receiver is not None:
        data["webhooks"] = {"default": {"url": receiver.url, "secret": receiver.secret.decode()}}
    if mailbox is not None:
        data["smtp"] = {"host": "127.0.0.1", "port": mailbox.port, "sender": "alerts@fraudwatch.test"}
    return ActionsSettings.model_validate(data)


def event(id: str, kind: str = "payment.attempt", *, at: float = T0, **fields):
    from datetime import datetime

    base = {"id": id, "kind": kind, "time": datetime.fromtimestamp(at, UTC).isoformat()}
    if kind == "payment.attempt":
        base.update(card="tok_1", account="acct_1", amount=1000, currency="JPY", merchant="giftshop", card_last4="4242")
    base.update(fields)
    return parse_event(base)


def decision(e, outcome: str, *rules: str) -> Decision:
    o = Outcome(outcome)
    return Decision(e.id, e.kind, e.time, o, rules=[RuleHit(r, o, {"x": 1}) for r in rules])


def responder(tmp_path, **kw) -> Responder:
    return Responder(settings(tmp_path, **kw))
