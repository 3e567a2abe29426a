"""JSON Lines in and out, with dead letters.

A line that is not valid JSON or not a valid event becomes a :class:`DeadLetter` that
names the field and the reason; the stream carries on. Card numbers are tokenized before
validation, and redacted from the raw text kept with a dead letter.

>>> lines = ['{"id":"a","time":"2026-01-01T00:00:00Z","kind":"account.login","account":"u1","success":true}',
...          '{"id":"b","time":"2026-01-01T00:00:01Z","kind":"payment.attempt","amount":-5,"currency":"JPY"}',
...          'not json']
>>> [type(x).__name__ for x in read_events(lines)]
['Login', 'DeadLetter', 'DeadLetter']
>>> bad = list(read_events(lines))[1]
>>> bad.line, bad.errors[0]["loc"], bad.errors[0]["msg"]
(2, 'amount', 'Input should be greater than or equal to 0')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from fraudwatch.events.kinds import EVENT_ADAPTER, KINDS, Envelope, event_to_dict
from fraudwatch.events.pan import Tokenizer, looks_like_pan

__all__ = ["DeadLetter", "read_events", "read_event_file", "parse_line", "format_errors", "redact", "dump_event"]

_PAN_CANDIDATE = re.compile(r"(?<![0-9])[0-9][0-9 -]{11,22}[0-9](?![0-9])")
MAX_LINE_BYTES = 256 * 1024


@dataclass(slots=True)
class DeadLetter:
    """An input line that could not become an event, with why."""

    line: int
    reason: str
    errors: list[dict[str, str]] = field(default_factory=list)
    raw: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "errors": self.errors, "raw": self.raw}


def redact(text: str) -> str:
    """Masks anything in free text that looks like a card number."""
    return _PAN_CANDIDATE.sub(lambda m: "[PAN REDACTED]" if looks_like_pan(m.group()) else m.group(), text)


def format_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``{"loc": "items[0].unit_price", "msg": ...}`` without the
    union tag that pydantic puts first."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        if loc and loc[0] in KINDS:
            loc = loc[1:]
        if err["type"] == "union_tag_invalid":
            loc, msg = ["kind"], f"unknown kind; expected one of: {', '.join(KINDS)}"
        elif err["type"] == "union_tag_not_found":
            loc, msg = ["kind"], "missing; every event needs a kind"
        else:
            msg = err["msg"]
        path = ""
        for part in loc:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        out.append({"loc": path or "(event)", "msg": msg})
    return out


def parse_line(text: str | bytes, line: int = 0, tokenizer: Tokenizer | None = None) -> Envelope | DeadLetter:
    """One JSON line to an event, or a dead letter saying which field and why."""
    if len(text) > MAX_LINE_BYTES:
        return DeadLetter(line, "line too long", [{"loc": "(line)", "msg": f"over {MAX_LINE_BYTES} bytes"}])
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return DeadLetter(line, "invalid JSON", [{"loc": "(line)", "msg": str(exc)}], redact(raw[:2000]))
    if not isinstance(data, dict):
        return DeadLetter(line, "not an object", [{"loc": "(line)", "msg": "each line must be a JSON object"}])
    if tokenizer is not None:
        data = tokenizer.sanitize(data)
    try:
        return EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raw = redact(orjson.dumps(data).decode()[:2000])
        return DeadLetter(line, "invalid event", format_errors(exc), raw)


def read_events(lines: Iterable[str | bytes], tokenizer: Tokenizer | None = None) -> Iterator[Envelope | DeadLetter]:
    """Events and dead letters in input order; blank lines are skipped."""
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        yield parse_line(text, number, tokenizer)


def read_event_file(
    path: Path,
    dead_letters: Path | None = None,
    on_dead_letter: Callable[[DeadLetter], None] | None = None,
    on_bytes: Callable[[int], object] | None = None,
) -> Iterator[Envelope]:
    """The valid events of a JSON Lines file. Each dead letter is written to
    ``dead_letters`` (the file is made at the first one) and handed to ``on_dead_letter``;
    ``on_bytes(n)`` hears every few thousand lines how many more bytes were read (a
    progress bar's ``update``)."""
    sink = None
    try:
        with path.open("rb") as lines:
            items = read_events(lines)
            if on_bytes is not None:
                items = _reporting(items, lines, on_bytes)
            for item in items:
                if not isinstance(item, DeadLetter):
                    yield item
                    continue
                if dead_letters is not None:
                    sink = sink or dead_letters.open("wb")
                    sink.write(orjson.dumps(item.to_dict()) + b"\n")
                if on_dead_letter is not None:
                    on_dead_letter(item)
    finally:
        if sink is not None:
            sink.close()


def _reporting(items: Iterator[Any], source: IO[bytes], on_bytes: Callable[[int], object]) -> Iterator[Any]:
    done = 0
    for i, item in enumerate(items, start=1):
        if not i & 4095:
            position = source.tell()
            on_bytes(position - done)
            done = position
        yield item
    position = source.tell()
    on_bytes(position - done)


def describe(letter: DeadLetter) -> str:
    """``line 7: invalid event: amount: Input should be ...``"""
    why = "; ".join(f"{e['loc']}: {e['msg']}" for e in letter.errors)
    return f"line {letter.line}: {letter.reason}: {why}"


def dump_event(event: Envelope, out: IO[bytes]) -> None:
    out.write(orjson.dumps(event_to_dict(event)) + b"\n")
