"""Attack variants: the same goals as the textbook attacks, without what the rules key on."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest

from fraudwatch.events.kinds import parse_event
from fraudwatch.sim.simulate import DEFAULT_MIX, SimConfig, parse_mix, simulate
from fraudwatch.sim.world import DAY, HOUR


@pytest.fixture(scope="module")
def by_tag():
    mix = parse_mix("only:ato_gift_card_quiet=300,leaked_card_aged=300")
    events, truth = simulate(SimConfig(seed=4, cardholders=400, days=8, warmup=2, mix=mix))
    for e in events:
        parse_event(e)  # every event valid
    tags = defaultdict(list)
    for e in events:
        if e.get("scenario"):
            tags[e["scenario"]].append(e)
    assert {i["scenario"] for i in truth["instances"].values()} == {"ato_gift_card_quiet", "leaked_card_aged"}
    return tags


def ts(e) -> float:
    return datetime.fromisoformat(e["time"]).timestamp()


def test_variants_are_not_in_the_default_mix():
    assert "ato_gift_card_quiet" not in DEFAULT_MIX and "leaked_card_aged" not in DEFAULT_MIX
    assert set(parse_mix("leaked_card_aged=5")) == set(DEFAULT_MIX) | {"leaked_card_aged"}


def test_the_quiet_takeover_keeps_the_language_stays_domestic_and_hides_nothing(by_tag):
    episodes = [evs for tag, evs in by_tag.items() if tag.startswith("ato_gift_card_quiet:")]
    assert len(episodes) >= 3
    for evs in episodes:
        kinds = {e["kind"] for e in evs}
        assert "account.profile_changed" not in kinds and "order.hidden" not in kinds
        assert all(e["country"] == "JP" and parse_event(e).ip_hosting is False for e in evs)  # no data centre
        assert len({e["language"] for e in evs}) == 1
        pays = [e for e in evs if e["kind"] == "payment.attempt"]
        assert 3 <= len(pays) <= 10
        gaps = [ts(b) - ts(a) for a, b in zip(pays, pays[1:], strict=False)]
        assert all(g >= 40 * 60 for g in gaps)  # spaced out, not a burst


def test_the_aged_account_waits_weeks_then_is_charged_the_next_day(by_tag):
    episodes = [evs for tag, evs in by_tag.items() if tag.startswith("leaked_card_aged:")]
    assert len(episodes) >= 3
    for evs in episodes:
        added = next(e for e in evs if e["kind"] == "account.payment_method_added")
        first_pay = next(e for e in evs if e["kind"] == "payment.attempt")
        assert ts(added) - ts(evs[0]) >= 14 * DAY  # the account was opened weeks before
        assert 17 * HOUR <= ts(first_pay) - ts(added) <= 31 * HOUR
        assert all(e["country"] == "JP" and e["language"] == "ja" for e in evs)
        assert len({e["account"] for e in evs}) == 1 and len({e.get("card") for e in evs} - {None}) == 1
