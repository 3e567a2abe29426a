"""Standard Webhooks signatures (https://www.standardwebhooks.com), sender and receiver side.

Every webhook carries ``webhook-id`` (the message id, stable across retries),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``: ``v1,``
and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``, one per secret, separated by
spaces while a secret is being rotated. A secret is ``whsec_`` followed by the base64 of
its key bytes (:func:`new_secret`); any other string (also ``whsec_`` followed by text that
is not base64) is used as its UTF-8 bytes, which only this module's verifier knows to do. Receivers
can use any Standard Webhooks verifier, or :func:`verify` below (standard library only,
so it can be copied into a client).

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> headers = sign([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
>>> headers["webhook-signature"]
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
>>> verify([secret], headers, b'{"test": 2432232314}', now=1614265330 + 60)
'msg_p5jXN8AQM9LWM0D4loKWxJek'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
import time
from collections.abc import Mapping, Sequence

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureInvalid",
    "key_of",
    "new_secret",
    "sign",
    "signature",
    "verify",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock


class SignatureInvalid(ValueError):
    """A webhook whose headers, timestamp or signature do not check out."""


def new_secret(nbytes: int = 24) -> str:
    """A fresh ``whsec_`` secret (``nbytes`` random key bytes)."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(nbytes)).decode()


def key_of(secret: str | bytes) -> bytes:
    """The HMAC key of a secret: the base64-decoded part of ``whsec_...``, else the bytes."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error:
            pass  # not base64 after the prefix: the whole text is the key, as other strings
    return secret.encode()


def signature(secret: str | bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    mac = hmac.new(key_of(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(secrets: Sequence[str | bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers for ``body``, signed with every secret (the current one first)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(int(timestamp)),
        SIGNATURE_HEADER: " ".join(signature(s, msg_id, int(timestamp), body) for s in secrets),
    }


def verify(
    secrets: Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check a received webhook against any of ``secrets``; returns its ``webhook-id``
    (de-duplicate on it) or raises :class:`SignatureInvalid`."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, given = (lower.get(h, "") for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not (msg_id and stamp and given):
        raise SignatureInvalid("missing webhook-id, webhook-timestamp or webhook-signature")
    if not stamp.isdigit():
        raise SignatureInvalid("webhook-timestamp is not Unix seconds")
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        raise SignatureInvalid(f"webhook-timestamp outside the {tolerance:g} s tolerance (a replay?)")
    expected = [signature(s, msg_id, int(stamp), body) for s in secrets]
    for candidate in given.split():
        if candidate.startswith("v1,") and any(hmac.compare_digest(candidate, e) for e in expected):
            return msg_id
    raise SignatureInvalid("no webhook-signature matches the body")
