"""Every registered function, its compile-time checks and its missing handling."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from fraudwatch.rules import MISSING, Context, RuleSyntaxError, compile_expression
from fraudwatch.rules.functions import REGISTRY, Function, Param, Registry
from fraudwatch.rules.values import NUMBER


def ev(text, event=None, **features):
    return compile_expression(text)(Context(event=event, features=features))


@pytest.mark.parametrize(
    "text, features, expected",
    [
        ("abs(x)", {"x": -3}, 3),
        ("abs(x - 10)", {"x": 4.5}, 5.5),
        ("min(x, 2)", {"x": 5}, 2),
        ("min(x, 2, -1)", {"x": 5}, -1),
        ("max(x, 2, 9)", {"x": 5}, 9),
        ("min(x, 2)", {}, MISSING),
        ("coalesce(x, 0)", {}, 0),
        ("coalesce(x, 0)", {"x": 4}, 4),
        ("coalesce(x, y)", {}, MISSING),
        ("coalesce(x, 'none')", {"x": None}, "none"),
        ("len(x)", {"x": "abcd"}, 4),
        ("len(x)", {"x": [1, 2, 3]}, 3),
        ("len(x)", {"x": 5}, MISSING),
        ("lower(x)", {"x": "AbC"}, "abc"),
        ("upper(x)", {"x": "AbC"}, "ABC"),
        ("lower(x)", {"x": 1}, MISSING),
        ("x startswith 'ab'", {"x": "abc"}, True),
        ("startswith(x, 'b')", {"x": "abc"}, False),
        ("x endswith '@mailinator.com'", {"x": "a@mailinator.com"}, True),
        ("x not endswith '.jp'", {"x": "a@b.com"}, True),
        ("x contains 'gift'", {"x": "digital_gift_card"}, True),
        ("contains(x, 'gift')", {"x": 3}, MISSING),
        ("x matches '^[a-z]+[0-9]{4,}@'", {"x": "qwerty12345@x.com"}, True),
        ("x matches '^[a-z]+[0-9]{4,}@'", {"x": "jane@x.com"}, False),
        ("x matches 'a'", {"x": "a" * 1001}, MISSING),  # subject length cap
        ("x not matches 'a'", {"x": "bbb"}, True),
        (r"x matches r'^[a-z]{3,}\d{4,}@'", {"x": "abc1234@x.jp"}, True),  # a raw string keeps backslashes
        (r"x matches '^[a-z]{3,}\\d{4,}@'", {"x": "abc1234@x.jp"}, True),  # or double them
        (r"x matches r'\.jp$'", {"x": "a@b.jp"}, True),
        (r"x matches r'\.jp$'", {"x": "a@bxjp"}, False),
    ],
)
def test_functions(text, features, expected):
    assert ev(text, **features) == expected
    assert type(ev(text, **features)) is type(expected)


def test_hour_of_day_and_day_of_week():
    # 2026-11-21 13:00 in Tokyo is 04:00 UTC, a Saturday
    t = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    e = SimpleNamespace(time=t, ts=t.timestamp())
    assert ev("hour_of_day(event.time, 'Asia/Tokyo')", event=e) == 13
    assert ev("hour_of_day(event.time)", event=e) == 4
    assert ev("hour_of_day(event.ts, 'Asia/Tokyo')", event=e) == 13  # POSIX seconds work too
    assert ev("day_of_week(event.time, 'Asia/Tokyo')", event=e) == 5
    assert ev("hour_of_day(event.time, 'Asia/Tokyo')", event=SimpleNamespace()) is MISSING
    assert ev("hour_of_day(x, 'UTC')", x="noon") is MISSING


@pytest.mark.parametrize(
    "text, message",
    [
        ("abs('a')", "argument x of abs() must be number, got string"),
        ("abs(1, 2)", "abs() takes 1 argument, got 2"),
        ("min(1)", "min() takes at least 2 arguments, got 1"),
        ("hour_of_day(event.time, 'Mars/Base')", "unknown time zone"),
        ("hour_of_day(event.time, x)", "must be a literal"),
        ("hour_of_day()", "hour_of_day() takes 1 to 2 arguments, got 0"),
        ("x matches y", "must be a literal"),
        (r"x matches r'(a)\1'", "no backreferences or lookaround"),  # RE2: linear time, no backreferences
        ("x matches '(?=a)b'", "no backreferences or lookaround"),
        ("x matches '(ab'", "bad regular expression"),
        ("x matches '" + "a" * 201 + "'", "pattern longer than 200"),
        ("lenght(x)", "unknown function 'lenght'"),
        ("len(true)", "must be string|collection, got bool"),
    ],
)
def test_function_compile_errors(text, message):
    with pytest.raises(RuleSyntaxError) as info:
        compile_expression(text)
    assert message in info.value.message
    if "lenght" in text:
        assert info.value.hint == "did you mean len()?"


def test_a_failing_function_gives_missing():
    assert ev("abs(x)", x=10**400) == 10**400  # ints are exact
    assert ev("min(x, 1)", x=float("inf")) == 1


def test_registration_rejects_clashes_keywords_and_undocumented_functions():
    registry = Registry()

    class Twice(Function):
        """twice(x) is 2 * x."""

        name = "twice"
        params = (Param("x", NUMBER),)
        returns = NUMBER

        def execute(self, x):
            return 2 * x

    registry.register(Twice)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Twice)
    with pytest.raises(ValueError, match="already registered"):
        REGISTRY.register(type("Abs2", (Twice,), {"name": "abs", "__doc__": "x"}))
    with pytest.raises(ValueError, match="not a keyword"):
        registry.register(type("And", (Twice,), {"name": "and", "__doc__": "x"}))
    with pytest.raises(ValueError, match="docstring"):
        registry.register(type("NoDoc", (Twice,), {"name": "nodoc", "__doc__": None}))
    with pytest.raises(ValueError, match="unknown type"):
        registry.register(type("Bad", (Twice,), {"name": "bad", "params": (Param("x", "int"),)}))


def test_every_function_is_documented_with_an_example():
    for name in REGISTRY.names():
        doc = type(REGISTRY.get(name)).doc()
        assert doc.startswith(name + "(") and "``" in doc, name
