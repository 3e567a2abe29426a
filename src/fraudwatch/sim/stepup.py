"""The step-ups the simulated customers and attackers answer, closing the loop in a backtest.

When the engine challenges a login (a second factor), a payment or a card registration (3-D
Secure) or asks for a CAPTCHA, the simulated person answers within a minute or two and the
result comes back as an ``auth.challenge`` event: genuine customers pass, attackers (who hold
a password or a card number, not the phone) abandon or fail. The engine then learns from it
as it would in production: a passed second factor makes the login genuine evidence for the
account's history; a failed or abandoned one counts in the takeover episode.

>>> from fraudwatch.decisions import Decision, Outcome
>>> from fraudwatch.events import parse_event
>>> e = parse_event({"id": "l1", "time": "2026-11-21T10:00:00+09:00", "kind": "account.login",
...                  "account": "u1", "success": True})
>>> d = Decision("l1", "account.login", e.time, Outcome.CHALLENGE, step_up={"method": "second_factor"})
>>> answer = StepUpResponder(seed=1).answer(e, d)
>>> answer["kind"], answer["target"], answer["method"], answer["result"]
('auth.challenge', 'l1', 'sms', 'passed')
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

__all__ = ["StepUpResponder"]

_METHOD = {"second_factor": "sms", "three_ds": "3ds", "three_ds_mandated": "3ds", "captcha": "captcha"}
_ANSWERED = frozenset({"account.login", "payment.attempt", "account.payment_method_added"})
_CARRIED = ("account", "device", "ip", "card", "session", "user_agent", "country", "channel", "scenario")


class StepUpResponder:
    """``answer(event, decision)``: the ``auth.challenge`` event (a dict) answering a challenge,
    or None when there is nothing to answer."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(f"{seed}/step-up")

    def answer(self, event: Any, decision: Any) -> dict[str, Any] | None:
        if decision.outcome.value != "challenge" or event.kind not in _ANSWERED:
            return None
        step_up = decision.step_up or {}
        method = _METHOD.get(step_up.get("method", "second_factor"), step_up.get("method", "sms"))
        attacker = bool(event.scenario)
        if attacker:
            result = "abandoned" if self.rng.random() < 0.7 else "failed"
        else:
            result = "passed" if self.rng.random() < 0.98 else "abandoned"
        when: datetime = event.time + timedelta(seconds=self.rng.uniform(20, 120))
        out = {
            "id": f"{event.id}-step-up",
            "time": when.isoformat(),
            "kind": "auth.challenge",
            "target": event.id,
            "method": method,
            "result": result,
        }
        if "challenge_indicator" in step_up:
            out["challenge_indicator"] = step_up["challenge_indicator"]
        for name in _CARRIED:
            value = getattr(event, name, None)
            if value is not None:
                out[name] = value
        return out
