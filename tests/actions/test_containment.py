"""The card stopped everywhere: a confirmed fraud puts the card on @suspended_cards and the
attacker's device and IP on watch lists, in the engine, in event time."""

from __future__ import annotations

from fraudwatch.cli.engine import build_engine
from fraudwatch.events import parse_event

T = "2026-11-21T{}+09:00"


def pay(id, at, **fields):
    return parse_event(
        {
            "id": id,
            "time": T.format(at),
            "kind": "payment.attempt",
            "card": "tok_leak",
            "amount": 5000,
            "currency": "JPY",
            "merchant": "m_home",
            "device": "dev_owner",
            "ip": "203.0.113.5",
            "country": "JP",
            "card_country": "JP",
            "channel": "ecommerce",
            **fields,
        }
    )


def label(id, at, target, **fields):
    return parse_event(
        {
            "id": id,
            "time": T.format(at),
            "kind": "label",
            "target": target,
            "fraud": True,
            "source": "cardholder",
            "card": "tok_leak",
            **fields,
        }
    )


ATTACKER = {"device": "dev_evil", "ip": "198.51.100.66"}


def _story(engine):
    out = {}
    for e in [
        pay("own-1", "09:00:00"),
        pay("att-1", "12:00:00", merchant="m_shop_a", **ATTACKER),
        # the cardholder answers "no" about the attacker's payment
        label("lab-1", "12:10:00", "att-1", **ATTACKER),
        pay("att-2", "12:20:00", merchant="m_shop_b", result="approved", **ATTACKER),  # a guest checkout elsewhere
        pay("att-3", "12:30:00", merchant="m_shop_c", channel="pos", device="dev_other", ip="192.0.2.9"),
        pay("att-4", "12:40:00", card="tok_other", merchant="m_shop_d", **ATTACKER),  # another card, same device
        pay("own-new", "13:00:00", card="tok_reissued"),  # the reissued card, the owner's phone
    ]:
        out[e.id] = engine.process(e)
    return out


def test_a_confirmed_fraud_stops_the_card_everywhere_and_watches_the_attacker():
    engine = build_engine(None, None, None)
    d = _story(engine)
    assert d["own-1"].outcome.value == "allow"
    for stopped in ("att-2", "att-3"):  # every merchant and channel, any device
        assert d[stopped].outcome.value == "block"
        assert "suspended_card" in [h.rule for h in d[stopped].rules]
    assert d["att-4"].outcome.value == "challenge"
    assert {h.rule for h in d["att-4"].rules} >= {"watched_device", "watched_ip"}
    assert d["own-new"].outcome.value == "allow"
    entry = engine.lists.entries("suspended_cards")[0]
    assert (entry.value, entry.event) == ("tok_leak", "lab-1")
    assert entry.until - entry.since == 180 * 86400 and entry.reason.startswith("cardholder: fraud confirmed")


def test_the_lists_survive_a_snapshot_and_a_replay_sees_what_the_live_run_saw():
    live = build_engine(None, None, None)
    first = _story(live)
    restored = build_engine(None, None, None)
    restored.restore(live.snapshot())
    assert restored.lists.entries("suspended_cards") == live.lists.entries("suspended_cards")
    later = pay("att-5", "14:00:00", merchant="m_shop_e")
    assert restored.process(later).outcome.value == "block"
    # the whole stream again, from scratch: the same decisions at every event
    again = _story(build_engine(None, None, None))
    assert {k: v.outcome for k, v in again.items()} == {k: v.outcome for k, v in first.items()}


def test_a_card_testing_block_suspends_the_card_itself():
    engine = build_engine(None, None, None)
    declined = {"result": "declined", "decline_reason": "insufficient_funds", "card_type": "prepaid", "amount": 17600}
    outcomes = [
        engine.process(pay(f"ct-{h}", f"{h}:00:00", card="tok_prepaid", **declined)).outcome.value for h in (13, 16, 23)
    ]
    assert outcomes[-1] == "block"
    later = engine.process(pay("ct-small", "23:30:00", card="tok_prepaid", amount=500, merchant="m_other"))
    assert later.outcome.value == "block" and "suspended_card" in [h.rule for h in later.rules]


def test_labels_from_other_sources_or_not_fraud_change_nothing():
    engine = build_engine(None, None, None)
    engine.process(label("lab-sim", "12:00:00", "x", source="simulator"))
    engine.process(label("lab-ok", "12:00:01", "y", fraud=False))
    assert engine.lists.entries("suspended_cards") == []
    assert engine.process(pay("p", "12:05:00")).outcome.value == "allow"
