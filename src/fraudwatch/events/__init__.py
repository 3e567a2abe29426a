"""Events: typed, versioned kinds in one flat envelope; JSON Lines in and out."""

from fraudwatch.events.io import DeadLetter, dump_event, format_errors, parse_line, read_events
from fraudwatch.events.kinds import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    KINDS,
    SCHEMA_VERSION,
    TYPE_BY_KIND,
    Envelope,
    Event,
    event_to_dict,
    json_schema,
    parse_event,
)
from fraudwatch.events.pan import Tokenizer, looks_like_pan, may_hold_card_number

__all__ = [
    "DeadLetter",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "Envelope",
    "Event",
    "KINDS",
    "SCHEMA_VERSION",
    "TYPE_BY_KIND",
    "Tokenizer",
    "dump_event",
    "event_to_dict",
    "format_errors",
    "json_schema",
    "looks_like_pan",
    "may_hold_card_number",
    "parse_event",
    "parse_line",
    "read_events",
]
