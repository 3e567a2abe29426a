"""Webhook signatures as a receiver checks them, and the answer tokens."""

from __future__ import annotations

import pytest

from fraudwatch.actions.signing import (
    SignatureInvalid,
    TokenExpired,
    TokenInvalid,
    make_token,
    read_token,
    sign_webhook,
    verify_webhook,
)

SECRET = b"whsec_0123456789abcdef"
BODY = b'{"id":"msg_1","type":"action.lock_account","data":{}}'


def test_a_signed_webhook_verifies_and_returns_its_idempotency_key():
    h = sign_webhook(SECRET, BODY, msg_id="msg_1", timestamp=1_000_000)
    assert verify_webhook(SECRET, BODY, h, now=1_000_100) == "msg_1"
    # header names are case-insensitive, as HTTP servers may lower-case them
    assert verify_webhook(SECRET, BODY, {k.lower(): v for k, v in h.items()}, now=1_000_000) == "msg_1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b, h: (b + b" ", h), "does not match"),
        (lambda b, h: (b, {**h, "Fraudwatch-Timestamp": "1000001"}), "does not match"),
        (lambda b, h: (b, {**h, "Fraudwatch-Signature": "v1=" + "0" * 64}), "does not match"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "Fraudwatch-Signature"}), "does not match"),
        (lambda b, h: (b, {**h, "Fraudwatch-Timestamp": "soon"}), "malformed"),
    ],
)
def test_tampered_webhooks_are_refused(change, message):
    body, headers = change(BODY, sign_webhook(SECRET, BODY, msg_id="msg_1", timestamp=1_000_000))
    with pytest.raises(SignatureInvalid, match=message):
        verify_webhook(SECRET, body, headers, now=1_000_000)


def test_replays_outside_the_tolerance_are_refused():
    h = sign_webhook(SECRET, BODY, msg_id="msg_1", timestamp=1_000_000)
    with pytest.raises(SignatureInvalid, match="tolerance"):
        verify_webhook(SECRET, BODY, h, now=1_000_301)
    assert verify_webhook(SECRET, BODY, h, now=1_000_301, tolerance=600) == "msg_1"


def test_rotation_accepts_any_listed_signature():
    old = sign_webhook(b"old-secret-0123456789", BODY, msg_id="m", timestamp=5)["Fraudwatch-Signature"]
    new = sign_webhook(SECRET, BODY, msg_id="m", timestamp=5)["Fraudwatch-Signature"]
    h = {"Fraudwatch-Timestamp": "5", "Fraudwatch-Signature": f"{old}, {new}"}
    assert verify_webhook(SECRET, BODY, h, now=5) == ""


def test_tokens_expire_and_refuse_other_keys():
    t = make_token(b"k" * 32, alert_id="al_1", answer="no", expires=100)
    assert read_token(b"k" * 32, t, now=100).answer == "no"
    with pytest.raises(TokenExpired):
        read_token(b"k" * 32, t, now=101)
    with pytest.raises(TokenInvalid):
        read_token(b"j" * 32, t, now=0)
    for bad in ("", ".", "abc", "abc.def", t + "x", "x" + t):
        with pytest.raises(TokenInvalid):
            read_token(b"k" * 32, bad, now=0)
    assert TokenExpired.status_code == 410 and TokenInvalid.status_code == 403


def test_the_verification_snippet_in_the_docs_accepts_our_webhooks():
    import pathlib
    import re

    from standardwebhooks.webhooks import WebhookVerificationError

    from fraudwatch.webhooks import new_secret

    docs = pathlib.Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
    [code] = [c for c in re.findall(r"```python\n(.*?)```", docs.read_text(), re.S) if "Webhook(" in c]
    secret = new_secret()
    code = code.replace('"whsec_..."', repr(secret))
    headers = sign_webhook(secret, BODY, msg_id="msg_9")
    namespace: dict = {"raw_body": BODY, "request_headers": headers}
    exec(code, namespace)
    assert namespace["payload"]["id"] == "msg_1"
    with pytest.raises(WebhookVerificationError):
        exec(code, {"raw_body": BODY + b"x", "request_headers": headers})
