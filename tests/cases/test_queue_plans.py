"""The queue's filters answer the same whichever way the query is planned: a filter that keeps
few cases leads the query (its index, then a sort), one that keeps many does not (the sort's
index is walked). Both sides of the threshold, against the same answer computed in Python."""

from __future__ import annotations

import random

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases import store

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
