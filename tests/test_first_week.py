"""docs/first-week.md, followed word for word: every ```bash block of the page but the install
line runs, in order, in one shell, in a fresh folder holding the clone's examples (the page's
commands run from the clone's root). The service it starts binds a free port (``PORT``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "first-week.md"

pytest.importorskip("fraudwatch.cli.api")
pytest.importorskip("lightgbm")
pytestmark = pytest.mark.slow  # the whole week: simulate, serve, import, backtest, evaluate (about a minute)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_first_week_page_runs_as_written(tmp_path):
    blocks = re.findall(r"```bash\n(.*?)```", PAGE.read_text(), re.S)
    install = [b for b in blocks if "pip install" in b]
    assert len(install) == 1 and len(blocks) > 5  # CI has installed the same way already
    script = "set -euo pipefail\n" + "\n".join(b for b in blocks if b not in install)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDWATCH_")}
    env.update(
        PORT=str(_free_port()),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # this checkout's fraudwatch and python
        FRAUDWATCH_CACHE_DIR=str(tmp_path / "cache"),
    )
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=900)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the service too, if a step failed before stopping it
        except ProcessLookupError:
            pass
    serve_log = tmp_path / "var" / "serve.log"
    assert proc.returncode == 0, out + (serve_log.read_text()[-3000:] if serve_log.exists() else "")

    # day 1: decisions from the service (not fallbacks): the card test challenged, then blocked
    decided = re.findall(r"^first-week-(\d) (allow|review|challenge|block) (\[.*\])(.*)$", out, re.M)
    assert [d[0] for d in decided] == ["0", "1", "2"] and not any(d[3].strip() for d in decided)
    assert [d[1] for d in decided] == ["allow", "challenge", "block"]
    assert "3 of 3 logins decided" in out
    # day 2: the whole export imported, fraud reports as labels
    report = json.loads((tmp_path / "var" / "import-report.json").read_text())
    assert report["rows_rejected"] == 0 and report["events_written"]["label"] > 0
    assert report["events_written"]["payment.attempt"] == report["rows_read"]
    # day 3 and 4: the backtest and the evaluation report
    assert json.loads((tmp_path / "var" / "backtest.json").read_text())["events"] == sum(
        report["events_written"].values()
    )
    results = json.loads((tmp_path / "var" / "evaluate" / "results.json").read_text())
    test = results["feature_sets"]["default"]["test"]
    assert 0.5 < test["auc_roc"]["mean"] <= 1.0 and "recall_at_1pct_fpr" in test
    assert (tmp_path / "var" / "evaluate" / "roc.png").stat().st_size > 0
