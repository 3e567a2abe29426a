"""What the client returns: decisions (real or fallback) and per-event batch results, and
the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fraudwatch.errors import FraudwatchError

__all__ = ["BatchResult", "ClientError", "Decision", "Unavailable"]

Outcome = Literal["allow", "review", "challenge", "block"]


class ClientError(FraudwatchError):
    """The service refused a request (4xx other than 422 on an event): a bad key (401), a
    missing scope (403), an id reused with another body (409), a body too large (413).
    ``status_code`` and ``errors`` are the service's."""

    def __init__(self, status_code: int, errors: list[dict[str, str]]):
        super().__init__(f"{status_code}: " + "; ".join(f"{e.get('loc')}: {e.get('msg')}" for e in errors))
        self.status_code = status_code
        self.errors = errors


class Unavailable(FraudwatchError):
    """The service could not be reached or kept failing (5xx) through every retry; raised by
    calls off the payment path (``send_batch``, reads). ``decide`` returns a fallback instead."""

    status_code = 503


@dataclass(frozen=True)
class Decision:
    """The service's decision about one event, or the documented fallback.

    ``fallback`` is ``None`` for a decision the service made, else why the client answered on
    its own: ``"deadline"`` (no answer within the deadline) or ``"unavailable"`` (connection
    errors or 5xx through every retry). A fallback carries the client's ``fallback_outcome``
    (``allow`` by default: let the payment through and flag it for review) and ``review`` is
    true. Resending the same event later (same id) gets the service's own decision once, as
    the service is idempotent."""

    event_id: str
    outcome: Outcome
    score: float | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    resent: bool = False
    fallback: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def review(self) -> bool:
        """True when a person should look at the event: a fallback, or the outcome ``review``."""
        return self.fallback is not None or self.outcome == "review"

    @property
    def fired(self) -> list[str]:
        """Names of the enforced rules that fired."""
        return [hit["rule"] for hit in self.rules]

    @classmethod
    def from_json(cls, data: dict[str, Any], resent: bool = False) -> Decision:
        return cls(
            event_id=data["event_id"],
            outcome=data["outcome"],
            score=data.get("score"),
            rules=list(data.get("rules") or []),
            reasons=list(data.get("reasons") or []),
            resent=resent or bool(data.get("duplicate")),
            raw=data,
        )


@dataclass(frozen=True)
class BatchResult:
    """One event of a batch, in input order: ``decision`` when ``status`` is 200, else the
    service's (or the client's own check's) ``errors``."""

    index: int
    event_id: str | None
    status: int
    decision: Decision | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200
