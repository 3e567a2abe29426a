"""The log follower hands pages of durable entries over in log order, at least once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

from fraudwatch.api.follower import FollowerProcess, LogFollower, register
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import SQLiteStore


def _log(storage, first: int, last: int) -> None:
    with storage.unit() as uow:
        uow.events.append(
            [
                LogEntry(n, f"ev-{n}", "account.login", 1.0 * n, b"", b"{}", b"{}", "allow")
                for n in range(first, last + 1)
            ]
        )


class Recorder:
    def __init__(self, poison: str | None = None):
        self.pages: list[list[str]] = []
        self.poison = poison
        self.lock = threading.Lock()

    def __call__(self, entries) -> None:
        ids = [e.event_id for e in entries]
        if self.poison in ids:
            raise ValueError("cannot handle " + self.poison)
        with self.lock:
            self.pages.append(ids)

    def handled(self) -> list[str]:
        with self.lock:
            return [i for page in self.pages for i in page]


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_a_new_follower_starts_at_the_end_and_gets_later_entries_in_order(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    _log(storage, 1, 5)
    handle = Recorder()
    follower = LogFollower("t", storage.connect(durable=False), handle)
    _log(storage, 6, 20)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 15)
    follower.close()
    assert handle.handled() == [f"ev-{n}" for n in range(6, 21)]
    assert storage.cursors.get("t") == 20  # stored when the follower stops


def test_after_a_restart_the_follower_resumes_from_its_stored_position(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    first = Recorder()
    follower = LogFollower("t", storage.connect(durable=False), first)
    _log(storage, 1, 10)
    follower.notify()
    _wait(lambda: len(first.handled()) == 10)
    follower.close()
    _log(storage, 11, 12)  # logged while no follower ran
    second = Recorder()
    follower = LogFollower("t", storage.connect(durable=False), second)
    follower.notify()
    _wait(lambda: second.handled() == ["ev-11", "ev-12"])
    follower.close()


def test_a_failing_page_is_handed_over_event_by_event_and_only_the_bad_event_is_skipped(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    handle = Recorder(poison="ev-3")
    follower = LogFollower("t", storage.connect(durable=False), handle)
    _log(storage, 1, 5)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 4, timeout=15)
    follower.close()
    assert handle.handled() == ["ev-1", "ev-2", "ev-4", "ev-5"]
    assert storage.cursors.get("t") == 5


def test_the_handlers_work_is_synced_before_each_stored_position(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    handle = Recorder()
    synced: list[tuple[int, int | None]] = []  # (entries handled, position stored) at each sync

    def sync() -> None:
        synced.append((len(handle.handled()), storage.cursors.get("t")))

    follower = LogFollower("t", storage.connect(durable=False), handle, sync=sync)
    _log(storage, 1, 10)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 10)
    follower.close()
    assert storage.cursors.get("t") == 10
    assert synced and synced[-1] == (10, 0)  # all ten synced while the stored position was still 0


class FileHandler:
    """A follower handler for a child process: appends the ids it is handed to a file."""

    def __init__(self, path: str, log=None):
        self.path = path

    def on_logged(self, entries) -> None:
        with open(self.path, "a") as f:
            f.writelines(e.event_id + "\n" for e in entries)

    def sync(self) -> None:
        pass

    def close(self) -> None:
        with open(self.path, "a") as f:
            f.write("closed\n")


def _lines(path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_follower_process_gets_what_was_logged_while_it_started_and_stops_in_order(tmp_path):
    storage = SQLiteStore(tmp_path / "fw.db")
    _log(storage, 1, 2)
    register(storage, "p")  # at the end of the log: ev-1 and ev-2 are the past
    out = tmp_path / "handled.txt"
    follower = FollowerProcess("p", storage.opener(), partial(FileHandler, str(out)))
    _log(storage, 3, 4)  # most likely before the child has even imported fraudwatch
    _wait(lambda: _lines(out) == ["ev-3", "ev-4"], timeout=30)
    _log(storage, 5, 5)
    _wait(lambda: _lines(out)[-1:] == ["ev-5"])
    follower.close()
    assert _lines(out) == ["ev-3", "ev-4", "ev-5", "closed"]
    assert storage.cursors.get("p") == 5


PARENT = """
import sys, time
from functools import partial
from fraudwatch.api.follower import FollowerProcess, register
from fraudwatch.storage.sqlite import SQLiteStore
sys.path.insert(0, sys.argv[2])
from test_follower import FileHandler
storage = SQLiteStore(sys.argv[1] + "/fw.db")
register(storage, "p")
f = FollowerProcess("p", storage.opener(), partial(FileHandler, sys.argv[1] + "/handled.txt"))
print(f._process.pid, flush=True)
time.sleep(600)
"""


def test_a_follower_process_dies_with_the_service(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] == "Z"  # not yet reaped

    _wait(gone, timeout=10)
