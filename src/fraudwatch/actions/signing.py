"""HMAC-SHA256 signatures: webhook messages and the answer links' tokens.

Webhooks are signed as Standard Webhooks (``fraudwatch.webhooks``: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), plus, for one release, the legacy
``Fraudwatch-Signature`` over ``f"{timestamp}.{body}"`` that ``verify_webhook`` checks.

>>> headers = sign_webhook("whsec_dGVzdA==", b'{"id":"msg_1"}', msg_id="msg_1", timestamp=1700000000)
>>> headers["webhook-signature"][:3], headers["Fraudwatch-Signature"][:3]
('v1,', 'v1=')
>>> verify_webhook(b"whsec_dGVzdA==", b'{"id":"msg_1"}', headers, now=1700000010)
'msg_1'

Answer tokens carry the alert id, the answer and an expiry, signed with the token key:

>>> t = make_token(b"k" * 32, alert_id="al_1", answer="yes", expires=1700003600)
>>> read_token(b"k" * 32, t, now=1700000000)
TokenClaims(alert_id='al_1', answer='yes', expires=1700003600)
>>> read_token(b"x" * 32, t, now=1700000000)
Traceback (most recent call last):
...
fraudwatch.actions.signing.TokenInvalid: link signature is not valid
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fraudwatch import webhooks
from fraudwatch.errors import Conflict, Forbidden, FraudwatchError, Unauthorized

# the legacy headers, sent beside Standard Webhooks' until the next release
SIGNATURE_HEADER = "Fraudwatch-Signature"
TIMESTAMP_HEADER = "Fraudwatch-Timestamp"
ID_HEADER = "Fraudwatch-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock


class SignatureInvalid(Unauthorized):
    """A webhook whose signature or timestamp does not check out."""


class TokenInvalid(Forbidden):
    """A forged or malformed answer link."""


class TokenExpired(FraudwatchError):
    """An answer link past its expiry."""

    status_code = 410


class TokenUsed(Conflict):
    """An answer link already used (each alert takes one answer)."""


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def sign_webhook(
    secret: str | bytes | Sequence[str | bytes], body: bytes, *, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers to send with ``body``, signed with each secret (the current one first,
    then those being rotated out): Standard Webhooks' three headers, ``Idempotency-Key``,
    and the legacy ``Fraudwatch-*`` headers (removed in the next release; CHANGELOG.md)."""
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    ts = int(time.time() if timestamp is None else timestamp)
    legacy = ", ".join(f"v1={_hmac(_raw(s), str(ts).encode() + b'.' + body).hex()}" for s in secrets)
    return {
        **webhooks.sign(secrets, msg_id, ts, body),
        IDEMPOTENCY_HEADER: msg_id,
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: legacy,
        "Content-Type": "application/json",
    }


def _raw(secret: str | bytes) -> bytes:
    """The legacy header's key: the secret's text as given."""
    return secret if isinstance(secret, bytes) else secret.encode()


def verify_webhook(
    secret: bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str:
    """Check the legacy ``Fraudwatch-Signature`` of a received webhook; returns its
    idempotency key or raises ``SignatureInvalid``. New receivers use a Standard Webhooks
    verifier (``fraudwatch.webhooks.verify``) instead."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts = lower.get(TIMESTAMP_HEADER.lower(), "")
    sig = lower.get(SIGNATURE_HEADER.lower(), "")
    if not ts.isdigit():
        raise SignatureInvalid(f"missing or malformed {TIMESTAMP_HEADER} header")
    now = time.time() if now is None else now
    if abs(now - int(ts)) > tolerance:
        raise SignatureInvalid(f"timestamp outside the {tolerance}s tolerance (replay?)")
    expected = _hmac(secret, ts.encode() + b"." + body).hex()
    # several "v1=" values may be sent during a secret rotation
    candidates = [part.strip()[3:] for part in sig.split(",") if part.strip().startswith("v1=")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureInvalid("signature does not match the body")
    return lower.get(IDEMPOTENCY_HEADER.lower()) or lower.get(ID_HEADER.lower(), "")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    alert_id: str
    answer: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(key: bytes, *, alert_id: str, answer: str, expires: float) -> str:
    payload = _b64(json.dumps({"a": alert_id, "v": answer, "x": int(expires)}, separators=(",", ":")).encode())
    return payload + "." + _b64(_hmac(key, payload.encode()))


def read_token(key: bytes, token: str, *, now: float | None = None) -> TokenClaims:
    """Check the signature and expiry (not single use: that is the alerts table's job)."""
    payload, _, sig = token.partition(".")
    try:
        ok = hmac.compare_digest(_unb64(sig), _hmac(key, payload.encode()))
    except (ValueError, TypeError):
        ok = False
    if not payload or not ok:
        raise TokenInvalid("link signature is not valid")
    try:
        data = json.loads(_unb64(payload))
        claims = TokenClaims(alert_id=str(data["a"]), answer=str(data["v"]), expires=int(data["x"]))
    except (ValueError, KeyError, TypeError) as exc:  # signed by us, so never expected
        raise TokenInvalid("link payload is malformed") from exc
    if claims.answer not in ("yes", "no"):
        raise TokenInvalid("link carries no valid answer")
    if (time.time() if now is None else now) > claims.expires:
        raise TokenExpired("this link has expired; contact your card issuer if you did not make this payment")
    return claims


def make_link(key: bytes, claims: dict, *, expires: float) -> str:
    """A signed, expiring link token carrying ``claims`` (other links than the answers',
    e.g. the case status page; give each kind of link a key of its own)."""
    payload = _b64(json.dumps({**claims, "x": int(expires)}, separators=(",", ":"), sort_keys=True).encode())
    return payload + "." + _b64(_hmac(key, payload.encode()))


def read_link(key: bytes, token: str, *, now: float | None = None) -> dict:
    """The claims of a ``make_link`` token; raises ``TokenInvalid`` (403) or ``TokenExpired`` (410)."""
    payload, _, sig = token.partition(".")
    try:
        ok = hmac.compare_digest(_unb64(sig), _hmac(key, payload.encode()))
    except (ValueError, TypeError):
        ok = False
    if not payload or not ok:
        raise TokenInvalid("link signature is not valid")
    try:
        claims = json.loads(_unb64(payload))
        expires = int(claims["x"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenInvalid("link payload is malformed") from exc
    if (time.time() if now is None else now) > expires:
        raise TokenExpired("this link has expired")
    return claims
