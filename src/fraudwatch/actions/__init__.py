"""Actions: cardholder alerts with a two-way "was this you?", automated responses, and
their reliable delivery (signed webhooks and e-mail through a persisted outbox).

Entry points: ``Responder.on_decision(event, decision)`` after every decision,
``Responder.suppressions`` for the engine, ``fraudwatch.actions.views.router`` for the
service, ``fraudwatch outbox ...`` for operators. See docs/alerts.md.

Names are imported on first use, so the engine can import
``fraudwatch.actions.suppression`` (pure) without the database and HTTP parts.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ACTIONS": "policy",
    "Duration": "policy",
    "parse_duration": "policy",
    "Database": "db",
    "format_amount": "messages",
    "make_link": "signing",
    "read_link": "signing",
    "TokenInvalid": "signing",
    "Policy": "policy",
    "PolicyError": "policy",
    "default_policy": "policy",
    "load_policy": "policy",
    "Containment": "containment",
    "AnswerResult": "answering",
    "Responder": "responder",
    "started_responder": "responder",
    "responder_for": "views",
    "SignatureInvalid": "signing",
    "sign_webhook": "signing",
    "verify_webhook": "signing",
    "MODEL_RULE": "suppression",
    "Suppression": "suppression",
    "SuppressionSet": "suppression",
    "apply_suppressions": "suppression",
}
# the actions section of the one settings tree (fraudwatch.settings), for convenience
_SETTINGS = ("ActionsSettings", "SmtpSettings", "WebhookEndpoint")
__all__ = sorted([*_EXPORTS, *_SETTINGS])


def __getattr__(name: str):
    if name in _SETTINGS:
        return getattr(importlib.import_module("fraudwatch.settings"), name)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudwatch.actions' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"fraudwatch.actions.{module}"), name)
    globals()[name] = value
    return value
