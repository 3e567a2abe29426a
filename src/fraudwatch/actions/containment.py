"""The card stopped everywhere, the attacker watched: containment lists kept by the engine.

A confirmed fraud (a ``label`` event with ``fraud: true`` from one of
``containment.label_sources``: the cardholder's "no", an analyst's verdict, the issuer) or
a decision that triggers a ``suspend_card`` response puts, in event time:

* the card token on ``@suspended_cards`` for ``containment.suspend_for`` (the default rules
  block it at every merchant and channel; a reissued card has a new token and flows);
* the event's device and IP on ``@watched_devices`` / ``@watched_ips`` for
  ``containment.watch_for`` (the default rules challenge their attempts on other cards).

It is pure and runs inside ``Engine.process`` (after the decision), so live serving, a
restart (the entries are in the engine's snapshot) and a replay of the stored stream all
see the same lists at the same event: the entries hold from the confirming event's time.
Operators see them at ``GET /v1/lists/{name}``.

>>> from fraudwatch.events import parse_event
>>> from fraudwatch.decisions import Decision, Outcome
>>> from fraudwatch.rules import ListStore
>>> from fraudwatch.actions.policy import default_policy
>>> c, lists = Containment(default_policy()), ListStore()
>>> c.prepare(lists)
>>> label = parse_event({"id": "l1", "time": "2026-11-21T13:30:00+09:00", "kind": "label", "target": "p1",
...                      "fraud": True, "source": "cardholder", "card": "tok_1", "device": "dev_x",
...                      "ip": "198.51.100.7"})
>>> c.after(label, Decision("l1", "label", label.time, Outcome.ALLOW), lists)
>>> lists.contains("suspended_cards", "tok_1", label.ts), lists.contains("suspended_cards", "tok_1", label.ts - 1)
(True, False)
>>> [lists.contains("watched_devices", "dev_x", label.ts + days * 86400) for days in (29, 31)]
[True, False]
>>> lists.entries("suspended_cards")[0].reason
'cardholder: fraud confirmed (l1 about p1)'
"""

from __future__ import annotations

from typing import Any

from fraudwatch.actions.policy import Policy
from fraudwatch.decisions import Decision, Outcome

__all__ = ["Containment", "SUSPENDED_CARDS", "WATCHED_DEVICES", "WATCHED_IPS"]

SUSPENDED_CARDS = "suspended_cards"
WATCHED_DEVICES = "watched_devices"
WATCHED_IPS = "watched_ips"
PRUNE_EVERY = 1000  # entries added between two prunings of long-expired ones


class Containment:
    """Built from the response policy; given to the engine (``Engine(containment=...)``)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        settings = policy.containment
        self.suspend_for = settings.suspend_for
        self.watch_for = settings.watch_for
        self.sources = frozenset(settings.label_sources)
        self._suspending = [r for r in policy.responses if "suspend_card" in r.actions]
        self._added = 0

    def prepare(self, lists: Any) -> None:
        """Create the lists (empty), so rules naming them see "not in the list", not missing."""
        for name in (SUSPENDED_CARDS, WATCHED_DEVICES, WATCHED_IPS):
            if name not in lists.names():
                lists.add(name)

    def wants(self, kind: str, outcome: Outcome) -> bool:
        """Whether ``after`` can do anything for a decision (a cheap test for the engine)."""
        return kind == "label" or (outcome is Outcome.BLOCK and bool(self._suspending))

    def after(self, event: Any, decision: Decision, lists: Any) -> None:
        if event.kind == "label":
            if event.fraud and event.source in self.sources:
                self._contain(event, lists, f"{event.source}: fraud confirmed ({event.id} about {event.target})")
            return
        if decision.outcome is Outcome.BLOCK and not decision.duplicate:
            for response in self._suspending:
                if response.when.matches(event.kind, decision):
                    self._contain(event, lists, f"response {response.name} ({event.id})")
                    return

    def _contain(self, event: Any, lists: Any, reason: str) -> None:
        ts = event.ts
        if event.card:
            lists.add_entry(
                SUSPENDED_CARDS, event.card, since=ts, until=ts + self.suspend_for, reason=reason, event=event.id
            )
        for name, value in ((WATCHED_DEVICES, event.device), (WATCHED_IPS, event.ip)):
            if value:
                lists.add_entry(name, value, since=ts, until=ts + self.watch_for, reason=reason, event=event.id)
        self._added += 1
        if self._added % PRUNE_EVERY == 0:
            lists.prune(before=ts - max(self.suspend_for, self.watch_for))
