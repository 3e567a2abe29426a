"""The account-takeover domain's stateful feature kinds (``fraudwatch.features.stateful``).

``agg: login_risk`` (:class:`LoginRisk`): the Freeman / Wiefling risk score of a login
(``fraudwatch.ato.risk``), with the login history fed back by the engine's outcomes and
the step-up results.

>>> from fraudwatch.events import parse_event
>>> from fraudwatch.features import FeatureEngine, FeatureSet
>>> fs = FeatureSet.from_yaml('''
... features:
...   - {name: login.risk, entity: account, kinds: [account.login], agg: login_risk}
... ''')
>>> fe = FeatureEngine(fs)
>>> def login(i, account, ip):
...     return parse_event({"id": f"l{i}", "time": f"2026-11-21T1{i}:00:00+09:00", "kind": "account.login",
...                         "account": account, "success": True, "ip": ip, "user_agent": "Mozilla/5.0"})
>>> for i, (account, ip) in enumerate([("u1", "126.1.2.3"), ("u2", "126.1.2.3"), ("u1", "126.1.2.3")]):
...     e = login(i, account, ip)
...     risk = fe.process(e, e.ts)["login.risk"]
...     fe.decided(e, e.ts, "allow")
>>> risk < 1.0
True
>>> e = login(3, "u1", "8.8.8.8")
>>> fe.process(e, e.ts)["login.risk"] > 1.0
True
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from fraudwatch.ato.ipdata import ip_info
from fraudwatch.ato.risk import LEVELS, LoginHistory
from fraudwatch.ato.useragent import parse_user_agent
from fraudwatch.errors import InvalidValue
from fraudwatch.features.memory import approx_size
from fraudwatch.features.spec import parse_duration

__all__ = ["FailureStreak", "LoginRisk", "Takeover"]

_ENTERS = frozenset({"allow", "review"})  # outcomes that let a successful login into the history
_MAX_CHALLENGED = 200_000  # logins waiting for their step-up result


def login_values(event: Any) -> tuple:
    """The login's values at each level of :data:`fraudwatch.ato.risk.LEVELS`, as the event's
    fields ``ip``, ``as_id``, ``ip_country``, ``user_agent``, ``ua_browser_version``,
    ``ua_os_version``, ``ua_device`` read them (one IP lookup, one user-agent parse)."""
    ip, text = event.ip, event.user_agent
    info = ip_info(ip) if ip is not None else None
    ua = parse_user_agent(text) if text is not None else None
    return (
        ip,
        info.as_key if info is not None else None,
        info.country if info is not None else None,
        text,
        ua.browser_version if ua is not None else None,
        ua.os_version if ua is not None else None,
        ua.device if ua is not None else None,
    )


assert LEVELS == ("ip", "as_id", "ip_country", "user_agent", "ua_browser_version", "ua_os_version", "ua_device")


class LoginRisk:
    """``agg: login_risk``: the risk score of each login (None for an account's first).

    Options: ``history`` (logins kept per account, default 100), ``forget_after`` (an account
    with no new login for this long is forgotten, default 365d), ``challenge_wait`` (how long
    a challenged login waits for its ``auth.challenge`` result, default 1h)."""

    listens = ("account.login", "auth.challenge", "label", "cardholder.answer")

    @staticmethod
    def check_options(options: dict[str, Any], spec: Any) -> dict[str, Any]:
        unknown = sorted(set(options) - {"history", "forget_after", "challenge_wait"})
        if unknown:
            raise InvalidValue(
                f"options: unknown option(s) {', '.join(unknown)}; known: history, forget_after, challenge_wait"
            )
        if spec.entity != ("account",):
            raise InvalidValue("entity: login_risk is kept per account: entity: account")
        if spec.kinds not in ((), ("account.login",)):
            raise InvalidValue("kinds: login_risk scores account.login events only")
        history = options.get("history", 100)
        if not isinstance(history, int) or isinstance(history, bool) or not 1 <= history <= 10_000:
            raise InvalidValue(f"options: history must be a whole number of logins from 1 to 10000, not {history!r}")
        out: dict[str, Any] = {"history": history}
        for name, default in (("forget_after", "365d"), ("challenge_wait", "1h")):
            seconds = parse_duration(options.get(name, default), what=f"options: {name}")
            if seconds <= 0:
                raise InvalidValue(f"options: {name} must be longer than 0")
            out[name] = seconds
        return out

    def __init__(self, spec: Any, lateness: float) -> None:
        self.spec = spec
        self.name = spec.name
        options = spec.option_dict
        self.challenge_wait = options["challenge_wait"]
        self.history = LoginHistory(options["history"], options["forget_after"], lateness)
        self._pending: tuple | None = None  # the login just scored: (id, account, values, ts)
        self._challenged: OrderedDict[str, tuple] = OrderedDict()  # id -> (account, values, ts)

    # --------------------------------------------------------------- events
    def process(self, event: Any, ts: float, out: dict[str, Any]) -> None:
        if self._pending is not None:  # no outcome came (a caller without an engine): allowed
            self._commit(self._pending)
        kind = event.kind
        if kind == "account.login":
            account = event.account
            values = login_values(event)
            out[self.name] = self.history.score(account, values, ts)
            if event.success and account is not None:
                self._pending = (event.id, account, values, ts)
        elif kind == "auth.challenge":
            waiting = self._challenged.pop(event.target, None)
            if waiting is not None and event.result == "passed":
                account, values, _ = waiting
                self.history.add(account, event.target, values, ts)  # genuine evidence, from now on
        elif kind == "label":
            if event.fraud:
                self.history.remove(event.target, ts)
                self._challenged.pop(event.target, None)
        elif kind == "cardholder.answer" and event.answer == "no":
            self.history.remove(event.target, ts)
            self._challenged.pop(event.target, None)

    def decided(self, event: Any, ts: float, outcome: str) -> None:
        pending = self._pending
        if pending is None or pending[0] != event.id:
            return
        self._pending = None
        if outcome in _ENTERS:
            self._commit(pending)
        elif outcome == "challenge":
            event_id, account, values, t = pending
            waiting = self._challenged
            waiting[event_id] = (account, values, t)
            while waiting and (
                len(waiting) > _MAX_CHALLENGED or next(iter(waiting.values()))[2] < ts - self.challenge_wait
            ):
                waiting.popitem(last=False)
        # block: a login the engine refused never counts

    def _commit(self, pending: tuple) -> None:
        self._pending = None
        event_id, account, values, ts = pending
        self.history.add(account, event_id, values, ts)

    # --------------------------------------------------------------- upkeep
    def sweep(self, now: float) -> int:
        before = len(self.history)
        self.history._expire(now - self.history.lateness)
        return before - len(self.history)

    def dump(self) -> dict:
        return {
            "history": self.history.dump(),
            "pending": self._pending,
            "challenged": list(self._challenged.items()),
        }

    def load(self, state: dict) -> None:
        self.history = LoginHistory.load(state["history"])
        pending = state["pending"]
        self._pending = (pending[0], pending[1], tuple(pending[2]), pending[3]) if pending is not None else None
        self._challenged = OrderedDict((k, (a, tuple(v), t)) for k, (a, v, t) in state["challenged"])

    def memory(self) -> dict:
        h = self.history
        size = approx_size(h.accounts, 1000) + sum(approx_size(c, 1000) for c in (*h.counts, *h.sub))
        return {"accounts": len(h.accounts), "logins": h.logins, "bytes": size}


class FailureStreak:
    """``agg: failure_streak``: consecutive failed logins of an entity (an account, or an
    account and method: one authenticator) before the event, and the throttle it implies.

    A successful login, a password reset or a password change ends the streak. The decision
    of a failed login that makes the streak ``throttle_after`` or longer says how long the
    caller should wait before the next try (``retry_after``: ``first_wait`` doubling with each
    failure, at most ``max_wait``); NIST SP 800-63B allows at most 100 consecutive failures
    per authenticator: ``lock_after`` (at most 100) is where the default rules lock the account.
    Late events (within the lateness) are put in their place."""

    listens = ("account.login", "account.password_reset", "account.password_changed")
    ENDS = frozenset({"account.password_reset", "account.password_changed"})

    @staticmethod
    def check_options(options: dict[str, Any], spec: Any) -> dict[str, Any]:
        known = {"throttle_after", "first_wait", "max_wait", "lock_after"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidValue(f"options: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if spec.kinds not in ((), ("account.login",)):
            raise InvalidValue("kinds: failure_streak reads account.login events")
        out: dict[str, Any] = {}
        for name, default, top in (("throttle_after", 5, 100), ("lock_after", 100, 100)):
            value = options.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise InvalidValue(f"options: {name} must be a whole number from 1 to {top}, not {value!r}")
            out[name] = value
        for name, default in (("first_wait", "1s"), ("max_wait", "15m")):
            out[name] = parse_duration(options.get(name, default), what=f"options: {name}")
        if out["first_wait"] <= 0 or out["max_wait"] < out["first_wait"]:
            raise InvalidValue("options: first_wait must be more than 0 and at most max_wait")
        return out

    def __init__(self, spec: Any, lateness: float) -> None:
        from fraudwatch.features.access import key_getter

        self.spec = spec
        self.name = spec.name
        self.lateness = lateness
        o = spec.option_dict
        self.throttle_after, self.lock_after = o["throttle_after"], o["lock_after"]
        self.first_wait, self.max_wait = o["first_wait"], o["max_wait"]
        self._key = key_getter(spec.entity)
        # key -> [streak before the kept events, [(ts, failed), ...] of the last `lateness` seconds]
        self.entities: dict[Any, list] = {}
        self.now = float("-inf")

    def process(self, event: Any, ts: float, out: dict[str, Any]) -> None:
        key = self._key(event)
        if key is None:
            return
        if ts > self.now:
            self.now = ts
        ent = self.entities.get(key)
        if ent is None:
            ent = self.entities[key] = [0, []]
        base, recent = ent
        # the streak as of ts: trailing failures among the kept events up to ts (ties that
        # came first count, as in a replay in time order)
        i = bisect_right(recent, (ts, True))
        streak = 0
        for j in range(i - 1, -1, -1):
            if not recent[j][1]:
                break
            streak += 1
        else:
            streak += base
        is_login = event.kind == "account.login"
        if is_login:
            out[self.name] = streak
        recent.insert(i, (ts, is_login and not event.success))
        # events older than the lateness fold into the base
        edge = recent[-1][0] - self.lateness
        k = 0
        while k < len(recent) - 1 and recent[k][0] < edge:
            base = base + 1 if recent[k][1] else 0
            k += 1
        if k:
            del recent[:k]
            ent[0] = base

    def decided(self, event: Any, ts: float, outcome: str) -> None:
        return

    def annotate(self, event: Any, values: dict[str, Any], decision: Any) -> None:
        if event.kind != "account.login" or event.success:
            return
        streak = values.get(self.name)
        if streak is None:
            return
        failures = streak + 1  # this one too
        if failures >= self.throttle_after:
            wait = self.first_wait * 2.0 ** min(failures - self.throttle_after, 64)
            decision.retry_after = min(wait, self.max_wait)

    def sweep(self, now: float) -> int:
        """Forget entities with no streak and no event within the lateness."""
        edge = now - self.lateness
        idle = [
            k
            for k, (base, recent) in self.entities.items()
            if base == 0 and recent[-1][0] < edge and not any(f for _, f in recent)
        ]
        for k in idle:
            del self.entities[k]
        return len(idle)

    def dump(self) -> list:
        return [(k, base, recent) for k, (base, recent) in self.entities.items()]

    def load(self, state: list) -> None:
        self.entities = {
            (tuple(k) if isinstance(k, list) else k): [base, [tuple(r) for r in recent]] for k, base, recent in state
        }

    def memory(self) -> dict:
        return {"entities": len(self.entities), "bytes": approx_size(self.entities, 1000)}


_STEP_KINDS = frozenset(
    {
        "account.profile_changed",
        "account.2fa_removed",
        "account.payment_method_added",
        "order.placed",
        "order.hidden",
        "payment.attempt",
        "cart.item_added",
    }
)
_GIFT = frozenset({"digital_gift_card", "gift_card", "prepaid_card"})


class _Episode:
    __slots__ = ("login", "started", "devices", "ips", "steps", "kinds", "failed_challenges")

    def __init__(self, login: str, started: float) -> None:
        self.login, self.started = login, started
        self.devices: list[str] = []
        self.ips: list[str] = []
        self.steps = 0
        self.kinds: list[str] = []
        self.failed_challenges = 0


class Takeover:
    """``agg: takeover``: the account's takeover episode, as the number of takeover steps
    taken in it before the event (0 when no episode is open, and on the owner's own devices).

    A *suspect login* is a successful login from a device the account never used, from an
    IP its owner never logged in from or with a login risk of at least ``min_risk``. Events
    from a suspect device within ``window`` that a taker-over makes are *steps*: a profile
    change, 2FA removed, a payment method added, an order hidden, a cart item put back
    minutes after the owner removed it open the episode (one per account; it starts at the
    suspect login); gift or prepaid card orders and payments count once it is open. A failed or
    abandoned step-up on a suspect login is a step too; a passed one makes the device the
    owner's. A password change or reset from a device the owner used before ends the
    episode. The decision of every event of an account with an open episode carries it
    (``decision.takeover``: start, login, attacker devices and IPs, steps)."""

    listens = (
        "account.login",
        "auth.challenge",
        "account.password_changed",
        "account.password_reset",
        "cart.item_removed",
        *sorted(_STEP_KINDS),
    )

    @staticmethod
    def check_options(options: dict[str, Any], spec: Any) -> dict[str, Any]:
        known = {"min_risk", "window", "readd_within", "risk_feature"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidValue(f"options: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if spec.entity != ("account",):
            raise InvalidValue("entity: a takeover episode is kept per account: entity: account")
        min_risk = options.get("min_risk", 1.0)
        if not isinstance(min_risk, (int, float)) or isinstance(min_risk, bool) or min_risk < 0:
            raise InvalidValue(f"options: min_risk must be a number >= 0, not {min_risk!r}")
        risk_feature = options.get("risk_feature", "login.risk")
        if not isinstance(risk_feature, str):
            raise InvalidValue("options: risk_feature must be the name of a login_risk feature")
        out = {"min_risk": float(min_risk), "risk_feature": risk_feature}
        for name, default in (("window", "24h"), ("readd_within", "1h")):
            out[name] = parse_duration(options.get(name, default), what=f"options: {name}")
        return out

    def __init__(self, spec: Any, lateness: float) -> None:
        self.spec = spec
        self.name = spec.name
        o = spec.option_dict
        self.min_risk, self.window, self.readd_within = o["min_risk"], o["window"], o["readd_within"]
        self.risk_feature = o["risk_feature"]
        self.known: dict[str, dict[str, float]] = {}  # account -> owner's devices (first seen)
        self.known_ips: dict[str, dict[str, float]] = {}  # account -> IPs of the owner's logins
        self.suspect: dict[str, dict[str, tuple]] = {}  # account -> device -> (login id, ts, ip)
        self.episodes: dict[str, _Episode] = {}
        self.removed: dict[tuple[str, str], tuple[float, str | None]] = {}  # (account, sku) -> (ts, device)
        self._pending: tuple | None = None  # a suspect login waiting for its outcome
        self._challenged: OrderedDict[str, tuple] = OrderedDict()  # login id -> (account, device)

    # --------------------------------------------------------------- events
    def process(self, event: Any, ts: float, out: dict[str, Any]) -> None:
        if self._pending is not None:  # no outcome came (a caller without an engine): allowed
            self._resolve("allow")
        account = event.account
        if account is None:
            return
        kind = event.kind
        episode = self.episodes.get(account)
        device = event.device
        # the owner's own devices are not in the episode: their events read 0
        owners = self.known.get(account)
        owner_device = device is not None and owners is not None and device in owners
        out[self.name] = episode.steps if episode is not None and not owner_device else 0
        if kind == "auth.challenge":
            self._challenge_result(event, ts)
            return
        suspects = self.suspect.get(account)
        if suspects:  # forget suspect devices older than the window
            for d in [d for d, (_, t, _) in suspects.items() if ts - t > self.window]:
                del suspects[d]
        known = self.known.setdefault(account, {})
        if kind == "account.login":
            ips = self.known_ips.setdefault(account, {})
            if event.success and device is not None and device not in known and known:
                risk = out.get(self.risk_feature)
                new_network = event.ip is not None and event.ip not in ips
                if new_network or risk is None or risk >= self.min_risk:
                    self._pending = (event.id, account, device, ts, event.ip)
                    return
            if event.success and device is not None and not (suspects and device in suspects):
                _remember(known, device, ts)
                if event.ip is not None:
                    _remember(ips, event.ip, ts)
            return
        if kind in ("account.password_changed", "account.password_reset"):
            if device is not None and device in known and not (suspects and device in suspects):
                self.episodes.pop(account, None)  # the owner takes the account back
                self.suspect.pop(account, None)
            return
        if kind == "cart.item_removed":
            sku = getattr(event.item, "sku", None)
            if sku is not None:
                self.removed[(account, sku)] = (ts, device)
                if len(self.removed) > 500_000:
                    self.removed.pop(next(iter(self.removed)))
            return
        if not (suspects and device in suspects):
            if device is not None and kind != "cart.item_added":
                _remember(known, device, ts)
            return
        step = self._is_step(event, kind, account, ts, device)
        if step is not None and (episode is not None or step):  # a gift-card order alone opens none
            login, started, ip = suspects[device]
            if episode is None:
                episode = self.episodes[account] = _Episode(login, started)
            _add(episode.devices, device)
            if event.ip is not None:
                _add(episode.ips, event.ip)
            if ip is not None:
                _add(episode.ips, ip)
            episode.steps += 1
            _add(episode.kinds, kind)

    def _is_step(self, event: Any, kind: str, account: str, ts: float, device: str) -> bool | None:
        """None: not a step; True: a step that opens an episode (a profile change, 2FA removed,
        a payment method added, an order hidden, an item re-added); False: a step only in an
        open episode (a gift-card order or payment: people buy gift cards on new phones too)."""
        if kind == "order.placed":
            share = event.gift_card_share
            return False if share is not None and share >= 0.5 else None
        if kind == "payment.attempt":
            return False if event.items_category in _GIFT else None
        if kind == "cart.item_added":
            sku = getattr(event.item, "sku", None)
            removed = self.removed.get((account, sku))
            readded = removed is not None and ts - removed[0] <= self.readd_within and removed[1] != device
            return True if readded else None
        return True

    def _challenge_result(self, event: Any, ts: float) -> None:
        waiting = self._challenged.pop(event.target, None)
        if waiting is None:
            return
        account, device, login, started, ip = waiting
        if event.result == "passed":  # the owner on a new phone: from now on a known device
            _remember(self.known.setdefault(account, {}), device, ts)
            if ip is not None:
                _remember(self.known_ips.setdefault(account, {}), ip, ts)
            suspects = self.suspect.get(account)
            if suspects:
                suspects.pop(device, None)
            return
        episode = self.episodes.get(account)
        if episode is None:
            episode = self.episodes[account] = _Episode(login, started)
        _add(episode.devices, device)
        if ip is not None:
            _add(episode.ips, ip)
        episode.steps += 1
        episode.failed_challenges += 1
        _add(episode.kinds, "auth.challenge")

    def decided(self, event: Any, ts: float, outcome: str) -> None:
        if self._pending is not None and self._pending[0] == event.id:
            self._resolve(outcome)

    def _resolve(self, outcome: str) -> None:
        login, account, device, t, ip = self._pending
        self._pending = None
        if outcome == "block":
            return  # the attacker did not get in
        self.suspect.setdefault(account, {})[device] = (login, t, ip)
        if outcome == "challenge":
            self._challenged[login] = (account, device, login, t, ip)
            while len(self._challenged) > _MAX_CHALLENGED:
                self._challenged.popitem(last=False)

    def annotate(self, event: Any, values: dict[str, Any], decision: Any) -> None:
        account = event.account
        episode = self.episodes.get(account) if account is not None else None
        if episode is None:
            return
        decision.takeover = {
            "episode": f"{account}:{episode.login}",
            "account": account,
            "started": datetime.fromtimestamp(episode.started, UTC).isoformat(),
            "login": episode.login,
            "devices": list(episode.devices),
            "ips": list(episode.ips),
            "steps": episode.steps,
            "kinds": list(episode.kinds),
            "failed_challenges": episode.failed_challenges,
        }

    # --------------------------------------------------------------- upkeep
    def sweep(self, now: float) -> int:
        gone = 0
        for account in [a for a, s in self.suspect.items() if all(now - t > self.window for _, t, _ in s.values())]:
            del self.suspect[account]
            gone += 1
        for account in [a for a, e in self.episodes.items() if now - e.started > 30 * 86400]:
            del self.episodes[account]  # an episode nobody ended is archived after 30 days
        return gone

    def dump(self) -> dict:
        return {
            "known": self.known,
            "known_ips": self.known_ips,
            "suspect": {a: {d: list(v) for d, v in s.items()} for a, s in self.suspect.items()},
            "episodes": {
                a: [e.login, e.started, e.devices, e.ips, e.steps, e.kinds, e.failed_challenges]
                for a, e in self.episodes.items()
            },
            "removed": [(k[0], k[1], v[0], v[1]) for k, v in self.removed.items()],
            "pending": self._pending,
            "challenged": list(self._challenged.items()),
        }

    def load(self, state: dict) -> None:
        self.known = {a: dict(d) for a, d in state["known"].items()}
        self.known_ips = {a: dict(d) for a, d in state["known_ips"].items()}
        self.suspect = {a: {d: tuple(v) for d, v in s.items()} for a, s in state["suspect"].items()}
        self.episodes = {}
        for a, (login, started, devices, ips, steps, kinds, failed) in state["episodes"].items():
            e = self.episodes[a] = _Episode(login, started)
            e.devices, e.ips, e.steps, e.kinds, e.failed_challenges = (
                list(devices),
                list(ips),
                steps,
                list(kinds),
                failed,
            )
        self.removed = {(a, s): (t, d) for a, s, t, d in state["removed"]}
        self._pending = tuple(state["pending"]) if state["pending"] is not None else None
        self._challenged = OrderedDict((k, tuple(v)) for k, v in state["challenged"])

    def memory(self) -> dict:
        size = sum(approx_size(x, 1000) for x in (self.known, self.known_ips, self.suspect, self.removed))
        return {"accounts": len(self.known), "episodes": len(self.episodes), "bytes": size}


_MAX_DEVICES = 32  # owner's devices remembered per account (the oldest first seen goes)


def _remember(known: dict[str, float], device: str, ts: float) -> None:
    if device not in known:
        known[device] = ts
        if len(known) > _MAX_DEVICES:
            del known[min(known, key=known.__getitem__)]


def _add(items: list, value: Any) -> None:
    if value not in items and len(items) < 20:
        items.append(value)
