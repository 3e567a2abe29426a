"""``fraudwatch features validate`` and ``show``."""

from __future__ import annotations

from click.testing import CliRunner

from fraudwatch.cli import main
from fraudwatch.features import FeatureSet, default_feature_set


def test_show_prints_the_default_set_and_its_yaml_round_trips():
    runner = CliRunner()
    table = runner.invoke(main, ["features", "show"])
    assert table.exit_code == 0 and "card.declines_10m" in table.output and default_feature_set().digest in table.output
    as_yaml = runner.invoke(main, ["features", "show", "--yaml"])
    assert FeatureSet.from_yaml(as_yaml.output) == default_feature_set()


def test_validate_reports_ok_and_errors(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("features: [{name: card.n_1h, entity: card, agg: count, window: 1h}]\n")
    bad.write_text("features: [{name: card.n_1h, entity: card, agg: count, window: 100d}]\n")
    runner = CliRunner()
    ok = runner.invoke(main, ["features", "validate", str(good)])
    assert ok.exit_code == 0 and "1 features ok" in ok.output
    err = runner.invoke(main, ["features", "validate", str(bad)])
    assert err.exit_code == 1 and "feature 'card.n_1h': window: must be more than 0 and at most 90 days" in err.output
