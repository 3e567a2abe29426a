"""The engine core: event in, decision out, with no I/O.

Live serving, replay, backtests and model training all call :meth:`Engine.process`, so
the features a model is trained on are the features it is served.

>>> from fraudwatch.events import parse_event
>>> from fraudwatch.features import FeatureSet
>>> from fraudwatch.rules import RuleSet
>>> features = FeatureSet.from_yaml('''
... version: doc
... features:
...   - name: card.declines_24h
...     entity: card
...     kinds: [payment.attempt]
...     filter: "event.result == 'declined'"
...     agg: count
...     window: 24h
... ''')
>>> rules = RuleSet.parse('''
... rule repeated_declines:
...     block if card.declines_24h >= 3
... ''', version="doc")
>>> engine = Engine(features=features, rules=rules)
>>> for hour in (13, 16, 23):
...     d = engine.process(parse_event({"id": f"p{hour}", "time": f"2026-11-21T{hour}:00:00+09:00",
...         "kind": "payment.attempt", "card": "tok_1", "amount": 17600, "currency": "JPY",
...         "result": "declined", "decline_reason": "insufficient_funds"}))
>>> d.outcome.value, d.rules[0].rule, d.rules[0].values
('block', 'repeated_declines', {'card.declines_24h': 3})
>>> engine.process(parse_event({"id": "p23", "time": "2026-11-21T23:00:00+09:00",
...     "kind": "payment.attempt", "card": "tok_1", "amount": 17600, "currency": "JPY"})).duplicate
True
"""

from __future__ import annotations

import pickle
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from fraudwatch import ENGINE_VERSION
from fraudwatch.decisions import Decision, Outcome, Reason, RuleHit, allow_overrides, decided_by
from fraudwatch.errors import InvalidValue
from fraudwatch.events.kinds import Envelope, PaymentAttempt
from fraudwatch.features import FeatureEngine, FeatureSet
from fraudwatch.features.engine import SnapshotError, advance
from fraudwatch.models.base import Scorer
from fraudwatch.rules import Context, ListStore, RuleSet

__all__ = ["Engine", "Scorer", "DEFAULT_DEDUP_HORIZON"]

DEFAULT_DEDUP_HORIZON = 7 * 86400.0  # event ids are remembered this long, in event time
SNAPSHOT_FORMAT = 1


class Suppressions(Protocol):
    """Behaviour the cardholder confirmed as genuine ("yes, it was me"): hits of those
    rules on that card are waived until the confirmation expires
    (``fraudwatch.actions.suppression.SuppressionSet``)."""

    def filter(
        self, card: str | None, ts: float, hits: list[RuleHit], account: str | None = None
    ) -> tuple[list[RuleHit], list[RuleHit]]: ...


class Containment(Protocol):
    """Lists a confirmed fraud changes, in event time: the card suspended everywhere, the
    attacker's device and IP watched (``fraudwatch.actions.containment.Containment``)."""

    def prepare(self, lists: ListStore) -> None: ...

    def wants(self, kind: str, outcome: Outcome) -> bool: ...

    def after(self, event: Envelope, decision: Decision, lists: ListStore) -> None: ...


_THRESHOLD_ORDER = (Outcome.BLOCK, Outcome.CHALLENGE, Outcome.REVIEW)
_ALLOW = Outcome.ALLOW
_CHALLENGE = Outcome.CHALLENGE
# a challenge without a step-up named by its rule: 3-D Secure where a card is at stake
_THREE_DS_KINDS = frozenset({"payment.attempt", "account.payment_method_added"})
_INDICATORS = {"three_ds": "03", "three_ds_mandated": "04"}  # EMV 3DS Requestor Challenge Indicator


def step_up_for(kind: str, hits: list[RuleHit]) -> dict[str, Any]:
    """What a challenge asks for: the step-up named by the first enforced challenge rule,
    else a second factor for a login and 3-D Secure (indicator 03) for a payment."""
    for hit in hits:
        if hit.outcome is _CHALLENGE:
            method = hit.step_up or ("three_ds" if kind in _THREE_DS_KINDS else "second_factor")
            out: dict[str, Any] = {"method": method, "rule": hit.rule}
            if method in _INDICATORS:
                out["challenge_indicator"] = _INDICATORS[method]
            return out
    return {"method": "three_ds" if kind in _THREE_DS_KINDS else "second_factor", "challenge_indicator": "03"}


class Engine:
    """Turns each event into a :class:`~fraudwatch.decisions.Decision`.

    ``thresholds`` maps outcome names to model-score thresholds, e.g.
    ``{"block": 0.9, "challenge": 0.6}``: a score at or above one adds a hit named
    ``model.score>=0.9``. ``challengers`` are models that score in shadow beside the
    champion; their scores are recorded, never enforced. ``suppressions`` waive rule hits
    the cardholder has confirmed as genuine behaviour (they move to the shadow hits).
    ``containment`` updates ``lists`` after a decision that confirms a fraud (its entries
    hold in event time and are part of the snapshot).
    """

    def __init__(
        self,
        features: FeatureSet,
        rules: RuleSet,
        model: Scorer | None = None,
        challengers: Iterable[Scorer] = (),
        lists: ListStore | None = None,
        thresholds: Mapping[str, float] | None = None,
        lateness: float = 3600.0,
        dedup_horizon: float = DEFAULT_DEDUP_HORIZON,
        suppressions: Suppressions | None = None,
        containment: Containment | None = None,
        owns: Callable[[Any], bool] | None = None,
    ):
        self.feature_set = features
        self.rules = rules
        self.model = model
        self.challengers = tuple(challengers)
        self.lists = lists if lists is not None else ListStore()
        self.thresholds = dict(thresholds or {})
        self.lateness = lateness
        self.dedup_horizon = dedup_horizon
        self.suppressions = suppressions
        self.containment = containment
        if containment is not None:
            containment.prepare(self.lists)
        # owns: a partition's engine keeps the state of these keys only (partial_features)
        self._features = FeatureEngine(features, lateness=lateness, owns=owns)
        # per event kind: what adds the account-takeover values to a decision (retry_after,
        # the takeover episode), from the stateful features that provide them
        self._annotate = self._features.annotators()
        self._seen: set[str] = set()
        self._seen_order: deque[tuple[float, str]] = deque()
        self._clock = float("-inf")  # the latest time two consecutive events reached
        self._previous = float("-inf")  # the time of the latest event
        self._validate_thresholds()
        self._refresh_versions()

    # ------------------------------------------------------------ processing
    def process(self, event: Envelope, partial: dict[str, Any] | None = None) -> Decision:
        """The decision for ``event``. ``partial``: the event's first-pass feature values,
        computed by the partitions of a parallel replay (:meth:`partial_features` in each,
        ``fraudwatch.replay``); this engine then computes only the rest."""
        started = time.perf_counter()
        ts = event.ts
        event_id = event.id
        if not self._first_sight(event_id, ts):
            return Decision(event_id, event.kind, event.time, Outcome.ALLOW, duplicate=True, versions=self.versions)
        features = self._features
        values = features.process(event, ts) if partial is None else features.join(event, ts, partial)
        return self._decide(event, ts, values, started)

    def partial_features(self, event: Envelope) -> dict[str, Any] | None:
        """A partition's share of :meth:`process`: the first-pass features of the keys its
        feature engine owns (``FeatureEngine(owns=...)``), or None for a repeated event id
        (which :meth:`process` answers as a duplicate)."""
        ts = event.ts
        if not self._first_sight(event.id, ts):
            return None
        return self._features.partial(event, ts)

    def _first_sight(self, event_id: str, ts: float) -> bool:
        """Whether the id is new; remembers it, and forgets ids older than the dedup
        horizon in event time."""
        seen = self._seen
        if event_id in seen:
            return False
        seen.add(event_id)
        self._seen_order.append((ts, event_id))
        if ts > self._clock:
            # one event dated far ahead must not make every id forgotten (see advance())
            clock = advance(self._clock, ts, self._previous)
            if clock > self._clock:
                self._clock = clock
                horizon = clock - self.dedup_horizon
                order = self._seen_order
                while order and order[0][0] < horizon:
                    seen.discard(order.popleft()[1])
        self._previous = ts
        return True

    def _decide(self, event: Envelope, ts: float, values: dict[str, Any], started: float) -> Decision:
        kind = event.kind
        event_id = event.id
        features = self._features
        score = None
        model_values: dict[str, float] = {}
        model = self.model
        if model is not None and kind in model.kinds:
            score = model_values["score"] = model.score(event, values)
        shadow_scores = (
            {c.version: c.score(event, values) for c in self.challengers if kind in c.kinds} if self.challengers else {}
        )

        hits, shadow_hits = self.rules.evaluate(Context(event, values, model_values, self.lists))
        if score is not None:
            for outcome in _THRESHOLD_ORDER:
                limit = self.thresholds.get(outcome.value)
                if limit is not None and score >= limit:
                    hits.append(RuleHit(f"model.score>={limit:g}", outcome, {"model.score": round(score, 6)}))
                    break
        winner = None
        if hits:
            for hit in hits:
                if hit.outcome is _ALLOW:  # an explicit allow overrides the rest (Radar's order)
                    hits, overridden = allow_overrides(hits)
                    shadow_hits.extend(overridden)
                    break
            if self.suppressions is not None:
                hits, waived = self.suppressions.filter(event.card, ts, hits, account=event.account)
                shadow_hits.extend(waived)  # recorded with their reason, not enforced
            if hits:
                outcome = Outcome.worst(h.outcome for h in hits)
                winner = decided_by(hits)
            else:
                outcome = _ALLOW
        else:
            outcome = _ALLOW
        features.decided(event, ts, outcome.value)  # logins enter the login history once allowed
        reasons: list[Reason] = []
        if score is not None and outcome is not _ALLOW and model is not None:
            reasons = model.explain(event, values)
        decision = Decision(
            event_id,
            kind,
            event.time,
            outcome,
            score,
            hits,
            shadow_hits,
            reasons,
            values,
            self.versions,
            0.0,
            False,
            shadow_scores,
        )
        decision.decided_by = winner
        if outcome is _CHALLENGE:
            decision.step_up = step_up_for(kind, hits)
        if isinstance(event, PaymentAttempt):
            decision.liability_shift = event.liability_shift
        annotate = self._annotate.get(kind)
        if annotate is not None:
            annotate(event, values, decision)
        containment = self.containment
        if containment is not None and containment.wants(kind, outcome):
            containment.after(event, decision, self.lists)
        decision.processing_us = (time.perf_counter() - started) * 1e6
        return decision

    # ------------------------------------------------------ live changes
    def swap_rules(self, rules: RuleSet) -> None:
        """Replace the rule set between two events (one assignment: atomic under the GIL)."""
        self.rules = rules
        self._refresh_versions()

    def swap_model(self, model: Scorer | None, challengers: Iterable[Scorer] = ()) -> None:
        self.model = model
        self.challengers = tuple(challengers)
        self._refresh_versions()

    def set_thresholds(self, thresholds: Mapping[str, float]) -> None:
        self.thresholds = dict(thresholds)
        self._validate_thresholds()

    def _validate_thresholds(self) -> None:
        for name, value in self.thresholds.items():
            if name not in {o.value for o in _THRESHOLD_ORDER}:
                raise InvalidValue(f"thresholds.{name}: expected one of block, challenge, review")
            if not 0.0 <= float(value) <= 1.0:
                raise InvalidValue(f"thresholds.{name}: {value} is not a probability in [0, 1]")

    def _refresh_versions(self) -> None:
        self.versions = {
            "engine": ENGINE_VERSION,
            "features": f"{self.feature_set.version}@{self.feature_set.digest[:12]}",
            "rules": f"{self.rules.version}@{self.rules.digest[:12]}",
        }
        if self.model is not None:
            self.versions["model"] = self.model.version

    # ------------------------------------------------------------ state
    def memory_report(self) -> dict[str, Any]:
        report = self._features.memory_report()
        report["dedup_ids"] = len(self._seen)
        return report

    def snapshot(self) -> bytes:
        """Feature state and remembered event ids, for restart without double counting."""
        return pickle.dumps(
            {
                "format": SNAPSHOT_FORMAT,
                "features_digest": self.feature_set.digest,
                "features": self._features.snapshot(),
                "seen": list(self._seen_order),
                "clock": self._clock,
                "previous": self._previous,
                "lists": self.lists.timed_state(),
            },
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    def restore(self, blob: bytes) -> None:
        """Load a snapshot taken by :meth:`snapshot` with the same feature set.

        Snapshots are written and read only by fraudwatch itself (never accept one from
        outside: unpickling runs code)."""
        state = pickle.loads(blob)
        if state.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError("snapshot format not supported")
        if state["features_digest"] != self.feature_set.digest:
            raise SnapshotError("snapshot was taken with another feature set; replay the event log instead")
        self._features = FeatureEngine.restore(self.feature_set, state["features"])
        self._annotate = self._features.annotators()
        self._seen_order = deque(tuple(x) for x in state["seen"])
        self._seen = {event_id for _, event_id in self._seen_order}
        self._clock = state["clock"]
        self._previous = state.get("previous", self._clock)
        self.lists.restore_timed(state.get("lists", {}))
