"""One suite for the storage interface, run against every backend."""

from __future__ import annotations

import pytest

from fraudwatch.errors import Conflict
from fraudwatch.storage import Activation, ApiKey, AuditRecord, Definition, LogEntry, Snapshot
from fraudwatch.storage.sqlite import MemoryStore, SQLiteStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        from fraudwatch.storage.postgresql import PostgresStore

        s = PostgresStore(request.getfixturevalue("postgresql_url"))
    else:
        s = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "fw.db")
    yield s
    s.close()


def entry(seq, card="c1", ts=None, account=None):
    return LogEntry(
        seq=seq,
        event_id=f"e{seq}",
        kind="payment.attempt",
        ts=ts if ts is not None else 1000.0 + seq,
        digest=b"d%d" % seq,
        event=b'{"id":"e%d"}' % seq,
        decision=b'{"outcome":"allow"}',
        outcome="allow",
        card=card,
        account=account,
    )


def test_writes_need_a_unit(store):
    with pytest.raises(RuntimeError):
        store.events.append([entry(1)])
    with pytest.raises(RuntimeError):
        store.lists.add("l", ["x"])
    with store.unit() as uow:
        pass
    with pytest.raises(RuntimeError):  # a unit's ports outlive it, their writes do not
        uow.audit.add(AuditRecord(1.0, "a", "b", "c"))
    with store.unit():
        with pytest.raises(RuntimeError):  # nor do units nest
            with store.unit():
                pass


def test_append_read_back_in_log_order(store):
    with store.unit() as uow:
        uow.events.append([entry(1), entry(2)])
    with store.unit() as uow:
        uow.events.append([entry(3)])
    assert store.events.last_seq() == 3
    assert [e.seq for e in store.events.after(1)] == [2, 3]
    assert store.events.after(0, limit=2) == [entry(1), entry(2)]
    assert store.events.get("e2") == entry(2)
    assert store.events.get("nope") is None
    assert list(store.events.ids()) == ["e1", "e2", "e3"]


def test_a_failed_unit_leaves_nothing(store):
    with store.unit() as uow:
        uow.events.append([entry(1)])
    with pytest.raises(Conflict):
        with store.unit() as uow:
            uow.lists.add("l", ["x"])
            uow.events.append([entry(2), LogEntry(**{**_asdict(entry(3)), "event_id": "e1"})])
    assert store.events.last_seq() == 1
    assert store.lists.values("l") is None


def test_duplicate_event_id_conflicts(store):
    with store.unit() as uow:
        uow.events.append([entry(1)])
    with pytest.raises(Conflict):
        with store.unit() as uow:
            uow.events.append([LogEntry(**{**_asdict(entry(2)), "event_id": "e1"})])


def test_log_is_a_unit_of_its_own(store):
    store.log([entry(1), entry(2)])
    with pytest.raises(Conflict):
        store.log([entry(3), LogEntry(**{**_asdict(entry(4)), "event_id": "e1"})])
    assert [e.seq for e in store.connect().events.after(0)] == [1, 2]  # all of a failed one or nothing
    store.log([entry(3)])
    assert store.events.last_seq() == 3


def test_search_by_entity_time_and_cursor(store):
    with store.unit() as uow:
        uow.events.append([entry(i, card="a" if i % 2 else "b", account="acc") for i in range(1, 11)])
    odd = store.events.search("card", "a")
    assert [e.seq for e in odd] == [9, 7, 5, 3, 1]
    page = store.events.search("card", "a", limit=2)
    assert [e.seq for e in page] == [9, 7]
    assert [e.seq for e in store.events.search("card", "a", before_seq=7, limit=2)] == [5, 3]
    assert [e.seq for e in store.events.search("card", "a", since=1003.0, until=1007.0)] == [5, 3]
    assert [e.seq for e in store.events.search("account", "acc", limit=3)] == [10, 9, 8]
    assert store.events.search("device", "x") == []


def test_follower_cursors(store):
    assert store.cursors.get("actions") is None
    with store.unit() as uow:
        uow.cursors.set("actions", 5)
    with store.unit() as uow:
        uow.cursors.set("actions", 9)
        uow.cursors.set("other", 1)
    assert (store.cursors.get("actions"), store.cursors.get("other")) == (9, 1)


def test_snapshots_keep_the_latest_and_are_not_part_of_a_unit(store):
    assert store.snapshots.latest() is None
    for seq in (5, 10, 15):
        store.snapshots.save(Snapshot(seq=seq, data=b"s%d" % seq * 1000, created_at=1.0))
    try:
        with store.unit():
            store.snapshots.save(Snapshot(seq=20, data=b"s20", created_at=2.0))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    snap = store.connect().snapshots.latest()  # durable: another handle sees it
    assert (snap.seq, snap.data) == (20, b"s20")


def test_definitions_versions_and_activation_history(store):
    with store.unit() as uow:
        uow.definitions.add(Definition("rules", "v1", "rule a", 1.0, "alice"))
        uow.definitions.add(Definition("rules", "v2", "rule b", 2.0, "alice"))
        uow.definitions.add(Definition("features", "v1", "f", 2.0, "bob"))
    with pytest.raises(Conflict):
        with store.unit() as uow:
            uow.definitions.add(Definition("rules", "v1", "other", 3.0, "eve"))
    assert [d.version for d in store.definitions.versions("rules")] == ["v1", "v2"]
    assert store.definitions.get("rules", "v2").text == "rule b"
    assert store.definitions.get("rules", "v3") is None
    assert store.definitions.active_version("rules") is None
    with store.unit() as uow:
        uow.definitions.activate(Activation("rules", "v1", 3.0, "alice"))
        uow.definitions.activate(Activation("rules", "v2", 4.0, "alice"))
    assert store.definitions.active_version("rules") == "v2"
    assert [a.version for a in store.definitions.activations("rules")] == ["v1", "v2"]
    assert store.definitions.active_version("features") is None


def test_lists(store):
    with store.unit() as uow:
        uow.lists.add("ips", ["1.1.1.1", "2.2.2.2"])
        uow.lists.add("ips", ["2.2.2.2"])
        uow.lists.replace("empty", [])
    assert store.lists.values("ips") == ["1.1.1.1", "2.2.2.2"]
    assert store.lists.values("empty") == []
    assert store.lists.names() == ["empty", "ips"]
    with store.unit() as uow:
        uow.lists.remove("ips", ["1.1.1.1", "9.9.9.9"])
    assert store.lists.values("ips") == ["2.2.2.2"]
    with store.unit() as uow:
        uow.lists.replace("ips", ["3.3.3.3"])
    assert store.lists.values("ips") == ["3.3.3.3"]
    assert store.lists.values("missing") is None


def test_audit_log(store):
    with store.unit() as uow:
        uow.audit.add(AuditRecord(1.0, "alice", "rules.activate", "rules", {"version": "v1"}, {"version": "v2"}))
        uow.audit.add(AuditRecord(2.0, "bob", "lists.add", "lists/ips", ["a"], ["a", "b"]))
    records = store.audit.records()
    assert [(r.actor, r.action, r.before, r.after) for r in records] == [
        ("alice", "rules.activate", {"version": "v1"}, {"version": "v2"}),
        ("bob", "lists.add", ["a"], ["a", "b"]),
    ]
    assert [r.actor for r in store.audit.records(after_id=records[0].id)] == ["bob"]


def test_api_keys(store):
    with store.unit() as uow:
        uow.keys.add(ApiKey("k1", "ingest-bot", ("ingest",), b"h1", 1.0))
        uow.keys.add(ApiKey("k2", "ops", ("admin", "read"), b"h2", 2.0))
    with pytest.raises(Conflict):
        with store.unit() as uow:
            uow.keys.add(ApiKey("k3", "dup", ("read",), b"h1", 3.0))
    assert store.keys.by_hash(b"h2").scopes == ("admin", "read")
    assert store.keys.by_hash(b"nope") is None
    with store.unit() as uow:
        revoked = uow.keys.revoke("k1", 5.0)
        assert uow.keys.revoke("missing", 5.0) is None
    assert revoked.revoked_at == 5.0
    assert [(k.key_id, k.revoked_at) for k in store.keys.all()] == [("k1", 5.0), ("k2", None)]


def test_another_handle_sees_committed_writes(store):
    other = store.connect()
    with other.unit() as uow:
        uow.events.append([entry(1)])
    assert store.events.last_seq() == 1
    other.close()


def _asdict(obj):
    return {name: getattr(obj, name) for name in obj.__slots__}
