"""The actions domain on PostgreSQL: the same alerts, actions and incidents as on SQLite,
and dispatchers on several replicas sharing one outbox (``FOR UPDATE SKIP LOCKED``)."""

from __future__ import annotations

import threading
from collections import Counter

from fraudwatch.actions import Responder, outbox
from fraudwatch.actions.db import Database
from fraudwatch.actions.dispatcher import Dispatcher
from fraudwatch.actions.history import LogHistory
from fraudwatch.actions.service import set_subscription
from fraudwatch.storage.postgresql import PostgresStore

from .conftest import Receiver, wait_until
from .helpers import T0, decision, event, settings
from .test_logged import NO_DELIVERY, _entries, _responder, _state, _stream


def _on_postgresql(tmp_path, url, **kw):
    return settings(tmp_path, **kw).model_copy(update={"database_url": url})


def test_pages_of_the_log_on_postgresql_do_what_they_do_on_sqlite(tmp_path, postgresql_url):
    entries = _entries(_stream())
    on_sqlite = _responder(tmp_path / "a")
    on_sqlite.on_logged(entries, now=T0 + 500)
    log = PostgresStore(postgresql_url)
    with log.unit() as uow:
        uow.events.append(entries)
    on_pg = Responder(
        _on_postgresql(tmp_path / "b", postgresql_url, receiver=NO_DELIVERY), history=LogHistory(log.events)
    )
    assert on_pg.db.postgresql
    with on_pg.db.unit_of_work() as conn:
        set_subscription(conn, "tok_sub", email=None, usage_alerts=True, now=T0)
    for start in range(0, len(entries), 7):
        on_pg.on_logged(entries[start : start + 7], now=T0 + 500)
    expected = _state(on_sqlite)
    assert expected["outbox"] and expected["alerts"]
    assert _state(on_pg) == {**expected, "recent": []}  # (the lookback is read from the log there)
    assert on_pg.on_logged(entries, now=T0 + 600) == []  # handed over again: nothing twice


def test_dispatchers_of_three_replicas_share_the_outbox_and_send_each_message_once(tmp_path, postgresql_url):
    with Receiver() as rec:
        s = _on_postgresql(tmp_path, postgresql_url, receiver=rec, batch=5, concurrency=1)
        r = Responder(s)
        ids = []
        for n in range(40):
            e = event(f"e{n}", account=f"acct_{n}")
            ids += r.on_decision(e, decision(e, "block", "ato_gift_card_burst"), now=T0)
        dispatchers = [Dispatcher(Database(postgresql_url), s) for _ in range(3)]
        sent: Counter[int] = Counter()

        def run(i: int) -> None:
            while outbox.counts(dispatchers[i].db.connection())["pending"]:
                sent[i] += dispatchers[i].run_once()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        wait_until(lambda: outbox.counts(r.db.connection())["delivered"] == len(ids))
    assert sorted(rec.applied) == sorted(ids)
    assert len(rec.requests) == len(ids)  # no message claimed by two of them
    assert sum(sent.values()) == len(ids) and len(sent) >= 2  # the work was shared
