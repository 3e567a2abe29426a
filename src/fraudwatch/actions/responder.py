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
from typing import Any

import orjson

from fraudwatch.actions import alerting, outbox
from fraudwatch.actions.answering import Answering
from fraudwatch.actions.attribution import Attack, attribute
from fraudwatch.actions.db import Database
from fraudwatch.actions.dispatcher import Dispatcher
from fraudwatch.actions.history import History, LogHistory, TableHistory
from fraudwatch.actions.messages import Messages
from fraudwatch.actions.policy import ACCOUNT_ACTIONS, CARD_ACTIONS, Policy, load_policy
from fraudwatch.actions.service import find_subscription, get_alert, stopping_rules, summary, usage_subscribers
from fraudwatch.actions.signing import TokenInvalid, make_token
from fraudwatch.actions.suppression import (
    SuppressionSet,
    load_suppressions,
)
from fraudwatch.cases import (
    CaseFlow,
    CasesSettings,
    case_details,
    case_status_label,
    episode_of_event,
    escalate,
    status_token,
)
from fraudwatch.decisions import Decision, Outcome
from fraudwatch.errors import NotFound, ValidationFailed
from fraudwatch.events import EVENT_ADAPTER
from fraudwatch.events.kinds import Envelope
from fraudwatch.settings import ActionsSettings
from fraudwatch.storage import LogEntry, Store

log = logging.getLogger(__name__)
PRUNE_EVERY = 10_000  # decisions between two prunings of the containment lookback
# actions that act on the attacker's orders, profile changes and sessions, each once
TARGETED = frozenset({"cancel_unshipped_orders", "revert_profile_changes", "revoke_sessions"})
# an episode's escalation: challenged, then blocked, then the card suspended (cases.escalate)
LEVELS = {"review": 1, "challenge": 1, "block": 2, "suspend_card": 3}


def started_responder(settings: ActionsSettings, event_log: Store, cases: CasesSettings | None = None) -> Responder:
    """A responder with its dispatcher running that reads the lookback from ``event_log``:
    the decision service's actions follower builds one in its own process (several
    dispatchers may share one outbox)."""
    responder = Responder(settings, history=LogHistory(event_log.events), cases=cases)
    responder.start()
    return responder


class Responder(Answering):
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
        # True when a log follower applies the answers (the decision service): ``answer``
        # then only records one and hands its events over (see ``answer``)
        self.defer_answers = False
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
            data = event.__pydantic_serializer__.to_json(event, exclude_none=True).decode()
            self.history.record(conn, [(event.id, event.ts, event.kind, event.card, event.account, data)])

    def plan(self, conn, event: Envelope, decision: Decision, *, now: float, seq: int | None = None) -> list[str]:
        """``on_decision`` inside the caller's unit of work (never commits). ``seq``: the
        event's log position, when it comes from the log (its lookback ends there)."""
        self._record(conn, event)
        if self.cases.wants(event.kind, decision.outcome.value):
            episode = self.cases.on_decision(conn, event, decision, now=now, seq=seq)
        else:  # (most events: allowed, and of no kind a case takes)
            self.cases.advance(event.ts)
            episode = None
        if event.kind == "cardholder.answer":
            return self._answered(conn, event, episode, now=now)
        ids: list[str] = []
        alerts = self.policy.alerts
        risky = alerts.risk.applies(event.kind, decision.outcome)
        if alerts.usage.enabled and event.kind in alerts.usage.kinds and event.card and not risky:
            # (a risk alert says the same and asks "was this you?": one message, not two)
            sub = find_subscription(conn, event.card)
            if sub and sub["usage_alerts"]:
                s = summary(event, decision)
                ids += self._notify(
                    conn,
                    origin=event.id,
                    type="alert.usage",
                    sub=sub,
                    now=now,
                    data={"card": event.card, "event": s},
                    message=self.messages.render("usage_alert", sub.get("language"), summary=s),
                )
        if risky and episode is not None:
            ids += self._risk_alert(conn, event, decision, episode, now=now)
        responses = self.policy.responses_for(event.kind, decision) if episode is not None else []
        if responses:
            cause = {
                "type": "decision",
                "event": event.id,
                "outcome": decision.outcome.value,
                "rules": [h.rule for h in decision.rules if not h.shadow],
            }
            ids += self._respond(
                conn,
                [(a, e, {**cause, "response": n}) for a, e, n in responses],
                episode=episode,
                event_id=event.id,
                at=event.ts,
                before_seq=None if seq is None else seq + 1,
                now=now,
            )
        return ids

    # ------------------------------------------------------------ one alert per episode
    def _risk_alert(self, conn, event: Envelope, decision: Decision, episode, *, now: float) -> list[str]:
        """The episode's "was this you?" (raised by its first stopped event a "yes" could
        change), or an update of it, at most ``max_per_hour`` messages per cardholder."""
        risk = self.policy.alerts.risk
        alert = alerting.alert_of_episode(conn, self._key, episode.id)
        # the cardholder the episode's alert went to: a stopped order (no card on it) of the same
        # episode counts against the same hourly limit and is told to the same person
        card = (alert["card"] if alert is not None else None) or event.card
        account = (alert["account"] if alert is not None else None) or event.account
        sub = find_subscription(conn, card, account)
        subject = (sub or {}).get("subject") or card or account or episode.id
        if alert is None:
            if not any(self.policy.answers.on_yes.suppressible(r) for r in stopping_rules(decision)):
                return []  # stopped by a list a "yes" cannot lift (a suspended card): nothing to ask
            language = self.messages.language_for(sub.get("language") if sub else None)
            alert = alerting.open_alert(
                conn,
                key=self._key,
                episode_id=episode.id,
                event=event,
                decision=decision,
                now=now,
                ttl=self.settings.link_ttl or risk.link_ttl,
                language=language,
            )
            alerting.record_message(conn, subject=subject, ts=event.ts, alert=alert["id"], type="alert.risk")
            s = summary(event, decision)
            links = self._links(alert)
            data = {
                "alert": alert["id"],
                "case": episode.id,
                "reference": episode.reference,
                "card": event.card,
                "account": event.account,
                "event": s,
                "expires": alert["expires"],
                "links": links,
            }
            message = self.messages.render(
                "risk_alert", language, summary=s, reference=episode.reference, yes_url=links["yes"], no_url=links["no"]
            )
            return self._notify(
                conn, origin=alert["id"], type="alert.risk", sub=sub, now=now, data=data, message=message
            )
        alert = alerting.add_to_alert(conn, alert, event, decision)
        if alert is None or alert["applied"] is not None:
            return []  # joined already (a replayed page); or answered: the case takes it from there
        if alerting.messages_since(conn, subject, event.ts - 3600.0) >= risk.max_per_hour:
            return []  # told later, with the next update
        stopped = len(json.loads(alert["events"]))
        count = stopped - alert["told"]
        alerting.mark_told(conn, alert["id"], stopped, expires=now + (self.settings.link_ttl or risk.link_ttl))
        alert = get_alert(conn, alert["id"])  # an update carries links as fresh as the alert's
        alerting.record_message(conn, subject=subject, ts=event.ts, alert=alert["id"], type="alert.risk.updated")
        language = alert["language"]
        s = summary(event, decision)
        values = {
            "card": self.messages.card(getattr(event, "card_last4", None), language),
            "count": count,
            "total": stopped,
            "latest_amount": self.messages.describe(s, language)["amount"],
            "latest_merchant": self.messages.describe(s, language)["merchant"],
            "latest_time": self.messages.time(s.get("time"), language),
            "reference": episode.reference,
        }
        links = self._links(alert)
        message = self.messages.render("risk_update", language, **values, yes_url=links["yes"], no_url=links["no"])
        data = {
            "alert": alert["id"],
            "case": episode.id,
            "reference": episode.reference,
            "card": event.card,
            "account": event.account,
            "event": s,
            "new": count,
            "stopped": stopped,
        }
        return self._notify(
            conn,
            origin=f"{alert['id']}:{stopped}",
            type="alert.risk.updated",
            sub=sub,
            now=now,
            data=data,
            message=message,
        )

    # ------------------------------------------------------------ actions once per episode
    def _respond(self, conn, wanted, *, episode, event_id: str, at: float, before_seq: int | None, now: float):
        """Enqueue ``wanted`` (``(action, endpoint, cause)``) for the episode: each action
        once per episode. Cancel, revert and revoke act once per escalation level (the
        first block, then the cardholder's "no"), each time on what they have not acted on
        yet, and only on the attacker's orders, changes and sessions (``attribution``)."""
        ids: list[str] = []
        attack = None
        level = episode.escalation
        for action, endpoint, cause in wanted:
            if action in CARD_ACTIONS and not episode.card or action in ACCOUNT_ACTIONS and not episode.account:
                continue
            done = alerting.done_targets(conn, episode.id, action, endpoint)
            if event_id in done.values():
                continue  # this event did it already (a page handed over again)
            step = 3 if cause.get("answer") == "no" else LEVELS.get(cause.get("outcome"), 0)
            targets = [""]
            data: dict[str, Any] = {}
            if action in TARGETED:
                if f"@{step}" in done:
                    continue  # done at this level: again only when the episode escalates
                if attack is None:
                    attack = self._attack(conn, episode, until=at, before_seq=before_seq)
                data, targets = _targets(action, attack, done)
                if not targets:
                    continue
                targets = [*targets, f"@{step}"]
            elif "" in done:
                continue
            alerting.record_action(
                conn, episode_id=episode.id, action=action, endpoint=endpoint, targets=targets, event=event_id, ts=at
            )
            n = len({e for e in done.values()})
            ids += self._action(
                conn,
                action,
                endpoint=endpoint,
                origin=episode.id if n == 0 else f"{episode.id}:{n}",
                card=episode.card,
                account=episode.account,
                cause=cause,
                data=data,
                now=now,
                case=episode.id,
            )
            level = max(level, LEVELS.get(action, step))
        if level > episode.escalation:
            escalate(conn, episode.id, level, now=now)
        return ids

    def _attack(self, conn, episode, *, until: float, before_seq: int | None) -> Attack:
        """The attacker's part of the account's and card's events, from a lookback before
        the episode's first flagged event (the takeover's login often precedes it) to
        ``until`` (event time)."""
        rows = self.history.window(
            conn,
            card=episode.card,
            account=episode.account,
            since=episode.started - self.policy.lookback,
            until=until,
            before_seq=before_seq,
        )
        attack = attribute(rows, devices=episode.devices, ips=episode.ips, sessions=episode.sessions)
        if attack.orders:  # an order shipped before the window is shipped all the same
            shipped = self.history.closed(
                conn,
                [o["order"] for o in attack.orders],
                card=episode.card,
                account=episode.account,
                since=episode.started - self.policy.lookback,
                until=until,
            )
            attack.orders = [o for o in attack.orders if o["order"] not in shipped]
        return attack

    # ------------------------------------------------------------ helpers
    def _lookup(self, event_id: str) -> dict[str, Any] | None:
        """An earlier event by id (a disputed payment), from the log or the kept events."""
        events = getattr(self.history, "events", None)  # (LogHistory: the event log)
        if events is not None:
            entry = events.get(event_id)
            return None if entry is None else orjson.loads(entry.event)
        row = self.db.connection().execute("SELECT data FROM recent_events WHERE id = ?", (event_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def links_for_event(self, event_id: str) -> dict[str, str]:
        """The yes/no links of the alert about an event's episode (for tests and support tools)."""
        conn = self.db.connection()
        episode = episode_of_event(conn, event_id)
        alert = None if episode is None else alerting.alert_of_episode(conn, self._key, episode.id)
        if alert is None:
            raise NotFound(f"no alert about event {event_id!r}")
        return self._links(alert)

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

    def _action(self, conn, action, *, endpoint, origin, card, account, cause, data, now, case=None):
        payload: dict[str, Any] = {
            "action": action,
            "card": card,
            "account": account,
            "cause": cause,
            "case": case,
            **data,
        }
        if action in ("release_payment", "lift_challenge"):
            payload["event"] = cause["event"]
        return self._webhook(
            conn, origin=origin, type=f"action.{action}", endpoint=endpoint, data=payload, now=now, case=case
        )


def _targets(action: str, attack: Attack, done: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """What a targeted action acts on that it has not acted on yet in the episode: the
    attacker's unshipped orders, profile changes, sessions. ``([], ...)``: nothing left."""
    attacker = {"since": attack.started, "devices": attack.devices, "ips": attack.ips, "events": attack.events}
    if action == "cancel_unshipped_orders":
        orders = [o for o in attack.orders if o["order"] not in done]
        return {"orders": orders, "attacker": attacker}, [o["order"] for o in orders]
    if action == "revert_profile_changes":
        changes = [c for c in attack.profile_changes if c["field"] not in done]
        return {"changes": changes, "attacker": attacker}, [c["field"] for c in changes]
    # revoke_sessions: the attacker's sessions; every session when none is known
    if attack.sessions:
        sessions = [x for x in attack.sessions if x not in done]
        return {"sessions": sessions, "attacker": attacker}, sessions
    return ({"sessions": "all", "attacker": attacker}, [""]) if "" not in done else ({}, [])


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
        message = r.messages.render(
            "case_status",
            language,
            reference=case.reference,
            case_status=case_status_label(view, language),
            card=r.messages.card(last4, language),
            details=case_details(view, link, language),
        )
        return r._notify(conn, origin=origin, type="case.status", sub=sub, data=data, message=message, now=now)

    def status_link(self, case_id: str, *, now: float) -> str:
        r = self.responder
        token = status_token(r._key, case_id, expires=now + r.cases.settings.status_link_ttl)
        return f"{r.settings.public_url.rstrip('/')}/v1/case-status/{token}"
