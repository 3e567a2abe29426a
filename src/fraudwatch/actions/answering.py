"""Answers to "was this you?": recorded as events, applied once per episode.

``Answering`` is the answer half of ``Responder`` (a mixin: it uses the responder's
database, policy, messages, cases and suppressions). ``answer(token)`` records an answer to
an episode's alert and returns its events: a ``label`` per stopped event and a
``cardholder.answer``, dated in event time. Their effects (the ``on_yes`` / ``on_no``
actions, suppressions, the case) are applied when ``plan`` meets the ``cardholder.answer``
event: at once for a standalone responder, or by the log's follower in the decision
service (``defer_answers``), in log order, as a replay of the stored stream does.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fraudwatch.actions import alerting
from fraudwatch.actions.service import get_alert
from fraudwatch.actions.signing import TokenUsed, read_token
from fraudwatch.actions.suppression import Suppression, account_key, load_suppressions, save_suppression
from fraudwatch.cases import get_episode
from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import FraudwatchError
from fraudwatch.events.kinds import CardholderAnswer, Envelope, Label, event_to_dict

__all__ = ["AnswerResult", "Answering"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AnswerResult:
    alert_id: str
    event_id: str
    answer: str
    events: list[Envelope]  # the label and cardholder.answer events emitted
    messages: list[str]  # outbox ids enqueued
    case: str | None = None  # the case of the episode answered about
    reference: str | None = None  # the case's reference (FW-XXXX-XXXX) the cardholder can quote
    suppressions: list[Suppression] = field(default_factory=list)
    language: str | None = None  # of the alert's messages and pages

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert": self.alert_id,
            "event": self.event_id,
            "answer": self.answer,
            "events": [event_to_dict(e) for e in self.events],
            "messages": self.messages,
            "case": self.case,
            "reference": self.reference,
            "suppressions": [{"card": s.card, "rule": s.rule, "until": s.until} for s in self.suppressions],
        }


class Answering:
    # ------------------------------------------------------------ answers
    def check(self, token: str, *, now: float | None = None) -> tuple[str, dict[str, Any]]:
        """Validate a link without using it: ``(answer, alert summary)``; raises
        ``TokenInvalid`` (403), ``TokenExpired`` (410) or ``TokenUsed`` (409)."""
        claims = read_token(self._key, token, now=self.clock() if now is None else now)
        alert = self._alert(claims.alert_id)
        if alert["answered_at"] is not None:
            raise TokenUsed("this alert was already answered")
        return claims.answer, json.loads(alert["summary"])

    def language_of(self, token: str) -> str | None:
        """The language of the alert a link belongs to (its pages speak it); None for a
        link of no alert."""
        try:
            claims = read_token(self._key, token, now=float("-inf"))
            return self.messages.language_for(self._alert(claims.alert_id)["language"])
        except FraudwatchError:
            return None

    def answer(self, token: str, *, now: float | None = None) -> AnswerResult:
        """Apply a cardholder's answer once, to the whole episode: a ``label`` for each of
        its stopped events and a ``cardholder.answer`` event (dated in event time: the
        later of now and the episode's latest event), and their effects at once. The
        events must then reach the engine and the log (``emit``, or the views submit
        them): the engine's containment lists read the labels, and the log's follower (or
        a replay of the log) applies the answer again, finding it done."""
        now = self.clock() if now is None else now
        claims = read_token(self._key, token, now=now)  # link expiry: wall time
        with self.db.unit_of_work() as conn:
            alert = self._alert(claims.alert_id, conn)
            used = conn.execute(
                "UPDATE alerts SET answered_at = ?, answer = ? WHERE id = ? AND answered_at IS NULL",
                (now, claims.answer, alert["id"]),
            ).rowcount
            if used == 0:
                raise TokenUsed("this alert was already answered")
            events = self._answer_events(alert, claims.answer, at=max(now, alert["last_ts"] or 0.0))
            answer_event = events[-1]
            if self.defer_answers:
                # the log's follower applies it, in log order, as a replay of the log will;
                # the engine needs a "yes" now
                ids, suppressions = [], self._confirm(conn, alert, answer_event)
            else:
                allow = Decision(answer_event.id, answer_event.kind, answer_event.time, Outcome.ALLOW)
                ids = self.plan(conn, answer_event, allow, now=now)
                suppressions = suppressions_of(conn, alert["event_id"]) if claims.answer == "yes" else []
            alert = get_alert(conn, alert["id"])
            episode = get_episode(conn, alert["episode"]) if alert["episode"] else None
            result = AnswerResult(
                alert["id"],
                alert["event_id"],
                claims.answer,
                events,
                ids,
                case=None if episode is None else episode.id,
                reference=None if episode is None else episode.reference,
                suppressions=suppressions,
                language=alert["language"],
            )
        if result.messages:
            self.dispatcher.wake()
        if self.emit is not None:
            for e in result.events:
                try:
                    self.emit(e)
                except Exception:  # the answer is recorded and applied; a replay of the log would lack these
                    log.exception("emit of %s %s failed", e.kind, e.id)
        return result

    def _answer_events(self, alert, answer: str, *, at: float) -> list[Envelope]:
        """A label per stopped event of the episode, with that event's card, account,
        device, IP and session (so the engine watches every device and IP the attacker
        used), then the ``cardholder.answer`` about the event that raised the alert."""
        when = datetime.fromtimestamp(at, UTC)
        stopped = json.loads(alert["events"] or "[]") or [
            {"id": alert["event_id"], "card": alert["card"], "account": alert["account"]}
        ]
        events: list[Envelope] = [
            Label(
                id=f"label-{alert['id']}-{i}",
                time=when,
                kind="label",
                target=e["id"],
                fraud=answer == "no",
                source="cardholder",
                **{f: e[f] for f in alerting.ENTITY_FIELDS if e.get(f)},
            )
            for i, e in enumerate(stopped)
        ]
        refs = {"card": alert["card"], "account": alert["account"]}
        events.append(
            CardholderAnswer(
                id=f"answer-{alert['id']}",
                time=when,
                kind="cardholder.answer",
                target=alert["event_id"],
                answer=answer,
                **{k: v for k, v in refs.items() if v},
            )
        )
        return events

    def _answered(self, conn, event: Envelope, episode, *, now: float) -> list[str]:
        """The effects of a ``cardholder.answer`` event, once per alert: from ``answer`` at
        once, and again (finding them done) from the log or a replay of it."""
        alert = alerting.alert_of_episode(conn, self._key, episode.id) if episode is not None else None
        if alert is None or alert["applied"] is not None:
            return []
        conn.execute(
            "UPDATE alerts SET applied = ?, answered_at = coalesce(answered_at, ?), answer = coalesce(answer, ?)"
            " WHERE id = ?",
            (event.id, now, event.answer, alert["id"]),
        )
        rules = json.loads(alert["rules"])
        cause = {
            "type": "cardholder_answer",
            "alert": alert["id"],
            "event": alert["event_id"],
            "answer": event.answer,
            "outcome": alert["outcome"],
            "rules": rules,
        }
        endpoint = self.policy.answers.endpoint
        ids = self._webhook(
            conn,
            origin=alert["id"],
            type="event.cardholder.answer",
            endpoint=endpoint,
            data={**event_to_dict(event), "labelled": [e["id"] for e in json.loads(alert["events"])]},
            now=now,
        )
        if event.answer == "yes":
            self._confirm(conn, alert, event)
            actions = self.policy.answers.on_yes.actions.get(Outcome(alert["outcome"]), [])
        else:
            actions = self.policy.answers.on_no.actions
        if actions and episode is not None:
            ids += self._respond(
                conn,
                [(a, endpoint, cause) for a in actions],
                episode=episode,
                event_id=event.id,
                at=event.ts,
                before_seq=None,
                now=now,
            )
        return ids

    def _confirm(self, conn, alert, event: Envelope) -> list[Suppression]:
        """A "yes": the rules that stopped the episode's events stay quiet for the card (or
        account) from the confirmed event on, until ``suppress_for`` after the answer."""
        if event.answer != "yes":
            return []
        yes = self.policy.answers.on_yes
        key = alert["card"] or (account_key(alert["account"]) if alert["account"] else None)
        if not key:
            return []
        first = json.loads(alert["events"] or "[]")
        since = first[0]["ts"] if first else event.ts
        made = []
        for rule in filter(yes.suppressible, json.loads(alert["rules"])):
            s = Suppression(key, rule, since=since, until=event.ts + yes.suppress_for, event_id=alert["event_id"])
            save_suppression(conn, s)
            self.suppressions.add(s)
            made.append(s)
        return made


def suppressions_of(conn, event_id: str) -> list[Suppression]:
    """The suppressions a "yes" about ``event_id`` made."""
    return [s for s in load_suppressions(conn) if s.event_id == event_id]
