"""The simulator: repeatable, valid, and each attack with the traits the victims reported."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime

import pytest

from fraudwatch.events.kinds import parse_event
from fraudwatch.sim.simulate import SimConfig, parse_mix, simulate, write_jsonl

SMALL_MIX = {name: 250.0 for name in parse_mix("default")}  # ~5 episodes each at this size


def small(seed: int = 3) -> SimConfig:
    return SimConfig(seed=seed, cardholders=600, days=10, warmup=2, mix=dict(SMALL_MIX))


@pytest.fixture(scope="module")
def stream():
    events, truth = simulate(small())
    by_tag = defaultdict(list)
    for e in events:
        if e.get("scenario"):
            by_tag[e["scenario"]].append(e)
    return events, truth, by_tag


def episodes(by_tag, name):
    found = [evs for tag, evs in by_tag.items() if tag.split(":")[0] == name]
    assert len(found) >= 3, f"{name}: {len(found)} episodes"
    return found


def ts(e) -> float:
    return datetime.fromisoformat(e["time"]).timestamp()


def payments(evs):
    return [e for e in evs if e["kind"] == "payment.attempt"]


def test_same_seed_same_bytes_other_seed_other_bytes():
    runs = []
    for seed in (3, 3, 4):
        buf = io.BytesIO()
        write_jsonl(simulate(small(seed))[0], buf)
        runs.append(buf.getvalue())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_every_event_validates_in_time_order_with_unique_ids(stream):
    events, _, _ = stream
    parsed = [parse_event(e) for e in events]
    assert len({e.id for e in parsed}) == len(parsed)
    times = [e.ts for e in parsed]
    assert times == sorted(times)
    kinds = {e.kind for e in parsed}
    assert {
        "payment.attempt",
        "account.login",
        "order.placed",
        "order.hidden",
        "label",
        "chargeback",
        "cart.item_removed",
        "account.profile_changed",
        "account.password_changed",
    } <= kinds


def test_labels_and_chargebacks_arrive_after_their_events(stream):
    events, _, by_tag = stream
    by_id = {e["id"]: e for e in events}
    labels = [e for e in events if e["kind"] == "label"]
    chargebacks = [e for e in events if e["kind"] == "chargeback"]
    assert labels and chargebacks
    for lab in labels:
        assert ts(lab) > ts(by_id[lab["target"]])
        assert by_id[lab["target"]].get("scenario"), "labels mark attack events"
    for cb in chargebacks:
        paid = by_id[cb["payment"]]
        assert paid["result"] == "approved" and cb["amount"] == paid["amount"]
        assert 21 * 86400 <= ts(cb) - ts(paid) <= 91 * 86400
    labelled = {lab["target"] for lab in labels}
    for evs in by_tag.values():  # every approved fraudulent payment is eventually labelled
        assert all(p["id"] in labelled for p in payments(evs) if p["result"] == "approved")


def test_ato_switches_language_then_hidden_small_gift_card_orders(stream):
    events, _, by_tag = stream
    for evs in episodes(by_tag, "ato_gift_card"):
        account = evs[0]["account"]
        login = next(e for e in evs if e["kind"] == "account.login" and e["success"])
        earlier_devices = {
            e.get("device")
            for e in events
            if e.get("account") == account and ts(e) < ts(login) and not e.get("scenario")
        }
        assert login["device"] not in earlier_devices, "a new device"
        switch = next(e for e in evs if e["kind"] == "account.profile_changed")
        assert (switch["field"], switch["new_value"]) == ("language", "en")
        pays = payments(evs)
        assert len(pays) >= 9
        assert ts(switch) < ts(pays[0])
        assert all(p["items_category"] == "digital_gift_card" and 1000 <= p["amount"] <= 5000 for p in pays)
        assert ts(pays[-1]) - ts(pays[0]) < 12 * 3600, "within hours"
        hidden = {e["order"] for e in evs if e["kind"] == "order.hidden"}
        assert hidden == {p["order"] for p in pays if p["result"] == "approved"}
        # the owner removes an item; the attacker re-adds the same item minutes later
        removed = next(
            e
            for e in events
            if e["kind"] == "cart.item_removed"
            and e.get("account") == account
            and ts(pays[0]) - 3600 < ts(e) < ts(pays[-1])
        )
        readded = next(e for e in evs if e["kind"] == "cart.item_added" and ts(e) > ts(removed))
        assert readded["item"] == removed["item"] and 60 <= ts(readded) - ts(removed) <= 10 * 60
        # the owner's password change ends it: the attacker's next login fails
        change = next(
            e
            for e in events
            if e["kind"] == "account.password_changed" and e.get("account") == account and ts(e) > ts(pays[-1])
        )
        after = [e for e in evs if ts(e) > ts(change)]
        assert after and all(e["kind"] == "account.login" and not e["success"] for e in after)


def test_card_testing_repeats_one_amount_declined_for_insufficient_funds_hours_apart(stream):
    events, _, by_tag = stream
    for evs in episodes(by_tag, "card_testing"):
        pays = payments(evs)
        assert len(pays) >= 2 and len({p["amount"] for p in pays}) == 1
        assert all(p["result"] == "declined" and p["decline_reason"] == "insufficient_funds" for p in pays)
        assert all(ts(b) - ts(a) >= 2 * 3600 for a, b in zip(pays, pays[1:], strict=False))
        assert {datetime.fromisoformat(p["time"]).hour for p in pays} <= {12, 13, 15, 16, 22, 23}
        card = pays[0]["card"]
        assert pays[0]["card_type"] == "prepaid"
        assert not [
            e for e in events if e.get("card") == card and not e.get("scenario") and e["kind"] == "payment.attempt"
        ], "a dormant card"


def test_bin_enumeration_many_cards_of_one_bin_from_one_device_or_ip(stream):
    _, _, by_tag = stream
    for evs in episodes(by_tag, "bin_enumeration"):
        pays = payments(evs)
        assert len({p["card"] for p in pays}) >= 25
        assert len({p["card_bin"] for p in pays}) == 1
        assert len({p["device"] for p in pays}) == 1 or len({p["ip"] for p in pays}) == 1
        assert sum(p["result"] == "declined" for p in pays) > len(pays) / 2


def test_leaked_card_on_a_strangers_new_account_and_other_merchants(stream):
    events, _, by_tag = stream
    for evs in episodes(by_tag, "leaked_card"):
        added = next(e for e in evs if e["kind"] == "account.payment_method_added")
        card = added["card"]
        owners = {
            e["account"]
            for e in events
            if e.get("card") == card
            and e.get("account")
            and not e.get("scenario")
            and e["kind"] not in ("label", "chargeback")
        }
        assert added["account"] not in owners
        assert not [
            e
            for e in events
            if e.get("account") == added["account"]
            and not e.get("scenario")
            and e["kind"] not in ("label", "chargeback")
        ], "a new account"
        pays = payments(evs)
        assert any(p.get("account") == added["account"] for p in pays)
        assert any(p.get("account") is None and p["merchant"] != "m_shop" for p in pays), "tried elsewhere"


def test_credential_stuffing_many_accounts_few_ips_then_success(stream):
    _, _, by_tag = stream
    for evs in episodes(by_tag, "credential_stuffing"):
        failed = [e for e in evs if e["kind"] == "account.login" and not e["success"]]
        ok = [e for e in evs if e["kind"] == "account.login" and e["success"]]
        assert len({e["account"] for e in failed}) >= 30
        assert len({e["ip"] for e in evs}) <= 4
        assert ok and ts(ok[0]) > ts(failed[0])


def test_stored_value_theft_from_a_cloned_phone_while_the_owner_still_pays(stream):
    events, _, by_tag = stream
    for evs in episodes(by_tag, "stored_value_theft"):
        pays = payments(evs)
        assert pays and all(p["channel"] == "wallet" for p in pays)
        card, device = pays[0]["card"], pays[0]["device"]
        own = {e.get("device") for e in events if e.get("card") == card and not e.get("scenario")}
        assert device not in own


def test_high_volume_buyers(stream):
    events, truth, _ = stream
    reseller = truth["high_volume"]["reseller"][0]
    pays = [e for e in events if e["kind"] == "payment.attempt" and e.get("card") == reseller["card"]]
    per_day = len(pays) / (10 + 2)
    assert 10 <= per_day <= 25, "about 500 a month, one authorization per item"
    assert not any(e.get("scenario") for e in pays)
    family = truth["high_volume"]["family"][0]
    devices = {e["device"] for e in events if e.get("account") == family["account"] and e.get("device")}
    cards = {e["card"] for e in events if e.get("account") == family["account"] and e.get("card")}
    assert len(devices) >= 3 and cards == {family["card"]}


def test_mix_errors_name_the_part():
    with pytest.raises(ValueError, match="card_tests"):
        parse_mix("card_tests=3")
    with pytest.raises(ValueError, match="number"):
        parse_mix("card_testing=lots")
    assert parse_mix("none") == {}


def test_a_card_confirmed_stolen_is_reissued_and_its_holder_pays_with_the_new_one(stream):
    """After a confirmed fraud the issuer stops the card (fraudwatch's @suspended_cards) and
    reissues it: the holder's own later payments use the new card, registered on the
    account at once; the attacker's later tries keep the stopped number."""
    events, truth, _ = stream
    confirmed: dict[str, float] = {}
    for e in events:
        if e["kind"] == "label" and e["fraud"] and e.get("card"):
            confirmed.setdefault(e["card"], ts(e))
    genuine = [e for e in events if not e.get("scenario")]
    for e in genuine:
        if e["kind"] == "payment.attempt" and e.get("card") in confirmed:
            assert ts(e) < confirmed[e["card"]], f"{e['id']}: a genuine payment with a card stopped before it"
    at = set(confirmed.values())
    reissued = {
        e["card"]: ts(e)
        for e in genuine
        if e["kind"] == "account.payment_method_added" and ts(e) in at and e["card"] not in confirmed
    }
    assert truth["reissued_cards"] == len(reissued) >= 5
    used = {e["card"] for e in genuine if e["kind"] == "payment.attempt" and e.get("card") in reissued}
    assert used and all(ts(e) >= reissued[e["card"]] for e in genuine if e.get("card") in reissued)
