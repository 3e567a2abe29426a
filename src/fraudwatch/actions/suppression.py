"""Confirmed-genuine suppressions: "card X confirmed behaviour B until T".

When a cardholder answers "yes, it was me" to an event the engine stopped, every
rule that stopped it becomes a *behaviour* confirmed for that card: for
``suppress_for`` (policy, default 30 days) a hit of that rule on that card no longer
acts. The engine consults a ``SuppressionSet`` (pure, in memory, no I/O) after
evaluating the rules (and adding the model-threshold hits, named like
``model.score>=0.6``) and before choosing the outcome::

    hits, shadow_hits = rules.evaluate(ctx)   # + model threshold hits
    hits, waived = suppressions.filter(event.card, event.ts, hits)
    shadow_hits += waived                     # still visible in the decision, do not act
    outcome = Outcome.worst(h.outcome for h in hits)

or, equivalently, on the finished decision: ``decision = apply_suppressions(decision,
event, suppressions)`` (pure; the engine's state does not depend on the outcome).

Times are event times (POSIX seconds), so replays and backtests repeat. A waived hit is
returned with ``shadow=True`` and ``values["suppressed_until"]`` so analysts see why it
did not act.

>>> from fraudwatch.decisions import RuleHit, Outcome
>>> s = SuppressionSet([Suppression("tok_1", "card_velocity_1d", since=100.0, until=1000.0)])
>>> hits = [RuleHit("card_velocity_1d", Outcome.BLOCK, {}), RuleHit("ato_gift_cards", Outcome.BLOCK, {})]
>>> kept, waived = s.filter("tok_1", 500.0, hits)
>>> [h.rule for h in kept], [(h.rule, h.shadow) for h in waived]
(['ato_gift_cards'], [('card_velocity_1d', True)])
>>> s.filter("tok_1", 1500.0, hits)[1], s.filter("tok_2", 500.0, hits)[1]
([], [])
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from fraudwatch.decisions import Decision, Outcome, RuleHit

MODEL_RULE = "model"  # the pseudo-rule name of an outcome that came from the model score


@dataclass(frozen=True, slots=True)
class Suppression:
    card: str  # card token, or account_key(account) for events without a card
    rule: str
    since: float
    until: float
    event_id: str | None = None


def account_key(account: str) -> str:
    """The suppression key of an account (for events that carry no card)."""
    return f"account:{account}"


class SuppressionSet:
    """Active suppressions keyed by (card, rule); safe to share between threads."""

    def __init__(self, items: Iterable[Suppression] = ()):
        self._items: dict[tuple[str, str], Suppression] = {}
        self._lock = threading.Lock()
        for s in items:
            self.add(s)

    def add(self, s: Suppression) -> None:
        """Add or extend; a longer confirmation wins."""
        with self._lock:
            old = self._items.get((s.card, s.rule))
            if old is None or s.until > old.until:
                self._items[(s.card, s.rule)] = s if old is None else replace(s, since=min(old.since, s.since))

    def active(self, card: str | None, rule: str, ts: float) -> Suppression | None:
        if card is None:
            return None
        s = self._items.get((card, rule))
        return s if s is not None and s.since <= ts < s.until else None

    def filter(
        self, card: str | None, ts: float, hits: list[RuleHit], account: str | None = None
    ) -> tuple[list[RuleHit], list[RuleHit]]:
        """Split rule hits into (kept, waived); waived come back as shadow hits. Events
        without a card are looked up by ``account`` (suppressions keyed ``account:<id>``)."""
        key = card or (account_key(account) if account else None)
        if key is None or not self._items:
            return list(hits), []
        kept, waived = [], []
        for h in hits:
            s = self.active(key, h.rule, ts)
            if s is None:
                kept.append(h)
            else:
                waived.append(replace(h, shadow=True, values={**h.values, "suppressed_until": s.until}))
        return kept, waived

    def for_card(self, card: str) -> list[Suppression]:
        return [s for (c, _), s in list(self._items.items()) if c == card]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items.values()))


def apply_suppressions(decision: Decision, event, suppressions: SuppressionSet | None) -> Decision:
    """The decision with confirmed-genuine rule hits moved to ``shadow_rules`` and the
    outcome recomputed from the hits left.

    >>> from fraudwatch.decisions import Outcome, RuleHit
    >>> from fraudwatch.events import parse_event
    >>> e = parse_event({"id": "e2", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt",
    ...                  "card": "tok_1", "amount": 1000, "currency": "JPY"})
    >>> d = Decision("e2", e.kind, e.time, Outcome.CHALLENGE,
    ...              rules=[RuleHit("card_velocity_1d", Outcome.CHALLENGE, {})])
    >>> s = SuppressionSet([Suppression("tok_1", "card_velocity_1d", since=0.0, until=e.ts + 1)])
    >>> apply_suppressions(d, e, s).outcome, [h.rule for h in apply_suppressions(d, e, s).shadow_rules]
    (<Outcome.ALLOW: 'allow'>, ['card_velocity_1d'])
    """
    if not suppressions or decision.duplicate or not decision.rules:
        return decision
    kept, waived = suppressions.filter(event.card, event.ts, decision.rules, account=event.account)
    if not waived:
        return decision
    out = replace(
        decision,
        rules=kept,
        shadow_rules=[*decision.shadow_rules, *waived],
        outcome=Outcome.worst(h.outcome for h in kept),
    )
    if out.outcome is Outcome.ALLOW:
        out.reasons = []
    return out


# ------------------------------------------------------------ persistence (services, no commit)
def save_suppression(conn, s: Suppression) -> None:
    conn.execute(
        "INSERT INTO suppressions(card, rule, until, event_id, created) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(card, rule) DO UPDATE SET"
        " until = CASE WHEN excluded.until > suppressions.until THEN excluded.until ELSE suppressions.until END,"
        " event_id = excluded.event_id",
        (s.card, s.rule, s.until, s.event_id, s.since),
    )


def load_suppressions(conn, *, now: float | None = None) -> list[Suppression]:
    """Suppressions still active at ``now`` (all when None)."""
    rows = conn.execute(
        "SELECT * FROM suppressions WHERE until > ?", (float("-inf") if now is None else now,)
    ).fetchall()
    return [
        Suppression(r["card"], r["rule"], since=r["created"], until=r["until"], event_id=r["event_id"]) for r in rows
    ]
