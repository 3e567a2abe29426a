"""Errors inside rules are never swallowed: data that does not fit gives missing quietly,
a bug is counted and logged with the rule and the event id."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from fraudwatch.rules import Context, RuleSet
from fraudwatch.rules.failures import FAILURES
from fraudwatch.rules.functions import REGISTRY


def _event(id_: str, language: str = "en"):
    return SimpleNamespace(id=id_, kind="account.profile_changed", language=language)


@pytest.fixture
def broken_upper(monkeypatch):
    """``upper()`` with a bug: it raises an error no data explains."""

    def execute(s):
        raise KeyError("a bug")

    monkeypatch.setattr(REGISTRY.get("upper"), "execute", execute)


def test_a_bug_in_a_rule_function_is_counted_and_logged_with_rule_and_event(broken_upper, caplog):
    rules = RuleSet.parse("rule english:\n    review if upper(event.language) == 'EN'\n", version="t")
    before = FAILURES[("upper", "english")]
    with caplog.at_level(logging.ERROR, logger="fraudwatch.rules"):
        hits, _ = rules.evaluate(Context(event=_event("ev-17")))
    assert hits == []  # the rule cannot fire, the others still run
    assert FAILURES[("upper", "english")] == before + 1
    record = next(r for r in caplog.records if "english" in r.getMessage())
    assert "ev-17" in record.getMessage() and "KeyError" in record.getMessage() and record.exc_info


def test_data_that_does_not_fit_stays_quiet(monkeypatch, caplog):
    def execute(s):
        raise ValueError("not a language")

    monkeypatch.setattr(REGISTRY.get("upper"), "execute", execute)
    rules = RuleSet.parse("rule english:\n    review if upper(event.language) == 'EN'\n", version="t")
    before = sum(FAILURES.values())
    with caplog.at_level(logging.ERROR, logger="fraudwatch.rules"):
        assert rules.evaluate(Context(event=_event("ev-18")))[0] == []
    assert sum(FAILURES.values()) == before and not caplog.records


def test_a_working_function_still_fires():
    rules = RuleSet.parse("rule english:\n    review if upper(event.language) == 'EN'\n", version="t")
    assert [h.rule for h in rules.evaluate(Context(event=_event("ev-19")))[0]] == ["english"]


def test_definition_checks_report_bugs_as_bugs(monkeypatch):
    from fraudwatch.api import definitions
    from fraudwatch.errors import ValidationFailed

    def buggy(text, version):
        raise KeyError("a bug in the parser")

    monkeypatch.setitem(definitions.PARSERS, "rules", buggy)
    with pytest.raises(KeyError):  # not a 422: the app answers 500 and logs it
        definitions.check("rules", "rule x:\n    block if true\n", None)
    monkeypatch.setitem(definitions.PARSERS, "rules", lambda text, version: (_ for _ in ()).throw(ValueError("bad")))
    with pytest.raises(ValidationFailed):
        definitions.check("rules", "rule x:\n    block if true\n", None)


def test_values_raised_to_callers_join_the_error_tree():
    from fraudwatch.engine import Engine
    from fraudwatch.errors import FraudwatchError, InvalidValue
    from fraudwatch.features import FeatureSet

    with pytest.raises(InvalidValue) as info:
        Engine(features=FeatureSet([]), rules=RuleSet.parse("", version="t"), thresholds={"block": 2})
    assert isinstance(info.value, FraudwatchError) and isinstance(info.value, ValueError)
    assert info.value.status_code == 422
