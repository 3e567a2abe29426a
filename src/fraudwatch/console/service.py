"""The console inside ``fraudwatch serve``: started with the service (``start_console``),
it follows the event log into its index, keeps the sessions, and runs backtests.

Everything lives on ``app.state.console``; the routes find it there.
"""

from __future__ import annotations

import logging
from functools import partial

from fraudwatch.console.backtest import BacktestRunner
from fraudwatch.console.indexer import NAME, make_indexer
from fraudwatch.console.session import Sessions
from fraudwatch.console.store import ConsoleDB, console_db_path

log = logging.getLogger("fraudwatch.console")


class Console:
    def __init__(self, app, db_path: str):
        state = app.state
        self.settings = state.settings
        self.storage = state.storage
        self.db = ConsoleDB(db_path)
        self.sessions = Sessions(self.db, state.storage, state.auth)
        self.backtests = BacktestRunner(self.db, state.settings, state.storage)

    def close(self) -> None:
        self.backtests.close()
        self.db.close()


def start_console(app, service) -> Console:
    """Open the console's file, follow the log into its index (in a process of its own when
    the storage allows: see ``fraudwatch.api.follower``) and put the console on
    ``app.state.console``."""
    path = console_db_path(app.state.settings)
    console = Console(app, path)
    service.follow(NAME, partial(make_indexer, path))
    app.state.console = console
    return console
