"""``fraudwatch demo``: simulated traffic into the engine, live, with a running commentary.

Plain lines when the output is not a terminal (a progress line every few seconds), an
updating status line when it is.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import IO

from fraudwatch.cases import Desk
from fraudwatch.sim.backtest import Backtest, InstanceResult, format_table
from fraudwatch.sim.episodes import EpisodeResponses, format_episodes
from fraudwatch.sim.simulate import DEFAULT_MIX, SimConfig, simulate
from fraudwatch.sim.world import JST

__all__ = ["DEMO_MIX", "run_demo"]

CASE_LINES = 40  # case openings and closings shown as they happen

# twice the default attack rate, so a one-minute run shows every kind several times
DEMO_MIX = {name: rate * 2 for name, rate in DEFAULT_MIX.items()}

WHAT = {
    "ato_gift_card": "account takeover -> gift-card burst",
    "leaked_card": "leaked card on a stranger's account",
    "card_testing": "card testing on a dormant card",
    "bin_enumeration": "BIN enumeration",
    "credential_stuffing": "credential stuffing",
    "stored_value_theft": "stored value from a cloned mobile card",
    "ato_gift_card_quiet": "quiet account takeover -> gift cards",
    "leaked_card_aged": "leaked card on an aged stranger's account",
}


def run_demo(
    engine, seed: int = 7, cardholders: int = 2000, days: int = 30, seconds: float = 60.0, out: IO[str] = sys.stdout
) -> dict:
    from fraudwatch.events.kinds import parse_event

    tty = out.isatty()
    say = lambda text="": print(text, file=out, flush=True)  # noqa: E731
    say(
        f"fraudwatch demo: {cardholders:,} cardholders, {days} days of card and shop traffic with attacks "
        f"(seed {seed}), through the default policy."
    )
    cfg = SimConfig(seed=seed, cardholders=cardholders, days=days, warmup=3, mix=dict(DEMO_MIX))
    raw, truth = simulate(cfg)
    events = [parse_event(e) for e in raw]
    say(
        f"simulated {len(events):,} events and {len(truth['instances'])} attack episodes; replaying them live "
        f"(3 days of genuine history first)...\n"
    )
    bt = Backtest(truth)
    episodes = EpisodeResponses(engine)
    payments = {e["id"]: e for e in raw if e["kind"] == "payment.attempt"}
    desk = Desk(lookup=payments.get)  # the review queue, worked by simulated analysts
    shown = {"cases": 0}
    total = len(events)
    began = time.perf_counter()
    last_status = 0.0
    state = {"line": False}

    def status(i: int, event) -> str:
        when = datetime.fromtimestamp(event.ts, JST).strftime("%m-%d %H:%M")
        g = bt.groups.get("all")
        caught = sum(1 for x in bt.instances.values() if x.detected)
        return (
            f"[{when}] {100 * i / total:5.1f} %  {i:,} events  attacks caught {caught}/{len(bt.instances)}  "
            f"genuine payments {g.payments if g else 0:,}: blocked {g.blocked if g else 0}, "
            f"challenged {g.challenged if g else 0}"
        )

    def on_decision(event, decision, caught: InstanceResult | None, episode: str | None) -> None:
        if caught is None and (episode is None or event.scenario):
            return  # an attack's further episodes (a BIN run: one per card) show in the table
        if state["line"]:
            out.write("\r\033[K")
            state["line"] = False
        when = datetime.fromtimestamp(event.ts, JST).strftime("%m-%d %H:%M")
        if caught is None:  # a genuine customer stopped: a false alarm, answered "yes"
            say(f"  {when}  false alarm            {event.kind} of a genuine customer: {decision.outcome.value}")
            say(f"               {episode}")
            return
        lost = (
            f"; {caught.approved_before} payment(s), {caught.money_before:,} yen got through first"
            if caught.approved_before
            else ""
        )
        hit = next((h for h in decision.rules if h.rule == caught.detected_by), None)
        parts = [f"{k}={_short(v)}" for k, v in (hit.values if hit else {}).items() if k != "event.kind"]
        shown = parts
        while len(", ".join(shown)) > 110 and len(shown) > 1:
            shown = shown[:-1]
        why = ", ".join(shown) + (", ..." if len(shown) < len(parts) else "")
        say(f"  {when}  caught {caught.tag:<22} {WHAT.get(caught.scenario, caught.scenario)}")
        say(
            f"               {decision.outcome.value} on {event.kind} by {caught.detected_by} ({why})"
            f" after {caught.events_before} of its events{lost}"
        )
        if episode:
            say(f"               {episode}")

    def on_cases(event, lines: list[str]) -> None:
        for line in lines:
            shown["cases"] += 1
            if shown["cases"] <= CASE_LINES:
                if state["line"]:
                    out.write("\r\033[K")
                    state["line"] = False
                say(f"  {datetime.fromtimestamp(event.ts, JST).strftime('%m-%d %H:%M')}  {line}")
            elif shown["cases"] == CASE_LINES + 1:
                say("  (more cases open and close; the summary follows at the end)")

    for i, event in enumerate(events, start=1):
        decision = engine.process(event)
        on_decision(event, decision, bt.observe(event, decision), episodes.handle(event, decision))
        on_cases(event, desk.on_decision(event, decision))
        if i % 256 == 0 or i == total:
            now = time.perf_counter() - began
            ahead = seconds * i / total - now
            if ahead > 0:
                time.sleep(ahead)
                now += ahead
            if tty and now - last_status > 0.2:
                out.write("\r\033[K" + status(i, event))
                out.flush()
                state["line"], last_status = True, now
            elif not tty and now - last_status > 5:
                say(status(i, event))
                last_status = now
    if state["line"]:
        out.write("\n")
    report = bt.report()
    say("\n" + format_table(report))
    say("\n" + desk.summary())
    desk.close()
    report["episodes"] = episodes.report()
    episodes.close()
    say(
        "\nThe response side, one episode per attack (each cardholder answered its one alert at once: "
        "victims no, customers yes):\n" + format_episodes(report["episodes"], WHAT)
    )
    say(
        f"\n{total:,} events in {time.perf_counter() - began:.0f} s. Next: fraudwatch simulate --out events.jsonl "
        f"&& fraudwatch backtest events.jsonl (docs/simulator.md)"
    )
    return report


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    return str(value)
