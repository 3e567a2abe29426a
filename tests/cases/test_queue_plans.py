"""The queue's filters answer the same whichever way the query is planned: a filter that keeps
few cases leads the query (its index, then a sort), one that keeps many does not (the sort's
index is walked). Both sides of the threshold, against the same answer computed in Python."""

from __future__ import annotations

import random
import shutil
import sqlite3

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases import store
from fraudwatch.storage import domain_connection, schema
from fraudwatch.storage.postgresql import yoyo_uri

QUEUE = ("open", "in_review")
N = 3 * store._FEW  # enough for a wide filter on both sides of the threshold


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    rng = random.Random(5)
    db = Database(str(tmp_path_factory.mktemp("queue") / "fraudwatch-actions.db"))
    with db.unit_of_work() as c:
        for i in range(N):
            case_id = f"case-{i:05d}"
            store.insert_case(
                c,
                {
                    "id": case_id,
                    "reference": f"R{i:05d}",
                    "status": rng.choice(("open", "in_review", "closed", "monitoring")),
                    "started": 1.0,
                    "last_seen": 1.0 + rng.randrange(1000),
                    "created": 1.0,
                    "updated": 1.0,
                    "priority": rng.randrange(4),
                    "due_at": float(rng.randrange(100)),
                    "queued_at": float(rng.randrange(100)),
                    # one case in 500 above 1,000,000: a narrow amount filter
                    "amount_at_risk": 2_000_000 if i % 500 == 0 else rng.randrange(1_000_000),
                },
            )
            store.add_rules(c, case_id, ["common"] + (["rare"] if i % 97 == 0 else []))
    yield db.connection()
    db.close()


def _expected(conn, sort, *, rule=None, min_amount=None, limit=50):
    rows = [dict(r) for r in conn.execute("SELECT * FROM cases WHERE status IN ('open', 'in_review')")]
    if rule is not None:
        ids = {r[0] for r in conn.execute("SELECT case_id FROM case_rules WHERE rule = ?", (rule,))}
        rows = [r for r in rows if r["id"] in ids]
    if min_amount is not None:
        rows = [r for r in rows if r["amount_at_risk"] >= min_amount]
    keys = {
        "priority": lambda r: (-r["priority"], r["due_at"], r["id"]),
        "due": lambda r: (r["due_at"], r["id"]),
        "amount": lambda r: (-r["amount_at_risk"], r["id"]),
    }
    return [r["id"] for r in sorted(rows, key=keys[sort])][:limit]


@pytest.mark.parametrize("sort", ["priority", "due", "amount"])
@pytest.mark.parametrize(
    "filters",
    [
        {"rule": "rare"},  # ~60 cases: the rule leads
        {"rule": "common"},  # every case: the sort's index leads
        {"min_amount": 1_500_000},  # 1 in 500: the amount index leads
        {"min_amount": 100_000},  # 9 in 10: the sort's index leads
        {"rule": "rare", "min_amount": 500_000},
        {"rule": "absent"},
    ],
)
def test_a_filtered_queue_page_is_the_same_whichever_index_leads(conn, sort, filters):
    got = [r["id"] for r in store.list_cases(conn, statuses=QUEUE, sort=sort, **filters)]
    assert got == _expected(conn, sort, **filters)
    if filters != {"rule": "absent"}:
        assert got  # the cases exist: the comparison is not between two empty pages


def test_the_threshold_tells_a_narrow_filter_from_a_wide_one(conn):
    assert store._fewer(conn, "SELECT 1 FROM case_rules WHERE rule = ?", ("rare",))
    assert not store._fewer(conn, "SELECT 1 FROM case_rules WHERE rule = ?", ("common",))


# ------------------------------------------------------------------ the counts beside the queue
def _brute_counts(conn, statuses) -> dict:
    """What the counts must be, read from the cases themselves."""
    marks = ", ".join("?" * len(statuses))
    rows = [dict(r) for r in conn.execute(f"SELECT * FROM cases WHERE status IN ({marks})", tuple(statuses))]
    counts: dict = {facet: {} for facet in ("status", "priority", "trigger", "assignee", "scenario", "rule")}
    for r in rows:
        for facet in ("status", "priority", "trigger", "assignee", "scenario"):
            counts[facet][r[facet]] = counts[facet].get(r[facet], 0) + 1
    ids = {r["id"] for r in rows}
    for r in conn.execute("SELECT rule, case_id FROM case_rules"):
        if r["case_id"] in ids:
            counts["rule"][r["rule"]] = counts["rule"].get(r["rule"], 0) + 1
    counts["total"] = len(rows)
    return counts


def _early_cases(c, rng, statuses) -> None:
    """300 cases with rules, written as a release before the counts' migration did."""
    for i in range(300):
        store.insert_case(
            c,
            {
                "id": f"c{i}",
                "reference": f"R{i}",
                "status": rng.choice(statuses),
                "started": 1.0,
                "last_seen": 1.0,
                "created": 1.0,
                "updated": 1.0,
                "priority": rng.randrange(4),
                "trigger": rng.choice((None, "review", "chargeback")),
                "scenario": rng.choice((None, "ato", "card_testing")),
            },
        )
        store.add_rules(c, f"c{i}", rng.sample(["r1", "r2", "r3", "r4"], rng.randrange(3)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_counts_beside_the_queue_are_those_of_the_cases_through_every_change(backend, tmp_path, request):
    url = request.getfixturevalue("postgresql_url") if backend == "postgresql" else str(tmp_path / "a.db")
    # the first cases are made before the counts' migration, which counts them
    before = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, before)
    for tally in before.glob("actions/*/actions-0005-queue-tally.sql"):
        tally.unlink()
    uri = yoyo_uri(url) if backend == "postgresql" else schema.sqlite_uri(url)
    schema.migrate(uri, ["actions"], "postgresql" if backend == "postgresql" else "sqlite", root=before)
    early = domain_connection(url) if backend == "postgresql" else sqlite3.connect(url, isolation_level=None)
    rng = random.Random(7)
    statuses = ("open", "in_review", "monitoring", "recovering", "closed")
    early.execute("BEGIN")
    _early_cases(early, rng, statuses)
    early.execute("COMMIT")
    early.close()
    db = Database(url)  # migrates: the counts' table, filled from the cases there
    assert store.queue_counts(db.connection(), statuses=statuses, due_before=0.0)["total"] == 300
    for step in range(6):
        with db.unit_of_work() as c:
            for _ in range(60):
                case_id = f"c{rng.randrange(300)}"
                if store.get_case(c, case_id) is None:
                    continue
                change = rng.choice(("status", "assignee", "priority", "rule", "touch"))
                if change == "status":
                    store.update_case(c, case_id, {"status": rng.choice(statuses)})
                elif change == "assignee":
                    store.update_case(c, case_id, {"assignee": rng.choice((None, "ann", "ben"))})
                elif change == "priority":
                    store.update_case(c, case_id, {"priority": rng.randrange(4), "trigger": "fraud_report"})
                elif change == "rule":
                    store.add_rules(c, case_id, [rng.choice(["r1", "r2", "r5"])])
                else:  # a change the counts do not see
                    store.update_case(c, case_id, {"last_seen": 2.0 + step})
            if step == 3:  # retention: a case's rules go, then the case
                for case_id in ("c1", "c2", "c3"):
                    c.execute("DELETE FROM case_rules WHERE case_id = ?", (case_id,))
                    c.execute("DELETE FROM cases WHERE id = ?", (case_id,))
        conn = db.connection()
        for chosen in (QUEUE, statuses, ("closed",)):
            got = store.queue_counts(conn, statuses=chosen, due_before=0.0)
            assert {k: v for k, v in got.items() if k != "overdue"} == _brute_counts(conn, chosen), (step, chosen)
    db.close()
