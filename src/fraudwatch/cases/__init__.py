"""Cases: incidents with the events involved, and their status state machine."""

from fraudwatch.cases.incident import TRANSITIONS, IllegalTransition, Incident, IncidentStatus, can_move
from fraudwatch.cases.service import (
    RECOVERY_KINDS,
    add_events,
    create_incident,
    find_open_incident,
    get_incident,
    list_incidents,
    record_recovery,
    transition,
)

__all__ = [
    "RECOVERY_KINDS",
    "IllegalTransition",
    "Incident",
    "IncidentStatus",
    "TRANSITIONS",
    "can_move",
    "add_events",
    "create_incident",
    "find_open_incident",
    "get_incident",
    "list_incidents",
    "record_recovery",
    "transition",
]
