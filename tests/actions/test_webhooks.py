"""Standard Webhooks signing: the specification's test vector, its Python verifier,
rotation with several signatures, and refusals."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fraudwatch import webhooks
from fraudwatch.actions.signing import sign_webhook

# the test vector of the Standard Webhooks specification's reference libraries
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = b'{"id":"msg_1","type":"action.lock_account","data":{}}'


def test_the_specification_test_vector():
    assert webhooks.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    assert webhooks.verify([SPEC_SECRET], headers, SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


def test_the_reference_verifier_accepts_what_the_dispatcher_signs_with_every_rotated_secret():
    current, previous = webhooks.new_secret(), webhooks.new_secret()
    headers = sign_webhook([current, previous], BODY, msg_id="msg_1", timestamp=int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (current, previous):  # a receiver with either secret accepts it during the rotation
        Webhook(secret).verify(BODY, headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(BODY, headers)
    assert headers["Idempotency-Key"] == headers["webhook-id"] == "msg_1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b, h: (b + b" ", h), "no webhook-signature matches"),
        (lambda b, h: (b, {**h, "webhook-id": "msg_2"}), "no webhook-signature matches"),
        (lambda b, h: (b, {**h, "webhook-timestamp": "1000001"}), "no webhook-signature matches"),
        (lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-signature"}), "missing"),
        (lambda b, h: (b, {**h, "webhook-timestamp": "soon"}), "Unix seconds"),
    ],
)
def test_tampered_webhooks_are_refused(change, message):
    secret = webhooks.new_secret()
    body, headers = change(BODY, webhooks.sign([secret], "msg_1", 1_000_000, BODY))
    with pytest.raises(webhooks.SignatureInvalid, match=message):
        webhooks.verify([secret], headers, body, now=1_000_000)


def test_replays_outside_the_tolerance_are_refused():
    secret = webhooks.new_secret()
    headers = webhooks.sign([secret], "msg_1", 1_000_000, BODY)
    with pytest.raises(webhooks.SignatureInvalid, match="tolerance"):
        webhooks.verify([secret], headers, BODY, now=1_000_301)
    assert webhooks.verify([secret], headers, BODY, now=1_000_301, tolerance=600) == "msg_1"


def test_a_secret_that_is_not_base64_signs_with_its_text():
    assert webhooks.key_of("whsec_not base64!") == b"whsec_not base64!"
    assert webhooks.key_of("plain-secret-0123456789") == b"plain-secret-0123456789"
