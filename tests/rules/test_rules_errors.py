"""Syntax errors: exact positions, compiler-style text, unsafe input refused."""

import textwrap

import pytest

from fraudwatch.errors import FraudwatchError
from fraudwatch.rules import RuleSet, RuleSyntaxError, compile_expression
from fraudwatch.rules.parser import MAX_DEPTH


def error_of(text, **kwargs):
    with pytest.raises(RuleSyntaxError) as info:
        compile_expression(text, **kwargs)
    return info.value


def rules_error_of(text):
    with pytest.raises(RuleSyntaxError) as info:
        RuleSet.parse(textwrap.dedent(text), source="rules.txt")
    return info.value


@pytest.mark.parametrize(
    "text, line, column, message",
    [
        ("a +", 1, 4, "expected a value, found end of input"),
        ("a = 1", 1, 3, "unexpected character '='"),
        ("a && b", 1, 3, "unexpected character '&'"),
        ("x in", 1, 5, "expected a list after 'in', found end of input"),
        ("a < b < c", 1, 7, "comparisons do not chain"),
        ("(a + b", 1, 7, "expected ')', found end of input"),
        ("a b", 1, 3, "unexpected 'b' after the expression"),
        ("x in (a)", 1, 7, "expected a string or number in the list, found 'a'"),
        ("x is null", 1, 6, "expected 'missing', found 'null'"),
        ("'abc", 1, 1, "unterminated string"),
        ("'a\\qb'", 1, 3, "unknown escape \\q"),
        ("10ms", 1, 3, "unknown duration unit 'ms'"),
        ("1__0", 1, 1, "bad number '1__0'"),
        ("1e999", 1, 1, "number '1e999' is too large"),
        ("a and\n  (b or\n   c ==)", 3, 8, "expected a value, found ')'"),
        ("x == missing", 1, 6, "'missing' is not a value"),
        ("", 1, 1, "empty expression"),
        ("[1, 2]", 1, 1, "a list is only allowed after 'in'"),
        ("@bad", 1, 1, "a named list (@bad) can only follow 'in'"),
        ("x not y", 1, 7, "expected 'in' or a string match after 'not', found 'y'"),
    ],
)
def test_positions(text, line, column, message):
    err = error_of(text)
    assert (err.line, err.column, err.message) == (line, column, message)
    assert isinstance(err, FraudwatchError)


def test_snapshot_expression_error():
    assert str(error_of("card.declines_10m >= 3 and\n    event.amout > 10_000")) == textwrap.dedent("""\
        <expression>:2:5: error: no event field 'event.amout'; did you mean event.amount?
          2 |     event.amout > 10_000
            |     ^""")


def test_snapshot_type_error():
    assert str(error_of("event.amount > 'high'")) == textwrap.dedent("""\
        <expression>:1:14: error: comparing number with string always gives missing
          1 | event.amount > 'high'
            |              ^""")


def test_snapshot_rule_file_error():
    err = rules_error_of("""\
        # card testing
        rule card_testing:
            block if card.declines_10m >= 3 and
        rule next_rule:
            review if true
        """)
    assert str(err) == textwrap.dedent("""\
        rules.txt:4:1: error: expected a value, found 'rule'
          4 | rule next_rule:
            | ^^^^
          hint: the condition before this rule is unfinished""")


def test_snapshot_hint_and_tab_alignment():
    err = error_of("\tx = 1")
    assert (
        str(err)
        == "<expression>:1:4: error: unexpected character '='\n  1 | \tx = 1\n    | \t  ^\n  hint: use == to compare"
    )


def test_all_errors_of_a_file_are_collected_with_lines():
    err = rules_error_of("""\
        rule a:
            block if x >
        rule b:
            block if y > 1
        rule a:
            review if true
        rule c:
            deny if z
        """)
    assert [(e.line, e.column) for e in err.errors] == [(3, 1), (5, 6), (8, 5)]
    assert [e.message for e in err.errors] == [
        "expected a value, found 'rule'",
        "rule 'a' is already defined on line 1",
        "expected an outcome, found 'deny'",
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("event.__class__", "name 'event.__class__' is not allowed"),
        ("__import__", "name '__import__' is not allowed"),
        ("event._private", "no event field 'event._private'"),
        ("event.model_dump", "no event field 'event.model_dump'"),
        ("event.scenario == 'fraud'", "no event field 'event.scenario'"),  # ground truth is not for rules
        ("event", "'event' needs a field"),
        ("model", "'model' needs a name"),
        ("(a).b", "unexpected character '.'"),
        ("lower(x).upper", "unexpected character '.'"),
        ("x.y(1)", "'x.y' is not a function"),
        ("eval('1')", "unknown function 'eval'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("a; b", "unexpected character ';'"),
        ("x if y", "unexpected 'if' after the expression"),
        ("{}", "unexpected character '{'"),
    ],
)
def test_unsafe_constructs_are_refused(text, message):
    assert message in error_of(text).message


def test_deep_nesting_is_bounded():
    assert "nested deeper than" in error_of("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1)).message
    assert "nested deeper than" in error_of("not " * (MAX_DEPTH + 1) + "x").message
    assert "nested deeper than" in error_of(" + ".join(["x"] * (MAX_DEPTH + 1))).message
    assert compile_expression("(" * 50 + "1" + ")" * 50)(None) == 1  # reasonable nesting is fine


def test_long_input_is_bounded():
    assert "longer than" in error_of("x == '" + "a" * 10_001 + "'").message
    assert "longer than" in error_of("1" + " " * 1_000_001).message


def test_unknown_features_when_the_feature_set_is_given():
    err = error_of("card.declines_10n >= 3", features={"card.declines_10m"})
    assert err.message == "unknown feature 'card.declines_10n'; did you mean card.declines_10m?"
    assert compile_expression("card.declines_10m >= 3", features={"card.declines_10m"})


@pytest.mark.parametrize(
    "text",
    [
        "'a' + 1",
        "-'a'",
        "not 3",
        "1 and x",
        "true < false",
        "x in ('a', 'b') + 1",
        "event.amount == 'x'",
        "event.time > 3",
        "1 in ('a',)",
        "x / 0",
        "x % 0.0",
        "len(event.items) == event.items",
    ],
)
def test_static_type_errors(text):
    error_of(text)


def test_error_to_dict():
    assert error_of("a +").to_dict() == {
        "line": 1,
        "column": 4,
        "message": "expected a value, found end of input",
        "hint": None,
    }
