"""The responder: what happens after a decision and after a cardholder's answer.

>>> import tempfile, os
>>> from fraudwatch.events import parse_event
>>> from fraudwatch.decisions import Decision, Outcome, RuleHit
>>> settings = ActionsSettings(database=os.path.join(tempfile.mkdtemp(), "a.db"), link_key="k" * 32)
>>> r = Responder(settings)
>>> e = parse_event({"id": "e1", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt",
...                  "card": "tok_1", "amount": 17600, "currency": "JPY"})
>>> d = Decision("e1", e.kind, e.time, Outcome.CHALLENGE,
...              rules=[RuleHit("card_velocity_1d", Outcome.CHALLENGE, {})])
>>> ids = r.on_decision(e, d, now=e.ts)    # enqueues the risk alert (no webhooks configured: none)
>>> yes = r.links_for_event("e1")["yes"]
>>> result = r.answer(yes.rsplit("/", 1)[1], now=e.ts + 60)
>>> waived = r.suppressions.active("tok_1", "card_velocity_1d", e.ts + 120) is not None
>>> result.answer, [ev.kind for ev in result.events], waived
('yes', ['label', 'cardholder.answer'], True)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from fraudwatch.actions import outbox
from fraudwatch.actions.db import Database
from fraudwatch.actions.dispatcher import Dispatcher
from fraudwatch.actions.history import History, LogHistory, TableHistory
from fraudwatch.actions.messages import Messages
from fraudwatch.actions.policy import ACCOUNT_ACTIONS, CARD_ACTIONS, Policy, load_policy
from fraudwatch.actions.service import (
    attack_context,
    create_alert,
    find_subscription,
    get_alert,
    summary,
    usage_subscribers,
)
from fraudwatch.actions.signing import TokenInvalid, TokenUsed, make_token, read_token
from fraudwatch.actions.suppression import (
    Suppression,
    SuppressionSet,
    account_key,
    load_suppressions,
    save_suppression,
)
from fraudwatch.cases import CaseFlow, CasesSettings, Role, case_details, episode_of_event, open_or_join, status_token
from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import FraudwatchError, NotFound, ValidationFailed
from fraudwatch.events import EVENT_ADAPTER
from fraudwatch.events.kinds import CardholderAnswer, Envelope, Label, event_to_dict
from fraudwatch.settings import ActionsSettings
from fraudwatch.storage import LogEntry, Store

log = logging.getLogger(__name__)
PRUNE_EVERY = 10_000  # decisions between two prunings of the containment lookback


@dataclass(slots=True)
class AnswerResult:
    alert_id: str
    event_id: str
    answer: str
    events: list[Envelope]  # the label and cardholder.answer events emitted
    messages: list[str]  # outbox ids enqueued
    case: str | None = None  # the case of the episode answered about
    reference: str | None = None  # its reference, for the cardholder to quote
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


def started_responder(settings: ActionsSettings, event_log: Store, cases: CasesSettings | None = None) -> Responder:
    """A responder with its dispatcher running that reads the lookback from ``event_log``:
    the decision service's actions follower builds one in its own process (several
    dispatchers may share one outbox)."""
    responder = Responder(settings, history=LogHistory(event_log.events), cases=cases)
    responder.start()
    return responder


class Responder:
    """Public entry point of the actions domain.

    ``on_decision(event, decision)`` after every decision; ``answer(token)`` for a
    cardholder's answer; ``suppressions`` is the set the engine consults; ``start()``
    and ``close()`` run the dispatcher thread. ``emit`` receives the label and
    cardholder.answer events an answer produces (wire it to the engine and event log).
    ``cases`` (a ``CaseFlow``) builds the episodes and cases from the same decisions, in
    the same units of work.
    """

    def __init__(
        self,
        settings: ActionsSettings,
        *,
        policy: Policy | None = None,
        db: Database | None = None,
        suppressions: SuppressionSet | None = None,
        emit: Callable[[Envelope], Any] | None = None,
        clock: Callable[[], float] = time.time,
        history: History | None = None,
        cases: CasesSettings | None = None,
    ):
        if settings.database is None or settings.link_key is None:
            raise ValidationFailed("actions.database and actions.link_key must be set: see Settings.actions_resolved()")
        self.settings = settings
        self.policy = policy or load_policy(settings.policy)
        self.messages = Messages.load(
            settings.messages, merchants=settings.merchants, default_language=settings.language
        )
        self.db = db or Database(settings.database_url or settings.database)
        self.clock = clock
        self.emit = emit
        self.history = TableHistory() if history is None else history  # see actions/history.py
        self.suppressions = SuppressionSet() if suppressions is None else suppressions
        self.cases = CaseFlow(cases, lookup=self._lookup, outlet=_CaseOutlet(self))
        # all of them, expired too: replays of past traffic run on event time
        for s in load_suppressions(self.db.connection()):
            self.suppressions.add(s)
        missing = self.policy.endpoints() - set(settings.webhooks)
        if settings.webhooks and missing:
            raise ValidationFailed(
                f"policy sends to webhook endpoint(s) {sorted(missing)} not in settings.webhooks "
                f"({sorted(settings.webhooks)})"
            )
        self._key = settings.link_key.get_secret_value().encode()
        self.dispatcher = Dispatcher(self.db, settings, clock=clock)
        self._decisions = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.dispatcher.start()

    def close(self) -> None:
        self.dispatcher.stop()

    # ------------------------------------------------------------ decisions
    def on_decision(self, event: Envelope, decision: Decision, *, now: float | None = None) -> list[str]:
        """Enqueue the alerts and actions the policy asks for, in one unit of work.
        Calling it again for the same event enqueues nothing new."""
        if decision.duplicate:
            return []
        now = self.clock() if now is None else now
        with self.db.unit_of_work() as conn:
            ids = self.plan(conn, event, decision, now=now)
            self.cases.sweep(conn, now=now)
            self._counted(conn, 1, event.ts)
        if ids:
            self.dispatcher.wake()
        return ids

    def on_logged(self, entries: Sequence[LogEntry], *, now: float | None = None) -> list[str]:
        """``on_decision`` for a page of the decision service's log, in one unit of work.

        Most decisions trigger nothing: their events are only kept for the containment
        lookback (by a ``TableHistory``, from the log's JSON without parsing; a
        ``LogHistory`` reads them from the log itself). An entry is parsed and planned
        only when something may follow from it: its kind and outcome can raise a risk
        alert or a response (``Policy.may_act``), it is a refund, reversal or chargeback,
        or its card opted in to usage alerts. Entries are handled in log order, so each
        sees the same lookback as with ``on_decision``."""
        if not entries:
            return []
        now = self.clock() if now is None else now
        usage = self.policy.alerts.usage
        keeps = self.history.keeps
        wants = self.cases.wants
        ids: list[str] = []
        # not fsynced on its own: the follower calls sync() before it stores its position
        with self.db.unit_of_work() as conn:
            subscribed = usage_subscribers(
                conn, [e.card for e in entries if usage.enabled and e.card and e.kind in usage.kinds]
            )
            keep: list[tuple] = []
            for e in entries:
                if b'"duplicate":true' in e.decision and orjson.loads(e.decision).get("duplicate"):
                    continue  # (the text alone could be a feature named "duplicate")
                self.cases.advance(e.ts)
                if not (
                    e.outcome is None
                    or wants(e.kind, e.outcome)
                    or e.card in subscribed
                    or self.policy.may_act(e.kind, Outcome(e.outcome))
                ):
                    if keeps:
                        keep.append((e.event_id, e.ts, e.kind, e.card, e.account, e.event.decode()))
                    continue
                self.history.record(conn, keep)  # the events logged before this one, for its lookback
                keep = []
                decision = Decision.from_dict(orjson.loads(e.decision))
                ids += self.plan(conn, EVENT_ADAPTER.validate_json(e.event), decision, now=now, seq=e.seq)
            self.history.record(conn, keep)
            self.cases.sweep(conn, now=now)
            self._counted(conn, len(entries), entries[-1].ts)
        if ids:
            self.dispatcher.wake()
        return ids

    def sync(self) -> None:
        """Make what ``on_logged`` committed survive a power loss (the log follower calls
        it before storing its position: once a second, not an fsync per page)."""
        self.db.sync()

    def _counted(self, conn, decisions: int, ts: float) -> None:
        """Prune the containment lookback every ``PRUNE_EVERY`` decisions."""
        before = self._decisions
        self._decisions += decisions
        if before // PRUNE_EVERY != self._decisions // PRUNE_EVERY:
            self.history.prune(conn, before=ts - 2 * self.policy.lookback)

    def _record(self, conn, event: Envelope) -> None:
        if self.history.keeps:
            self.history.record(
                conn, [(event.id, event.ts, event.kind, event.card, event.account, json.dumps(event_to_dict(event)))]
            )

    def plan(self, conn, event: Envelope, decision: Decision, *, now: float, seq: int | None = None) -> list[str]:
        """``on_decision`` inside the caller's unit of work (never commits). ``seq``: the
        event's log position, when it comes from the log (its lookback ends there)."""
        self._record(conn, event)
        episode = self.cases.on_decision(conn, event, decision, now=now, seq=seq)
        case = None if episode is None else episode.id
        ids: list[str] = []
        alerts = self.policy.alerts
        s = summary(event, decision)
        risky = alerts.risk.applies(event.kind, decision.outcome)
        if alerts.usage.enabled and event.kind in alerts.usage.kinds and event.card and not risky:
            # (a risk alert says the same and asks "was this you?": one message, not two)
            sub = find_subscription(conn, event.card)
            if sub and sub["usage_alerts"]:
                ids += self._notify(
                    conn,
                    origin=event.id,
                    type="alert.usage",
                    sub=sub,
                    now=now,
                    data={"card": event.card, "event": s},
                    message=self.messages.render("usage_alert", sub.get("language"), summary=s),
                )
        if risky:
            ttl = self.settings.link_ttl or alerts.risk.link_ttl
            sub = find_subscription(conn, event.card, event.account)
            language = self.messages.language_for(sub.get("language") if sub else None)
            alert = create_alert(conn, event, decision, now=now, ttl=ttl, language=language)
            links = self._links(alert)
            data = {
                "alert": alert["id"],
                "card": event.card,
                "account": event.account,
                "event": s,
                "expires": alert["expires"],
                "links": links,
            }
            ids += self._notify(
                conn,
                origin=event.id,
                type="alert.risk",
                sub=sub,
                now=now,
                data=data,
                message=self.messages.render(
                    "risk_alert", language, summary=s, yes_url=links["yes"], no_url=links["no"]
                ),
            )
        responses = self.policy.responses_for(event.kind, decision)
        if responses:
            upto = None if seq is None else seq + 1
            context = self._context(conn, event.card, event.account, now=event.ts, before_seq=upto)
            cause = {
                "type": "decision",
                "event": event.id,
                "outcome": decision.outcome.value,
                "rules": [h.rule for h in decision.rules if not h.shadow],
            }
            for action, endpoint, name in responses:
                ids += self._action(
                    conn,
                    action,
                    endpoint=endpoint,
                    origin=event.id,
                    card=event.card,
                    account=event.account,
                    cause={**cause, "response": name},
                    context=context,
                    now=now,
                    case=case,
                )
        return ids

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
        """Apply a cardholder's answer once: label, actions, suppressions, and the answer's
        effect on the episode's case (a "no" queues it)."""
        now = self.clock() if now is None else now
        claims = read_token(self._key, token, now=now)
        with self.db.unit_of_work() as conn:
            alert = self._alert(claims.alert_id, conn)
            used = conn.execute(
                "UPDATE alerts SET answered_at = ?, answer = ? WHERE id = ? AND answered_at IS NULL",
                (now, claims.answer, alert["id"]),
            ).rowcount
            if used == 0:
                raise TokenUsed("this alert was already answered")
            result = self._apply(conn, alert, claims.answer, now=now)
        for s in result.suppressions:
            self.suppressions.add(s)
        if result.messages:
            self.dispatcher.wake()
        if self.emit is not None:
            for e in result.events:
                try:
                    self.emit(e)
                except Exception:  # the answer is recorded; the events are also in the outbox
                    log.exception("emit of %s %s failed", e.kind, e.id)
        return result

    def _apply(self, conn, alert, answer: str, *, now: float) -> AnswerResult:
        event_id, card, account = alert["event_id"], alert["card"], alert["account"]
        when = datetime.fromtimestamp(now, UTC)
        refs = {"card": card, "account": account}
        events: list[Envelope] = [
            Label(
                id=f"label-{alert['id']}",
                time=when,
                kind="label",
                target=event_id,
                fraud=answer == "no",
                source="cardholder",
                **refs,
            ),
            CardholderAnswer(
                id=f"answer-{alert['id']}", time=when, kind="cardholder.answer", target=event_id, answer=answer, **refs
            ),
        ]
        endpoint = self.policy.answers.endpoint
        ids: list[str] = []
        for e in events:
            self._record(conn, e)
            ids += self._webhook(
                conn, origin=alert["id"], type=f"event.{e.kind}", endpoint=endpoint, data=event_to_dict(e), now=now
            )
        result = AnswerResult(alert["id"], event_id, answer, events, ids, language=alert["language"])
        cause = {
            "type": "cardholder_answer",
            "alert": alert["id"],
            "event": event_id,
            "answer": answer,
            "outcome": alert["outcome"],
            "rules": json.loads(alert["rules"]),
        }
        original = json.loads(alert["summary"])
        event_ts = datetime.fromisoformat(original["time"]).timestamp()
        # the case of the episode asked about (the follower put the event in one when it
        # raised the alert; an alert older than the cases domain gets one now)
        episode = episode_of_event(conn, event_id) or open_or_join(
            conn,
            event_id=event_id,
            ts=event_ts,
            kind=alert["kind"],
            card=card,
            account=account,
            outcome=alert["outcome"],
            window=self.cases.settings.episode_window,
            now=now,
        )
        answer_event = events[1]
        open_or_join(
            conn,
            event_id=answer_event.id,
            ts=answer_event.ts,
            kind=answer_event.kind,
            card=card,
            account=account,
            role=Role.ANSWER,
            case_id=episode.id,
            window=self.cases.settings.episode_window,
            now=now,
        )
        self.cases.answered(conn, episode.id, answer=answer, event_id=answer_event.id, ts=answer_event.ts, now=now)
        result.case, result.reference = episode.id, episode.reference
        if answer == "yes":
            yes = self.policy.answers.on_yes
            key = card or (account_key(account) if account else None)
            if key:
                # The engine compares in event time: the confirmation holds from the
                # confirmed event on, whatever the wall clock said when the answer came.
                until = max(now, event_ts) + yes.suppress_for
                for rule in filter(yes.suppressible, json.loads(alert["rules"])):
                    s = Suppression(key, rule, since=event_ts, until=until, event_id=event_id)
                    save_suppression(conn, s)
                    result.suppressions.append(s)
            actions = yes.actions.get(Outcome(alert["outcome"]), [])
            context: dict[str, Any] = {}
            case = None
        else:
            actions = self.policy.answers.on_no.actions
            context = self._context(conn, card, account, now=max(now, event_ts))
            case = episode.id
        for action in actions:
            result.messages += self._action(
                conn,
                action,
                endpoint=endpoint,
                origin=alert["id"],
                card=card,
                account=account,
                cause=cause,
                context=context,
                now=now,
                case=case,
            )
        return result

    # ------------------------------------------------------------ helpers
    def _lookup(self, event_id: str) -> dict[str, Any] | None:
        """An earlier event by id (a disputed payment), from the log or the kept events."""
        storage = getattr(self.history, "storage", None)
        if storage is not None:
            entry = storage.get_entry(event_id)
            return None if entry is None else orjson.loads(entry.event)
        row = self.db.connection().execute("SELECT data FROM recent_events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def links_for_event(self, event_id: str) -> dict[str, str]:
        """The yes/no links of the alert about an event (for tests and support tools)."""
        import hashlib

        return self._links(self._alert("al_" + hashlib.sha256(event_id.encode()).hexdigest()[:20]))

    def _links(self, alert) -> dict[str, str]:
        base = self.settings.public_url.rstrip("/")
        return {
            a: f"{base}/v1/answers/{make_token(self._key, alert_id=alert['id'], answer=a, expires=alert['expires'])}"
            for a in ("yes", "no")
        }

    def _alert(self, alert_id: str, conn=None):
        try:
            return get_alert(conn or self.db.connection(), alert_id)
        except NotFound:
            raise TokenInvalid("this link does not belong to any alert") from None

    def _context(self, conn, card, account, *, now: float, before_seq: int | None = None) -> dict[str, Any]:
        return attack_context(
            conn,
            self.history,
            card=card,
            account=account,
            since=now - self.policy.lookback,
            until=now,
            before_seq=before_seq,
        )

    def _notify(self, conn, *, origin, type, sub, data, message, now) -> list[str]:
        """A cardholder message: webhook to the alerts endpoint, e-mail if a contact is known."""
        ids = []
        if self.policy.alerts.endpoint:
            ids += self._webhook(
                conn, origin=origin, type=type, endpoint=self.policy.alerts.endpoint, data=data, now=now
            )
        if sub and sub.get("email") and self.settings.smtp is not None:
            msg_id = outbox.message_id(origin, type, "email", sub["email"])
            if outbox.enqueue(
                conn,
                id=msg_id,
                channel="email",
                destination=sub["email"],
                type=type,
                payload={**message, "event_id": origin},
                now=now,
            ):
                ids.append(msg_id)
        return ids

    def _webhook(self, conn, *, origin, type, endpoint, data, now, case=None) -> list[str]:
        if not self.settings.webhooks:
            return []  # webhooks not configured: nothing to send them to
        msg_id = outbox.message_id(origin, type, "webhook", endpoint)
        inserted = outbox.enqueue(
            conn,
            id=msg_id,
            channel="webhook",
            destination=endpoint,
            type=type,
            payload=data,
            now=now,
            incident=case,
        )
        return [msg_id] if inserted else []

    def _action(self, conn, action, *, endpoint, origin, card, account, cause, context, now, case=None):
        if action in CARD_ACTIONS and not card or action in ACCOUNT_ACTIONS and not account:
            return []
        data: dict[str, Any] = {
            "action": action,
            "card": card,
            "account": account,
            "cause": cause,
            "case": case,
        }
        if action == "revert_profile_changes":
            if not context.get("profile_changes"):
                return []
            data["changes"] = context["profile_changes"]
        elif action == "cancel_unshipped_orders":
            if not context.get("orders"):
                return []
            data["orders"] = context["orders"]
        elif action in ("release_payment", "lift_challenge"):
            data["event"] = cause["event"]
        return self._webhook(
            conn, origin=origin, type=f"action.{action}", endpoint=endpoint, data=data, now=now, case=case
        )


class _CaseOutlet:
    """How the cases domain reaches the merchant (action webhooks) and the cardholder
    (status messages and the status page link) through this responder's outbox."""

    def __init__(self, responder: Responder):
        self.responder = responder

    def send_action(self, conn, *, action: str, data: dict, case_id: str, origin: str, now: float) -> list[str]:
        r = self.responder
        return r._webhook(
            conn,
            origin=origin,
            type=f"action.{action}",
            endpoint=r.policy.answers.endpoint,
            data={"action": action, **data, "case": case_id},
            now=now,
            case=case_id,
        )

    def notify_cardholder(
        self, conn, *, case, view: dict, link: str | None, last4: str | None, data: dict, origin: str, now: float
    ) -> list[str]:
        """The ``case_status`` message of the templates, in the cardholder's language."""
        r = self.responder
        sub = find_subscription(conn, case.card, case.account)
        language = r.messages.language_for(sub.get("language") if sub else None)
        details = case_details(view, link)
        message = r.messages.render(
            "case_status",
            language,
            reference=case.reference,
            case_status=view["status"].replace("_", " "),
            card=r.messages.card(last4, language),
            details=details,
        )
        return r._notify(conn, origin=origin, type="case.status", sub=sub, data=data, message=message, now=now)

    def status_link(self, case_id: str, *, now: float) -> str:
        r = self.responder
        token = status_token(r._key, case_id, expires=now + r.cases.settings.status_link_ttl)
        return f"{r.settings.public_url.rstrip('/')}/v1/case-status/{token}"
