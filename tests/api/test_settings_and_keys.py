"""Settings from file and environment; the keys CLI."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fraudwatch.errors import ValidationFailed
from fraudwatch.settings import load_settings


def test_file_then_environment(tmp_path):
    (tmp_path / "fw.yaml").write_text(
        "server:\n  port: 9001\n  max_body_bytes: 4096\nstorage:\n  synchronous: NORMAL\n"
    )
    s = load_settings(tmp_path / "fw.yaml", environ={"FRAUDWATCH_SERVER__PORT": "9002", "FRAUDWATCH_DATA_DIR": "/d"})
    assert (s.server.port, s.server.max_body_bytes, s.storage.synchronous, str(s.data_dir)) == (
        9002,
        4096,
        "NORMAL",
        "/d",
    )
    (tmp_path / "fw.toml").write_text(
        'env = "test"\n[security]\ntoken_key = "0123456789abcdef01"\nkey_pepper = "1234567890123456789"\n'
    )
    s = load_settings(tmp_path / "fw.toml", environ={})
    assert s.env == "test" and s.security.key_pepper.get_secret_value() == "1234567890123456789"


def test_secrets_stay_strings_and_unknown_keys_are_refused(tmp_path):
    s = load_settings(
        environ={
            "FRAUDWATCH_SECURITY__KEY_PEPPER": "1234567890123456",
            "FRAUDWATCH_ENV": "production",
            "FRAUDWATCH_SECURITY__TOKEN_KEY": "abcdefabcdefabcdef",
        }
    )
    assert s.security.key_pepper.get_secret_value() == "1234567890123456"
    with pytest.raises(ValidationError, match="porte"):
        load_settings(environ={"FRAUDWATCH_SERVER__PORTE": "1"})


def test_one_environment_scheme_for_every_section(tmp_path):
    s = load_settings(
        environ={
            "FRAUDWATCH_ACTIONS__WEBHOOKS__ISSUER__URL": "https://issuer.example/hooks",
            "FRAUDWATCH_ACTIONS__WEBHOOKS__ISSUER__SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "FRAUDWATCH_ACTIONS__RETRY__LEASE": "2.5",
            "FRAUDWATCH_ACTIONS__SMTP__PORT": "2525",
            "FRAUDWATCH_ENGINE__THRESHOLDS__BLOCK": "0.9",
            "FRAUDWATCH_CACHE_DIR": str(tmp_path / "cache"),
            "FRAUDWATCH_DATA_DIR": str(tmp_path),
        }
    )
    assert s.actions.webhooks["issuer"].url == "https://issuer.example/hooks"
    assert (s.actions.retry.lease, s.actions.smtp.port, s.engine.thresholds.as_dict()) == (2.5, 2525, {"block": 0.9})
    assert s.cache_dir == tmp_path / "cache"
    resolved = s.actions_resolved()
    assert resolved.database == tmp_path / "fraudwatch-actions.db" and resolved.link_key is not None


def test_renamed_and_unknown_variables_are_refused_by_name():
    with pytest.raises(ValidationFailed, match="FRAUDWATCH_ACTIONS_DB was renamed: set FRAUDWATCH_ACTIONS__DATABASE"):
        load_settings(environ={"FRAUDWATCH_ACTIONS_DB": "/tmp/a.db"})
    with pytest.raises(ValidationFailed, match="FRAUDWATCH_CACHE was renamed: set FRAUDWATCH_CACHE_DIR"):
        load_settings(environ={"FRAUDWATCH_CACHE": "/tmp/c"})
    with pytest.raises(ValidationFailed, match="did you mean FRAUDWATCH_DATA_DIR"):
        load_settings(environ={"FRAUDWATCH_DATADIR": "/d"})
    assert load_settings(environ={"FRAUDWATCH_CONFIG": "", "OTHER_TOOL_VARIABLE": "x"}).server.port == 8000


def test_thresholds_are_probabilities_ordered_from_block_to_review():
    assert load_settings(environ={"FRAUDWATCH_ENGINE__THRESHOLDS__REVIEW": "0.4"}).engine.thresholds.review == 0.4
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        load_settings(environ={"FRAUDWATCH_ENGINE__THRESHOLDS__BLOCK": "1.5"})
    with pytest.raises(ValidationError, match="challenge .0.95. is above block .0.9."):
        load_settings(environ={"FRAUDWATCH_ENGINE__THRESHOLDS": '{"block": 0.9, "challenge": 0.95}'})
    with pytest.raises(ValidationError, match="escalate"):
        load_settings(environ={"FRAUDWATCH_ENGINE__THRESHOLDS__ESCALATE": "0.5"})


def test_placeholder_secrets_only_in_development():
    assert load_settings(environ={}).uses_placeholder_secrets
    load_settings(environ={"FRAUDWATCH_ENV": "development"}).check_secrets()
    with pytest.raises(ValidationFailed, match="placeholder"):
        load_settings(environ={}).check_secrets()  # production is the default
    with pytest.raises(ValidationFailed, match="placeholder"):
        load_settings(environ={"FRAUDWATCH_ENV": "production"}).check_secrets()
    with pytest.raises(ValidationError, match="key_pepper"):
        load_settings(
            environ={
                "FRAUDWATCH_ENV": "test",
                "FRAUDWATCH_SECURITY__TOKEN_KEY": "abcdefabcdefabcdef",
                "FRAUDWATCH_SECURITY__KEY_PEPPER": "short",
            }
        )


def test_serve_refuses_placeholder_secrets_outside_development(make_server):
    server = make_server(env={"FRAUDWATCH_SECURITY__KEY_PEPPER": "change-me-development-only"})
    done = server.cli("serve", "--port", "1")
    assert done.returncode != 0 and "placeholder" in done.stderr


def test_keys_cli_create_list_revoke(make_server):
    server = make_server()
    key = server.create_key("checkout", "ingest", "read")
    assert key.startswith("fw_")
    listed = server.cli("keys", "list").stdout.strip().split("\t")
    key_id = listed[0]
    assert listed[1:3] == ["checkout", "ingest,read"] and listed[-1] == "active"
    assert key not in (server.data_dir / "fraudwatch.db").read_bytes().decode("latin-1")
    assert server.cli("keys", "revoke", key_id).returncode == 0
    assert server.cli("keys", "list").stdout.strip().endswith("revoked")
    missing = server.cli("keys", "revoke", "nope")
    assert missing.returncode != 0 and "no key" in missing.stderr
    assert server.cli("keys", "create", "--name", "x", "--scope", "root").returncode != 0
    server.start()
    with server.client(key) as c:
        assert c.post("/v1/events", json={}).status_code == 401
