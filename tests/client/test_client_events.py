"""The client's event builders and webhook verifier, without a server."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fraudwatch.client import EventInvalid, WebhookInvalid, events, verify_webhook
from fraudwatch.client.events import builder_source
from fraudwatch.events import KINDS

ROOT = Path(__file__).resolve().parents[2]
BUILDERS = ROOT / "src" / "fraudwatch" / "client" / "builders.py"


def test_builders_are_generated_from_the_event_models():
    # formatting aside, the file is what the generator makes of today's models
    assert ast.dump(ast.parse(BUILDERS.read_text())) == ast.dump(ast.parse(builder_source()))
    assert len(events.__all__) == len(KINDS)


def test_builders_default_id_and_time_and_refuse_unknown_fields():
    a = events.login(account="u1", success=False, failure_reason="bad_password")
    b = events.login(account="u1", success=True)
    assert a.id != b.id and a.id.startswith("evt_") and a.data["time"].endswith("+00:00")
    with pytest.raises(TypeError):
        events.login(account="u1", success=True, amount=5)  # not a field of a login
    with pytest.raises(EventInvalid) as bad:
        events.order_placed(order="o1", amount=100, currency="JPY", items=[{"sku": "g", "category": "x"}])
    assert bad.value.errors == [{"loc": "items[0].unit_price", "msg": "Field required"}]


def test_client_imports_with_the_base_dependencies_only():
    # the server's and the model's packages made unimportable: the client still imports and works
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"fastapi", "starlette", "uvicorn", "numpy", "pyarrow", "lightgbm", "sklearn",
                                  "prometheus_client", "uvloop", "psycopg", "redis"}:
            raise ImportError("not installed: " + name)
sys.meta_path.insert(0, Block())
from fraudwatch.client import Client, events
events.payment_attempt(amount=1, currency="JPY")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def _sign(key: bytes, msg_id: str, ts: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_webhook_verifier_rotation_tolerance_and_tampering():
    old, new = b"old-key-0123456789", b"new-key-0123456789"
    secret_new = "whsec_" + base64.b64encode(new).decode()
    body = b'{"type":"alert.risk"}'
    both = f"{_sign(new, 'msg_1', 1700000000, body)} {_sign(old, 'msg_1', 1700000000, body)}"
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": "1700000000", "Webhook-Signature": both}
    assert verify_webhook(secret_new, headers, body, now=1700000100) == "msg_1"
    assert verify_webhook([b"other", old], headers, body, now=1700000100) == "msg_1"  # the old one, while rotating
    with pytest.raises(WebhookInvalid, match="tolerance"):
        verify_webhook(secret_new, headers, body, now=1700000301)
    with pytest.raises(WebhookInvalid, match="no webhook-signature"):
        verify_webhook(secret_new, headers, body + b" ", now=1700000000)
    with pytest.raises(WebhookInvalid, match="no webhook-signature"):
        verify_webhook(secret_new, {**headers, "Webhook-Id": "msg_2"}, body, now=1700000000)
    with pytest.raises(WebhookInvalid, match="missing"):
        verify_webhook(secret_new, {"webhook-id": "msg_1"}, body)


def test_verifies_what_the_service_and_other_standard_webhooks_libraries_sign():
    from standardwebhooks.webhooks import Webhook

    from fraudwatch.actions import sign_webhook  # what the service's dispatcher sends

    secret = "whsec_" + base64.b64encode(b"endpoint-secret-0123456789").decode()
    body = b'{"type":"alert.risk","data":{}}'
    headers = sign_webhook([secret, "whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5"], body, msg_id="msg_42", timestamp=1700000000)
    assert verify_webhook(secret, headers, body, now=1700000005) == "msg_42"
    stamp = datetime.fromtimestamp(1700000000, tz=UTC)
    theirs = Webhook(secret).sign("msg_43", stamp, body.decode())
    given = {"webhook-id": "msg_43", "webhook-timestamp": "1700000000", "webhook-signature": theirs}
    assert verify_webhook(secret, given, body, now=1700000005) == "msg_43"


def test_the_webhook_receiver_example_applies_each_message_once():
    import importlib.util
    import threading
    from http.server import ThreadingHTTPServer

    import httpx

    from fraudwatch.actions import sign_webhook

    spec = importlib.util.spec_from_file_location("receiver_example", ROOT / "examples" / "webhook_receiver.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    secret = "whsec_" + base64.b64encode(b"receiver-secret-0123456789").decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), example.handler_for(secret))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        body = b'{"id":"msg_7","type":"action.suspend_card","data":{"card":"tok_1"}}'
        headers = sign_webhook(secret, body, msg_id="msg_7")
        assert httpx.post(url, content=body, headers=headers).status_code == 204
        assert httpx.post(url, content=body, headers=sign_webhook(secret, body, msg_id="msg_7")).status_code == 204
        assert example.applied == {"msg_7"}
        forged = sign_webhook("whsec_" + base64.b64encode(b"not-the-secret-000000").decode(), body, msg_id="msg_8")
        assert httpx.post(url, content=body, headers=forged).status_code == 401 and "msg_8" not in example.applied
    finally:
        server.shutdown()
        server.server_close()
