"""Put the world together and write a labeled stream in event-time order.

>>> cfg = SimConfig(seed=1, cardholders=300, days=3, warmup=1)
>>> events, truth = simulate(cfg)
>>> events[0]["time"] <= events[-1]["time"], sorted(truth["high_volume"])
(True, ['family', 'reseller'])
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import IO, Any

import orjson

from fraudwatch.errors import InvalidValue
from fraudwatch.sim import attacks
from fraudwatch.sim.genuine import LOOKALIKES, genuine_population
from fraudwatch.sim.variants import VARIANTS
from fraudwatch.sim.world import (
    DAY,
    Card,
    Holder,
    Stream,
    build_merchants,
    hexid,
    ip_address,
    iso,
    make_holder,
    rng_for,
)

__all__ = ["DEFAULT_MIX", "SCENARIOS", "SimConfig", "parse_mix", "simulate", "write_jsonl", "truth_path"]

# the textbook attacks of attacks.py, then the variants that avoid what the rules key on
SCENARIOS = (*attacks.SCENARIOS, *VARIANTS)

# Attack episodes per 10,000 cardholders per 30 days.
DEFAULT_MIX: dict[str, float] = {
    "ato_gift_card": 40,
    "leaked_card": 40,
    "card_testing": 30,
    "bin_enumeration": 10,
    "credential_stuffing": 10,
    "stored_value_theft": 20,
}


def parse_mix(text: str | None) -> dict[str, float]:
    """``"default"``, ``"none"``, or ``name=rate,...`` (rates per 10,000 cardholders per 30
    days; names not given keep their default, ``only:`` in front drops the others). The
    variants (``ato_gift_card_quiet``, ``leaked_card_aged``) are not in the default mix.

    >>> parse_mix("card_testing=100")["card_testing"], parse_mix("only:card_testing=5")
    (100.0, {'card_testing': 5.0})
    """
    if not text or text == "default":
        return dict(DEFAULT_MIX)
    if text == "none":
        return {}
    only = text.startswith("only:")
    mix = {} if only else dict(DEFAULT_MIX)
    for part in text.removeprefix("only:").split(","):
        name, sep, rate = part.strip().partition("=")
        if name not in SCENARIOS or not sep:
            raise InvalidValue(f"mix: {part!r}; expected name=rate with name one of {', '.join(SCENARIOS)}")
        try:
            mix[name] = float(rate)
        except ValueError:
            raise InvalidValue(f"mix: {part!r}: rate must be a number") from None
        if mix[name] < 0:
            raise InvalidValue(f"mix: {part!r}: rate must be >= 0")
    return mix


@dataclass
class SimConfig:
    seed: int = 7
    cardholders: int = 10_000
    days: int = 30
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    start: str = "2026-11-01T00:00:00+09:00"
    warmup: int = 7  # days of genuine-only history before ``start``, so features have a past
    # genuine look-alike episodes per 10,000 cardholders per 30 days (genuine.LOOKALIKES)
    lookalikes: dict[str, float] = field(default_factory=lambda: dict(LOOKALIKES))


def simulate(cfg: SimConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events (JSON-ready dicts, time order, ids given) and the ground truth."""
    if cfg.cardholders < 50:
        raise InvalidValue("cardholders: at least 50")
    if cfg.days < 1 or cfg.warmup < 0:
        raise InvalidValue("days must be >= 1 and warmup >= 0")
    start = datetime.fromisoformat(cfg.start).timestamp()
    begin, end = start - cfg.warmup * DAY, start + cfg.days * DAY
    stream = Stream()
    merchants = build_merchants(cfg.seed)
    rng = rng_for(cfg.seed, "population")
    cgnat = [ip_address(rng, "jp_mobile") for _ in range(max(20, cfg.cardholders // 200))]
    n = cfg.cardholders
    kinds = ["regular"] * n
    special = rng.sample(range(n), max(1, n // 10_000) + max(1, n // 2_000))
    n_resellers = max(1, n // 10_000)
    for j, i in enumerate(special):
        kinds[i] = "reseller" if j < n_resellers else "family"
    for i in rng.sample([i for i in range(n) if kinds[i] == "regular"], n // 20):
        kinds[i] = "dormant"
    holders = [make_holder(cfg.seed, i, kinds[i], merchants, cgnat) for i in range(n)]
    lookalikes = genuine_population(
        stream, holders, cfg.seed, merchants, cgnat, begin, end, lookalikes=cfg.lookalikes, measure_from=start
    )
    instances = play_attacks(stream, holders, merchants, cgnat, cfg, start, end)
    reissued = reissue_stopped_cards(stream, holders, cfg.seed)

    events: list[dict[str, Any]] = []
    rows = stream.sorted_rows()
    assign_sessions(rows)
    for number, (ts, _, event) in enumerate(rows, start=1):
        event["id"] = f"ev{number:09d}"
        out = {"id": event["id"], "time": iso(ts), **event}
        for ref in ("target", "payment"):
            if isinstance(out.get(ref), dict):
                out[ref] = out[ref]["id"]
        events.append(out)
    truth = {
        "config": asdict(cfg),
        "measure_from": iso(int(start)),
        "end": iso(int(end)),
        "high_volume": {
            kind: [{"account": h.account, "card": h.card.token} for h in holders if h.kind == kind]
            for kind in ("reseller", "family")
        },
        "lookalikes": lookalikes,
        "instances": instances,
        "reissued_cards": reissued,
    }
    return events, truth


SESSION_IDLE = 2 * 3600  # a session with no event for this long has timed out
_NOT_IN_SESSIONS = frozenset({"label", "chargeback", "cardholder.answer", "order.shipped"})


def assign_sessions(rows: list[tuple[int, int, dict]]) -> None:
    """A ``session`` on every event of an account and device from a successful login until
    the logout, a password change or two idle hours (in event-time order; ids from a hash,
    so they tell nothing of who made them)."""
    open_sessions: dict[tuple[str, str], tuple[str, int]] = {}
    for ts, _, event in rows:
        kind, account, device = event["kind"], event.get("account"), event.get("device")
        if account is None or device is None or kind in _NOT_IN_SESSIONS:
            continue
        key = (account, device)
        if kind == "account.login":
            if event.get("success"):
                sid = "ses_" + hashlib.sha256(f"{account}/{device}/{ts}".encode()).hexdigest()[:16]
                event["session"] = sid
                open_sessions[key] = (sid, ts)
            continue
        current = open_sessions.get(key)
        if current is not None and ts - current[1] <= SESSION_IDLE:
            event["session"] = current[0]
            open_sessions[key] = (current[0], ts)
        if kind in ("account.logout", "account.password_changed", "account.password_reset"):
            open_sessions.pop(key, None)


def play_attacks(stream, holders, merchants, cgnat, cfg: SimConfig, start: float, end: float) -> dict[str, dict]:
    world = attacks.World(stream, merchants, cgnat)
    regular = [h for h in holders if h.kind == "regular"]
    pools = {
        "dormant": [h for h in holders if h.kind == "dormant"],
        "regular": regular,
        "wallet": [h for h in regular if h.wallet],
    }
    scale = cfg.cardholders / 10_000 * cfg.days / 30
    instances: dict[str, dict] = {}
    for name in SCENARIOS:
        rate = cfg.mix.get(name, 0)
        if rate <= 0:
            continue
        rng = rng_for(cfg.seed, "attack", name)
        count = max(1, round(rate * scale))
        pool = pools["dormant" if name == "card_testing" else "wallet" if name == "stored_value_theft" else "regular"]
        victims = rng.sample(pool, min(count, len(pool)))
        latest = max(start, end - DAY) if name != "card_testing" else max(start, end - 3 * DAY)
        for k in range(count):
            tag = f"{name}:{k + 1}"
            t = int(rng.uniform(start, latest))
            play = VARIANTS[name] if name in VARIANTS else getattr(attacks, name)
            if name == "credential_stuffing":
                hit = rng.sample(regular, 3)  # accounts whose owners reused a leaked password
                play(world, rng, tag, hit, t)
            else:
                hit = [victims[k % len(victims)]]
                play(world, rng, tag, hit[0], t)
            instances[tag] = {
                "scenario": name,
                "start": iso(t),
                "victim_accounts": [] if name == "bin_enumeration" else [h.account for h in hit],
            }
    return instances


# what the holder does with a card: the kinds that move to the reissued card (a label or a
# chargeback about an earlier payment keeps the number that payment used)
CARD_ACTIVITY = frozenset({"payment.attempt", "account.payment_method_added", "account.payment_method_removed"})


def reissue_stopped_cards(stream: Stream, holders: list[Holder], seed: int) -> int:
    """Confirmed fraud on a card stops it and the issuer reissues it, as issuers do: from the
    first ``label`` with ``fraud: true`` about a holder's card on, the holder's own events
    use a new card (new token and last 4 digits, same BIN and type), registered on the
    holder's account at once (the days a new card takes to arrive are not modelled). The
    attacker's later attempts keep the stopped number. Without this, the holder would go on
    paying with the number fraudwatch put on ``@suspended_cards`` (blocked everywhere, as
    the issuer would decline it), and every such payment would count as a genuine customer
    blocked. Returns the number of cards reissued; the rest of the stream is unchanged."""
    confirmed: dict[str, int] = {}
    for ts, _, event in stream.rows:
        card = event.get("card")
        if event["kind"] == "label" and event.get("fraud") and card and ts < confirmed.get(card, ts + 1):
            confirmed[card] = ts
    owners = {h.card.token: h for h in holders if h.card.token in confirmed}
    new: dict[str, Card] = {}
    for token, h in owners.items():
        rng = rng_for(seed, "reissue", h.index)  # a generator of its own: nothing else moves
        new[token] = Card(
            hexid(rng, "tok_", 64), h.card.bin, f"{rng.randrange(10000):04d}", h.card.type, h.card.country
        )
    for ts, _, event in list(stream.rows):
        card = event.get("card")
        if card in new and "scenario" not in event and event["kind"] in CARD_ACTIVITY and ts >= confirmed[card]:
            event.update(new[card].fields())
    for token, card in new.items():
        h = owners[token]
        stream.emit(
            confirmed[token],
            "account.payment_method_added",
            **card.fields(),
            account=h.account,
            email=h.email,
            device=h.devices[0],
            ip=h.home_ip,
            country=h.country,
            language=h.language,
            channel="ecommerce",
        )
    return len(new)


def write_jsonl(events: list[dict[str, Any]], out: IO[bytes]) -> int:
    buf = []
    for e in events:
        buf.append(orjson.dumps(e))
        if len(buf) >= 10_000:
            out.write(b"\n".join(buf) + b"\n")
            buf.clear()
    if buf:
        out.write(b"\n".join(buf) + b"\n")
    return len(events)


def truth_path(events_path: str) -> str:
    """The ground-truth side file written beside an events file."""
    stem = events_path[: -len(".jsonl")] if events_path.endswith(".jsonl") else events_path
    return stem + ".truth.json"
