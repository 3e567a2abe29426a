"""``login.risk`` behind the feature engine: the engine's outcomes and the step-up results
feed the login history; replay and snapshots give the same values."""

from datetime import datetime, timedelta

import pytest

from fraudwatch.engine import Engine
from fraudwatch.events import parse_event
from fraudwatch.features import FeatureEngine, FeatureSet
from fraudwatch.features.spec import FeatureSpecError
from fraudwatch.rules import RuleSet

T0 = datetime.fromisoformat("2026-11-21T09:00:00+09:00")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"

FEATURES = FeatureSet.from_yaml(
    """
version: t
features:
  - {name: login.risk, entity: account, kinds: [account.login], agg: login_risk, options: {history: 50}}
"""
)
RULES = RuleSet.parse(
    """
rule risky_login:
    challenge if event.kind == 'account.login' and event.success and login.risk >= 3
""",
    version="t",
)


class Clock:
    def __init__(self):
        self.n = 0

    def event(self, kind: str, **fields):
        self.n += 1
        t = T0 + timedelta(minutes=self.n)
        return parse_event({"id": f"e{self.n}", "time": t.isoformat(), "kind": kind, **fields})

    def login(self, account: str, ip: str, ua: str = CHROME, success: bool = True):
        return self.event("account.login", account=account, ip=ip, user_agent=ua, success=success)


def warmed_engine(clock: Clock) -> Engine:
    engine = Engine(features=FEATURES, rules=RULES)
    for i in range(30):  # a population: 30 accounts at home, twice each
        for _ in range(2):
            engine.process(clock.login(f"u{i}", f"126.0.{i}.1"))
    return engine


def test_a_challenged_login_counts_only_once_its_step_up_passed():
    clock = Clock()
    engine = warmed_engine(clock)
    attacker = clock.login("u1", "8.8.8.8", FIREFOX)
    first = engine.process(attacker)
    assert first.outcome.value == "challenge" and first.features["login.risk"] >= 3
    # the attacker abandons the challenge: the network stays unknown to the account
    engine.process(clock.event("auth.challenge", target=attacker.id, method="sms", result="abandoned", account="u1"))
    again = engine.process(clock.login("u1", "8.8.8.8", FIREFOX))
    assert again.outcome.value == "challenge"
    assert again.features["login.risk"] == pytest.approx(first.features["login.risk"], rel=0.05)
    # the owner, travelling, passes it: from then on that network and browser are known
    engine.process(clock.event("auth.challenge", target=again.event_id, method="sms", result="passed", account="u1"))
    later = engine.process(clock.login("u1", "8.8.8.8", FIREFOX))
    assert later.features["login.risk"] < first.features["login.risk"] / 2


def test_a_blocked_login_never_counts_and_a_fraud_label_takes_one_out():
    clock = Clock()
    blocking = RuleSet.parse(
        "rule stop:\n    block if event.kind == 'account.login' and event.ip == '9.9.9.9'", version="t"
    )
    engine = Engine(features=FEATURES, rules=blocking)
    for i in range(30):
        for _ in range(2):
            engine.process(clock.login(f"u{i}", f"126.0.{i}.1"))

    def probe(ip: str) -> float:  # a failed login is scored and never enters the history
        return engine.process(clock.login("u2", ip, success=False)).features["login.risk"]

    blocked_before = probe("9.9.9.9")
    assert engine.process(clock.login("u2", "9.9.9.9")).outcome.value == "block"
    assert probe("9.9.9.9") == pytest.approx(blocked_before)
    known = probe("126.0.2.1")
    login = clock.login("u2", "126.0.2.1")
    engine.process(login)
    assert probe("126.0.2.1") < known  # one more known login
    engine.process(clock.event("label", target=login.id, fraud=True, source="cardholder", account="u2"))
    assert probe("126.0.2.1") == pytest.approx(known)


def test_first_login_of_an_account_is_unscored():
    clock = Clock()
    engine = warmed_engine(clock)
    d = engine.process(clock.login("new", "126.9.9.9"))
    assert d.features["login.risk"] is None and d.outcome.value == "allow"


def test_replay_and_snapshot_give_the_same_values():
    clock = Clock()
    events = [clock.login(f"u{i % 7}", f"126.0.{i % 5}.1", CHROME if i % 3 else FIREFOX) for i in range(60)]
    one, two = FeatureEngine(FEATURES), FeatureEngine(FEATURES)
    first = []
    for e in events[:40]:
        first.append(one.process(e, e.ts))
        one.decided(e, e.ts, "allow")
    restored = FeatureEngine.restore(FEATURES, one.snapshot())
    for e in events[40:]:
        a, b = one.process(e, e.ts), restored.process(e, e.ts)
        assert a == b
        one.decided(e, e.ts, "allow")
        restored.decided(e, e.ts, "allow")
    for e in events[:40]:
        second = two.process(e, e.ts)
        two.decided(e, e.ts, "allow")
        assert second == first.pop(0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{history: 0}", "history must be a whole number"),
        ("{colour: red}", "unknown option"),
        ("{forget_after: soon}", "forget_after"),
    ],
)
def test_bad_options_are_refused_with_the_option(options, message):
    with pytest.raises(FeatureSpecError, match=message):
        FeatureSet.from_yaml(
            f"features:\n  - {{name: login.risk, entity: account, agg: login_risk, options: {options}}}\n"
        )
    with pytest.raises(FeatureSpecError, match="entity"):
        FeatureSet.from_yaml("features:\n  - {name: login.risk, entity: device, agg: login_risk}\n")
