"""``fraudwatch rules check`` and ``fraudwatch rules functions``, run as a real process."""

import subprocess
import sys
import textwrap
from importlib import resources


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "fraudwatch.cli", "rules", *args], capture_output=True, text=True, timeout=60
    )


def test_check_good_file_prints_a_summary(tmp_path):
    path = tmp_path / "policy.rules"
    path.write_text(
        "rule a:\n  block if card.declines_10m >= 3\nrule b [shadow]:\n  review if event.ip in @blocked_ips\n"
    )
    result = run("check", str(path), "--version", "v7")
    assert result.returncode == 0, result.stderr
    assert f"{path}: 2 rules ok (1 in shadow mode)" in result.stdout
    assert "version   v7" in result.stdout
    assert "features  1: card.declines_10m" in result.stdout
    assert "lists     @blocked_ips" in result.stdout


def test_check_bad_file_prints_every_error_with_a_caret_and_exits_1(tmp_path):
    path = tmp_path / "bad.rules"
    path.write_text("rule a:\n  block if card.x >=\nrule b:\n  blok if x\n")
    result = run("check", str(path))
    assert result.returncode == 1
    assert result.stderr == textwrap.dedent(f"""\
        {path}:3:1: error: expected a value, found 'rule'
          3 | rule b:
            | ^^^^
          hint: the condition before this rule is unfinished

        {path}:4:3: error: expected an outcome, found 'blok'
          4 |   blok if x
            |   ^^^^
          hint: did you mean block?

        {path}: 2 errors
        """)


def test_check_against_the_default_feature_set(tmp_path):
    path = tmp_path / "typo.rules"
    path.write_text("rule a:\n  block if card.declines_10n >= 3\n")
    result = run("check", str(path), "--features", "default")
    assert result.returncode == 1
    assert "error: unknown feature 'card.declines_10n'" in result.stderr
    assert "hint: did you mean card.declines_10m?" in result.stderr
    default = resources.files("fraudwatch.rules").joinpath("default.rules")
    assert run("check", str(default), "--features", "default").returncode == 0


def test_functions_lists_the_documentation():
    result = run("functions")
    assert result.returncode == 0
    assert "hour_of_day(t: time, tz: string literal = 'UTC') -> number" in result.stdout
    assert "coalesce(card.declines_10m, 0) >= 3" in result.stdout


def test_eval_prints_the_value_and_the_names_read():
    event = (
        '{"id": "e1", "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt", '
        '"amount": 17600, "currency": "JPY"}'
    )
    result = run(
        "eval",
        "card.declines_10m >= 3 and event.amount >= 10_000 or model.score > 0.9",
        "--event",
        event,
        "--features",
        '{"card.declines_10m": 3}',
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "true\n  card.declines_10m = 3\n  event.amount = 17600\n  model.score = missing\n"
    result = run("eval", "card.declines_10m >= 3")
    assert result.stdout.startswith("missing\n")
    result = run("eval", "card.declines_10m >=")
    assert result.returncode == 1 and "<argument>:1:21: error: expected a value" in result.stderr
    result = run("eval", "x > 1", "--features", "[1]")
    assert result.returncode == 2 and "expected a JSON object" in result.stderr
