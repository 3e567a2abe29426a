"""The ingest fuzz (``fuzz_server.py``) at CI size: a few hundred generated events and
batches through the real server; the full run is ``python tests/security/fuzz_server.py``."""

from __future__ import annotations

from security.conftest import clear_pans
from security.fuzz_server import Fuzz, run


def test_fuzzed_events_and_batches_never_5xx_never_leak_a_card_number(server):
    key = server.create_key("fuzzer", "ingest")
    fuzz = Fuzz(server, key)
    run(fuzz, examples=40, seed=19)
    assert fuzz.events >= 50
    fuzz.check_files()
    log = "\n".join(p.read_text(errors="replace") for p in server.data_dir.glob("server-*.log"))
    assert "Traceback" not in log, log[-3000:]
    assert clear_pans(server.data_dir) == []
