"""What the decisions and events of the log do to episodes and cases.

``CaseFlow.on_decision`` runs for every event the actions follower handles, in log order,
inside its unit of work (``Responder.plan`` calls it first, so the responses see the
episode). ``CaseFlow.wants(kind, outcome)`` says which log entries it needs: flagged
decisions and the kinds that open or feed a case; everything else costs nothing.

* a decision worse than ``allow`` opens or joins the episode of its card or account;
  ``review`` queues its case, ``challenge`` waits for the cardholder's answer
  (``sweep`` queues it once ``cases.challenge_timeout`` of event time has passed
  without one);
* the cardholder's ``no`` queues the case (trigger ``cardholder_no``); a ``yes``
  answers the episode (a monitored one closes as genuine);
* a ``chargeback``, ``fraud_report`` or ``early_fraud_warning`` joins the case of the
  payment, or opens one around it, and queues it; a chargeback opens a dispute
  (``disputes``); an early warning below ``cases.early_warning_refund_below`` asks the
  merchant for a refund at once;
* a refund or reversal of a payment in a case joins that case and is recorded (``money``).

The flow reaches out through an ``Outlet`` (the responder): action webhooks to the
merchant, status messages to the cardholder, and the status page link.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from fraudwatch.cases import disputes, money, store, victim
from fraudwatch.cases.case import Case, CaseStatus, Episode, Role, Trigger
from fraudwatch.cases.episodes import episode_of_event, get_episode, open_or_join
from fraudwatch.cases.service import SYSTEM, get_case, queue
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.decisions import Decision
from fraudwatch.events.kinds import Envelope

#: kinds that concern a case whatever their decision
TRIGGER_KINDS: dict[str, Trigger] = {
    "chargeback": Trigger.CHARGEBACK,
    "fraud_report": Trigger.FRAUD_REPORT,
    "early_fraud_warning": Trigger.EARLY_FRAUD_WARNING,
}
RECOVERY_KINDS = frozenset({"payment.refund", "payment.reversal"})
CASE_KINDS = frozenset({*TRIGGER_KINDS, *RECOVERY_KINDS, "cardholder.answer", "label"})

Lookup = Callable[[str], dict[str, Any] | None]  # an earlier event by id, as a dict (from the log)


class Outlet(Protocol):
    """How the flow reaches the merchant and the cardholder (the actions domain's outbox)."""

    def send_action(self, conn, *, action: str, data: dict, case_id: str, origin: str, now: float) -> list[str]: ...

    def notify_cardholder(
        self, conn, *, case: Case, view: dict, link: str | None, last4: str | None, data: dict, origin: str, now: float
    ) -> list[str]: ...

    def status_link(self, case_id: str, *, now: float) -> str | None: ...


class CaseFlow:
    """``lookup(event_id)`` finds an earlier event (the disputed payment) in the log;
    ``outlet`` sends actions and messages (none: nothing is sent)."""

    def __init__(
        self, settings: CasesSettings | None = None, lookup: Lookup | None = None, outlet: Outlet | None = None
    ):
        self.settings = settings or CasesSettings()
        self.lookup = lookup or (lambda _id: None)
        self.outlet = outlet
        self.clock = float("-inf")  # the latest event time seen: timeouts and deadlines run on it

    @staticmethod
    def wants(kind: str, outcome: str | None) -> bool:
        return (outcome is not None and outcome != "allow") or kind in CASE_KINDS

    def on_decision(
        self,
        conn: sqlite3.Connection,
        event: Envelope,
        decision: Decision | None,
        *,
        now: float,
        seq: int | None = None,
    ) -> Episode | None:
        """The episode ``event`` belongs to after this event (None: it concerns no case)."""
        if event.ts > self.clock:
            self.clock = event.ts
        if store.case_of_event(conn, event.id) is not None:  # seen before: nothing happens twice
            return episode_of_event(conn, event.id)
        kind = event.kind
        window = self.settings.episode_window
        if kind == "cardholder.answer":
            return self._answer(conn, event, now=now, seq=seq)
        if kind == "label":
            case_id = store.case_of_event(conn, event.target)
            if case_id is None:
                return None
            return self._join(conn, event, Role.LABEL, now=now, seq=seq, case_id=case_id)
        if kind in TRIGGER_KINDS:
            return self._dispute_trigger(conn, event, TRIGGER_KINDS[kind], now=now, seq=seq)
        if kind in RECOVERY_KINDS:
            case_id = store.case_of_event(conn, event.payment)
            money.record_event(conn, event, case_id=case_id, now=now)
            if case_id is None:
                return None
            return self._join(conn, event, Role.RECOVERY, now=now, seq=seq, case_id=case_id)
        if decision is None or decision.outcome.value == "allow" or decision.duplicate:
            return None
        outcome = decision.outcome.value
        episode = open_or_join(
            conn,
            event_id=event.id,
            ts=event.ts,
            kind=kind,
            card=event.card,
            account=event.account,
            device=event.device,
            ip=event.ip,
            session=event.session,
            role=Role.FLAGGED,
            outcome=outcome,
            score=decision.score,
            amount=getattr(event, "amount", None),
            currency=getattr(event, "currency", None),
            result=getattr(event, "result", None),
            rules=[h.rule for h in decision.rules if not h.shadow],
            scenario=event.scenario,
            seq=seq,
            window=window,
            now=now,
        )
        if outcome == "review":
            queue(conn, episode.id, trigger=Trigger.REVIEW, settings=self.settings, now=now, event=event.id)
        elif outcome == "challenge" and episode.status is CaseStatus.MONITORING:
            row = store.get_case(conn, episode.id)
            if row["awaiting_since"] is None or event.ts < row["awaiting_since"]:
                store.update_case(conn, episode.id, {"awaiting_since": event.ts})
        return episode

    def answered(
        self,
        conn: sqlite3.Connection,
        case_id: str,
        *,
        answer: str,
        event_id: str,
        ts: float,
        now: float,
        actor: str = "cardholder",
    ) -> None:
        """The cardholder answered about an event of case ``case_id`` (idempotent per
        ``event_id``, the answer's own id)."""
        if answer == "no":
            queue(
                conn,
                case_id,
                trigger=Trigger.CARDHOLDER_NO,
                settings=self.settings,
                now=now,
                event=event_id,
                actor=actor,
            )
            self.check_compensation(conn, case_id, claimed=ts, now=now)
            self.status_changed(conn, case_id, now=now, origin=event_id)
            return
        row = store.get_case(conn, case_id)
        store.update_case(conn, case_id, {"awaiting_since": None, "updated": now})
        if row is not None and row["status"] == CaseStatus.MONITORING.value:
            # answering the alert answers the episode: nothing left for anyone to look at
            store.update_case(
                conn,
                case_id,
                {
                    "status": CaseStatus.CLOSED.value,
                    "verdict": "genuine",
                    "verdict_by": actor,
                    "verdict_at": now,
                    "closed_at": now,
                },
            )
            store.add_log(
                conn,
                case_id,
                at=now,
                actor=actor,
                type="status",
                data={"from": "monitoring", "to": "closed", "answer": "yes", "event": event_id},
            )
        else:
            store.add_log(conn, case_id, at=now, actor=actor, type="answer", data={"answer": answer, "event": event_id})

    def sweep(self, conn: sqlite3.Connection, *, now: float) -> list[str]:
        """Queue the monitored cases whose challenge went unanswered for
        ``cases.challenge_timeout`` of event time (the latest event time seen), and apply
        the schemes' rules to dispute stages whose deadline passed. Returns the case ids
        changed."""
        changed = []
        for row in store.awaiting(conn, before=self.clock - self.settings.challenge_timeout):
            queue(conn, row["id"], trigger=Trigger.CHALLENGE_UNANSWERED, settings=self.settings, now=now)
            changed.append(row["id"])
        for dispute_id in disputes.sweep(conn, clock=self.clock, now=now):
            case_id = disputes.get_dispute(conn, dispute_id).case_id
            self.status_changed(conn, case_id, now=now, origin=f"{dispute_id}:expired")
            changed.append(case_id)
        return changed

    def status_changed(self, conn: sqlite3.Connection, case_id: str, *, now: float, origin: str) -> list[str]:
        """Tell the cardholder where their case stands (e-mail if a contact is known, and the
        alerts webhook), with the status page link. Idempotent per ``origin``."""
        if self.outlet is None:
            return []
        case = get_case(conn, case_id)
        view = victim.status_view(conn, case_id)
        link = self.outlet.status_link(case_id, now=now)
        data = {"case": case.id, "reference": case.reference, "status": case.status.value, "status_link": link}
        first = store.events_of(conn, case_id)
        last4 = next(
            (p.get("card_last4") for r in first[:5] if (p := self.lookup(r["event_id"])) and p.get("card_last4")), None
        )
        return self.outlet.notify_cardholder(
            conn, case=case, view=view, link=link, last4=last4, data=data, origin=f"{case_id}:{origin}", now=now
        )

    def check_compensation(self, conn: sqlite3.Connection, case_id: str, *, claimed: float, now: float) -> None:
        """Flag the case's payments older than the compensation look-back at the claim
        (``cases.compensation_lookback``, by card type), each payment once."""
        flagged = {e["data"].get("payment") for e in store.log_of(conn, case_id) if e["type"] == "compensation"}
        for r in store.events_of(conn, case_id):
            if r["kind"] != "payment.attempt" or r["role"] not in (Role.FLAGGED.value, Role.DISPUTED.value):
                continue
            if r["event_id"] in flagged:
                continue
            card_type = (self.lookup(r["event_id"]) or {}).get("card_type")
            lookback = self.settings.lookback_for(card_type)
            if claimed - r["ts"] > lookback:
                store.add_log(
                    conn,
                    case_id,
                    at=now,
                    actor=SYSTEM,
                    type="compensation",
                    data={
                        "payment": r["event_id"],
                        "days": int((claimed - r["ts"]) // 86400),
                        "lookback_days": int(lookback // 86400),
                        "card_type": card_type,
                        "outside": True,
                    },
                )

    def advance(self, ts: float) -> None:
        """Move the event-time clock (entries the flow does not otherwise look at)."""
        if ts > self.clock:
            self.clock = ts

    # ------------------------------------------------------------ helpers
    def _answer(self, conn, event: Envelope, *, now: float, seq: int | None) -> Episode | None:
        case_id = store.case_of_event(conn, event.target)
        episode = self._join(conn, event, Role.ANSWER, now=now, seq=seq, case_id=case_id)
        self.answered(conn, episode.id, answer=event.answer, event_id=event.id, ts=event.ts, now=now)
        return get_episode(conn, episode.id)

    def _dispute_trigger(self, conn, event: Envelope, trigger: Trigger, *, now: float, seq: int | None) -> Episode:
        payment_id = event.payment
        case_id = store.case_of_event(conn, payment_id)
        payment = self.lookup(payment_id)
        if case_id is None:
            if payment is not None:  # the disputed payment opens (or joins) its episode
                ts = datetime.fromisoformat(payment["time"]).timestamp()
                episode = open_or_join(
                    conn,
                    event_id=payment_id,
                    ts=ts,
                    kind=payment.get("kind", "payment.attempt"),
                    card=payment.get("card"),
                    account=payment.get("account"),
                    device=payment.get("device"),
                    ip=payment.get("ip"),
                    session=payment.get("session"),
                    role=Role.DISPUTED,
                    amount=payment.get("amount"),
                    currency=payment.get("currency"),
                    result=payment.get("result"),
                    scenario=payment.get("scenario"),
                    window=self.settings.episode_window,
                    now=now,
                )
                case_id = episode.id
        episode = self._join(conn, event, Role.TRIGGER, now=now, seq=seq, case_id=case_id)
        queue(conn, episode.id, trigger=trigger, settings=self.settings, now=now, event=event.id)
        paid = payment or {"id": payment_id, "amount": event.amount, "currency": event.currency}
        paid = {**paid, "id": payment_id}
        if event.kind == "chargeback":
            disputes.open_dispute(
                conn,
                case_id=episode.id,
                opened_by=event.id,
                payment=payment_id,
                at=event.ts,
                amount=event.amount,
                currency=event.currency,
                scheme=event.scheme,
                reason_code=event.reason_code,
                acquirer=event.acquirer,
                actor=SYSTEM,
                now=now,
            )
        elif event.kind == "early_fraud_warning":
            self._refund_on_warning(conn, episode.id, event, paid, now=now)
        self.check_compensation(conn, episode.id, claimed=event.ts, now=now)
        self.status_changed(conn, episode.id, now=now, origin=event.id)
        return get_episode(conn, episode.id)

    def _refund_on_warning(self, conn, case_id: str, event: Envelope, payment: dict, *, now: float) -> None:
        """Refund at once a payment warned about below ``cases.early_warning_refund_below``
        (cheaper than the chargeback that may follow), unless it is disputed already or
        nothing is left to refund."""
        limit = self.settings.early_warning_refund_below
        amount = money.refundable(conn, payment)
        if limit is None or not amount or int(payment.get("amount") or 0) >= limit:
            return
        if store.open_disputes_of_payment(conn, payment["id"]):
            return
        row = money.request(
            conn,
            case_id=case_id,
            payment=payment,
            amount=amount,
            currency=payment.get("currency") or event.currency,
            kind="refund",
            at=event.ts,
            actor="policy:early_warning_refund",
            now=now,
            note=f"early fraud warning {event.id} below {limit}",
        )
        if self.outlet is not None:
            self.outlet.send_action(
                conn,
                action="refund_payment",
                data={
                    "payment": payment["id"],
                    "amount": row["amount"],
                    "currency": row["currency"],
                    "reason": "early_fraud_warning",
                },
                case_id=case_id,
                origin=event.id,
                now=now,
            )

    def _join(self, conn, event: Envelope, role: Role, *, now: float, seq: int | None, case_id: str | None):
        return open_or_join(
            conn,
            event_id=event.id,
            ts=event.ts,
            kind=event.kind,
            card=event.card,
            account=event.account,
            role=role,
            amount=getattr(event, "amount", None),
            currency=getattr(event, "currency", None),
            scenario=event.scenario,
            seq=seq,
            window=self.settings.episode_window,
            now=now,
            case_id=case_id,
        )


__all__ = ["CASE_KINDS", "RECOVERY_KINDS", "TRIGGER_KINDS", "CaseFlow", "SYSTEM"]
