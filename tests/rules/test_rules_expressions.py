"""Expressions: literals, precedence, associativity, missing values, Kleene logic."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from fraudwatch.events.kinds import parse_event
from fraudwatch.rules import MISSING, Context, ListStore, RuleSyntaxError, compile_expression


def ev(text, event=None, model=None, lists=None, **features):
    return compile_expression(text)(Context(event=event, features=features, model=model, lists=lists))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1_000", 1000),
        ("1.5", 1.5),
        ("2e3", 2000.0),
        ("10m", 600),
        ("24h", 86400),
        ("7d", 604800),
        ("30s", 30),
        ("2w", 1209600),
        ("1.5h", 5400),
        ("'it\\'s'", "it's"),
        ('"double"', "double"),
        ("true", True),
        ("false", False),
        ("-3", -3),
        ("- -3", 3),
    ],
)
def test_literals(text, expected):
    assert ev(text) == expected and type(ev(text)) is type(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("100 / 10 / 5", 2.0),
        ("17 % 5 * 2", 4),  # % and * share a level, left to right
        ("2 * 3 % 4", 2),
        ("-2 * 3", -6),
        ("- (2 + 3)", -5),
        ("1 + 2 > 2", True),  # arithmetic binds tighter than comparison
        ("1 < 2 == true", None),  # comparisons do not chain: a syntax error (tested elsewhere)
        ("not 1 > 2", True),  # not binds looser than comparison
        ("true or false and false", True),  # and binds tighter than or
        ("(true or false) and false", False),
        ("not true or true", True),  # (not true) or true
        ("not (true or true)", False),
        ("not true and false", False),
        ("false and false or true", True),
        ("3 in (1, 2, 3) and not 4 in (1, 2)", True),
        ("1 + 1 in (2,)", True),
        ("-7 % 3", 2),  # Python's modulo: sign of the divisor
    ],
)
def test_precedence_and_associativity(text, expected):
    if expected is None:
        with pytest.raises(RuleSyntaxError):
            compile_expression(text)
    else:
        assert ev(text) == expected


def test_division_is_true_division_and_by_zero_is_missing():
    assert ev("x / 4", x=10) == 2.5
    assert ev("x / y", x=10, y=0) is MISSING
    assert ev("x % y", x=10, y=0) is MISSING
    assert ev("x / y", x=10, y=0.0) is MISSING


T, F, M = True, False, MISSING
KLEENE_AND = [(T, T, T), (T, F, F), (T, M, M), (F, T, F), (F, F, F), (F, M, F), (M, T, M), (M, F, F), (M, M, M)]
KLEENE_OR = [(T, T, T), (T, F, T), (T, M, T), (F, T, T), (F, F, F), (F, M, M), (M, T, T), (M, F, M), (M, M, M)]


def _feats(a, b):
    return {k: v for k, v in (("a", a), ("b", b)) if v is not MISSING}


@pytest.mark.parametrize("a, b, expected", KLEENE_AND)
def test_kleene_and(a, b, expected):
    assert ev("a and b", **_feats(a, b)) is expected
    assert ev("a and b and a", **_feats(a, b)) is expected  # the unrolled 3-ary form agrees
    assert ev("a and b and a and b", **_feats(a, b)) is expected  # and the n-ary loop


@pytest.mark.parametrize("a, b, expected", KLEENE_OR)
def test_kleene_or(a, b, expected):
    assert ev("a or b", **_feats(a, b)) is expected
    assert ev("a or b or a", **_feats(a, b)) is expected
    assert ev("b or a or b or a", **_feats(a, b)) is expected


@pytest.mark.parametrize("a, expected", [(T, F), (F, T), (M, M)])
def test_kleene_not(a, expected):
    assert ev("not a", **_feats(a, MISSING)) is expected


def test_non_boolean_operands_of_logic_count_as_missing():
    assert ev("a and true", a=3) is MISSING
    assert ev("a and false", a=3) is False
    assert ev("not a", a="yes") is MISSING


@pytest.mark.parametrize(
    "text",
    [
        "x + 1",
        "1 - x",
        "x * 2",
        "x / 2",
        "x % 2",
        "-x",
        "x > 1",
        "x <= 1",
        "x == 1",
        "x != 1",
        "x == 'a'",
        "x in (1, 2)",
        "x not in (1, 2)",
        "x in @l",
        "abs(x)",
        "x < y",
        "lower(x)",
        "x startswith 'a'",
    ],
)
def test_missing_propagates(text):
    lists = ListStore({"l": [1]})
    assert ev(text, lists=lists, y=1) is MISSING
    assert ev(text, lists=lists, x=None, y=1) is MISSING  # None from features is missing
    assert ev(text, lists=lists, x=float("nan"), y=1) is MISSING  # and so is NaN


def test_is_missing_and_coalesce():
    assert ev("x is missing") is True
    assert ev("x is missing", x=0) is False
    assert ev("x is not missing", x=0) is True
    assert ev("(x / 0.5) is missing", x="a") is True
    assert ev("coalesce(x, 0) >= 3") is False
    assert ev("coalesce(x, y, 7)", y=2) == 2


@pytest.mark.parametrize(
    "text, features",
    [
        ("x + 1", {"x": "a"}),
        ("x + 1", {"x": True}),  # booleans are not numbers
        ("x > 1", {"x": "5"}),
        ("x < y", {"x": "a", "y": 1}),
        ("x == y", {"x": "1", "y": 1}),
        ("x in (1, 2)", {"x": [1]}),
        ("-x", {"x": "a"}),
        ("x * y", {"x": 10**400, "y": 1.5}),  # float overflow
        ("x - y", {"x": float("inf"), "y": float("inf")}),  # NaN
        ("x > y", {"x": True, "y": False}),  # booleans are not ordered
        ("x < y", {"x": datetime(2026, 1, 1), "y": datetime(2026, 1, 1, tzinfo=UTC)}),  # naive vs aware
    ],
)
def test_runtime_type_mismatches_give_missing_not_exceptions(text, features):
    assert ev(text, **features) is MISSING


def test_comparisons_of_same_kinds():
    assert ev("x == y", x=1, y=1.0) is True
    assert ev("x < y", x="abc", y="abd") is True
    assert ev("x == y", x=True, y=True) is True
    assert ev("x != 'JP'", x="US") is True
    assert ev("3 <= x", x=3) is True
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    assert ev("x < y", x=t1, y=t2) is True


def test_name_resolution_event_model_features():
    e = parse_event(
        {
            "id": "e1",
            "time": "2026-11-21T13:00:00+09:00",
            "kind": "cart.item_added",
            "account": "a1",
            "item": {"sku": "g1", "category": "digital_gift_card", "unit_price": 1000},
        }
    )
    assert ev("event.item.category", event=e) == "digital_gift_card"
    assert ev("event.amount", event=e) is MISSING  # a field of other kinds
    assert ev("event.card", event=e) is MISSING  # None
    assert ev("event.ts", event=e) == e.ts
    assert ev("model.score", event=e, model={"score": 0.7}) == 0.7
    assert ev("model.score", event=e) is MISSING  # no model
    assert ev("model.other", model={"score": 0.7}) is MISSING
    assert ev("card.declines_10m", **{"card.declines_10m": 4}) == 4
    assert ev("velocity") is MISSING


def test_names_and_text():
    e = compile_expression(
        "  event.amount >= 10_000 and card.declines_10m > 2 or event.ip in @blocked_ips or model.score > 0.5 "
    )
    assert e.names == frozenset({"event.amount", "card.declines_10m", "event.ip", "@blocked_ips", "model.score"})
    assert e.text.startswith("event.amount") and e.text.endswith("0.5")


def test_values_report_missing_as_none():
    e = compile_expression("card.declines_10m >= 3 and event.amount > 0")
    ctx = Context(event=SimpleNamespace(amount=17600), features={})
    assert e.values(ctx) == {"card.declines_10m": None, "event.amount": 17600}


def test_values_are_json_ready():
    import json

    e = compile_expression("hour_of_day(event.time, 'Asia/Tokyo') < 6 and len(event.items) >= 2 and x > 0")
    t = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    values = e.values(Context(event=SimpleNamespace(time=t, items=[1, 2, 3]), features={"x": 1}))
    assert values == {"event.time": "2026-11-21T18:00:00+00:00", "event.items": "<3 items>", "x": 1}
    json.dumps(values)


def test_in_literal_lists_and_named_lists():
    assert ev("x in ('a', 'b')", x="a") is True
    assert ev("x in ['a', 'b']", x="c") is False
    assert ev("x not in ['a', 'b']", x="c") is True
    assert ev("x in (1, 2.5, -3)", x=-3) is True
    assert ev("x in (1, 2)", x=1.0) is True
    assert ev("x in ()", x=1) is False
    store = ListStore({"bad": ["203.0.113.7", 42]})
    assert ev("x in @bad", lists=store, x="203.0.113.7") is True
    assert ev("x in @bad", lists=store, x=42) is True
    assert ev("x not in @bad", lists=store, x="1.1.1.1") is True
    assert ev("x in @other", lists=store, x="a") is MISSING  # unknown list
    assert ev("x in @bad", x="a") is MISSING  # no store in the context
