"""Receiving fraudwatch's webhooks: the Standard Webhooks verifier (https://www.standardwebhooks.com).

A webhook carries ``webhook-id`` (the message id, the same on every retry: apply each id
once), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` values, one per
secret while a secret is being rotated. The key is the base64 part of a ``whsec_...``
secret. Verify the raw bytes received, before parsing them. Standard library only.

The example is the specification's own test vector:

>>> headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
...            "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
>>> verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, b'{"test": 2432232314}', now=1614265330)
'msg_p5jXN8AQM9LWM0D4loKWxJek'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

__all__ = ["DEFAULT_TOLERANCE", "WebhookInvalid", "verify"]

DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock (the specification's)
_PREFIX = "whsec_"


class WebhookInvalid(ValueError):
    """Missing headers, a timestamp outside the tolerance, or no matching signature: answer
    the request with 4xx and apply nothing."""


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(_PREFIX):
        try:
            return base64.b64decode(secret[len(_PREFIX) :], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def verify(
    secrets: str | bytes | Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received webhook against the endpoint's secret (or several, while rotating);
    returns its ``webhook-id`` (de-duplicate on it) or raises :class:`WebhookInvalid`."""
    keys = [_key(s) for s in ([secrets] if isinstance(secrets, (str, bytes)) else secrets)]
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "")
    if not (msg_id and stamp and given):
        raise WebhookInvalid("missing webhook-id, webhook-timestamp or webhook-signature header")
    if not stamp.isdigit():
        raise WebhookInvalid("webhook-timestamp is not Unix seconds")
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        raise WebhookInvalid(f"webhook-timestamp outside the {tolerance:g} s tolerance (a replay?)")
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = [base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()) for k in keys]
    for candidate in given.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and any(hmac.compare_digest(signature.encode(), e) for e in expected):
            return msg_id
    raise WebhookInvalid("no webhook-signature matches the body")
