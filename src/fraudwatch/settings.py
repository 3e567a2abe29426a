"""One typed settings tree, read from a YAML or TOML file and ``FRAUDWATCH_*`` variables.

Environment variables override the file; nested keys are joined with ``__``:
``FRAUDWATCH_SERVER__PORT=8080``, ``FRAUDWATCH_SECURITY__KEY_PEPPER=...``,
``FRAUDWATCH_ENV=production``. Nothing is read at import time.

>>> s = Settings.model_validate({"data_dir": "/tmp/fw", "server": {"port": 9000}})
>>> s.server.port, s.storage.sqlite_path(s.data_dir).name
(9000, 'fraudwatch.db')
>>> Settings.model_validate({"env": "production", "data_dir": "/tmp/fw"})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
...
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from fraudwatch.errors import ValidationFailed

try:  # the actions domain's own section, when that domain is installed
    from fraudwatch.actions.settings import ActionsSettings
except ModuleNotFoundError as exc:
    if exc.name not in ("fraudwatch.actions", "fraudwatch.actions.settings"):
        raise
    ActionsSettings = None  # type: ignore[assignment,misc]

ENV_PREFIX = "FRAUDWATCH_"
PLACEHOLDER_SECRET = "change-me-development-only"
MIN_SECRET_CHARS = 16


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_body_bytes: int = Field(65_536, ge=1024, description="largest body of one event or admin request")
    max_batch_bytes: int = Field(8_388_608, ge=1024, description="largest body of POST /v1/events/batch")
    max_batch_events: int = Field(1000, ge=1)
    max_admin_body_bytes: int = Field(
        4_194_304, ge=1024, description="largest body of a rules, features or list change"
    )
    page_size_max: int = Field(1000, ge=1)
    access_log: bool = False
    actions: bool = Field(True, description="hand every durable decision to the actions domain (alerts, webhooks)")


class StorageSettings(_Section):
    type: Literal["sqlite", "memory", "postgresql"] = "sqlite"
    path: str | None = Field(None, description="SQLite file; default <data_dir>/fraudwatch.db")
    url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="type postgresql: postgresql://user@host:port/database (the password from PGPASSWORD "
        "or ~/.pgpass rather than in the URL)",
    )
    synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL", description="FULL: every group commit fsyncs the WAL before events are acknowledged"
    )
    group_commit_max: int = Field(2000, ge=1, description="most events in one transaction")
    migrate_on_start: bool = Field(
        True,
        description="apply pending schema migrations at start (false: refuse to start until "
        "'fraudwatch migrate' ran); a schema newer than this release is refused either way",
    )
    wal_limit_mb: float = Field(
        1024,
        gt=0,
        description="SQLite WAL size that makes it start over (a pause of the writer of 3-60 ms; "
        "smaller: less disk, more pauses)",
    )
    id_filter_capacity: int = Field(
        10_000_000,
        ge=1000,
        description="event ids the in-memory Bloom filter holds at ~1% false positives (1.25 bytes each)",
    )

    @model_validator(mode="after")
    def _url_for_postgresql(self) -> StorageSettings:
        if self.type == "postgresql" and not self.url:
            raise ValueError("storage.url is required with storage.type: postgresql")
        return self

    def sqlite_path(self, data_dir: Path) -> Path:
        return Path(self.path) if self.path else data_dir / "fraudwatch.db"


class SecuritySettings(_Section):
    token_key: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), description="key of the PAN tokenizer")
    key_pepper: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), description="HMAC key for API key hashes")


class EngineSettings(_Section):
    snapshot_every_events: int = Field(
        150_000,
        ge=1,
        description="snapshot the engine state after this many events (fewer: a shorter replay at "
        "start, but each snapshot slows the requests for a second)",
    )
    snapshot_interval_seconds: float = Field(300.0, gt=0, description="... or after this long, if any event came")
    thresholds: dict[str, float] | None = Field(None, description="score thresholds; engine defaults if unset")
    models_dir: Path | None = Field(None, description="model registry folder; default <data_dir>/models")


class Settings(_Section):
    """The whole configuration; ``engine.models_dir`` and ``storage.path`` default into ``data_dir``."""

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./fraudwatch-data")
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    security: SecuritySettings = SecuritySettings()
    engine: EngineSettings = EngineSettings()
    if ActionsSettings is not None:
        actions: ActionsSettings | None = Field(
            None, description="alerts, webhooks, answer links (docs/alerts.md); unset: derived from this tree"
        )

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if self.env != "development":
            for name in ("token_key", "key_pepper"):
                value = getattr(self.security, name).get_secret_value()
                if value == PLACEHOLDER_SECRET or len(value) < MIN_SECRET_CHARS:
                    raise ValueError(
                        f"security.{name} is a placeholder or shorter than {MIN_SECRET_CHARS} characters; set "
                        f"FRAUDWATCH_SECURITY__{name.upper()} (placeholders are allowed only with env: development)"
                    )
        return self

    @property
    def models_dir(self) -> Path:
        return self.engine.models_dir or self.data_dir / "models"

    @property
    def uses_placeholder_secrets(self) -> bool:
        return any(
            getattr(self.security, n).get_secret_value() == PLACEHOLDER_SECRET for n in ("token_key", "key_pepper")
        )


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PREFIX + "CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        if len(path) == 1 and path[0] not in Settings.model_fields:
            continue  # FRAUDWATCH_TOKEN_KEY, FRAUDWATCH_WEBHOOK_URL, ...: other commands' variables
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        # YAML scalars: "8080" -> 8080, "true" -> True, "{block: 0.9}" -> dict
        node[path[-1]] = yaml.safe_load(value) if value.strip() else value
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (YAML or TOML; default ``$FRAUDWATCH_CONFIG``) overlaid with the environment."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(ENV_PREFIX + "CONFIG")
    data: dict[str, Any] = {}
    if path:
        text = Path(path).read_text()
        data = tomllib.loads(text) if str(path).endswith(".toml") else (yaml.safe_load(text) or {})
        if not isinstance(data, dict):
            raise ValidationFailed(f"{path}: the settings file must hold a mapping")
    # secrets given as plain strings in env must stay strings, not YAML-parsed numbers
    overrides = _env_overrides(environ)
    for secret in ("token_key", "key_pepper"):
        raw = environ.get(f"{ENV_PREFIX}SECURITY__{secret.upper()}")
        if raw is not None:
            overrides.setdefault("security", {})[secret] = raw
    return Settings.model_validate(_merge(data, overrides))
