"""The log follower hands pages of durable entries over in log order, at least once."""

from __future__ import annotations

import threading
import time

from fraudwatch.api.follower import LogFollower
from fraudwatch.storage import LogEntry
from fraudwatch.storage.sqlite import SQLiteStorage


def _log(storage, first: int, last: int) -> None:
    with storage.unit():
        storage.append([LogEntry(n, f"ev-{n}", "account.login", 1.0 * n, b"", b"{}", b"{}", "allow")
                        for n in range(first, last + 1)])  # fmt: skip


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
    storage = SQLiteStorage(tmp_path / "fw.db")
    _log(storage, 1, 5)
    handle = Recorder()
    follower = LogFollower("t", storage.connect(durable=False), handle)
    _log(storage, 6, 20)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 15)
    follower.close()
    assert handle.handled() == [f"ev-{n}" for n in range(6, 21)]
    assert storage.cursor("t") == 20  # stored when the follower stops


def test_after_a_restart_the_follower_resumes_from_its_stored_position(tmp_path):
    storage = SQLiteStorage(tmp_path / "fw.db")
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
    storage = SQLiteStorage(tmp_path / "fw.db")
    handle = Recorder(poison="ev-3")
    follower = LogFollower("t", storage.connect(durable=False), handle)
    _log(storage, 1, 5)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 4, timeout=15)
    follower.close()
    assert handle.handled() == ["ev-1", "ev-2", "ev-4", "ev-5"]
    assert storage.cursor("t") == 5


def test_the_handlers_work_is_synced_before_each_stored_position(tmp_path):
    storage = SQLiteStorage(tmp_path / "fw.db")
    handle = Recorder()
    synced: list[tuple[int, int | None]] = []  # (entries handled, position stored) at each sync

    def sync() -> None:
        synced.append((len(handle.handled()), storage.cursor("t")))

    follower = LogFollower("t", storage.connect(durable=False), handle, sync=sync)
    _log(storage, 1, 10)
    follower.notify()
    _wait(lambda: len(handle.handled()) == 10)
    follower.close()
    assert storage.cursor("t") == 10
    assert synced and synced[-1] == (10, 0)  # all ten synced while the stored position was still 0
