"""The handbook importer as it was before it became a mapping file (``importer/handbook.yaml``),
kept as the reference its output must equal.

Importer for the Fraud Detection Handbook's simulated transactions.

Each row becomes a ``payment.attempt`` (id ``tx<TRANSACTION_ID>``, card ``c<CUSTOMER_ID>``,
terminal ``t<TERMINAL_ID>``, amount in euro cents, result approved; ``scenario`` holds
``handbook:<TX_FRAUD_SCENARIO>`` for frauds). Each fraud also gives a ``label`` event
(``lb<TRANSACTION_ID>``) at the payment's time plus the label delay, when the handbook
says a fraud becomes known (7 days). Timestamps, naive in the data, are read as UTC.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["iter_handbook_events", "DEFAULT_LABEL_DELAY_DAYS"]

DEFAULT_LABEL_DELAY_DAYS = 7.0
_COLUMNS = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD", "TX_FRAUD_SCENARIO"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def _rows(path: Path, limit: int | None) -> Iterator[tuple[Any, ...]]:
    import pyarrow.parquet as pq  # optional dependency: fraudwatch[model]

    table = pq.read_table(path, columns=_COLUMNS)
    if limit is not None:
        table = table.slice(0, limit)
    tx_id = table["TRANSACTION_ID"].to_numpy()
    # microseconds since the epoch, naive timestamps taken as UTC
    when = table["TX_DATETIME"].cast("timestamp[us]").cast("int64").to_numpy() / 1e6
    customer = table["CUSTOMER_ID"].to_numpy()
    terminal = table["TERMINAL_ID"].to_numpy()
    amount = table["TX_AMOUNT"].to_numpy()
    fraud = table["TX_FRAUD"].to_numpy()
    scenario = table["TX_FRAUD_SCENARIO"].to_numpy()
    order = when.argsort(kind="stable")  # event-time order (ids are already nearly so)
    for i in order:
        yield (
            int(tx_id[i]),
            float(when[i]),
            int(customer[i]),
            int(terminal[i]),
            float(amount[i]),
            int(fraud[i]),
            int(scenario[i]),
        )


def iter_handbook_events(
    path: str | Path, label_delay_days: float = DEFAULT_LABEL_DELAY_DAYS, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """Event dicts in event-time order: payments merged with their delayed fraud labels."""
    delay = label_delay_days * 86400.0
    pending: list[tuple[float, int, int, int]] = []  # (label time, transaction, card, terminal)
    for tx, ts, customer, terminal, amount, fraud, scenario in _rows(Path(path), limit):
        while pending and pending[0][0] <= ts:
            yield _label(*heapq.heappop(pending))
        event: dict[str, Any] = {
            "id": f"tx{tx}",
            "time": _iso(ts),
            "kind": "payment.attempt",
            "card": f"c{customer}",
            "terminal": f"t{terminal}",
            "amount": int(round(amount * 100)),
            "currency": "EUR",
            "result": "approved",
        }
        if fraud:
            event["scenario"] = f"handbook:{scenario}"
            heapq.heappush(pending, (ts + delay, tx, customer, terminal))
        yield event
    while pending:
        yield _label(*heapq.heappop(pending))


def _label(ts: float, tx: int, customer: int, terminal: int) -> dict[str, Any]:
    return {
        "id": f"lb{tx}",
        "time": _iso(ts),
        "kind": "label",
        "card": f"c{customer}",
        "terminal": f"t{terminal}",
        "target": f"tx{tx}",
        "fraud": True,
        "source": "dataset",
    }
