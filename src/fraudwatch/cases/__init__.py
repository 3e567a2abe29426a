"""Cases: incidents with the events involved, and their status state machine."""

from fraudwatch.cases.incident import TRANSITIONS, IllegalTransition, Incident, IncidentStatus, can_move
from fraudwatch.cases.service import (
    add_events,
    create_incident,
    find_open_incident,
    get_incident,
    list_incidents,
    transition,
)

__all__ = [
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
    "transition",
]
