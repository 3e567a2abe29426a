"""Through the real decision service (``fraudwatch.api.create_app``) under uvicorn: an event
sent to the API is blocked, the cardholder gets the e-mail, follows "no, it wasn't me",
and the answer's label reaches the service's event log."""

from __future__ import annotations

import re

import httpx
import pytest

from fraudwatch.actions import Responder
from fraudwatch.decisions import Decision

from .conftest import Mailbox, Receiver, Server, free_port, wait_until
from .helpers import settings as actions_settings

api = pytest.importorskip("fraudwatch.api.app")


@pytest.fixture
def service(tmp_path):
    from fraudwatch.api.auth import create_key
    from fraudwatch.settings import Settings

    with Receiver() as rec, Mailbox() as mail:
        port = free_port()
        app = api.create_app(Settings.model_validate({"env": "development", "data_dir": str(tmp_path / "service")}))
        responder = Responder(
            actions_settings(tmp_path, receiver=rec, mailbox=mail, public_url=f"http://127.0.0.1:{port}")
        )
        app.state.responder = responder  # used by the service instead of one built from its settings
        with app.state.storage.unit() as uow:
            key, _ = create_key(
                uow,
                name="test",
                scopes=["ingest", "admin"],
                pepper=app.state.settings.security.key_pepper.get_secret_value().encode(),
                actor="test",
            )
        responder.start()
        server = Server(app, port)
        server.server.config.lifespan = "on"
        with server:
            yield server, responder, rec, mail, {"Authorization": f"Bearer {key}"}
        responder.close()


def test_no_from_the_email_through_the_service(service):
    server, responder, rec, mail, auth = service
    assert httpx.get(f"{server.url}/v1/outbox", headers=auth).status_code == 200
    r = httpx.put(f"{server.url}/v1/alerts/subscriptions/tok_svc", headers=auth, json={"email": "holder@example.com"})
    assert r.status_code == 200, r.text
    raw = {
        "id": "svc-1",
        "time": "2026-11-21T13:00:00+09:00",
        "kind": "payment.attempt",
        "card": "tok_svc",
        "account": "acct_svc",
        "amount": 17600,
        "currency": "JPY",
        "merchant": "m_1",
        # paying online from abroad on a device the card never paid from: challenged
        "channel": "ecommerce",
        "device": "dev_svc",
        "country": "US",
        "card_country": "JP",
    }
    sent = httpx.post(f"{server.url}/v1/events", headers=auth, json=raw)
    assert sent.status_code == 200, sent.text
    assert Decision.from_dict(sent.json()).outcome.value == "challenge"
    # the service's log follower hands the durable decision to responder.on_decision

    msg = wait_until(lambda: mail.messages and mail.messages[0])
    no = re.search(r"No, it wasn't me:\s+(\S+)", msg.get_body(("plain",)).get_content()).group(1)
    assert no.startswith(server.url)
    assert httpx.get(no).status_code == 200
    result = httpx.post(no, headers={"Accept": "application/json"})
    assert result.status_code == 200 and result.json()["case"]
    assert wait_until(lambda: rec.of_type("action.suspend_card"))[0]["data"]["card"] == "tok_svc"
    # the label went into the service's event log, as an event of the card
    label_id = result.json()["events"][0]["id"]
    logged = httpx.get(f"{server.url}/v1/events/{label_id}", headers=auth)
    assert logged.status_code == 200, logged.text
    assert logged.json()["event"]["fraud"] is True and logged.json()["event"]["target"] == "svc-1"
    assert httpx.post(no).status_code == 409
    # the engine read the label: the card is blocked at every merchant from then on
    later = {**raw, "id": "svc-2", "time": result.json()["events"][0]["time"], "merchant": "m_2", "country": "JP"}
    again = httpx.post(f"{server.url}/v1/events", headers=auth, json=later).json()
    assert again["outcome"] == "block" and "suspended_card" in [h["rule"] for h in again["rules"]]


def test_actions_settings_derived_from_the_service_settings(tmp_path):
    from fraudwatch.actions.views import _settings_from
    from fraudwatch.settings import Settings

    s = Settings.model_validate({"data_dir": str(tmp_path), "security": {"token_key": "t" * 32}})
    a = _settings_from(s)
    assert a.database == tmp_path / "fraudwatch-actions.db"
    key = a.link_key.get_secret_value()
    assert len(key) == 64 and key != "t" * 32 and key == _settings_from(s).link_key.get_secret_value()


def test_the_responder_fills_the_suppression_set_the_engine_was_given(tmp_path):
    from fastapi import FastAPI

    from fraudwatch.actions import SuppressionSet
    from fraudwatch.actions.views import responder_for
    from fraudwatch.settings import Settings

    from .helpers import T0, decision, event

    app = FastAPI()
    app.state.settings = Settings.model_validate({"data_dir": str(tmp_path)})
    app.state.suppressions = shared = SuppressionSet()
    responder = responder_for(app)
    try:
        e = event("pay-1")
        responder.on_decision(e, decision(e, "challenge", "card_velocity"), now=T0)
        responder.answer(responder.links_for_event("pay-1")["yes"].rsplit("/", 1)[1], now=T0)
        assert responder.suppressions is shared and shared.active("tok_1", "card_velocity", T0 + 1)
    finally:
        responder.close()
    app.state.responder = None
    app.state.suppressions = again = SuppressionSet()  # a restart: loaded from the database
    responder = responder_for(app)
    responder.close()
    assert again.active("tok_1", "card_velocity", T0 + 1) is not None
