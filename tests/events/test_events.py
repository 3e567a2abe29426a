"""Event model, JSON Lines with dead letters, PAN tokenization, JSON Schema."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from fraudwatch.events import (
    KINDS,
    DeadLetter,
    Tokenizer,
    event_to_dict,
    json_schema,
    parse_event,
    parse_line,
    read_events,
)

T = "2026-11-21T13:00:00+09:00"

EXAMPLES = {
    "payment.attempt": {
        "card": "tok_1",
        "amount": 17600,
        "currency": "JPY",
        "result": "declined",
        "decline_reason": "insufficient_funds",
        "card_type": "prepaid",
    },
    "payment.capture": {"payment": "p1", "amount": 1000, "currency": "JPY"},
    "payment.refund": {"payment": "p1", "amount": 1000, "currency": "JPY", "reason": "fraud"},
    "payment.reversal": {"payment": "p1", "amount": 1000, "currency": "JPY"},
    "account.created": {
        "account": "u1",
        "email_domain": "example.jp",
        "phone_present": True,
        "phone_verified": False,
        "signup_channel": "app",
    },
    "account.login": {"account": "u1", "success": False, "failure_reason": "bad_password"},
    "account.logout": {"account": "u1", "session": "s1", "reason": "user"},
    "auth.challenge": {"account": "u1", "target": "l1", "method": "sms", "result": "passed"},
    "account.password_changed": {"account": "u1"},
    "account.password_reset": {"account": "u1"},
    "account.2fa_enrolled": {"account": "u1", "method": "totp"},
    "account.2fa_removed": {"account": "u1"},
    "account.profile_changed": {"account": "u1", "field": "language", "old_value": "ja", "new_value": "en"},
    "account.payment_method_added": {"account": "u1", "card": "tok_1", "card_last4": "1111"},
    "account.payment_method_removed": {"account": "u1", "card": "tok_1"},
    "cart.item_added": {"account": "u1", "item": {"sku": "gc", "category": "digital_gift_card", "unit_price": 1000}},
    "cart.item_removed": {"account": "u1", "item": {"sku": "gc", "category": "digital_gift_card", "unit_price": 1000}},
    "order.placed": {
        "account": "u1",
        "order": "o1",
        "amount": 3000,
        "currency": "JPY",
        "items": [
            {"sku": "gc", "category": "digital_gift_card", "quantity": 2, "unit_price": 1000},
            {"sku": "b", "category": "books", "unit_price": 1000},
        ],
    },
    "order.cancelled": {"order": "o1"},
    "order.hidden": {"order": "o1"},
    "order.shipped": {"order": "o1"},
    "label": {"target": "p1", "fraud": True, "source": "cardholder"},
    "chargeback": {"payment": "p1", "amount": 17600, "currency": "JPY", "reason_code": "10.4", "scheme": "visa"},
    "cardholder.answer": {"target": "p1", "answer": "yes"},
    "fraud_report": {"payment": "p1", "amount": 17600, "currency": "JPY", "scheme": "visa", "report": "tc40"},
    "early_fraud_warning": {"payment": "p1", "amount": 17600, "currency": "JPY", "scheme": "jcb"},
}


def make(kind, **extra):
    return {"id": f"e-{kind}", "time": T, "kind": kind, **EXAMPLES[kind], **extra}


def test_every_kind_has_an_example_that_round_trips_and_fits_the_schema():
    assert set(EXAMPLES) == set(KINDS)
    validator = jsonschema.Draft202012Validator(json_schema())
    for kind in KINDS:
        event = parse_event(make(kind))
        data = event_to_dict(event)
        assert parse_event(data) == event
        validator.validate(json.loads(json.dumps(data)))


def test_schema_rejects_what_the_model_rejects():
    validator = jsonschema.Draft202012Validator(json_schema())
    assert not validator.is_valid(make("payment.attempt", amount=-1))
    assert not validator.is_valid({**make("payment.attempt"), "kind": "payment.teleport"})


def test_gift_card_share_of_an_order():
    assert parse_event(make("order.placed")).gift_card_share == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "change, loc, fragment",
    [
        ({"amount": -5}, "amount", "greater than or equal to 0"),
        ({"currency": "yen"}, "currency", "pattern"),
        ({"time": "2026-11-21T13:00:00"}, "time", "timezone"),
        ({"kind": "payment.teleport"}, "kind", "unknown kind"),
        ({"bogus": 1}, "bogus", "Extra inputs"),
        ({"result": "maybe"}, "result", "approved"),
    ],
)
def test_invalid_fields_are_named_with_the_reason(change, loc, fragment):
    letter = parse_line(json.dumps({**make("payment.attempt"), **change}), line=7)
    assert isinstance(letter, DeadLetter)
    assert letter.line == 7
    assert any(e["loc"] == loc and fragment in e["msg"] for e in letter.errors), letter.errors


def test_nested_field_paths():
    bad = make("order.placed")
    bad["items"][1] = {"sku": "b", "category": "books", "unit_price": "free"}
    letter = parse_line(json.dumps(bad))
    assert letter.errors[0]["loc"] == "items[1].unit_price"


def test_missing_kind_and_non_objects():
    assert parse_line('{"id": "x", "time": "2026-01-01T00:00:00Z"}').errors[0]["loc"] == "kind"
    assert parse_line("[1, 2]").reason == "not an object"
    assert parse_line("{oops").reason == "invalid JSON"


def test_stream_carries_on_after_bad_lines():
    lines = [
        json.dumps(make("account.login", id="a")),
        "garbage",
        "",
        json.dumps(make("order.hidden", id="b")),
        json.dumps({**make("payment.attempt", id="c"), "amount": "x"}),
        json.dumps(make("label", id="d")),
    ]
    out = list(read_events(lines))
    assert [getattr(x, "id", None) for x in out] == ["a", None, "b", None, "d"]
    assert [x.line for x in out if isinstance(x, DeadLetter)] == [2, 5]


KEY = b"k" * 32


def test_pan_is_tokenized_and_never_kept():
    raw = json.dumps({**make("payment.attempt"), "card": None, "pan": "4111-1111-1111-1111"})
    event = parse_line(raw, tokenizer=Tokenizer(KEY))
    assert event.card.startswith("tok_") and event.card_last4 == "1111" and event.card_bin == "411111"
    assert "4111111111111111" not in json.dumps(event_to_dict(event))
    # same key, same card -> same token; another key -> another token
    again = parse_line(raw, tokenizer=Tokenizer(KEY))
    assert again.card == event.card
    assert parse_line(raw, tokenizer=Tokenizer(b"x" * 32)).card != event.card


def test_pan_sent_as_card_reference_is_tokenized():
    event = parse_line(json.dumps(make("payment.attempt", card="4111111111111111")), tokenizer=Tokenizer(KEY))
    assert event.card.startswith("tok_")


def test_dead_letters_never_carry_a_card_number():
    bad = {**make("payment.attempt"), "amount": -1, "note": "card 4111 1111 1111 1111"}
    letter = parse_line(json.dumps(bad), tokenizer=Tokenizer(KEY))
    # (the tokenizer replaced the number in the note by its token before validation failed)
    assert "4111 1111" not in letter.raw and '"note":"card tok_' in letter.raw
    letter = parse_line('{"pan": "4111111111111111", broken', tokenizer=Tokenizer(KEY))
    assert "4111111111111111" not in letter.raw


def test_short_token_key_refused():
    with pytest.raises(ValueError):
        Tokenizer(b"short")


def test_documented_schema_is_the_generated_one():
    from pathlib import Path

    documented = Path(__file__).resolve().parents[2] / "docs" / "event.schema.json"
    assert json.loads(documented.read_text()) == json.loads(json.dumps(json_schema())), (
        "docs/event.schema.json is stale: run `fraudwatch events schema --out docs/event.schema.json`"
    )


def test_a_field_of_another_kind_reads_none_but_is_never_accepted_or_written():
    login = parse_event(
        {"id": "l1", "time": "2026-11-21T13:00:00+09:00", "kind": "account.login", "account": "a1", "success": True}
    )
    assert login.amount is None and login.decline_reason is None  # payment fields, read by shared hot paths
    assert "amount" not in login.model_dump() and "amount" not in login.model_dump_json()
    with pytest.raises(ValidationError, match="amount"):
        parse_event(
            {
                "id": "l2",
                "time": "2026-11-21T13:00:00+09:00",
                "kind": "account.login",
                "account": "a1",
                "success": True,
                "amount": 1000,
            }
        )
    assert login.ts == datetime(2026, 11, 21, 4, tzinfo=UTC).timestamp()
