"""The response side in the demo: the simulated decisions go through a real ``Responder``
(its own SQLite file in a temporary folder), grouped into episodes; each episode's
cardholder answers its one alert at once (a victim "no", a genuine customer "yes"), and the
answer's label events go back into the engine, as the service does.

``EpisodeResponses.handle(event, decision)`` returns a line to print when an episode gets
its first response (not one per event); ``report()`` the summary per scenario: episodes,
stopped events, alerts and updates sent, actions taken, and actions repeated within an
episode (zero).
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from fraudwatch.decisions import Decision, Outcome

__all__ = ["EpisodeResponses", "format_episodes"]
BATCH = 512  # allowed decisions handed to the responder in one unit of work


class EpisodeResponses:
    def __init__(self, engine: Any, folder: str | Path | None = None):
        from fraudwatch.actions import Responder
        from fraudwatch.settings import ActionsSettings

        self._tmp = None if folder is not None else tempfile.TemporaryDirectory(prefix="fraudwatch-demo-")
        folder = Path(folder if folder is not None else self._tmp.name)
        settings = ActionsSettings(database=folder / "demo-actions.db", link_key="demo-answer-links-0123456789abcdef")
        self.engine = engine
        self.responder = Responder(settings, suppressions=engine.suppressions)
        if engine.suppressions is None:
            engine.suppressions = self.responder.suppressions
        self._told: set[str] = set()
        self._pending: list[tuple[Any, Decision]] = []

    def flush(self) -> None:
        """Hand the decisions kept so far to the responder, in one unit of work (as the
        service's log follower hands over a page)."""
        if not self._pending:
            return
        r = self.responder
        with r.db.unit_of_work() as conn:
            for event, decision in self._pending:
                r.plan(conn, event, decision, now=event.ts)
            r.cases.sweep(conn, now=self._pending[-1][0].ts)
        self._pending = []

    def handle(self, event: Any, decision: Decision) -> str | None:
        """Respond to one decision; a line for an episode that got its first response now."""
        r = self.responder
        if not decision.duplicate:
            self._pending.append((event, decision))
        if decision.outcome is Outcome.ALLOW:
            if len(self._pending) >= BATCH:
                self.flush()
            return None
        self.flush()
        conn = r.db.connection()
        row = conn.execute("SELECT case_id FROM case_events WHERE event_id = ?", (event.id,)).fetchone()
        if row is None or row[0] in self._told:
            return None
        case = row[0]
        alert = conn.execute("SELECT id, event_id, answered_at FROM alerts WHERE episode = ?", (case,)).fetchone()
        acted = [a for (a,) in conn.execute("SELECT DISTINCT action FROM episode_actions WHERE episode = ?", (case,))]
        if alert is None and not acted:
            return None
        self._told.add(case)
        answer = ""
        if alert is not None and alert["answered_at"] is None:
            reply = "no" if event.scenario else "yes"  # the victim, or a genuine customer
            token = r.links_for_event(alert["event_id"])[reply].rsplit("/", 1)[1]
            result = r.answer(token, now=event.ts)
            for e in result.events:  # as the service does: the engine reads the labels
                self._pending.append((e, self.engine.process(e)))
            self.flush()
            answer = f", answered {reply}"
            acted = [
                a for (a,) in conn.execute("SELECT DISTINCT action FROM episode_actions WHERE episode = ?", (case,))
            ]
        reference = conn.execute("SELECT reference FROM cases WHERE id = ?", (case,)).fetchone()[0]
        said = "alert to the cardholder" + answer if alert is not None else "no alert"
        return f"episode {reference}: {said}; " + (", ".join(acted) if acted else "no action")

    def report(self) -> dict[str, dict[str, float]]:
        """Per scenario (``genuine`` for customers' false alarms): episodes, stopped events,
        messages to the cardholder (alerts and updates), actions, actions repeated."""
        self.flush()
        conn = self.responder.db.connection()
        out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for case, scenario in conn.execute("SELECT id, scenario FROM cases"):
            s = out[scenario.split(":")[0] if scenario else "genuine"]  # (tags are scenario:instance)
            s["episodes"] += 1
            s["stopped"] += conn.execute(
                "SELECT count(*) FROM case_events WHERE case_id = ? AND role = 'flagged'", (case,)
            ).fetchone()[0]
            alert = conn.execute("SELECT id FROM alerts WHERE episode = ?", (case,)).fetchone()
            if alert is not None:
                s["alerts"] += 1
                s["updates"] += conn.execute(
                    "SELECT count(*) FROM cardholder_messages WHERE alert = ? AND type = 'alert.risk.updated'",
                    (alert[0],),
                ).fetchone()[0]
            # one message per (action, cause): each action once, cancel/revert/revoke once per level
            s["actions"] += conn.execute(
                "SELECT count(DISTINCT action || ' ' || event) FROM episode_actions WHERE episode = ?", (case,)
            ).fetchone()[0]
        return {k: dict(v) for k, v in sorted(out.items())}

    def close(self) -> None:
        self.responder.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def format_episodes(report: dict[str, dict[str, float]], names: dict[str, str]) -> str:
    """The episode table of the demo."""
    lines = [f"{'':<44}{'episodes':>9}{'stopped':>9}{'alerts':>8}{'updates':>9}{'actions':>9}"]
    for scenario, s in report.items():
        label = names.get(scenario, "false alarms on customers" if scenario == "genuine" else scenario)
        lines.append(
            f"{label:<44}{s['episodes']:>9.0f}{s['stopped']:>9.0f}{s.get('alerts', 0):>8.0f}"
            f"{s.get('updates', 0):>9.0f}{s.get('actions', 0):>9.0f}"
        )
    return "\n".join(lines)
