"""The generated filter and value functions give exactly what the compiled closures give."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudwatch import codegen
from fraudwatch.rules import ListStore
from fraudwatch.rules.context import Context
from fraudwatch.rules.expression import compile_expression
from fraudwatch.rules.inline import filter_function, rules_function, value_function
from fraudwatch.rules.nodes import Literal
from fraudwatch.rules.values import MISSING

ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -3,
    1000,
    10**400,
    0.0,
    -0.0,
    2.5,
    float("nan"),
    float("inf"),
    "declined",
    "approved",
    "",
    "1000",
    Decimal("7.5"),
]
values = st.sampled_from(ODD_VALUES)

filter_atoms = st.sampled_from(
    [
        "event.result == 'declined'",
        "event.result != 'declined'",
        "event.result < 'b'",
        "event.amount >= 1000",
        "event.amount < 2.5",
        "event.amount == 0",
        "event.amount != 1",
        "not event.success",
        "event.success",
        "event.result in ('approved', 'declined')",
        "event.amount > -3",
    ]
)


@pytest.fixture(scope="module", autouse=True)
def _generation_on():
    """These tests are about the generated functions: build them also under --no-codegen."""
    before = codegen.enabled()
    codegen.set_enabled(True)
    yield
    codegen.set_enabled(before)


@st.composite
def conditions(draw, atoms=filter_atoms, depth: int = 0) -> str:
    """Atoms joined by and / or, nested up to three deep."""
    if depth >= 3 or draw(st.booleans()):
        return draw(atoms)
    op = draw(st.sampled_from(["and", "or"]))
    return f"({draw(conditions(atoms, depth + 1))} {op} {draw(conditions(atoms, depth + 1))})"


rule_atoms = st.sampled_from(
    [
        "card.n >= 3",
        "card.n < 2.5",
        "card.n == 0",
        "card.n != 1",
        "card.s == 'x'",
        "card.s > 'a'",
        "card.b",
        "not card.b",
        "card.s in ('x', 'y')",
        "coalesce(card.n, 0) >= 2",
        "model.score >= 0.5",
        "event.result is not missing",
        "event.result != event.decline_reason",
        "not (card.n > 3)",
        "event.amount >= 1000",
        "event.result == 'declined'",
        "event.result in @results",
        "card.n in @numbers",
        "event.amount not in @numbers",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(conditions(rule_atoms), min_size=1, max_size=4), values, values, values, values, values)
def test_generated_rules_fire_exactly_when_their_closures_are_true(texts, n, s, b, result, score):
    exprs = [compile_expression(t) for t in texts]
    fired = rules_function([e.tree for e in exprs])
    lists = ListStore()
    lists.replace("results", ["declined"])
    lists.replace("numbers", [0, 1000, 2.5])
    ctx = Context(
        event=SimpleNamespace(result=result, amount=n, decline_reason=s),
        features={"card.n": n, "card.s": s, "card.b": b},
        model={"score": score},
        lists=lists,
    )
    assert fired(ctx) == [i for i, e in enumerate(exprs) if e(ctx) is True]


@st.composite
def arithmetic(draw, depth: int = 0) -> str:
    if depth >= 3 or (depth and draw(st.booleans())):  # an operation at the top
        # no literal 0: a constant zero divisor is a syntax error (features may be 0)
        return draw(st.sampled_from(["event.amount", "card.a", "card.b", "2", "0.5", "1000"]))
    if draw(st.integers(0, 5)) == 0:
        return f"-({draw(arithmetic(depth + 1))})"
    op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
    return f"({draw(arithmetic(depth + 1))} {op} {draw(arithmetic(depth + 1))})"


@settings(max_examples=400, deadline=None)
@given(conditions(), values, values, values)
def test_a_generated_filter_fires_exactly_when_the_closure_is_true(text, result, amount, success):
    expr = compile_expression(text)
    fires = filter_function(expr.tree)
    assert fires is not None, text
    event = SimpleNamespace(result=result, amount=amount, success=success)
    assert fires(event) is (expr(Context(event=event)) is True)


@settings(max_examples=400, deadline=None)
@given(arithmetic(), values, values, values)
def test_a_generated_value_equals_the_closure(text, amount, a, b):
    expr = compile_expression(text)
    value = value_function(expr.tree)
    if value is None:  # folded to a constant by the parser
        assert isinstance(expr.tree, Literal), text
        return
    event, features = SimpleNamespace(amount=amount), {"card.a": a, "card.b": b}
    expected = expr(Context(event=event, features=features))
    got = value(event, features)
    assert repr(got) == repr(None if expected is MISSING else expected), text


def test_other_shapes_are_left_to_the_closures():
    for text in (
        "coalesce(event.amount, 0) >= 3",
        "card.declines_10m >= 3",
        "event.item.category == 'gift'",
        "event.result not in ('a', 'b')",
        "event.ip in @blocked_ips",
        "not (event.amount > 3)",
    ):
        assert filter_function(compile_expression(text).tree) is None, text
    for text in ("coalesce(card.a, 0) + 1", "event.amount > 3", "model.score * 2"):
        assert value_function(compile_expression(text).tree) is None, text
