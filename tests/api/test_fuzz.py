"""Fuzz every operation of the served OpenAPI document with schemathesis: no 5xx."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))


@pytest.mark.slow
def test_no_server_errors_from_openapi_fuzzing(make_server, tmp_path):
    server = make_server("fuzz")
    key = server.create_key("fuzzer", "admin", "ingest")
    server.start()
    done = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "-H",
            f"Authorization: Bearer {key}",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--workers",
            "1",
            "--max-time",
            "60",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=tmp_path,
    )
    server.stop()
    log = (server.data_dir / f"server-{server.port}.log").read_text()
    assert done.returncode == 0, done.stdout[-4000:]
    assert "Traceback" not in log, log[-4000:]
