"""Login risk score: Freeman et al.'s statistical model, as refined by Wiefling et al.

Freeman, Jain, Dürmuth, Biggio, Giacinto, "Who Are You? A Statistical Approach to Measuring
User Authenticity", NDSS 2016; the open reference implementation by Wiefling (TH Köln / H-BRS
DAS group, ``rba-algorithm``), used in Wiefling et al., ACM TOPS 2022. For a login of account
``u`` with feature values ``x``::

    score = prod_k  p(x_k) / p(x_k | u, L)   *   p(u | A) / p(u | L)

- ``p(x_k)`` is the value's probability over the successful logins of every account (the
  global history), ``p(x_k | u, L)`` over the account's own. Each feature is a hierarchy
  (IP -> AS -> country; user agent -> browser and major version -> OS and major version ->
  device type) whose levels are mixed with fixed weights (0.6, 0.3, 0.1 and 0.539, 0.268,
  0.188, 0.005, the reference's). The global first level is smoothed for unseen values with
  the counts of distinct values below it; the account's levels are not smoothed.
- A feature none of whose levels the account ever used counts 4 (the reference's edge case:
  ``local = global / 4``), so a login from an unknown network *and* country scores high.
- ``p(u|A) / p(u|L) = (1 / accounts) / (account's logins / all logins)``: accounts with a long
  history score lower for the same values, new accounts higher.
- The first login of an account is unscored (None).

Raw scores are not probabilities: challenge thresholds are configuration (``login.risk >=
...`` in rules). Only successful, undisputed logins count: allowed logins at once,
challenged ones once their ``auth.challenge`` passed; a fraud label or a "no, it wasn't me"
stops a login counting (it keeps its place among the account's last ``history`` logins, so
the history does not depend on the order in which disputes and late logins arrive). An
account whose latest login is older than ``forget_after`` is forgotten.

The value is point in time: a login at ``t`` is scored on the history as it stood before
``t``. A login that arrives late (within the lateness) gets the value it would have had in
time order: the accounts changed at or after ``t`` are read as they stood at ``t`` (what left
their histories is kept for the lateness). Logins at the same instant are ordered by event
id. Forgetting an idle account is applied as time passes (a year by default, against an hour
of lateness).

>>> h = LoginHistory()
>>> home = ("126.1.2.3", "SoftBank Corp.", "JP", "UA-1", "Chrome 120", "Windows 10", "desktop")
>>> h.score("u1", home, 0.0) is None           # first login: unscored
True
>>> h.add("u1", "l1", home, 0.0); h.add("u2", "l2", home[:3] + ("UA-2", "Safari 17", "iOS 17", "mobile"), 1.0)
>>> round(h.score("u1", home, 10.0), 4)       # the usual network and browser
0.1203
>>> away = ("5.6.7.8", "AMAZON-02", "US", "UA-9", "Firefox 125", "Linux", "desktop")
>>> round(h.score("u1", away, 10.0), 2)       # a network, country and browser it never used
48.88
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import deque
from collections.abc import Sequence
from typing import Any

__all__ = ["FEATURES", "LEVELS", "WEIGHTS", "LoginHistory", "UNSEEN_FACTOR"]

# the hierarchies, as event attributes, and the reference's weights
FEATURES: tuple[tuple[str, tuple[str, ...], tuple[float, ...]], ...] = (
    ("ip", ("ip", "as_id", "ip_country"), (0.6, 0.3, 0.1)),
    (
        "user_agent",
        ("user_agent", "ua_browser_version", "ua_os_version", "ua_device"),
        (0.5386653840551359, 0.2680451498625666, 0.18818295100109536, 0.0051065150812021525),
    ),
)
LEVELS: tuple[str, ...] = tuple(level for _, levels, _ in FEATURES for level in levels)
WEIGHTS: tuple[float, ...] = tuple(w for _, _, weights in FEATURES for w in weights)
UNSEEN_FACTOR = 4.0  # a feature none of whose levels the account used: local = global / 4
_GROUPS = []  # (first level index, the other level indexes, weights)
_i = 0
for _name, _levels, _weights in FEATURES:
    _GROUPS.append((_i, tuple(range(_i + 1, _i + len(_levels))), _weights))
    _i += len(_levels)
GROUPS: tuple[tuple[int, tuple[int, ...], tuple[float, ...]], ...] = tuple(_GROUPS)
NLEVELS = len(LEVELS)


class _Account:
    __slots__ = ("entries", "disputed", "counts", "latest", "gone")

    def __init__(self) -> None:
        # (time, event id, values) by time: the latest `history` logins, disputed ones included
        # (they keep their place, so the history does not depend on the order disputes and
        # late logins arrive in) but not counted
        self.entries: list[tuple[float, str, tuple]] = []
        self.disputed: dict[str, float] = {}  # event id -> when
        self.counts: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        self.latest = float("-inf")  # the latest login time ever added (forgetting counts from it)
        # entries that left within the lateness: (time, event id, values, disputed at or None,
        # left at): for a late login, which may still see them
        self.gone: list[tuple[float, str, tuple, float | None, float]] = []


def _inc(counts: dict, value: Any, by: int) -> None:
    n = counts.get(value, 0) + by
    if n:
        counts[value] = n
    else:
        del counts[value]


class LoginHistory:
    """Histories of successful logins per account and over all accounts, and the score.

    ``history``: logins kept per account (the latest by time); ``forget_after``: an account
    whose latest login is older than this is forgotten; ``lateness``: how long what left the
    histories is kept, so that a late login is scored as of its own time."""

    def __init__(self, history: int = 100, forget_after: float = 365 * 86400.0, lateness: float = 3600.0) -> None:
        if history < 1:
            raise ValueError(f"history must keep at least 1 login, not {history!r}")
        self.history = history
        self.forget_after = float(forget_after)
        self.lateness = float(lateness)
        self.accounts: dict[str, _Account] = {}
        self.counts: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        # per group, first-level value -> {the lower levels' values: logins}: usually one key
        # (an IP has one AS and country, a user agent one browser, OS and device type)
        self.sub: list[dict[Any, dict[tuple[Any, ...], int]]] = [{} for _ in GROUPS]
        self.logins = 0  # N: entries in all histories
        self.users = 0  # accounts with at least one entry
        self.where: dict[str, str] = {}  # event id -> account, for disputes
        self.now = float("-inf")  # the latest time of a change
        # (time of the change, account): which accounts a late login must look at again
        self.changes: deque[tuple[float, str]] = deque()
        self._forget: list[tuple[float, str]] = []  # (due, account): one entry per account
        self._ghosts: dict[str, tuple] = {}  # forgotten within the lateness: (entries, latest, due)

    # ------------------------------------------------------------ changes
    def add(self, account: str, event_id: str, values: Sequence[Any], t: float) -> None:
        """A successful, undisputed login at time ``t`` enters ``account``'s history."""
        self._expire(t)
        if event_id in self.where:  # the same login twice (a retried challenge result): once
            return
        values = tuple(values)
        acct = self.accounts.get(account)
        if acct is None:
            acct = self.accounts[account] = _Account()
            heapq.heappush(self._forget, (t + self.forget_after, account))
            ghost = self._ghosts.get(account)
            if ghost is not None and ghost[2] >= t:  # a late login from before it was forgotten
                del self._ghosts[account]
                self._revive(account, acct, ghost)
        entries = acct.entries
        entry = (t, event_id, values)
        if not entries or t > entries[-1][0]:  # (logins at the same instant: by event id)
            entries.append(entry)
        else:
            insort(entries, entry)
        self.where[event_id] = account
        self._apply(acct, values, +1)
        if len(entries) > self.history:  # the oldest by time leaves (it may be this one)
            old_t, old_id, old_values = entries.pop(0)
            del self.where[old_id]
            disputed = acct.disputed.pop(old_id, None)
            if disputed is None:
                self._apply(acct, old_values, -1)
            acct.gone.append((old_t, old_id, old_values, disputed, t))
        if t > acct.latest:
            acct.latest = t
        self._log(t, account)

    def _revive(self, account: str, acct: _Account, ghost: tuple) -> None:
        """Bring back the logins of an account forgotten at ``due`` (a later time than a late
        login that now arrives for it)."""
        gone, latest, due = ghost
        for et, eid, vals, disputed, left in gone:
            if left == due:  # in the history when it was forgotten
                acct.entries.append((et, eid, vals))
                self.where[eid] = account
                if disputed is not None:
                    acct.disputed[eid] = disputed
                else:
                    self._apply(acct, vals, +1)
            else:
                acct.gone.append((et, eid, vals, disputed, left))
        acct.entries.sort()
        acct.latest = latest

    def remove(self, event_id: str, t: float) -> bool:
        """A login disputed at ``t`` (a fraud label, "no, it wasn't me") stops counting."""
        account = self.where.get(event_id)
        if account is None:
            return False
        acct = self.accounts[account]
        if event_id in acct.disputed:
            return False
        for entry in acct.entries:
            if entry[1] == event_id:
                acct.disputed[event_id] = t
                self._apply(acct, entry[2], -1)
                break
        self._log(t, account)
        return True

    def _apply(self, acct: _Account, values: tuple, sign: int) -> None:
        """Count (``sign`` +1) or uncount (-1) one login, globally and in its account."""
        if sign > 0:
            _plus(self.counts, acct.counts, self.sub, values)
        else:
            _minus(self.counts, acct.counts, self.sub, values)
        self.logins += sign
        live = len(acct.entries) - len(acct.disputed)  # after the change
        if sign > 0:
            if live == 1:
                self.users += 1
        elif live == 0:
            self.users -= 1

    def _log(self, t: float, account: str) -> None:
        changes = self.changes
        changes.append((t, account))
        if t > self.now:
            self.now = t
        edge = self.now - self.lateness
        while changes and changes[0][0] < edge:  # what left before the lateness is not needed
            _, name = changes.popleft()
            acct = self.accounts.get(name)
            if acct is not None and acct.gone:
                acct.gone = [g for g in acct.gone if g[4] >= edge]
            ghost = self._ghosts.get(name)
            if ghost is not None and ghost[2] < edge:
                del self._ghosts[name]

    def _expire(self, t: float) -> None:
        """Forget accounts whose latest login is more than ``forget_after`` before ``t``."""
        heap = self._forget
        while heap and heap[0][0] < t:
            _, account = heapq.heappop(heap)
            acct = self.accounts.get(account)
            if acct is None:
                continue  # dropped meanwhile
            due = acct.latest + self.forget_after
            if due >= t:  # it logged in again since: due later (one heap entry per account)
                heapq.heappush(heap, (due, account))
                continue
            for _, event_id, _ in acct.entries:
                del self.where[event_id]
            # kept for a late login from before the due time, then dropped with the account
            forgotten = [(et, eid, vals, acct.disputed.get(eid), due) for et, eid, vals in acct.entries]
            while acct.entries:
                _, event_id, values = acct.entries.pop()
                if acct.disputed.pop(event_id, None) is None:
                    self._apply(acct, values, -1)
            del self.accounts[account]
            self._ghosts[account] = (acct.gone + forgotten, acct.latest, due)
            self._log(due, account)

    # ------------------------------------------------------------ the score
    def score(self, account: str | None, values: Sequence[Any], t: float) -> float | None:
        """The risk score of a login of ``account`` with ``values`` (one per :data:`LEVELS`)
        at time ``t``; None for an account with no history (its first login)."""
        if account is None:
            return None
        self._expire(t)
        if t <= self.now:  # some change at or after t (the latest change is always kept)
            return self._late_score(account, values, t)
        acct = self.accounts.get(account)
        if acct is None:
            return None
        n_local = len(acct.entries) - len(acct.disputed)
        return _score(values, self.counts, self.sub, self.logins, self.users, acct.counts, n_local)

    def history_at(self, account: str, t: float) -> list[tuple[float, str, tuple]]:
        """The account's history as it stood at ``t`` (within the lateness): its logins before
        ``t`` not disputed by then, after any gap longer than ``forget_after``, the latest
        ``history`` of them."""
        acct = self.accounts.get(account)
        ghost = self._ghosts.get(account)
        every = []
        if acct is not None:
            every.extend((et, eid, vals, acct.disputed.get(eid), t) for et, eid, vals in acct.entries)
            every.extend(acct.gone)
        if ghost is not None:
            every.extend(ghost[0])
        every = sorted(e for e in every if e[0] < t)
        start, last = 0, None
        for i, e in enumerate(every):
            if last is not None and e[0] - last > self.forget_after:
                start = i  # forgotten before this login
            last = e[0]
        if last is not None and t - last > self.forget_after:
            return []
        # the latest `history` logins before t, less those disputed before t
        kept = every[start:][-self.history :]
        return [(et, eid, vals) for et, eid, vals, disputed, _ in kept if disputed is None or disputed >= t]

    def _late_score(self, account: str, values: Sequence[Any], t: float) -> float | None:
        """The score as of ``t`` for a late login: the accounts changed at or after ``t``
        are taken as they stood at ``t``, as deltas over the counts (the state is untouched)."""
        counts: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        sub: list[dict[Any, dict[tuple[Any, ...], int]]] = [{} for _ in GROUPS]
        local: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        logins, users = self.logins, self.users

        def live(a: _Account | None) -> list[tuple]:
            return [] if a is None else [e for e in a.entries if e[1] not in a.disputed]

        n_local = len(live(self.accounts.get(account)))

        def count(vals: tuple, sign: int, mine: bool) -> None:
            for i in range(NLEVELS):
                _inc(counts[i], vals[i], sign)
                if mine:
                    _inc(local[i], vals[i], sign)
            for g, (first, rest, _) in enumerate(GROUPS):
                _inc(sub[g].setdefault(vals[first], {}), tuple(vals[level] for level in rest), sign)

        for name in {name for when, name in self.changes if when >= t}:
            now_entries = live(self.accounts.get(name))
            then = self.history_at(name, t)
            mine = name == account
            for _, _, vals in now_entries:
                count(vals, -1, mine)
            for _, _, vals in then:
                count(vals, +1, mine)
            logins += len(then) - len(now_entries)
            users += bool(then) - bool(now_entries)
            if mine:
                n_local = len(then)
        acct = self.accounts.get(account)
        base_local = acct.counts if acct is not None else [{} for _ in range(NLEVELS)]
        return _score(
            values,
            [_Merged(self.counts[i], counts[i]) for i in range(NLEVELS)],
            [_MergedSub(self.sub[g], sub[g]) for g in range(len(GROUPS))],
            logins,
            users,
            [_Merged(base_local[i], local[i]) for i in range(NLEVELS)],
            n_local,
        )

    # ------------------------------------------------------------ upkeep
    def __len__(self) -> int:
        return len(self.accounts)

    def dump(self) -> dict:
        return {
            "history": self.history,
            "forget_after": self.forget_after,
            "lateness": self.lateness,
            "accounts": [(name, a.entries, a.disputed, a.latest, a.gone) for name, a in self.accounts.items()],
            "ghosts": list(self._ghosts.items()),
            "changes": list(self.changes),
            "now": self.now,
        }

    @classmethod
    def load(cls, state: dict) -> LoginHistory:
        h = cls(state["history"], state["forget_after"], state["lateness"])
        for name, entries, disputed, latest, gone in state["accounts"]:
            acct = h.accounts[name] = _Account()
            acct.disputed = dict(disputed)
            for et, event_id, values in entries:
                values = tuple(values)
                acct.entries.append((et, event_id, values))
                h.where[event_id] = name
                if event_id not in acct.disputed:
                    h._apply(acct, values, +1)
            acct.latest = latest
            acct.gone = [(g[0], g[1], tuple(g[2]), g[3], g[4]) for g in gone]
            h._forget.append((latest + h.forget_after, name))
        heapq.heapify(h._forget)
        h._ghosts = {
            name: ([(g[0], g[1], tuple(g[2]), g[3], g[4]) for g in gone], latest, due)
            for name, (gone, latest, due) in state["ghosts"]
        }
        h.changes = deque((w, n) for w, n in state["changes"])
        h.now = state["now"]
        return h


class _Merged:
    """A count dict with deltas over it (read-only view for a late login)."""

    __slots__ = ("base", "delta", "_len")

    def __init__(self, base: dict, delta: dict) -> None:
        self.base, self.delta = base, delta
        self._len: int | None = None

    def get(self, key: Any, default: int = 0) -> int:
        return self.base.get(key, 0) + self.delta.get(key, 0) or default

    def __len__(self) -> int:
        if self._len is None:
            gone = sum(1 for k, d in self.delta.items() if self.base.get(k, 0) + d == 0 and k in self.base)
            new = sum(1 for k, d in self.delta.items() if k not in self.base and d > 0)
            self._len = len(self.base) - gone + new
        return self._len


class _MergedSub:
    __slots__ = ("base", "delta")

    def __init__(self, base: dict, delta: dict) -> None:
        self.base, self.delta = base, delta

    def get(self, key: Any) -> dict | None:
        base, delta = self.base.get(key), self.delta.get(key)
        if delta is None:
            return base
        merged = dict(base or {})
        for k, d in delta.items():
            merged[k] = merged.get(k, 0) + d
        merged = {k: n for k, n in merged.items() if n}
        return merged or None


# The hot paths below are written out for the two hierarchies (a login is scored and counted
# with a few dozen dictionary reads and writes, no loops)
assert [len(levels) for _, levels, _ in FEATURES] == [3, 4]
_A0, _A1, _A2 = FEATURES[0][2]
_B0, _B1, _B2, _B3 = FEATURES[1][2]


def _plus(g: list[dict], loc: list[dict], sub: list[dict], values: tuple) -> None:
    """+1 for each level's value, over all accounts (``g``, ``sub``) and the account's."""
    v0, v1, v2, v3, v4, v5, v6 = values
    for c in (g, loc):
        d = c[0]
        d[v0] = d.get(v0, 0) + 1
        d = c[1]
        d[v1] = d.get(v1, 0) + 1
        d = c[2]
        d[v2] = d.get(v2, 0) + 1
        d = c[3]
        d[v3] = d.get(v3, 0) + 1
        d = c[4]
        d[v4] = d.get(v4, 0) + 1
        d = c[5]
        d[v5] = d.get(v5, 0) + 1
        d = c[6]
        d[v6] = d.get(v6, 0) + 1
    below = sub[0].get(v0)
    key: tuple[Any, ...] = (v1, v2)
    if below is None:
        sub[0][v0] = {key: 1}
    else:
        below[key] = below.get(key, 0) + 1
    below = sub[1].get(v3)
    key = (v4, v5, v6)
    if below is None:
        sub[1][v3] = {key: 1}
    else:
        below[key] = below.get(key, 0) + 1


def _minus(g: list[dict], loc: list[dict], sub: list[dict], values: tuple) -> None:
    """-1 for each level's value (of a login counted before): the inverse of :func:`_plus`."""
    for c in (g, loc):
        for d, v in zip(c, values, strict=True):
            n = d[v] - 1
            if n:
                d[v] = n
            else:
                del d[v]
    for g, (first, rest, _) in enumerate(GROUPS):
        x = values[first]
        below = sub[g][x]
        key = tuple(values[level] for level in rest)
        n = below[key] - 1
        if n:
            below[key] = n
        elif len(below) > 1:
            del below[key]
        else:
            del sub[g][x]


def _m_sub(below: dict[tuple[Any, ...], int]) -> int:
    """M for a first-level value: 1 + the distinct values of each lower level among its logins."""
    if len(below) == 1:
        return 1 + len(next(iter(below)))
    keys = list(below)
    return 1 + sum(len({k[j] for k in keys}) for j in range(len(keys[0])))


def _score(
    values: Sequence[Any],
    counts: Sequence[Any],
    sub: Sequence[Any],
    logins: int,
    users: int,
    local: Sequence[Any],
    n_local: int,
) -> float | None:
    """The score from the counts (global and the account's): see the module's docstring."""
    if n_local <= 0 or logins <= 0 or users <= 0:
        return None
    v0, v1, v2, v3, v4, v5, v6 = values
    c0, c1, c2, c3, c4, c5, c6 = counts
    l0, l1, l2, l3, l4, l5, l6 = local
    inv_all = 1.0 / logins
    # IP -> AS -> country: global p over local q, or UNSEEN_FACTOR when the account used none
    q = _A1 * l1.get(v1, 0) + _A2 * l2.get(v2, 0) + _A0 * l0.get(v0, 0)
    if q == 0.0:
        score = UNSEEN_FACTOR
    else:
        unseen = 1 + len(c1) + len(c2)  # M: distinct values of the levels below the first, plus one
        p = (_A1 * c1.get(v1, 0) + _A2 * c2.get(v2, 0)) * inv_all
        n = c0.get(v0, 0)
        if n > 0:
            m = _m_sub(sub[0].get(v0))
            p += _A0 * (1.0 - m / (n + m)) * n * inv_all * (1.0 - unseen / (logins + unseen))
        else:
            p += _A0 / (logins + unseen)
        score = p * n_local / q
    # user agent -> browser -> OS -> device type
    q = _B1 * l4.get(v4, 0) + _B2 * l5.get(v5, 0) + _B3 * l6.get(v6, 0) + _B0 * l3.get(v3, 0)
    if q == 0.0:
        score *= UNSEEN_FACTOR
    else:
        unseen = 1 + len(c4) + len(c5) + len(c6)
        p = (_B1 * c4.get(v4, 0) + _B2 * c5.get(v5, 0) + _B3 * c6.get(v6, 0)) * inv_all
        n = c3.get(v3, 0)
        if n > 0:
            m = _m_sub(sub[1].get(v3))
            p += _B0 * (1.0 - m / (n + m)) * n * inv_all * (1.0 - unseen / (logins + unseen))
        else:
            p += _B0 / (logins + unseen)
        score *= p * n_local / q
    return score * logins / (users * n_local)
