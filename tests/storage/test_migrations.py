"""Schema migrations: a data directory of the previous release is adopted and the service
carries on with its state; a pending migration is applied; a schema newer than this
release, or a pending migration with ``migrate_on_start: false``, is refused."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.storage import schema
from fraudwatch.storage.schema import SchemaError
from fraudwatch.storage.sqlite import SQLiteStore

_spec = importlib.util.spec_from_file_location("api_servers", Path(__file__).parents[1] / "api" / "conftest.py")
_servers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_servers)
FRAUDWATCH, Server = _servers.FRAUDWATCH, _servers.Server

RELEASE_0_1 = Path(__file__).with_name("release-0.1")
ADMIN = "fw_faK8JAdVC_UkPnDfHsUXjP0eP6PVqGBtMahYZXvN"  # keys of that data dir (its README)
INGEST = "fw_iLM85KBmhNZpaSLZraHwl4AwpPYazCwW4AlZKYn6"


def _migrations(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT migration_id FROM _yoyo_migration"))


def test_a_release_0_1_data_dir_is_adopted_and_the_service_carries_on(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(RELEASE_0_1, data, ignore=shutil.ignore_patterns("*.md"))
    server = Server(data).start()
    try:
        with server.client(ADMIN) as admin, server.client(INGEST) as ingest:
            assert admin.get("/v1/lists/blocked_ips").json()["values"] == ["10.9.9.9"]
            old = admin.get("/v1/events/ev39").json()
            assert old["seq"] == 40 and old["decision"]["features"]["card.payments_24h"] == 40
            new = ingest.post(
                "/v1/events",
                json={
                    "id": "ev40",
                    "time": "2026-11-21T13:40:00+09:00",
                    "kind": "payment.attempt",
                    "card": "tok_fixture",
                    "account": "u42",
                    "amount": 17600,
                    "currency": "JPY",
                    "result": "declined",
                    "decline_reason": "insufficient_funds",
                },
            )
            assert new.status_code == 200, new.text
            assert new.json()["features"]["card.payments_24h"] == 41  # the state of release 0.1 goes on
            assert [r["action"] for r in admin.get("/v1/audit").json()["items"]][:3] == [
                "keys.create",
                "keys.create",
                "lists.add",
            ]
    finally:
        server.stop()
    assert _migrations(data / "fraudwatch.db") == ["log-0001-initial"]
    assert _migrations(data / "fraudwatch-snapshots.db") == ["snapshots-0001-initial"]
    assert _migrations(data / "fraudwatch-actions.db") == [
        "actions-0001-initial",
        "actions-0002-languages",
        "actions-0003-cases",
        "actions-0004-episodes",
        "actions-0005-queue-tally",
    ]
    with sqlite3.connect(data / "fraudwatch-actions.db") as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] >= 37  # kept
        assert "language" in {r[1] for r in conn.execute("PRAGMA table_info(subscriptions)")}  # and migrated


def test_a_data_dir_made_just_before_migrations_is_adopted_as_it_is(tmp_path):
    """Release 0.2 had made every table of the migrations up to actions-0004 at start: its
    database is taken as migrated (re-adding its columns would fail) and it carries on."""
    data = tmp_path / "data"
    shutil.copytree(RELEASE_0_1.with_name("release-0.2"), data, ignore=shutil.ignore_patterns("*.md"))
    with sqlite3.connect(data / "fraudwatch-actions.db") as conn:
        alerts = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    server = Server(data).start()
    try:
        with server.client(ADMIN) as admin, server.client(INGEST) as ingest:
            assert admin.get("/v1/events/ev40").json()["decision"]["features"]["card.payments_24h"] == 41
            new = ingest.post(
                "/v1/events",
                json={
                    "id": "ev41",
                    "time": "2026-11-21T13:41:00+09:00",
                    "kind": "payment.attempt",
                    "card": "tok_fixture",
                    "account": "u42",
                    "amount": 17600,
                    "currency": "JPY",
                    "result": "declined",
                    "decline_reason": "insufficient_funds",
                },
            )
            assert new.status_code == 200, new.text
            assert new.json()["features"]["card.payments_24h"] == 42
    finally:
        server.stop()
    assert _migrations(data / "fraudwatch-actions.db") == [
        "actions-0001-initial",
        "actions-0002-languages",
        "actions-0003-cases",
        "actions-0004-episodes",
        "actions-0005-queue-tally",
    ]
    with sqlite3.connect(data / "fraudwatch-actions.db") as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] >= alerts > 0  # kept


def test_only_the_migrations_a_database_already_has_are_adopted(tmp_path):
    """A database with the first two migrations' tables and columns (made before migrations)
    gets those marked and the later ones applied."""
    folder = schema.MIGRATIONS / "actions" / "sqlite"
    path = tmp_path / "fraudwatch-actions.db"
    with sqlite3.connect(path) as conn:
        for name in ("actions-0001-initial.sql", "actions-0002-languages.sql"):
            conn.executescript((folder / name).read_text())
    Database(str(path)).close()
    assert _migrations(path) == [
        "actions-0001-initial",
        "actions-0002-languages",
        "actions-0003-cases",
        "actions-0004-episodes",
        "actions-0005-queue-tally",
    ]
    with sqlite3.connect(path) as conn:
        assert "episode" in {r[1] for r in conn.execute("PRAGMA table_info(alerts)")}  # 0004 applied


def test_a_database_left_half_recorded_is_adopted_too(tmp_path):
    """A database made before migrations, on which only the first was recorded (the state a
    release without adoption left after refusing the second): the rest of its shape is adopted."""
    folder = schema.MIGRATIONS / "actions" / "sqlite"
    path = tmp_path / "fraudwatch-actions.db"
    with sqlite3.connect(path) as conn:
        for name in sorted(p.name for p in folder.glob("*.sql")):
            conn.executescript((folder / name).read_text())
    first = tmp_path / "first"
    (first / "actions" / "sqlite").mkdir(parents=True)
    shutil.copy(folder / "actions-0001-initial.sql", first / "actions" / "sqlite")
    schema.migrate(schema.sqlite_uri(path), ["actions"], "sqlite", root=first)
    assert _migrations(path) == ["actions-0001-initial"]
    Database(str(path)).close()
    assert _migrations(path) == [
        "actions-0001-initial",
        "actions-0002-languages",
        "actions-0003-cases",
        "actions-0004-episodes",
        "actions-0005-queue-tally",
    ]


def _with_extra(tmp_path: Path, name: str, sql: str) -> Path:
    """The packaged migrations plus one more in the log set."""
    root = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, root)
    (root / "log" / "sqlite" / name).write_text(sql)
    return root


def test_a_pending_migration_is_applied_once_and_the_data_stays(tmp_path):
    store = SQLiteStore(tmp_path / "fw.db")
    with store.unit() as uow:
        uow.lists.add("vip", ["a"])
    root = _with_extra(tmp_path, "log-0002-notes.sql", "ALTER TABLE lists ADD COLUMN note TEXT;\n")
    conn = sqlite3.connect(tmp_path / "fw.db")
    uri = schema.sqlite_uri(tmp_path / "fw.db")
    with pytest.raises(SchemaError, match="log-0002-notes.*fraudwatch migrate"):
        schema.ensure(conn, uri, ["log"], "sqlite", apply=False, root=root)
    assert schema.ensure(conn, uri, ["log"], "sqlite", root=root) == ["log-0002-notes"]
    assert schema.ensure(conn, uri, ["log"], "sqlite", root=root) == []
    assert conn.execute("SELECT name, note FROM lists").fetchall() == [("vip", None)]
    # the release that does not know log-0002 refuses the database, whatever migrate_on_start says
    with pytest.raises(SchemaError, match="does not know: log-0002-notes"):
        SQLiteStore(tmp_path / "fw.db")
    with pytest.raises(SchemaError, match="does not know"):
        SQLiteStore(tmp_path / "fw.db", migrate=False)


def test_the_service_refuses_a_newer_schema_and_migrate_reports_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Database(str(data / "fraudwatch-actions.db"))  # an actions database...
    with sqlite3.connect(data / "fraudwatch-actions.db") as conn:  # ...that a newer release migrated
        conn.execute(
            "INSERT INTO _yoyo_migration(migration_hash, migration_id, applied_at_utc) "
            "VALUES ('f00', 'actions-0099-future', '2030-01-01')"
        )
    server = Server(data)
    check = server.cli("migrate", "--check")
    assert check.returncode == 1 and "actions-0099-future" in check.stderr
    with pytest.raises(RuntimeError, match="does not know: actions-0099-future"):
        server.start(timeout=120)  # (the refusal comes at once; the start before it is slow on a busy machine)


def test_with_migrate_on_start_false_the_service_waits_for_fraudwatch_migrate(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = Server(data, env={"FRAUDWATCH_STORAGE__MIGRATE_ON_START": "false"})
    with pytest.raises(RuntimeError, match="pending: log-0001-initial; run 'fraudwatch migrate'"):
        server.start(timeout=120)  # (the refusal comes at once; the start before it is slow on a busy machine)
    done = server.cli("migrate")
    assert done.returncode == 0, done.stderr
    assert "event log" in done.stdout and "applied log-0001-initial" in done.stdout
    assert server.cli("migrate", "--check").returncode == 0
    server.start(timeout=120)
    server.stop()
    again = subprocess.run([*FRAUDWATCH, "migrate"], env=server.env, capture_output=True, text=True, timeout=60)
    assert again.stdout.count("up to date") == 3


def test_replicas_starting_together_migrate_a_postgresql_database_once(postgresql_url, tmp_path):
    opening = "import sys; from fraudwatch.storage.postgresql import PostgresStore; PostgresStore(sys.argv[1]).close()"
    replicas = [
        subprocess.Popen([sys.executable, "-c", opening, postgresql_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for replica in replicas:
        assert replica.wait(120) == 0, replica.stderr.read()
    env = {"FRAUDWATCH_STORAGE__TYPE": "postgresql", "FRAUDWATCH_STORAGE__URL": postgresql_url}
    server = Server(tmp_path, env)
    assert (
        "applied actions-0001-initial, actions-0002-languages, actions-0003-cases, actions-0004-episodes"
        in server.cli("migrate").stdout
    )  # the actions tables, same database
    check = server.cli("migrate", "--check")
    assert check.returncode == 0 and check.stdout.count("up to date") == 2
    import psycopg

    with psycopg.connect(postgresql_url) as conn:
        rows = conn.execute("SELECT migration_id FROM _yoyo_migration ORDER BY migration_id").fetchall()
    assert [r[0] for r in rows] == [
        "actions-0001-initial",
        "actions-0002-languages",
        "actions-0003-cases",
        "actions-0004-episodes",
        "actions-0005-queue-tally",
        "log-0001-initial",
    ]
