"""``fraudwatch import``: a history file (CSV, Parquet, JSON Lines) through a mapping into a
fraudwatch event file, streaming, with a report.

Rows are read one at a time (Parquet: a row group slice at a time), converted, checked with
the event models and written at once; memory holds only the events waiting in the reorder
buffer, so a file of tens of GB imports in constant memory. The rows are expected in the
time order of the mapping's first event kind (the row's own event, a payment), within
``reorder_window``; the other kinds of a row (a label known 30 days later) wait in the
buffer until their time comes. The output is in event-time order (ties: row order, then the
mapping's order of kinds). A row any of whose events fails is rejected whole, with the
column and the reason.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from fraudwatch.events import EVENT_ADAPTER, TYPE_BY_KIND, Tokenizer, format_errors
from fraudwatch.events.io import redact
from fraudwatch.importer.convert import CellError, parse_duration
from fraudwatch.importer.mapping import Converter, Mapping, MappingError, Row, condition
from fraudwatch.progress import progress_bar

__all__ = ["ImportReport", "import_file", "iter_events", "format_report"]

MAX_EXAMPLES = 50
PARQUET_BATCH_ROWS = 16_384


@dataclass
class ImportReport:
    source: str = ""
    rows_read: int = 0
    rows_skipped: int = 0
    rows_without_event: int = 0
    rows_rejected: int = 0
    events_written: Counter = field(default_factory=Counter)
    rejections: Counter = field(default_factory=Counter)  # "column: field: first words of the reason"
    examples: list[dict[str, Any]] = field(default_factory=list)
    nulls: dict[str, Counter] = field(default_factory=dict)  # kind -> field -> events without it
    first_time: str | None = None
    last_time: str | None = None
    out_of_order: int = 0
    seconds: float = 0.0

    def null_rates(self) -> dict[str, dict[str, float]]:
        return {
            kind: {name: n / max(1, self.events_written[kind]) for name, n in counts.items()}
            for kind, counts in self.nulls.items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "rows_without_event": self.rows_without_event,
            "rows_rejected": self.rows_rejected,
            "events_written": dict(self.events_written),
            "rejections": dict(self.rejections.most_common()),
            "rejected_examples": self.examples,
            "null_rates": self.null_rates(),
            "time_range": {"first": self.first_time, "last": self.last_time},
            "out_of_order": self.out_of_order,
            "seconds": round(self.seconds, 2),
        }


class _Counting(io.RawIOBase):
    """A binary file that tells a progress callback how many bytes were read."""

    def __init__(self, raw: IO[bytes], progress):
        self.raw, self.progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.progress(n)
        return n


def _rows(path: Path, mapping: Mapping, fmt: str, quiet: bool) -> Iterator[Row]:
    if fmt == "parquet":
        import pyarrow.parquet as pq  # fraudwatch[model]

        pf = pq.ParquetFile(path)
        present = set(pf.schema_arrow.names)
        missing = mapping.columns() - present
        if missing:
            raise MappingError(f"{path.name} has no column {', '.join(sorted(missing))}")
        with progress_bar(total=pf.metadata.num_rows, unit="rows", desc=path.name, quiet=quiet) as bar:
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=sorted(mapping.columns())):
                yield from batch.to_pylist()
                bar.update(batch.num_rows)
        return
    with (
        open(path, "rb") as raw,
        progress_bar(total=os.path.getsize(path), unit="B", desc=path.name, quiet=quiet) as bar,
    ):
        counted = io.BufferedReader(_Counting(raw, bar.update), buffer_size=1 << 20)
        if fmt == "jsonl":
            for line in counted:
                if line.strip():
                    row = orjson.loads(line)
                    if not isinstance(row, dict):
                        raise MappingError(f"{path.name}: each line must be a JSON object")
                    yield row
            return
        text = io.TextIOWrapper(counted, encoding=mapping.csv.encoding, newline="")
        for _ in range(mapping.csv.skip_lines):
            text.readline()
        reader = csv.reader(text, delimiter=mapping.csv.delimiter)
        header = [h.strip() for h in next(reader, [])]
        missing = mapping.columns() - set(header)
        if missing:
            raise MappingError(f"{path.name} has no column {', '.join(sorted(missing))} (its header: {header[:30]})")
        for cells in reader:
            yield dict(zip(header, cells, strict=False))


def _iso(t: datetime) -> str:
    text = t.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _Plan:
    """The mapping compiled: per kind, its row condition and field converters."""

    def __init__(self, mapping: Mapping):
        nulls = frozenset(mapping.nulls)
        self.skip = [condition(c, nulls) for c in mapping.skip]
        self.kinds = []
        for spec in mapping.events:
            converters = [Converter(spec.kind, name, f, mapping) for name, f in spec.fields.items()]
            # the currency first: amounts in major units need it
            converters.sort(key=lambda c: c.name != "currency")
            order = list(spec.fields)
            self.kinds.append((spec.kind, condition(spec.when, nulls) if spec.when else None, converters, order))
        self.pan = any("pan" in spec.fields for spec in mapping.events)
        # columns of card numbers: masked whole in rejected rows, whatever they hold
        self.pan_columns = frozenset(
            f.column for spec in mapping.events for name, f in spec.fields.items() if name == "pan" and f.column
        )


def iter_events(
    path: str | Path,
    mapping: Mapping,
    *,
    tokenizer: Tokenizer | None = None,
    report: ImportReport | None = None,
    rejects: IO[bytes] | None = None,
    limit: int | None = None,
    quiet: bool = True,
) -> Iterator[dict[str, Any]]:
    """Event dicts, in event-time order, from the rows of ``path``; ``report`` is filled in
    as they go. Rejected rows go to ``rejects`` (JSON Lines: row, column, field, reason, the
    row with card numbers redacted)."""
    path = Path(path)
    plan = _Plan(mapping)
    if plan.pan and tokenizer is None:
        raise MappingError("the mapping reads card numbers (pan): a token key is needed to tokenize them")
    report = report if report is not None else ImportReport()
    report.source = str(path)
    window = parse_duration(mapping.reorder_window).total_seconds()
    waiting: list[tuple[float, int, int, dict[str, Any]]] = []
    watermark = float("-inf")  # the latest time of a row's own event (the mapping's first kind) so far
    emitted_until = float("-inf")
    first = last = None
    started = time.perf_counter()

    for number, row in enumerate(_rows(path, mapping, mapping.format_of(path), quiet), start=1):
        if limit is not None and number > limit:
            break
        report.rows_read += 1
        if any(test(row) for test in plan.skip):
            report.rows_skipped += 1
            continue
        made = []
        failure = None
        for position, (kind, when, converters, order) in enumerate(plan.kinds):
            if when is not None and not when(row):
                continue
            values: dict[str, Any] = {}
            for conv in converters:
                try:
                    value = conv(row, values.get("currency"))
                except CellError as exc:
                    failure = (conv.column, conv.name, str(exc))
                    break
                if value is not None:
                    values[conv.name] = value
            if failure:
                break
            event = _ordered(kind, values, order)
            ts = values["time"].timestamp() if "time" in values else None
            if "time" in values:
                event["time"] = _iso(values["time"])
            if tokenizer is not None:
                pan = event.pop("pan", None)
                if pan is not None:  # checked digits (card_digits): token, last 4 and BIN where the kind has them
                    event["card"] = tokenizer.token(pan)
                    fields = TYPE_BY_KIND[kind].model_fields
                    if "card_last4" in fields:
                        event["card_last4"] = pan[-4:]
                    if "card_bin" in fields:
                        event.setdefault("card_bin", pan[:6])
                event = tokenizer.sanitize(event)  # a card number in the card column is tokenized too
            try:
                EVENT_ADAPTER.validate_python(event)
            except ValidationError as exc:
                err = format_errors(exc)[0]
                name = err["loc"].split(".")[0].split("[")[0]
                column = next((c.column for c in converters if c.name == name), "(none)")
                failure = (column, err["loc"], err["msg"])
                break
            made.append((ts, position, event, converters))
        if failure:
            _reject(report, rejects, number, row, *failure, masked=plan.pan_columns)
            continue
        if not made:
            report.rows_without_event += 1
            continue
        for ts, position, event, converters in made:
            if ts < emitted_until:
                report.out_of_order += 1
            if position == 0:  # the mapping's first kind is the row's own event: it sets the order
                watermark = max(watermark, ts)
            kind = event["kind"]
            nulls = report.nulls.get(kind)
            if nulls is None:
                nulls = report.nulls[kind] = Counter()
            for conv in converters:
                if conv.name not in event and conv.name != "pan":
                    nulls[conv.name] += 1
            heapq.heappush(waiting, (ts, number, position, event))
        while waiting and waiting[0][0] <= watermark - window:
            ts, _, _, event = heapq.heappop(waiting)
            emitted_until = ts
            first = ts if first is None else first
            last = ts
            report.events_written[event["kind"]] += 1
            yield event
    while waiting:
        ts, _, _, event = heapq.heappop(waiting)
        first = ts if first is None else first
        last = ts
        report.events_written[event["kind"]] += 1
        yield event
    report.first_time = None if first is None else _iso(datetime.fromtimestamp(first, tz=UTC))
    report.last_time = None if last is None else _iso(datetime.fromtimestamp(last, tz=UTC))
    report.seconds = time.perf_counter() - started


def _ordered(kind: str, values: dict[str, Any], order: list[str]) -> dict[str, Any]:
    """``id``, ``time``, ``kind``, then the fields in the mapping's order."""
    event: dict[str, Any] = {}
    for name in ("id", "time"):
        if name in values:
            event[name] = values[name]
    event["kind"] = kind
    for name in order:
        if name in values and name not in event:
            event[name] = values[name]
    return event


def _reject(
    report: ImportReport,
    sink: IO[bytes] | None,
    number: int,
    row: Row,
    column: str,
    name: str,
    why: str,
    masked: frozenset[str] = frozenset(),
):
    report.rows_rejected += 1
    report.rejections[f"{column} -> {name}: {_shape(why)}"] += 1
    entry = {"row": number, "column": column, "field": name, "reason": why}
    if len(report.examples) < MAX_EXAMPLES:
        report.examples.append(entry)
    if sink is not None:
        shown = {k: "[PAN REDACTED]" if k in masked and v is not None else v for k, v in row.items()}
        raw = redact(orjson.dumps(shown, default=str).decode())
        sink.write(orjson.dumps({**entry, "raw": orjson.loads(raw)}) + b"\n")


def _shape(reason: str) -> str:
    """A reason without the cell's value, so the same problem counts as one line."""
    return reason.split("'")[0].split('"')[0].strip() or reason[:60]


def import_file(
    path: str | Path,
    mapping: Mapping,
    out: str | Path,
    *,
    tokenizer: Tokenizer | None = None,
    rejects: str | Path | None = None,
    limit: int | None = None,
    quiet: bool = False,
) -> ImportReport:
    """Write the events of ``path`` to ``out`` (JSON Lines) and return the report."""
    report = ImportReport()
    out = Path(out)
    tmp = out.with_name(out.name + ".part")
    sink = open(rejects, "wb") if rejects else None
    try:
        with open(tmp, "wb") as f:
            for event in iter_events(
                path, mapping, tokenizer=tokenizer, report=report, rejects=sink, limit=limit, quiet=quiet
            ):
                f.write(orjson.dumps(event) + b"\n")
        os.replace(tmp, out)
    finally:
        if sink is not None:
            sink.close()
        if tmp.exists():
            tmp.unlink()
    return report


def format_report(report: ImportReport, top: int = 10) -> str:
    d = report.to_dict()
    written = sum(report.events_written.values())
    lines = [
        f"{d['rows_read']:,} rows read: {written:,} events written "
        + "("
        + ", ".join(f"{k} {n:,}" for k, n in report.events_written.items())
        + f"), {d['rows_rejected']:,} rows rejected, {d['rows_skipped']:,} skipped, "
        f"{d['rows_without_event']:,} without an event",
        f"time range: {d['time_range']['first']} .. {d['time_range']['last']}",
    ]
    if report.out_of_order:
        lines.append(f"{report.out_of_order:,} events later than the reorder window allows: written out of order")
    if report.rejections:
        lines.append("rejected rows by column and reason:")
        lines += [f"  {n:>8,}  {why}" for why, n in report.rejections.most_common(top)]
        lines.append("first rejected rows:")
        lines += [f"  row {e['row']}: {e['column']} -> {e['field']}: {e['reason']}" for e in report.examples[:top]]
    for kind, rates in d["null_rates"].items():
        empty = {k: v for k, v in rates.items() if v > 0}
        if empty:
            lines.append(f"{kind}: fields left empty: " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(empty.items())))
    lines.append(f"{d['seconds']:.1f} s")
    return "\n".join(lines)
