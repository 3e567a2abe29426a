"""Incidents: a confirmed fraud with the events involved, tracked to its end.

The allowed status moves are a table; an illegal move is refused.

>>> can_move(IncidentStatus.OPEN, IncidentStatus.CONTAINED)
True
>>> can_move(IncidentStatus.OPEN, IncidentStatus.REFUNDED)
False
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from fraudwatch.errors import Conflict


class IncidentStatus(str, Enum):
    OPEN = "open"  # fraud confirmed, containment under way
    CONTAINED = "contained"  # every containment action delivered
    REFUNDED = "refunded"  # the merchant refunded the victim
    REVERSED = "reversed"  # the authorization was reversed before settlement
    CHARGED_BACK = "charged_back"  # recovered through a chargeback
    CLOSED = "closed"


S = IncidentStatus
TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.OPEN: frozenset({S.CONTAINED}),
    # closed straight from contained: nothing to recover (every attempt was declined)
    S.CONTAINED: frozenset({S.REFUNDED, S.REVERSED, S.CHARGED_BACK, S.CLOSED}),
    S.REFUNDED: frozenset({S.CLOSED}),
    S.REVERSED: frozenset({S.CLOSED}),
    S.CHARGED_BACK: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


class IllegalTransition(Conflict):
    """A status move the table does not allow."""


def can_move(current: IncidentStatus, target: IncidentStatus) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: IncidentStatus, target: IncidentStatus) -> None:
    if not can_move(current, target):
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final)"
        raise IllegalTransition(f"incident cannot move from {current.value} to {target.value}; allowed: {allowed}")


@dataclass(slots=True)
class Incident:
    id: str
    status: IncidentStatus
    card: str | None
    account: str | None
    trigger_event: str
    events: list[str]
    created: float
    updated: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d
