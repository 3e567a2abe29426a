"""The one settings tree of every command and the service, typed and validated.

Read by :func:`load_settings` from three places, later ones winning: a YAML or TOML file
(``--config FILE`` or ``FRAUDWATCH_CONFIG``), ``FRAUDWATCH_*`` environment variables, and
the command's own flags. One environment scheme for every setting: the ``FRAUDWATCH_``
prefix and ``__`` between nested keys, ``FRAUDWATCH_SERVER__PORT=8080``,
``FRAUDWATCH_SECURITY__KEY_PEPPER=...``, ``FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__URL=...``.
A variable with the prefix that names no setting is refused (a typo must not pass
silently). Nothing is read at import time, and ``Settings.model_validate`` reads nothing
but its argument.

Adding a section (a domain's own settings): a class deriving from :class:`Section` below
and one field on :class:`Settings`; its variables follow from the field names.

>>> s = Settings.model_validate({"data_dir": "/tmp/fw", "server": {"port": 9000}})
>>> s.server.port, s.storage.sqlite_path(s.data_dir).name, s.actions_resolved().database.name
(9000, 'fraudwatch.db', 'fraudwatch-actions.db')
>>> Settings.model_validate({"data_dir": "/tmp/fw"}).check_secrets()  # production is the default
Traceback (most recent call last):
...
fraudwatch.errors.ValidationFailed: security.key_pepper, security.token_key is a placeholder ...
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource, TomlConfigSettingsSource, YamlConfigSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from fraudwatch.cases import CasesSettings
from fraudwatch.errors import ValidationFailed

__all__ = [
    "ActionsSettings",
    "AtoSettings",
    "CasesSettings",
    "DEFAULT_ENV",
    "ENV_PREFIX",
    "EngineSettings",
    "IngestSettings",
    "RetrySettings",
    "Section",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SmtpSettings",
    "StorageSettings",
    "StreamSettings",
    "Thresholds",
    "WebhookEndpoint",
    "load_settings",
]

Environment = Literal["development", "test", "production"]
DEFAULT_ENV: Final[Environment] = "production"  # placeholder secrets are allowed only in development
ENV_PREFIX: Final = "FRAUDWATCH_"
CONFIG_VARIABLE: Final = ENV_PREFIX + "CONFIG"
PLACEHOLDER_SECRET: Final = "change-me-development-only"
PLACEHOLDERS: Final = frozenset({"", "change-me", "changeme", "secret", "dev", "development", PLACEHOLDER_SECRET})
MIN_SECRET_CHARS: Final = 16
DEFAULT_MAX_AMOUNT: Final = {"*": 10**11}  # minor units: 100 billion yen, a billion dollars

# variables read before the one tree, with what replaces them (CHANGELOG.md)
RENAMED_VARIABLES: Final = {
    "FRAUDWATCH_ACTIONS_DB": "FRAUDWATCH_ACTIONS__DATABASE",
    "FRAUDWATCH_ACTIONS_POLICY": "FRAUDWATCH_ACTIONS__POLICY",
    "FRAUDWATCH_PUBLIC_URL": "FRAUDWATCH_ACTIONS__PUBLIC_URL",
    "FRAUDWATCH_TOKEN_KEY": "FRAUDWATCH_SECURITY__TOKEN_KEY (card numbers) or FRAUDWATCH_ACTIONS__LINK_KEY (links)",
    "FRAUDWATCH_WEBHOOK_URL": "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__URL",
    "FRAUDWATCH_WEBHOOK_SECRET": "FRAUDWATCH_ACTIONS__WEBHOOKS__DEFAULT__SECRET",
    "FRAUDWATCH_SMTP_HOST": "FRAUDWATCH_ACTIONS__SMTP__HOST",
    "FRAUDWATCH_SMTP_PORT": "FRAUDWATCH_ACTIONS__SMTP__PORT",
    "FRAUDWATCH_SMTP_FROM": "FRAUDWATCH_ACTIONS__SMTP__SENDER",
    "FRAUDWATCH_CACHE": "FRAUDWATCH_CACHE_DIR",
    **{
        f"FRAUDWATCH_OUTBOX_{k}": f"FRAUDWATCH_ACTIONS__RETRY__{k}"
        for k in ("LEASE", "BASE_DELAY", "MAX_DELAY", "MAX_ATTEMPTS", "POLL_INTERVAL", "TIMEOUT")
    },
}


class Section(BaseModel):
    """A part of the tree: unknown keys are refused, values never change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
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
    console: bool = Field(True, description="serve the analyst console at /console and index the log for it")


class StorageSettings(Section):
    type: Literal["sqlite", "memory", "postgresql"] = "sqlite"
    path: Path | None = Field(None, description="SQLite file; default <data_dir>/fraudwatch.db")
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
    writer_stuck_seconds: float = Field(
        10.0, gt=0, description="a group commit running this long makes /readyz answer 503 (a stuck disk)"
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
        return self.path or data_dir / "fraudwatch.db"


class IngestSettings(Section):
    """What the service accepts from senders of events (every field is hostile until checked)."""

    max_ahead_seconds: float = Field(
        86_400.0, ge=0, description="latest event time accepted, ahead of the server's clock (422 beyond)"
    )
    max_behind_seconds: float = Field(
        400 * 86_400.0, ge=0, description="earliest event time accepted, behind the server's clock (422 beyond)"
    )
    history: bool = Field(
        False,
        description="replay of history: event times are not bounded by the server's clock, only by the "
        "event format (years 1970-2099); the engine's clock still ignores a single outlier",
    )
    refuse_card_numbers_in: list[str] = Field(
        default_factory=list,
        description="fields in which a card number makes the event refused (422), e.g. [shipping_address, "
        "reason], or ['*'] for all; elsewhere (default) it is replaced by its token. pan and card are "
        "always tokenized",
    )
    max_amount: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_AMOUNT),
        description="largest amount in minor units per ISO 4217 currency, e.g. {JPY: 100000000}; '*' for "
        "the currencies not named (default 10^11) (422 beyond)",
    )

    @field_validator("max_amount", mode="before")
    @classmethod
    def _amounts(cls, value: Any) -> Any:
        from fraudwatch.events.model import MAX_MINOR_UNITS

        # (from the environment: FRAUDWATCH_INGEST__MAX_AMOUNT__JPY=100000000 reads as {"jpy": "100000000"})
        given = {k.upper(): int(v) if isinstance(v, str) and v.isdigit() else v for k, v in (value or {}).items()}
        value = {**DEFAULT_MAX_AMOUNT, **given}
        for currency, limit in value.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_MINOR_UNITS:
                raise ValueError(f"{currency}: an integer between 1 and {MAX_MINOR_UNITS}")
        return value


class SecuritySettings(Section):
    token_key: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), description="key of the card number tokenizer")
    key_pepper: SecretStr = Field(SecretStr(PLACEHOLDER_SECRET), description="HMAC key for API key hashes")


class Thresholds(Section):
    """Model-score thresholds: a score at or above one adds a hit with that outcome (the
    most severe wins), so they must not increase from block to review.

    >>> Thresholds(block=0.9, challenge=0.6).as_dict()
    {'block': 0.9, 'challenge': 0.6}
    >>> Thresholds(block=0.5, challenge=0.6)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for Thresholds
    ...
    """

    block: float | None = Field(None, ge=0, le=1)
    challenge: float | None = Field(None, ge=0, le=1)
    review: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        given = list(self.as_dict().items())
        for (high, a), (low, b) in zip(given, given[1:], strict=False):
            if b > a:
                raise ValueError(f"{low} ({b}) is above {high} ({a}): {low} would never apply")
        return self

    def as_dict(self) -> dict[str, float]:
        return {
            k: v
            for k, v in (("block", self.block), ("challenge", self.challenge), ("review", self.review))
            if v is not None
        }


class EngineSettings(Section):
    snapshot_every_events: int = Field(
        150_000,
        ge=1,
        description="snapshot the engine state after this many events (fewer: a shorter replay at "
        "start, but each snapshot slows the requests for a second)",
    )
    snapshot_interval_seconds: float = Field(300.0, gt=0, description="... or after this long, if any event came")
    thresholds: Thresholds | None = Field(None, description="model-score thresholds; unset: the champion model's")
    models_dir: Path | None = Field(None, description="model registry folder; default <data_dir>/models")
    codegen: bool = Field(
        True, description="generate Python for the hot paths (fraudwatch.codegen); off: slower, for debugging"
    )


# ------------------------------------------------------------------ account takeover domain
class AtoSettings(Section):
    """Offline IP context and the breached-password corpus (docs/ato.md)."""

    ip_data: Path | None = Field(
        None, description="IP context file written by `fraudwatch ip-data import`; default: the bundled data"
    )
    hosting_list: Path | None = Field(
        None, description="networks event.ip_hosting calls hosting (AS<n> or names, one a line); default: shipped"
    )
    passwords: Path | None = Field(
        None, description="breached-password corpus (`fraudwatch passwords import`); default <data_dir>/passwords"
    )
    password_pad_to: int = Field(1000, ge=0, le=10_000, description="lines every range answer is padded to")


# ------------------------------------------------------------------ actions domain
class WebhookEndpoint(Section):
    url: str = Field(..., pattern=r"^https?://")
    secret: SecretStr = Field(
        ..., description="signing secret; whsec_<base64 key> for Standard Webhooks verifiers (docs/alerts.md)"
    )
    previous_secrets: list[SecretStr] = Field(
        default_factory=list, description="secrets being rotated out: each message is signed with these too"
    )


class SmtpSettings(Section):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field("fraudwatch@localhost", description="From: address")
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(10.0, gt=0)


class RetrySettings(Section):
    max_attempts: int = Field(10, ge=1, description="attempts before a message becomes a dead letter")
    base_delay: float = Field(1.0, gt=0, description="first retry delay, doubled each attempt")
    max_delay: float = Field(600.0, gt=0)
    lease: float = Field(60.0, gt=0, description="how long a claimed message is hidden from other dispatchers")
    poll_interval: float = Field(0.25, gt=0)
    timeout: float = Field(5.0, gt=0, description="HTTP timeout of one webhook attempt")
    batch: int = Field(20, ge=1)
    concurrency: int = Field(4, ge=1, description="messages sent at once")


class ActionsSettings(Section):
    """Alerts, answer links, webhooks and e-mail (docs/alerts.md). ``database`` and
    ``link_key`` default from the rest of the tree: :meth:`Settings.actions_resolved`."""

    database: Path | None = Field(None, description="actions SQLite file; default <data_dir>/fraudwatch-actions.db")
    database_url: str | None = Field(
        None,
        pattern=r"^postgres(ql)?://",
        description="the actions tables in PostgreSQL instead of a SQLite file; default storage.url "
        "with storage.type: postgresql",
    )
    public_url: str = Field("http://localhost:8000", description="base of the answer links")
    link_key: SecretStr | None = Field(
        None, description="HMAC key of the answer links; default derived from security.token_key"
    )
    link_ttl: float | None = Field(None, gt=0, description="override of the policy's risk_alerts.link_ttl, seconds")
    webhooks: dict[str, WebhookEndpoint] = Field(default_factory=dict)
    smtp: SmtpSettings | None = None
    policy: Path | None = Field(None, description="a response policy YAML; unset: the packaged default")
    messages: Path | None = Field(
        None, description="a folder of <language>.yaml message templates replacing or adding to the packaged ones"
    )
    merchants: Path | None = Field(
        None, description="merchant directory YAML: {merchant id: display name or {language: name}}"
    )
    language: str = Field("en", description="language of the messages when the cardholder's profile names none")
    retry: RetrySettings = RetrySettings()


_KAFKA_TOPIC = r"^[A-Za-z0-9._-]{1,249}$"


class StreamSettings(Section):
    """Events read from a stream by a consumer group, beside the HTTP API; off unless ``url``
    is set: a Redis (or Valkey) stream (``redis://``) or Kafka topics (``kafka://``). Redis
    names in braces share one hash slot, as Redis Cluster needs for the transaction that
    publishes decisions and acknowledges their events."""

    url: str | None = Field(
        None,
        pattern=r"^(rediss?|kafka)://",
        description="redis://host:port/db of a Redis stream, or kafka://host:port[,host:port...] of Kafka brokers "
        "(off when unset)",
    )
    stream: str = Field("{fraudwatch}:events", min_length=1, description="Redis: the stream events are read from")
    decisions: str = Field(
        "{fraudwatch}:decisions", min_length=1, description="Redis: the stream each event's decision (or error) goes to"
    )
    topics: list[Annotated[str, Field(pattern=_KAFKA_TOPIC)]] = Field(
        ["fraudwatch.events"], min_length=1, description="Kafka: the topics events are read from"
    )
    decisions_topic: str = Field(
        "fraudwatch.decisions",
        pattern=_KAFKA_TOPIC,
        description="Kafka: the topic each event's decision (or error) goes to, written by this group alone",
    )
    assign: bool = Field(
        False,
        description="Kafka: read every partition of the topics by assignment instead of joining the consumer group "
        "(no wait for a rebalance at a start or takeover; offsets are committed under the group either way)",
    )
    group: str = Field("fraudwatch", min_length=1, description="the consumer group")
    consumer: str = Field(
        default_factory=lambda: os.uname().nodename,
        min_length=1,
        description="this replica's name in the group (default the host name); keep it across restarts",
    )
    batch: int = Field(500, ge=1, le=10_000, description="most entries read at once")
    claim_idle_seconds: float = Field(
        30.0, gt=0, description="Redis: entries another consumer has held unacknowledged this long are taken over"
    )
    decisions_maxlen: int = Field(
        1_000_000, ge=1000, description="Redis: the decisions stream is trimmed to about this many entries"
    )


# ------------------------------------------------------------------ the tree
class Settings(BaseSettings):
    """The whole configuration; ``engine.models_dir``, ``storage.path`` and
    ``actions.database`` default into ``data_dir``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    env: Environment = DEFAULT_ENV
    data_dir: Path = Path("./fraudwatch-data")
    cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "fraudwatch",
        description="compiled models and replayed feature matrices, reusable across runs",
    )
    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    security: SecuritySettings = SecuritySettings()
    ingest: IngestSettings = IngestSettings()
    engine: EngineSettings = EngineSettings()
    ato: AtoSettings = AtoSettings()
    actions: ActionsSettings = ActionsSettings()
    stream: StreamSettings = StreamSettings()
    cases: CasesSettings = CasesSettings()

    @model_validator(mode="after")
    def _no_short_secrets(self) -> Settings:
        # a secret given but too short is an error at once; a missing one (the placeholder)
        # only where a secret is used: see check_secrets
        if self.env != "development":
            for name, value in self.weak_secrets().items():
                if value != PLACEHOLDER_SECRET:
                    raise ValueError(self._weak_message([name]))
        return self

    def weak_secrets(self) -> dict[str, str]:
        """The secrets that are placeholders or shorter than ``MIN_SECRET_CHARS``."""
        out = {}
        for name, secret in self.secrets().items():
            value = secret.get_secret_value()
            if value.lower() in PLACEHOLDERS or len(value) < MIN_SECRET_CHARS:
                out[name] = value
        return out

    @staticmethod
    def _weak_message(names: list[str]) -> str:
        variables = ", ".join(ENV_PREFIX + n.upper().replace(".", "__") for n in names)
        return (
            f"{', '.join(names)} is a placeholder or shorter than {MIN_SECRET_CHARS} characters (or not set); set "
            f"{variables} (each a random value, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'), or, with test data only, use "
            "development placeholders (env: development: --dev where the command has it, or FRAUDWATCH_ENV=development)"
        )

    def check_secrets(self, *sections: str) -> None:
        """Refuse placeholder or missing secrets unless ``env`` is development: production is
        the default, and what serves or signs calls this first (``fraudwatch serve``, ``keys``,
        ``create_app``: every secret; ``outbox run``: ``"actions"``, the secrets under the
        names given; ``import``: ``"security.token_key"``).

        >>> s = Settings.model_validate({"actions": {"webhooks": {"bank": {"url": "https://b.example",
        ...     "secret": "whsec_" + "k" * 32}}}})
        >>> s.check_secrets("actions")  # the dispatcher signs with the webhook secret only
        >>> s.check_secrets()
        Traceback (most recent call last):
        ...
        fraudwatch.errors.ValidationFailed: security.key_pepper, security.token_key is a placeholder ...
        """
        if self.env != "development":
            weak = [
                n for n in self.weak_secrets() if not sections or any(n == s or n.startswith(s + ".") for s in sections)
            ]
            if weak:
                raise ValidationFailed(self._weak_message(sorted(weak)))

    def secrets(self) -> dict[str, SecretStr]:
        """Every secret of the tree by its dotted name."""
        found = {"security.token_key": self.security.token_key, "security.key_pepper": self.security.key_pepper}
        if self.actions.link_key is not None:
            found["actions.link_key"] = self.actions.link_key
        for name, endpoint in self.actions.webhooks.items():
            found[f"actions.webhooks.{name}.secret"] = endpoint.secret
            for i, old in enumerate(endpoint.previous_secrets):
                found[f"actions.webhooks.{name}.previous_secrets.{i}"] = old
        return found

    @property
    def models_dir(self) -> Path:
        return self.engine.models_dir or self.data_dir / "models"

    @property
    def uses_placeholder_secrets(self) -> bool:
        return any(s.get_secret_value() == PLACEHOLDER_SECRET for s in self.secrets().values())

    def actions_resolved(self) -> ActionsSettings:
        """The actions section with ``database`` and ``link_key`` filled in: the database
        beside the main one, and a link key derived from ``security.token_key`` (never the
        same bytes as the card number tokenizer's key)."""
        root = self.security.token_key.get_secret_value().encode()
        derived = hmac.new(root, b"fraudwatch answer links", hashlib.sha256).hexdigest()
        return self.actions.model_copy(
            update={
                "database": self.actions.database or self.data_dir / "fraudwatch-actions.db",
                "database_url": self.actions.database_url
                or (self.storage.url if self.storage.type == "postgresql" else None),
                "link_key": self.actions.link_key or SecretStr(derived),
            }
        )


class _Environment(EnvSettingsSource):
    """``FRAUDWATCH_*`` variables of a given mapping (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _check_names(environ: Mapping[str, str]) -> None:
    known = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    for variable in environ:
        if not variable.startswith(ENV_PREFIX) or variable == CONFIG_VARIABLE:
            continue
        if variable in RENAMED_VARIABLES:
            raise ValidationFailed(f"{variable} was renamed: set {RENAMED_VARIABLES[variable]} (see CHANGELOG.md)")
        if variable.split("__")[0] not in known:
            close = difflib.get_close_matches(variable.split("__")[0], known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValidationFailed(f"{variable} names no setting{hint} (settings: docs/configuration.md)")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from ``path`` (YAML or TOML; default ``$FRAUDWATCH_CONFIG``), overlaid with
    the ``FRAUDWATCH_*`` variables of ``environ`` (default ``os.environ``), overlaid with
    ``overrides`` (a command's flags, as a nested mapping).

    >>> load_settings(environ={"FRAUDWATCH_SERVER__PORT": "9002"}, overrides={"data_dir": "/d"}).server.port
    9002
    """
    environ = os.environ if environ is None else environ
    _check_names(environ)
    path = path or environ.get(CONFIG_VARIABLE)
    data: dict[str, Any] = {}
    if path:
        if not Path(path).is_file():
            raise ValidationFailed(f"{path}: no such settings file")
        if str(path).endswith(".toml"):
            data = TomlConfigSettingsSource(Settings, toml_file=path)()
        else:
            data = YamlConfigSettingsSource(Settings, yaml_file=path)()
    data = _merge(data, _Environment(environ)())
    return Settings.model_validate(_merge(data, overrides or {}))
