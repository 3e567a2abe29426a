"""Generated code and its switch: the engine decides the same with generation on and off,
and a traceback through generated code shows its source."""

from __future__ import annotations

import traceback

import pytest

from fraudwatch import codegen
from fraudwatch.definitions import load_features, load_rules
from fraudwatch.engine import Engine
from fraudwatch.sim.synthetic import synthetic_events


@pytest.fixture(scope="module", autouse=True)
def _generation_on():
    """These tests compare generation on and off: turn it on also under --no-codegen."""
    before = codegen.enabled()
    codegen.set_enabled(True)
    yield
    codegen.set_enabled(before)


def _decisions(events):
    engine = Engine(features=load_features(), rules=load_rules())
    out = []
    for e in events:
        d = engine.process(e)
        out.append(
            (
                d.outcome,
                [(h.rule, h.values) for h in d.rules],
                [h.rule for h in d.shadow_rules],
                list(d.features.items()),
            )
        )
    return out


def test_the_default_policy_decides_the_same_with_generation_off():
    events = synthetic_events(4000, cards=150, seed=5, rate=0.2)
    generated = _decisions(events)
    with codegen.disabled():
        plain = _decisions(events)
    assert codegen.enabled()
    assert plain == generated
    assert any(outcome.value != "allow" for outcome, *_ in generated)  # rules fired: a real comparison


def test_generation_off_builds_no_code():
    built = []
    real = codegen.build
    codegen.build = lambda *a, **k: built.append(a[0]) or real(*a, **k)  # type: ignore[assignment]
    try:
        with codegen.disabled():
            _decisions(synthetic_events(200, cards=20, seed=1))
        assert built == []
        _decisions(synthetic_events(200, cards=20, seed=1))
        assert {"feature-plan", "window-store", "last-store"} <= set(built)
    finally:
        codegen.build = real  # type: ignore[assignment]


def test_a_traceback_through_generated_code_shows_its_lines():
    env = codegen.build("example", ["def ratio(a, b):", "    scaled = a * 2", "    return scaled / b"], {})
    with pytest.raises(ZeroDivisionError) as info:
        env["ratio"](1, 0)
    text = "".join(traceback.format_exception(info.value))
    assert "fraudwatch-generated:example:" in text and "return scaled / b" in text
