"""Receiving fraudwatch's webhooks: the Standard Webhooks verifier (https://www.standardwebhooks.com).

A webhook carries ``webhook-id`` (the message id, the same on every retry: apply each id
once), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` values, one per
secret while a secret is being rotated. The key is the base64 part of a ``whsec_...``
secret. Verify the raw bytes received, before parsing them. The check is the service's own
(``fraudwatch.webhooks``, standard library only); any other Standard Webhooks verifier
accepts the same messages.

The example is the specification's own test vector:

>>> headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
...            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
>>> verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b'{"test": 2432232314}', now=1614265330)
'msg_p5jXN8AQM9LWM0D4loKWxJek'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fraudwatch import webhooks
from fraudwatch.webhooks import DEFAULT_TOLERANCE
from fraudwatch.webhooks import SignatureInvalid as WebhookInvalid

__all__ = ["DEFAULT_TOLERANCE", "WebhookInvalid", "verify"]


def verify(
    secrets: str | bytes | Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received webhook against the endpoint's secret (or several, while rotating);
    returns its ``webhook-id`` (de-duplicate on it) or raises :class:`WebhookInvalid`
    (missing headers, a timestamp more than ``tolerance`` seconds away, no matching signature)."""
    keys = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    return webhooks.verify(keys, headers, body, tolerance=tolerance, now=now)
