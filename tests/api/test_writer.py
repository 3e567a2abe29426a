"""The group-commit writer checkpoints the WAL between two commits when asked, so the WAL
starts over; a background checkpoint alone cannot get there while commits keep coming."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from fraudwatch.api.writer import GroupCommitWriter
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import SQLiteStore

BODY = b'{"features": "' + b"x" * 2000 + b'"}'


@pytest.mark.parametrize("requested", [False, True])
def test_the_wal_starts_over_after_a_checkpoint_in_the_writer_thread(tmp_path, requested):
    storage = SQLiteStore(tmp_path / "log.db")
    housekeeping = storage.connect()
    reader = sqlite3.connect(tmp_path / "log.db", isolation_level=None)

    async def run() -> tuple[int, int]:
        writer = GroupCommitWriter(storage.connect(), asyncio.get_running_loop())
        seq = 0

        async def burst() -> None:
            nonlocal seq
            for _ in range(50):
                seq += 1
                await writer.write(LogEntry(seq, f"e{seq}", "account.login", float(seq), b"", BODY, BODY, "allow"))

        await burst()
        reader.execute("BEGIN")  # a reader keeps an old view: a checkpoint cannot copy past it
        reader.execute("SELECT count(*) FROM events").fetchone()
        await burst()
        grown = housekeeping.maintain()
        reader.execute("COMMIT")
        if requested:
            writer.request_checkpoint()
        await burst()  # commit, then (when requested) the checkpoint
        await burst()  # the first commit after a full checkpoint writes the WAL from its start
        await writer.close()
        return grown, housekeeping.maintain()

    grown, after = asyncio.run(run())
    assert (after < grown) is requested
    assert storage.events.last_seq() == 200  # nothing lost on the way
    for handle in (housekeeping, reader, storage):
        handle.close()
