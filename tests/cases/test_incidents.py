"""Incident status machine: the table allows the lifecycle and refuses everything else."""

from __future__ import annotations

import itertools

import pytest

from fraudwatch.actions.db import Database
from fraudwatch.cases import TRANSITIONS, IllegalTransition, IncidentStatus, create_incident, get_incident, transition

S = IncidentStatus


@pytest.fixture
def db(tmp_path):
    return Database(str(tmp_path / "cases.db"))


def test_lifecycle_open_contained_recovered_closed(db):
    for recovery in (S.REFUNDED, S.REVERSED, S.CHARGED_BACK):
        with db.unit_of_work() as conn:
            inc = create_incident(
                conn,
                trigger_event=f"e-{recovery.value}",
                events=["x", "y", "x"],
                card="tok_1",
                account="acct_1",
                now=1.0,
            )
            for n, status in enumerate((S.CONTAINED, recovery, S.CLOSED)):
                inc = transition(conn, inc.id, status, now=2.0 + n, note=status.value)
        assert inc.status is S.CLOSED and inc.events == [f"e-{recovery.value}", "x", "y"]
        assert [h["to"] for h in inc.history] == ["open", "contained", recovery.value, "closed"]


def test_every_move_outside_the_table_is_refused_and_changes_nothing(db):
    for source, target in itertools.product(S, S):
        if target in TRANSITIONS[source]:
            continue
        with db.unit_of_work() as conn:
            inc = create_incident(
                conn, trigger_event=f"{source.value}-{target.value}", events=[], card=None, account=None, now=0.0
            )
            path = {S.OPEN: [], S.CONTAINED: [S.CONTAINED], S.CLOSED: [S.CONTAINED, S.CLOSED]}.get(
                source, [S.CONTAINED, source]
            )
            for step in path:
                transition(conn, inc.id, step, now=1.0)
        with pytest.raises(IllegalTransition, match=f"from {source.value} to {target.value}"):
            with db.unit_of_work() as conn:
                transition(conn, inc.id, target, now=2.0)
        assert get_incident(db.connection(), inc.id).status is source


def test_one_incident_per_trigger_event(db):
    with db.unit_of_work() as conn:
        a = create_incident(conn, trigger_event="e1", events=[], card="c", account=None, now=0.0)
        b = create_incident(conn, trigger_event="e1", events=["z"], card="c", account=None, now=1.0)
    assert a.id == b.id and b.events == ["e1"]
