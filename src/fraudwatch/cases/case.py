"""Cases and episodes: the data types and the status machine, as data.

An **episode** is what one attack (or one false alarm) looks like from the log: the
decisions about the same card or account within a window of event time, with where they
came from (the attacker's devices, IPs and sessions), when it started and how bad it got.
The **case** is the episode's record: the same row, plus the analysts' work on it (queue,
owner, notes, verdict, disputes). One episode, one case; an *incident* (fraud confirmed
by the cardholder's "no" or an analyst's verdict) is a case whose verdict is fraud.

The allowed status moves are a table; an illegal move is refused, not logged:

>>> can_move(CaseStatus.OPEN, CaseStatus.IN_REVIEW)
True
>>> can_move(CaseStatus.MONITORING, CaseStatus.IN_REVIEW)
False
>>> check_move(CaseStatus.CLOSED, CaseStatus.IN_REVIEW)
Traceback (most recent call last):
...
fraudwatch.cases.case.IllegalTransition: a closed case cannot move to in_review; allowed: open
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fraudwatch.errors import Conflict, FraudwatchError


class CaseStatus(StrEnum):
    MONITORING = "monitoring"  # an episode with flagged decisions that needs no human (yet)
    OPEN = "open"  # in the review queue, nobody on it
    IN_REVIEW = "in_review"  # claimed by an analyst
    RECOVERING = "recovering"  # fraud confirmed; a refund, reversal or dispute is under way
    CLOSED = "closed"


S = CaseStatus
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.MONITORING: frozenset({S.OPEN, S.CLOSED}),  # queued by a trigger; closed by a "yes"
    S.OPEN: frozenset({S.IN_REVIEW, S.RECOVERING, S.CLOSED}),
    S.IN_REVIEW: frozenset({S.OPEN, S.RECOVERING, S.CLOSED}),  # released; or a verdict
    S.RECOVERING: frozenset({S.IN_REVIEW, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),  # reopened, e.g. by a chargeback on a closed case
}
#: statuses in which an episode still takes new events (a closed one never does)
ACTIVE = frozenset({S.MONITORING, S.OPEN, S.IN_REVIEW, S.RECOVERING})
#: statuses of the review queue
QUEUED = frozenset({S.OPEN, S.IN_REVIEW})


class Trigger(StrEnum):
    """Why a case entered the review queue."""

    REVIEW = "review"  # a decision with the review outcome
    CHALLENGE_UNANSWERED = "challenge_unanswered"  # no answer to a challenge within cases.challenge_timeout
    CARDHOLDER_NO = "cardholder_no"  # "no, it wasn't me"
    CHARGEBACK = "chargeback"
    FRAUD_REPORT = "fraud_report"  # Visa TC40, Mastercard SAFE, JCB issuer report
    EARLY_FRAUD_WARNING = "early_fraud_warning"
    ANALYST = "analyst"  # opened by hand


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def of_rank(cls, rank: int) -> Priority:
        return _BY_RANK[max(0, min(3, rank))]


_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.CRITICAL: 3}
_BY_RANK = {v: k for k, v in _RANK.items()}


class Verdict(StrEnum):
    FRAUD = "fraud"
    GENUINE = "genuine"


class FraudType(StrEnum):
    ACCOUNT_TAKEOVER = "account_takeover"
    STOLEN_CARD_NUMBER = "stolen_card_number"
    CARD_TESTING = "card_testing"
    FRIENDLY_FRAUD = "friendly_fraud"
    OTHER = "other"


class Role(StrEnum):
    """What an event is to its episode."""

    FLAGGED = "flagged"  # decided worse than allow: its device, IP and session are the attacker's
    DISPUTED = "disputed"  # a payment under a chargeback, fraud report or early warning: the attacker's too
    TRIGGER = "trigger"  # a chargeback, fraud report or early warning
    ANSWER = "answer"  # the cardholder's answer
    LABEL = "label"
    RECOVERY = "recovery"  # refund, reversal


#: roles whose device, IP and session are attributed to the attacker
ATTACKER_ROLES = frozenset({Role.FLAGGED, Role.DISPUTED})


class IllegalTransition(Conflict):
    """A status move the table does not allow."""


def refused(error: type[FraudwatchError], message: str, loc: str) -> FraudwatchError:
    """An error for the API naming the field it is about (``{"loc", "msg"}``).

    >>> refused(Conflict, "claimed by ben", "case_id").errors
    [{'loc': 'case_id', 'msg': 'claimed by ben'}]
    """
    exc = error(message)
    exc.errors = [{"loc": loc, "msg": message}]  # type: ignore[attr-defined]
    return exc


def can_move(current: CaseStatus, target: CaseStatus) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: CaseStatus, target: CaseStatus) -> None:
    if not can_move(current, target):
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise refused(
            IllegalTransition, f"a {current.value} case cannot move to {target.value}; allowed: {allowed}", "status"
        )


@dataclass(frozen=True, slots=True)
class Episode:
    """Decisions about one card or account within ``cases.episode_window`` of event time.

    Times (``started``, ``last_seen``) are event times, POSIX seconds. ``devices``,
    ``ips`` and ``sessions`` are the attacker's: those of the episode's flagged events
    and disputed payments (never of the owner's allowed activity). ``escalation`` is a
    level the response side raises (``escalate``), never lowers.
    """

    id: str
    reference: str
    card: str | None
    account: str | None
    status: CaseStatus
    started: float
    last_seen: float
    worst_outcome: str
    max_score: float | None
    escalation: int
    amount_at_risk: int
    currency: str | None
    devices: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    events: tuple[str, ...] = ()  # event ids, in event-time order
    created: bool = False  # True when the call that returned it opened it

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "card": self.card,
            "account": self.account,
            "status": self.status.value,
            "started": self.started,
            "last_seen": self.last_seen,
            "worst_outcome": self.worst_outcome,
            "max_score": self.max_score,
            "escalation": self.escalation,
            "amount_at_risk": self.amount_at_risk,
            "currency": self.currency,
            "attacker": {"devices": list(self.devices), "ips": list(self.ips), "sessions": list(self.sessions)},
            "events": list(self.events),
        }


@dataclass(frozen=True, slots=True)
class Case:
    """The record of an episode with the analysts' work on it (one row in the queue)."""

    id: str
    reference: str
    status: CaseStatus
    card: str | None
    account: str | None
    started: float  # event time
    last_seen: float  # event time
    worst_outcome: str
    max_score: float | None
    escalation: int
    amount_at_risk: int
    currency: str | None
    trigger: str | None
    priority: Priority
    queued_at: float | None  # wall time: SLAs are about the analysts' clock
    due_at: float | None
    assignee: str | None
    claimed_at: float | None
    verdict: str | None
    fraud_type: str | None
    verdict_by: str | None
    verdict_at: float | None
    contained_at: float | None
    scenario: str | None
    police_reference: str | None
    police_authority: str | None
    created: float
    updated: float
    closed_at: float | None
    version: int
    rules: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["status"] = self.status.value
        out["priority"] = self.priority.value
        out["rules"] = list(self.rules)
        return out
