"""A simulated review desk, for ``fraudwatch demo``: the cases domain fed with the
decisions of a replay, and analysts who work the queue in event time.

Each queued case is taken ``work_after`` of event time after it was queued and given the
verdict the simulator's ground truth says (the ``scenario`` of its events: fraud, else
genuine). The merchant answers each dispute at its first stage: fraud is accepted (the
chargeback stands), and one dispute in five is left to its deadline, which the scheme
then decides (a breach). So cases open and close as the month goes by.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from fraudwatch.actions import Database
from fraudwatch.cases import disputes, service, store
from fraudwatch.cases.flows import CaseFlow
from fraudwatch.cases.settings import CasesSettings
from fraudwatch.cases.verdicts import give_verdict

FRAUD_TYPES = {
    "ato_gift_card": "account_takeover",
    "credential_stuffing": "account_takeover",
    "leaked_card": "stolen_card_number",
    "card_testing": "card_testing",
    "bin_enumeration": "card_testing",
    "stored_value_theft": "other",
}
ANALYSTS = ("aiko", "ben", "chen")


class Desk:
    def __init__(self, path: str | Path | None = None, *, work_after: float = 4 * 3600.0, lookup=None):
        self._tmp = None
        if path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fraudwatch-desk-")
            path = Path(self._tmp.name) / "cases.db"
        self.db = Database(str(path))
        self.flow = CaseFlow(CasesSettings(), lookup=lookup)
        self.work_after = work_after
        self.counts: Counter[str] = Counter()
        self._turn = 0
        self._next_round = float("-inf")

    def on_decision(self, event, decision) -> list[str]:
        """Feed one decision; returns what happened to cases, one line each. Only the events
        the flow wants touch the database, and the desk works once an hour of event time."""
        self.flow.advance(event.ts)
        wanted = self.flow.wants(event.kind, decision.outcome.value)
        due = event.ts >= self._next_round
        if not (wanted or due):
            return []
        lines: list[str] = []
        with self.db.unit_of_work() as conn:
            if wanted:
                before = self._statuses(conn, event)
                episode = self.flow.on_decision(conn, event, decision, now=event.ts)
                if episode is not None:
                    case = service.get_case(conn, episode.id)
                    if before.get(case.id) in (None, "monitoring") and case.status.value == "open":
                        self.counts["opened"] += 1
                        lines.append(f"case {case.reference} opened ({case.trigger}, {case.priority.value})")
            if due:
                self._next_round = event.ts + 3600.0
                for case_id in dict.fromkeys(self.flow.sweep(conn, now=event.ts)):
                    case = service.get_case(conn, case_id)
                    if case.status.value == "open" and case.trigger == "challenge_unanswered":
                        self.counts["opened"] += 1
                        lines.append(f"case {case.reference} opened ({case.trigger}, {case.priority.value})")
                lines += self._work(conn, event.ts)
        return lines

    def _statuses(self, conn, event) -> dict[str, str]:
        if not (event.card or event.account):
            return {}
        return {
            r["id"]: r["status"] for r in store.cases_of_subject(conn, card=event.card, account=event.account, limit=3)
        }

    def _work(self, conn, clock: float) -> list[str]:
        lines = []
        due = store.list_cases(conn, statuses=("open",), sort="age", limit=20)
        for row in due:
            queued_at = row["queued_at"] or clock
            if clock - queued_at < self.work_after:
                break
            analyst = ANALYSTS[self._turn % len(ANALYSTS)]
            self._turn += 1
            case = service.claim(conn, row["id"], analyst=analyst, now=clock)
            if case.verdict is not None:  # reopened (a chargeback after the verdict): back to where it was
                target = (
                    "recovering"
                    if any(d.outcome is None for d in disputes.list_disputes(conn, case_id=case.id))
                    else "closed"
                )
                case = service.transition(conn, case.id, target, actor=analyst, now=clock)
                lines.append(f"case {case.reference} reopened and {target} ({analyst})")
                continue
            fraud = bool(case.scenario)
            case, _ = give_verdict(
                conn,
                case.id,
                verdict="fraud" if fraud else "genuine",
                fraud_type=FRAUD_TYPES.get(case.scenario or "", "other") if fraud else None,
                actor=analyst,
                now=clock,
            )
            self.counts[f"verdict_{case.verdict}"] += 1
            if case.status.value == "closed":
                self.counts["closed"] += 1
            lines.append(f"case {case.reference} {case.verdict} ({analyst}) -> {case.status.value}")
        for d in disputes.list_disputes(conn, open_only=True, limit=50):
            if d.party != "merchant" or d.stage_started is None or clock - d.stage_started < 2 * 86400:
                continue
            if int(d.id[-2:], 16) % 5 == 0:
                continue  # left to its deadline
            disputes.move(conn, d.id, "accept", at=clock, actor="merchant", now=clock)
            self.counts["disputes_accepted"] += 1
            after = service.get_case(conn, d.case_id)
            lines.append(f"case {after.reference} {d.scheme} dispute accepted -> {after.status.value}")
            if after.status.value == "closed":
                self.counts["closed"] += 1
        return lines

    def summary(self) -> str:
        conn = self.db.connection()
        by_status = dict(conn.execute("SELECT status, count(*) FROM cases GROUP BY status").fetchall())
        decided = dict(conn.execute("SELECT coalesce(outcome, 'open'), count(*) FROM disputes GROUP BY 1").fetchall())
        breached = store.breached_disputes(conn)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(decided.items())) or "none"
        return f"cases: {sum(by_status.values())} episodes ({statuses}); disputes: {outcomes}, {breached} breached"

    def close(self) -> None:
        self.db.close()
        if self._tmp is not None:
            self._tmp.cleanup()
