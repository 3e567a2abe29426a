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
...`` in rules). Only successful, undisputed logins enter the history: allowed logins at
once, challenged ones once their ``auth.challenge`` passed; a fraud label or a "no, it
wasn't me" takes a login out again. An account keeps its last ``history`` logins; an account
with no new login for ``forget_after`` is forgotten.

The value is point in time: a login at ``t`` is scored on the history as it stood before
``t``. A login that arrives late (within the lateness) gets the value it would have had in
time order: the changes made after it are undone for its score (they are kept, with their
times, for the lateness).

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
    __slots__ = ("entries", "counts", "latest")

    def __init__(self) -> None:
        self.entries: deque[tuple[str, tuple]] = deque()  # (event id, values), oldest first
        self.counts: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        self.latest = float("-inf")  # when the history last grew (event time)


def _inc(counts: dict, value: Any, by: int) -> None:
    n = counts.get(value, 0) + by
    if n:
        counts[value] = n
    else:
        del counts[value]


class LoginHistory:
    """Histories of successful logins per account and over all accounts, and the score.

    ``history``: logins kept per account (oldest dropped first); ``forget_after``: seconds
    without a new login after which an account's history is dropped; ``lateness``: how long
    changes are kept so a late login is scored as of its own time."""

    def __init__(self, history: int = 100, forget_after: float = 365 * 86400.0, lateness: float = 3600.0) -> None:
        if history < 1:
            raise ValueError(f"history must keep at least 1 login, not {history!r}")
        self.history = history
        self.forget_after = float(forget_after)
        self.lateness = float(lateness)
        self.accounts: dict[str, _Account] = {}
        self.counts: list[dict[Any, int]] = [{} for _ in range(NLEVELS)]
        # per group, first-level value -> counts of each lower level among its logins
        self.sub: list[dict[Any, list[dict[Any, int]]]] = [{} for _ in GROUPS]
        self.logins = 0  # N: entries in all histories
        self.users = 0  # accounts with at least one entry
        self.where: dict[str, str] = {}  # event id -> account, for disputes
        self.now = float("-inf")  # latest time the state changed
        # (effective time, account, added entry or None, removed entries): for late logins
        self.changes: deque[tuple[float, str, tuple | None, tuple]] = deque()
        self._forget: list[tuple[float, str]] = []  # (latest + forget_after, account)

    # ------------------------------------------------------------ changes
    def add(self, account: str, event_id: str, values: Sequence[Any], t: float) -> None:
        """A successful, undisputed login enters ``account``'s history at time ``t``."""
        self._expire(t)
        values = tuple(values)
        if event_id in self.where:  # the same login twice (a retried challenge result): once
            return
        acct = self.accounts.get(account)
        if acct is None:
            acct = self.accounts[account] = _Account()
            heapq.heappush(self._forget, (t + self.forget_after, account))
        removed = []
        acct.entries.append((event_id, values))
        self.where[event_id] = account
        self._apply(acct, values, +1)
        while len(acct.entries) > self.history:
            old = acct.entries.popleft()
            del self.where[old[0]]
            self._apply(acct, old[1], -1)
            removed.append(old)
        if t > acct.latest:
            acct.latest = t
        self._log(t, account, (event_id, values), tuple(removed))

    def remove(self, event_id: str, t: float) -> bool:
        """A login disputed at ``t`` (a fraud label, "no, it wasn't me") leaves its history."""
        account = self.where.pop(event_id, None)
        if account is None:
            return False
        acct = self.accounts[account]
        for i, entry in enumerate(acct.entries):
            if entry[0] == event_id:
                del acct.entries[i]
                self._apply(acct, entry[1], -1)
                self._log(t, account, None, (entry,))
                break
        if not acct.entries:
            del self.accounts[account]
        return True

    def _apply(self, acct: _Account, values: tuple, sign: int) -> None:
        counts = self.counts
        local = acct.counts
        was_empty = sign > 0 and len(acct.entries) == 1
        for i in range(NLEVELS):
            v = values[i]
            _inc(counts[i], v, sign)
            _inc(local[i], v, sign)
        for g, (first, rest, _) in enumerate(GROUPS):
            subs = self.sub[g]
            key = values[first]
            sub = subs.get(key)
            if sub is None:
                sub = subs[key] = [{} for _ in rest]
            for j, level in enumerate(rest):
                _inc(sub[j], values[level], sign)
            if not sub[0]:
                del subs[key]
        self.logins += sign
        if was_empty:
            self.users += 1
        elif sign < 0 and not acct.entries:
            self.users -= 1

    def _log(self, t: float, account: str, added: tuple | None, removed: tuple) -> None:
        changes = self.changes
        changes.append((t, account, added, removed))
        if t > self.now:
            self.now = t
        edge = self.now - self.lateness
        while changes and changes[0][0] < edge:
            changes.popleft()

    def _expire(self, t: float) -> None:
        """Forget accounts whose last new login is more than ``forget_after`` before ``t``."""
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
            removed = tuple(acct.entries)
            for event_id, _ in removed:
                del self.where[event_id]
            while acct.entries:
                _, values = acct.entries.pop()
                self._apply(acct, values, -1)
            del self.accounts[account]
            self._log(due, account, None, removed)

    # ------------------------------------------------------------ the score
    def score(self, account: str | None, values: Sequence[Any], t: float) -> float | None:
        """The risk score of a login of ``account`` with ``values`` (one per :data:`LEVELS`)
        at time ``t``; None for an account with no history (its first login)."""
        if account is None:
            return None
        self._expire(t)
        if t <= self.now and any(change[0] >= t for change in self.changes):
            return self._late_score(account, values, t)
        acct = self.accounts.get(account)
        if acct is None:
            return None
        return _score(values, self.counts, self.sub, self.logins, self.users, acct.counts, len(acct.entries))

    def _late_score(self, account: str, values: Sequence[Any], t: float) -> float | None:
        """The score with every change made at or after ``t`` undone, as deltas over the
        counts (the state itself is not touched)."""
        counts: list[dict] = [{} for _ in range(NLEVELS)]
        local: list[dict] = [{} for _ in range(NLEVELS)]
        sub: list[dict[Any, list[dict]]] = [{} for _ in GROUPS]
        sizes: dict[str, int] = {}  # account -> change of its number of logins
        logins = self.logins

        def undo(name: str, vals: tuple, sign: int) -> None:
            nonlocal logins
            for i in range(NLEVELS):
                _inc(counts[i], vals[i], sign)
            for g, (first, rest, _) in enumerate(GROUPS):
                d = sub[g].setdefault(vals[first], [{} for _ in rest])
                for j, level in enumerate(rest):
                    _inc(d[j], vals[level], sign)
            if name == account:
                for i in range(NLEVELS):
                    _inc(local[i], vals[i], sign)
            sizes[name] = sizes.get(name, 0) + sign
            logins += sign

        for when, name, added, removed in reversed(self.changes):
            if when >= t:
                if added is not None:
                    undo(name, added[1], -1)
                for _, vals in removed:
                    undo(name, vals, +1)

        def size(name: str) -> int:
            a = self.accounts.get(name)
            return len(a.entries) if a is not None else 0

        n_local = size(account) + sizes.get(account, 0)
        users = self.users + sum((size(n) + d > 0) - (size(n) > 0) for n, d in sizes.items())
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
            "accounts": [(name, list(a.entries), a.latest) for name, a in self.accounts.items()],
            "changes": list(self.changes),
            "now": self.now,
        }

    @classmethod
    def load(cls, state: dict) -> LoginHistory:
        h = cls(state["history"], state["forget_after"], state["lateness"])
        for name, entries, latest in state["accounts"]:
            acct = h.accounts[name] = _Account()
            for event_id, values in entries:
                values = tuple(values)
                acct.entries.append((event_id, values))
                h.where[event_id] = name
                h._apply(acct, values, +1)
            acct.latest = latest
            h._forget.append((latest + h.forget_after, name))
        heapq.heapify(h._forget)
        h.changes = deque(
            (w, n, (a[0], tuple(a[1])) if a is not None else None, tuple((r[0], tuple(r[1])) for r in rm))
            for w, n, a, rm in state["changes"]
        )
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

    def get(self, key: Any) -> list | None:
        base, delta = self.base.get(key), self.delta.get(key)
        if delta is None:
            return base
        n = len(delta)
        merged = [_Merged(base[j] if base is not None else {}, delta[j]) for j in range(n)]
        return merged if any(len(m) for m in merged) else None


def _score(
    values: Sequence[Any],
    counts: Sequence[Any],
    sub: Sequence[Any],
    logins: int,
    users: int,
    local: Sequence[Any],
    n_local: int,
) -> float | None:
    if n_local <= 0 or logins <= 0 or users <= 0:
        return None
    score = 1.0
    for g, (first, rest, weights) in enumerate(GROUPS):
        x = values[first]
        c1 = counts[first].get(x, 0)
        unseen = 1
        for level in rest:
            unseen += len(counts[level])
        if c1 > 0:
            below = sub[g].get(x)
            m_sub = 1 + (sum(len(c) for c in below) if below is not None else 0)
            p = weights[0] * (1.0 - m_sub / (c1 + m_sub)) * (c1 / logins) * (1.0 - unseen / (logins + unseen))
        else:
            p = weights[0] / (logins + unseen)
        q = weights[0] * local[first].get(x, 0) / n_local
        for w, level in zip(weights[1:], rest, strict=True):
            v = values[level]
            p += w * counts[level].get(v, 0) / logins
            q += w * local[level].get(v, 0) / n_local
        score *= UNSEEN_FACTOR if q == 0.0 else p / q
    return score * logins / (users * n_local)
