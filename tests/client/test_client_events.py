"""The client's event builders and webhook verifier, without a server."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest

from fraudwatch.client import EventInvalid, WebhookInvalid, events, verify_webhook
from fraudwatch.client.events import builder_source
from fraudwatch.events import KINDS

BUILDERS = Path(__file__).resolve().parents[2] / "src" / "fraudwatch" / "client" / "builders.py"


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
