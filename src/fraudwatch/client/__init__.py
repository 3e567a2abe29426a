"""The fraudwatch client: send events from a checkout or an authorization system, get
decisions, apply cardholders' answers, manage alert subscriptions, verify webhooks.

It needs only fraudwatch's base dependencies (``pip install fraudwatch``; ``httpx`` is one
of them), nothing of the server. Events are checked before sending with the service's own
models, so a bad field raises :class:`EventInvalid` with the message the service would give.

>>> from fraudwatch.client import events
>>> e = events.payment_attempt(id="p1", time="2026-11-21T13:00:00+09:00", card="tok_1",
...                            amount=17600, currency="JPY")
>>> e.data["kind"], e.data["amount"]
('payment.attempt', 17600)
>>> events.payment_attempt(amount=17600, currency="yen")
Traceback (most recent call last):
...
fraudwatch.client.events.EventInvalid: currency: String should match pattern '^[A-Z]{3}$'

With a running service (``docs/first-week.md``)::

    with Client("http://127.0.0.1:8000", key) as fw:
        decision = fw.decide(e)              # at most 0.3 s, then the fallback decision
        if decision.outcome == "block": ...
        if decision.review: ...              # a fallback or a review outcome: queue it
"""

from fraudwatch.client import builders as events
from fraudwatch.client.events import Event, EventInvalid, build, validate
from fraudwatch.client.http import DEFAULT_DEADLINE, AsyncClient, Client
from fraudwatch.client.results import BatchResult, ClientError, Decision, Unavailable
from fraudwatch.client.webhooks import WebhookInvalid, verify

verify_webhook = verify

__all__ = [
    "AsyncClient",
    "BatchResult",
    "Client",
    "ClientError",
    "DEFAULT_DEADLINE",
    "Decision",
    "Event",
    "EventInvalid",
    "Unavailable",
    "WebhookInvalid",
    "build",
    "events",
    "validate",
    "verify_webhook",
]
