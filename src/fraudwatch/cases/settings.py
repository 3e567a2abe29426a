"""Settings of the cases domain (the ``cases`` section of the settings tree).

Durations are seconds or text like ``15m``, ``24h``, ``30d``. Episode windows and the
challenge timeout are in event time; SLAs are in wall time (they are about the analysts).

>>> s = CasesSettings.model_validate({"episode_window": "12h", "sla": {"critical": "30m"}})
>>> s.episode_window, s.sla_for(Priority.CRITICAL), s.sla_for(Priority.LOW)
(43200.0, 1800.0, 259200.0)
>>> s.priority_for(Trigger.REVIEW, amount_at_risk=250_000, score=None).value
'high'
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fraudwatch.actions import Duration
from fraudwatch.cases.case import Priority, Trigger
from fraudwatch.cases.retention import Retention

_DAY = 86400.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_sla() -> dict[Priority, float]:
    return {Priority.CRITICAL: 3600.0, Priority.HIGH: 4 * 3600.0, Priority.NORMAL: _DAY, Priority.LOW: 3 * _DAY}


def _default_trigger_priority() -> dict[Trigger, Priority]:
    return {
        Trigger.REVIEW: Priority.NORMAL,
        Trigger.CHALLENGE_UNANSWERED: Priority.NORMAL,
        Trigger.CARDHOLDER_NO: Priority.HIGH,
        Trigger.CHARGEBACK: Priority.HIGH,
        Trigger.FRAUD_REPORT: Priority.HIGH,
        Trigger.EARLY_FRAUD_WARNING: Priority.HIGH,
        Trigger.ANALYST: Priority.NORMAL,
    }


class CasesSettings(_Model):
    episode_window: Duration = Field(
        _DAY,
        description="event time without a new flagged decision after which the next one starts a new episode",
    )
    challenge_timeout: Duration = Field(
        3600.0, description="event time after a challenge without the cardholder's answer before it is queued"
    )
    sla: dict[Priority, Duration] = Field(
        default_factory=_default_sla, description="wall time from queueing to the due date, per priority"
    )
    trigger_priority: dict[Trigger, Priority] = Field(
        default_factory=_default_trigger_priority, description="starting priority of a case by what queued it"
    )
    raise_priority_amount: int = Field(
        100_000, ge=0, description="amount at risk (minor units) that raises the priority one step"
    )
    raise_priority_score: float = Field(0.9, ge=0, le=1, description="model score that raises the priority one step")
    early_warning_refund_below: int | None = Field(
        None, ge=1, description="refund at once a payment warned about below this amount (minor units); None: never"
    )
    compensation_lookback: dict[str, Duration] = Field(
        default_factory=lambda: {"default": 60 * _DAY, "prepaid": 90 * _DAY},
        description="how old a payment may be at the claim and still be compensated, by card type ('default': others)",
    )
    attachment_max_bytes: int = Field(10 * 2**20, ge=1, description="largest attachment of a case file")
    status_link_ttl: Duration = Field(90 * _DAY, description="how long a case status link works (wall time)")
    retention: Retention = Field(default_factory=Retention, description="what `fraudwatch cases purge` deletes")
    context_before: Duration = Field(
        72 * 3600.0, description="how far before an episode the case file shows the card's and account's events"
    )

    def lookback_for(self, card_type: str | None) -> float:
        table = self.compensation_lookback
        return table.get(card_type or "default", table.get("default", 60 * _DAY))

    def sla_for(self, priority: Priority) -> float:
        return self.sla.get(priority, _default_sla()[priority])

    def priority_for(self, trigger: Trigger, *, amount_at_risk: int, score: float | None) -> Priority:
        """The starting priority of ``trigger``, one step up for a large amount at risk and
        one for a high model score."""
        base = self.trigger_priority.get(trigger, _default_trigger_priority()[trigger])
        steps = int(amount_at_risk >= self.raise_priority_amount > 0)
        steps += int(score is not None and score >= self.raise_priority_score)
        return Priority.of_rank(base.rank + steps)
