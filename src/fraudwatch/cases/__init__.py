"""Cases: episodes, the review queue, the case file, disputes and evidence.

The **episode** API (used by the responses, the queue and the console), in
``fraudwatch.cases.episodes``; every function takes a connection inside the caller's
unit of work and never commits:

* ``open_or_join(conn, event_id=..., ts=..., kind=..., card=..., account=..., ...)``:
  the episode an event belongs to, opening one when there is none within the window;
* ``get_episode(conn, id)``, ``episode_for(conn, card=..., account=..., at=..., window=...)``,
  ``episode_of_event(conn, event_id)``;
* ``escalate(conn, id, level, now=...)``.

The case services (queue, claim, assign, release, notes, status moves) are in
``fraudwatch.cases.service``; ``CaseFlow`` (``fraudwatch.cases.flows``) applies the log's
decisions and events to cases. ``CaseWork(request, principal)`` does the work of the
``/v1/cases`` routes for callers in the service's process (the console; imported on first
use, as it needs the web side). See docs/cases.md.
"""

from fraudwatch.cases.case import (
    TRANSITIONS,
    Case,
    CaseStatus,
    Episode,
    FraudType,
    IllegalTransition,
    Priority,
    Role,
    Trigger,
    Verdict,
    can_move,
)
from fraudwatch.cases.episodes import episode_for, episode_of_event, escalate, get_episode, open_or_join
from fraudwatch.cases.flows import CaseFlow
from fraudwatch.cases.service import mark_contained
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.cases.store import SCHEMA
from fraudwatch.cases.victim import case_details, case_status_label, status_token

__all__ = [
    "SCHEMA",
    "CaseWork",
    "TRANSITIONS",
    "CaseFlow",
    "Case",
    "CaseStatus",
    "CasesSettings",
    "Episode",
    "FraudType",
    "IllegalTransition",
    "Priority",
    "Role",
    "Trigger",
    "Verdict",
    "can_move",
    "case_details",
    "case_status_label",
    "mark_contained",
    "status_token",
    "episode_for",
    "episode_of_event",
    "escalate",
    "get_episode",
    "open_or_join",
    "Desk",
]


def __getattr__(name: str):
    if name == "CaseWork":
        from fraudwatch.cases.casework import CaseWork

        return CaseWork
    # the simulated analysts' desk (used by ``fraudwatch demo``) opens its own database through
    # fraudwatch.actions, which imports this package: loaded on first use to keep the cycle open
    if name == "Desk":
        from fraudwatch.cases.desk import Desk

        return Desk
    raise AttributeError(f"module 'fraudwatch.cases' has no attribute {name!r}")
