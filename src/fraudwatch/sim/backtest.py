"""Replay a labeled stream through the engine and measure what the policy catches and what
it costs genuine customers.

An *instance* is one attack episode: every event whose ``scenario`` is ``"<name>:<id>"``.
It is *detected* when the engine answers ``block`` or ``challenge`` to any of its events;
what it got away with before that (events, approved payments, their money, time since its
first event) is what a real-time policy lets through. Genuine payments count from the
ground truth's ``measure_from`` (after the warm-up that gives features their history); the
high-volume buyers named in the ground truth (reseller, family) and the genuine look-alikes
(``lookalikes``: customers in English, on a new phone, abroad, on a spouse's account; and
every genuine gift-card payment) are reported per group as well (a payment can be in
several groups; ``all`` counts each once).
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from fraudwatch.decisions import Decision, Outcome

__all__ = ["InstanceResult", "Backtest", "format_table"]

CAUGHT = (Outcome.BLOCK, Outcome.CHALLENGE)
JST = timezone(timedelta(hours=9))


@dataclass(slots=True)
class InstanceResult:
    tag: str
    scenario: str
    first_ts: float
    events: int = 0
    approved: int = 0  # approved fraudulent payments in the whole episode
    money: int = 0
    detected_ts: float | None = None
    detected_by: str | None = None
    outcome: str | None = None
    events_before: int = 0
    approved_before: int = 0
    money_before: int = 0

    @property
    def detected(self) -> bool:
        return self.detected_ts is not None


@dataclass(slots=True)
class GroupCounts:
    payments: int = 0
    approved: int = 0  # answered allow
    blocked: int = 0
    challenged: int = 0
    reviewed: int = 0
    logins: int = 0
    logins_blocked: int = 0
    logins_challenged: int = 0
    days: set = field(default_factory=set)
    challenge_days: Counter = field(default_factory=Counter)
    block_days: Counter = field(default_factory=Counter)


class Backtest:
    """Feed it events in time order with :meth:`observe`; read :meth:`report`.

    >>> bt = Backtest(truth=None)
    >>> bt.report()["genuine"]["all"]["payments"]
    0
    """

    def __init__(self, truth: dict[str, Any] | None):
        truth = truth or {}
        self.measure_from = (
            datetime.fromisoformat(truth["measure_from"]).timestamp() if "measure_from" in truth else None
        )
        self.group_of: dict[str, str] = {}
        for group, members in (truth.get("high_volume") or {}).items():
            for m in members:
                self.group_of[m["account"]] = group
                self.group_of[m["card"]] = group
        # look-alike windows by the account or card they name: (group, keys, from, until)
        self.windows: dict[str, list[tuple[str, dict, float, float]]] = defaultdict(list)
        for group, entries in (truth.get("lookalikes") or {}).items():
            for e in entries:
                keys = {k: e[k] for k in ("account", "card") if e.get(k)}
                window = (group, keys, _ts(e["from"]), _ts(e["until"]))
                self.windows[keys.get("account") or keys["card"]].append(window)
        self.instances: dict[str, InstanceResult] = {}
        self.groups: dict[str, GroupCounts] = defaultdict(GroupCounts)
        self.genuine_hits: Counter = Counter()
        self.fraud_hits: Counter = Counter()
        self.events = 0  # of the stream (the step-up answers the backtest adds are counted apart)
        self.step_up_answers = 0
        self.started = time.perf_counter()
        self.elapsed = 0.0

    def observe(self, event, decision: Decision) -> InstanceResult | None:
        """Account for one decision; returns the instance when this decision first caught it."""
        self.events += 1
        tag = event.scenario
        if tag:
            return self._fraud(event, decision, tag)
        if self.measure_from is not None and event.ts < self.measure_from:
            return None
        kind = event.kind
        if kind not in ("payment.attempt", "account.login"):
            return None
        outcome = decision.outcome
        day = datetime.fromtimestamp(event.ts, JST).date().isoformat()
        for g in [self.groups["all"], *(self.groups[name] for name in self.groups_of(event))]:
            if kind == "payment.attempt":
                g.payments += 1
                g.days.add(day)
                g.approved += outcome is Outcome.ALLOW
                g.blocked += outcome is Outcome.BLOCK
                g.challenged += outcome is Outcome.CHALLENGE
                g.reviewed += outcome is Outcome.REVIEW
            else:
                g.logins += 1
                g.logins_blocked += outcome is Outcome.BLOCK
                g.logins_challenged += outcome is Outcome.CHALLENGE
            if outcome is Outcome.CHALLENGE:
                g.challenge_days[day] += 1
            elif outcome is Outcome.BLOCK:
                g.block_days[day] += 1
        if outcome is not Outcome.ALLOW:
            for hit in decision.rules:
                self.genuine_hits[hit.rule if kind == "payment.attempt" else f"login: {hit.rule}"] += 1
        return None

    def groups_of(self, event) -> list[str]:
        """The genuine groups an event is in (none for an ordinary customer)."""
        out = []
        high = self.group_of.get(event.card or "") or self.group_of.get(event.account or "")
        if high:
            out.append(high)
        if self.windows:
            seen = {"account": event.account, "card": event.card}
            for key in {event.account, event.card} - {None}:
                for group, keys, start, until in self.windows.get(key, ()):
                    if start <= event.ts < until and group not in out and all(seen[k] == v for k, v in keys.items()):
                        out.append(group)
        if event.kind == "payment.attempt" and event.items_category == "digital_gift_card":
            out.append("gift_cards")
        return out

    def _fraud(self, event, decision: Decision, tag: str) -> InstanceResult | None:
        inst = self.instances.get(tag)
        if inst is None:
            inst = self.instances[tag] = InstanceResult(tag, tag.partition(":")[0], event.ts)
        inst.events += 1
        approved = event.kind == "payment.attempt" and event.result == "approved"
        if approved:
            inst.approved += 1
            inst.money += event.amount
        caught = decision.outcome in CAUGHT
        for hit in decision.rules:
            if hit.outcome in CAUGHT:
                self.fraud_hits[(inst.scenario, hit.rule)] += 1
        if inst.detected:
            return None
        if caught:
            inst.detected_ts = event.ts
            inst.outcome = decision.outcome.value
            inst.detected_by = max(decision.rules, key=lambda h: h.outcome.severity).rule if decision.rules else None
            return inst
        inst.events_before += 1
        if approved:
            inst.approved_before += 1
            inst.money_before += event.amount
        return None

    def run(
        self, engine, events: Iterable, on_decision: Callable | None = None, step_ups: Any = None
    ) -> dict[str, Any]:
        """Replay ``events``; with ``step_ups`` (a ``fraudwatch.sim.stepup.StepUpResponder``),
        each challenge is answered by an ``auth.challenge`` event put into the stream at its
        time, as the customer or the attacker would answer it."""
        from fraudwatch.events import parse_event

        later: list[tuple[float, int, Any]] = []  # answers waiting for their time
        n = 0

        def process(event, answer: bool = False) -> None:
            nonlocal n
            decision = engine.process(event)
            caught = self.observe(event, decision)
            if answer:
                self.events -= 1
                self.step_up_answers += 1
            if on_decision is not None:
                on_decision(event, decision, caught)
            if step_ups is not None:
                answer = step_ups.answer(event, decision)
                if answer is not None:
                    n += 1
                    reply = parse_event(answer)
                    heapq.heappush(later, (reply.ts, n, reply))

        for event in events:
            while later and later[0][0] <= event.ts:
                process(heapq.heappop(later)[2], answer=True)
            process(event)
        while later:
            process(heapq.heappop(later)[2], answer=True)
        return self.report()

    # ------------------------------------------------------------ results
    def report(self) -> dict[str, Any]:
        self.elapsed = time.perf_counter() - self.started
        scenarios: dict[str, Any] = {}
        by_scenario: dict[str, list[InstanceResult]] = defaultdict(list)
        for inst in self.instances.values():
            by_scenario[inst.scenario].append(inst)
        for name, insts in sorted(by_scenario.items()):
            found = [i for i in insts if i.detected]
            minutes = [(i.detected_ts - i.first_ts) / 60 for i in found]
            scenarios[name] = {
                "instances": len(insts),
                "detected": len(found),
                "detected_share": len(found) / len(insts),
                "median_minutes_to_detection": _median(minutes),
                "max_minutes_to_detection": max(minutes) if minutes else None,
                "median_events_before": _median([i.events_before for i in found]),
                "median_approved_before": _median([i.approved_before for i in insts]),
                "max_approved_before": max(i.approved_before for i in insts),
                "money_lost_before": sum(i.money_before for i in insts),
                "money_approved_in_stream": sum(i.money for i in insts),
                "first_caught_by": dict(Counter(i.detected_by for i in found).most_common()),
                "missed": sorted((i.tag for i in insts if not i.detected), key=_tag_order),
            }
        genuine = {name: self._group(name) for name in ["all", *sorted(k for k in self.groups if k != "all")]}
        return {
            "scenarios": scenarios,
            "genuine": genuine,
            "genuine_rule_hits": dict(self.genuine_hits.most_common()),
            "fraud_rule_hits": {f"{s}/{r}": n for (s, r), n in sorted(self.fraud_hits.items())},
            "instances": {tag: asdict(i) for tag, i in sorted(self.instances.items(), key=lambda x: _tag_order(x[0]))},
            "events": self.events,
            "step_up_answers": self.step_up_answers,
            "seconds": round(self.elapsed, 2),
        }

    def _group(self, name: str) -> dict[str, Any]:
        g = self.groups[name] if name in self.groups else GroupCounts()
        per_k = (lambda n: 1000 * n / g.payments) if g.payments else (lambda n: 0.0)
        days = max(1, len(g.days))
        return {
            "payments": g.payments,
            "approved": g.approved,
            "blocked": g.blocked,
            "challenged": g.challenged,
            "reviewed": g.reviewed,
            "blocked_per_1000": round(per_k(g.blocked), 3),
            "challenged_per_1000": round(per_k(g.challenged), 3),
            "blocked_share": g.blocked / g.payments if g.payments else 0.0,
            "logins": g.logins,
            "logins_blocked": g.logins_blocked,
            "logins_challenged": g.logins_challenged,
            "active_days": len(g.days),
            "challenges_per_day": round(sum(g.challenge_days.values()) / days, 3),
            "max_challenges_in_a_day": max(g.challenge_days.values(), default=0),
            "days_with_a_block": len(g.block_days),
        }


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _tag_order(tag: str) -> tuple[str, int]:
    name, _, number = tag.partition(":")
    return (name, int(number) if number.isdigit() else 0)


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_table(report: dict[str, Any]) -> str:
    """The report as plain-text tables (attacks, then genuine customers)."""
    rows = [
        (
            "scenario",
            "instances",
            "detected",
            "min to catch",
            "events before",
            "approved before",
            "yen lost before",
            "yen approved in stream",
        )
    ]
    for name, s in report["scenarios"].items():
        rows.append(
            (
                name,
                _fmt(s["instances"]),
                f"{100 * s['detected_share']:.1f} %",
                _fmt(s["median_minutes_to_detection"]),
                _fmt(s["median_events_before"]),
                f"{_fmt(s['median_approved_before'])} (max {s['max_approved_before']})",
                _fmt(s["money_lost_before"]),
                _fmt(s["money_approved_in_stream"]),
            )
        )
    out = [_table(rows), "medians over instances; 'caught' = first block or challenge", ""]
    rows = [
        (
            "genuine",
            "payments",
            "approved",
            "blocked",
            "challenged",
            "blocked /1000",
            "challenged /1000",
            "logins",
            "logins blocked",
            "logins challenged",
            "days with a block",
            "max challenges a day",
        )
    ]
    for name, g in report["genuine"].items():
        rows.append(
            (
                name,
                _fmt(g["payments"]),
                _fmt(g["approved"]),
                _fmt(g["blocked"]),
                _fmt(g["challenged"]),
                _fmt(g["blocked_per_1000"], 2),
                _fmt(g["challenged_per_1000"], 2),
                _fmt(g["logins"]),
                _fmt(g["logins_blocked"]),
                _fmt(g["logins_challenged"]),
                _fmt(g["days_with_a_block"]),
                _fmt(g["max_challenges_in_a_day"]),
            )
        )
    out.append(_table(rows))
    return "\n".join(out)


def _table(rows: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
