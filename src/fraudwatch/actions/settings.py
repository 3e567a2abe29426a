"""Settings of the actions domain: one typed tree, secrets from configuration.

>>> s = ActionsSettings(token_key="0123456789abcdef0123456789abcdef", environment="production")
>>> s.retry.max_attempts
10
>>> ActionsSettings(token_key="change-me", environment="production")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ActionsSettings
...
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev", "development"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookEndpoint(_Model):
    url: str = Field(..., pattern=r"^https?://")
    secret: SecretStr


class SmtpSettings(_Model):
    host: str = "localhost"
    port: int = 25
    sender: str = Field("fraudwatch@localhost", description="From: address")
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 10.0


class RetrySettings(_Model):
    max_attempts: int = Field(10, ge=1, description="attempts before a message becomes a dead letter")
    base_delay: float = Field(1.0, gt=0, description="first retry delay, doubled each attempt")
    max_delay: float = Field(600.0, gt=0)
    lease: float = Field(60.0, gt=0, description="how long a claimed message is hidden from other dispatchers")
    poll_interval: float = Field(0.25, gt=0)
    timeout: float = Field(5.0, gt=0, description="HTTP timeout of one webhook attempt")
    batch: int = Field(20, ge=1)
    concurrency: int = Field(4, ge=1, description="messages sent at once")


class ActionsSettings(_Model):
    environment: Literal["development", "test", "production"] = "development"
    database: str = "fraudwatch-actions.db"
    public_url: str = Field("http://localhost:8000", description="base of the answer links")
    token_key: SecretStr = Field(..., description="HMAC key of the answer links")
    link_ttl: float | None = Field(None, description="override of the policy's risk_alerts.link_ttl, seconds")
    webhooks: dict[str, WebhookEndpoint] = Field(default_factory=dict)
    smtp: SmtpSettings | None = None
    policy: str | None = Field(None, description="path of a policy YAML; None: the packaged default")
    retry: RetrySettings = RetrySettings()

    @model_validator(mode="after")
    def _real_secrets(self) -> ActionsSettings:
        if self.environment == "production":
            secrets = {"token_key": self.token_key} | {
                f"webhooks.{n}.secret": e.secret for n, e in self.webhooks.items()
            }
            for name, value in secrets.items():
                raw = value.get_secret_value()
                if raw.lower() in PLACEHOLDER_SECRETS or len(raw) < 16:
                    raise ValueError(f"{name}: a placeholder or short secret (< 16 chars) is refused in production")
        return self

    def load_policy(self):
        """The response policy this names (``policy``), or the packaged default."""
        from fraudwatch.actions.policy import Policy, default_policy

        return Policy.from_path(self.policy) if self.policy else default_policy()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ActionsSettings:
        """From ``FRAUDWATCH_*`` variables (used by ``fraudwatch outbox``)."""
        env = os.environ if env is None else env
        data: dict = {
            "environment": env.get("FRAUDWATCH_ENV", "development"),
            "database": env.get("FRAUDWATCH_ACTIONS_DB", "fraudwatch-actions.db"),
            "public_url": env.get("FRAUDWATCH_PUBLIC_URL", "http://localhost:8000"),
            "token_key": env.get("FRAUDWATCH_TOKEN_KEY", "change-me"),
            "policy": env.get("FRAUDWATCH_ACTIONS_POLICY"),
        }
        if env.get("FRAUDWATCH_WEBHOOK_URL"):
            data["webhooks"] = {
                "default": {"url": env["FRAUDWATCH_WEBHOOK_URL"], "secret": env.get("FRAUDWATCH_WEBHOOK_SECRET", "")}
            }
        retry = {
            k: float(env[f"FRAUDWATCH_OUTBOX_{k.upper()}"])
            for k in ("lease", "base_delay", "max_delay", "poll_interval", "timeout")
            if env.get(f"FRAUDWATCH_OUTBOX_{k.upper()}")
        }
        if env.get("FRAUDWATCH_OUTBOX_MAX_ATTEMPTS"):
            retry["max_attempts"] = int(env["FRAUDWATCH_OUTBOX_MAX_ATTEMPTS"])
        if retry:
            data["retry"] = retry
        if env.get("FRAUDWATCH_SMTP_HOST"):
            data["smtp"] = {
                "host": env["FRAUDWATCH_SMTP_HOST"],
                "port": int(env.get("FRAUDWATCH_SMTP_PORT", "25")),
                "sender": env.get("FRAUDWATCH_SMTP_FROM", "fraudwatch@localhost"),
            }
        return cls.model_validate(data)
