"""A mapping file: which column of a history file gives each field of each event kind, and how
to convert it. Checked once when loaded; every mistake names its place in the file.

.. code-block:: yaml

    version: 1
    timezone: America/New_York        # of times written without an offset
    skip:                             # rows that are not events (any condition true: skipped)
      - {column: status, in: [TEST]}
    events:
      - kind: payment.attempt
        fields:
          id: txn_id                                   # a column, as it is
          time: {column: date, format: "%m/%d/%Y %I:%M %p"}
          pan: card_number                             # tokenized on the way in
          amount: {column: amount, units: major}       # $12.34 -> 1234 (the currency's exponent)
          currency: {value: USD}
          result: {column: code, map: {"00": approved}, default: declined}
          decline_reason: {column: code, map: {"51": insufficient_funds}, default: other}
      - kind: label
        when: {column: fraud_flag, is: true}          # only rows whose flag is true
        fields:
          id: {template: "lb-{txn_id}"}
          time: {column: date, format: "%m/%d/%Y %I:%M %p", shift: 7d}
          target: txn_id
          fraud: {value: true}

A field is ``column`` (a cell), ``value`` (a constant) or ``template`` (``"tx{TRANSACTION_ID}"``,
cells in braces), then converted for its field: times (``format``: ``iso``, ``unix``,
``unix_ms`` or a ``strptime`` pattern; ``timezone``; ``shift``), amounts (``units: major``
multiplies by the currency's exponent; ``round: true`` rounds extra decimals instead of
refusing the row), booleans (``true`` / ``false`` spellings), codes (``map`` with
``default``, or ``codes: iso8583`` for ``result`` and ``decline_reason``). A field with its
own ``when`` is set only on rows where the condition holds. Cells in ``nulls`` are empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fraudwatch.errors import ValidationFailed
from fraudwatch.events import TYPE_BY_KIND
from fraudwatch.events.pan import luhn_valid
from fraudwatch.importer.convert import (
    FALSE_SPELLINGS,
    RESPONSE_CODES,
    TRUE_SPELLINGS,
    CellError,
    parse_duration,
    parse_time,
    to_bool,
    to_minor,
    zone,
)

__all__ = ["Mapping", "MappingError", "load_mapping"]

MONEY_FIELDS = frozenset({"amount"})
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
Row = dict[str, Any]


class MappingError(ValidationFailed):
    """A mapping file that does not load; ``errors`` name the place and the problem."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Spec):
    """True for a row when every test given holds."""

    column: str
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    empty: bool | None = None
    is_: bool | None = Field(None, alias="is", description="the cell read as a boolean equals this")


class FieldSpec(_Spec):
    column: str | None = None
    value: Any = None
    template: str | None = None
    format: str = Field("iso", description="times: iso, unix, unix_ms or a strptime pattern")
    timezone: str | None = None
    shift: str | None = Field(None, description="times: add this duration (a label known 7d later)")
    units: Literal["major", "minor"] = "minor"
    round: bool = False
    map: dict[str, Any] | None = None
    codes: Literal["iso8583"] | None = None
    default: Any = None
    true: list[str] | None = None
    false: list[str] | None = None
    when: Condition | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k in ("column", "value", "template") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of column, value, template")
        if self.shift is not None:
            parse_duration(self.shift)
        if self.timezone is not None:
            zone(self.timezone)
        return self


class EventSpec(_Spec):
    kind: str
    when: Condition | None = None
    fields: dict[str, FieldSpec]

    @field_validator("fields", mode="before")
    @classmethod
    def _shorthand(cls, fields: Any) -> Any:
        if isinstance(fields, dict):  # "card: CUSTOMER_ID" means {column: CUSTOMER_ID}
            return {k: {"column": v} if isinstance(v, str) else v for k, v in fields.items()}
        return fields

    @model_validator(mode="after")
    def _known_fields(self) -> EventSpec:
        model = TYPE_BY_KIND.get(self.kind)
        if model is None:
            raise ValueError(f"unknown kind {self.kind!r}; known: {', '.join(TYPE_BY_KIND)}")
        unknown = set(self.fields) - set(model.model_fields) - {"pan"}
        if unknown:
            raise ValueError(f"{self.kind} has no field {', '.join(sorted(unknown))}")
        for name in ("id", "time"):
            if name not in self.fields:
                raise ValueError(f"every event needs {name}")
        for name, spec in self.fields.items():
            if spec.codes and name not in ("result", "decline_reason"):
                raise ValueError(f"{name}: codes: iso8583 gives result and decline_reason only")
        return self


class CsvOptions(_Spec):
    delimiter: str = ","
    encoding: str = "utf-8"
    skip_lines: int = Field(0, ge=0, description="lines before the header")


class Mapping(_Spec):
    version: Literal[1] = 1
    format: Literal["csv", "parquet", "jsonl"] | None = None
    csv: CsvOptions = CsvOptions()
    timezone: str = "UTC"
    nulls: list[str] = ["", "NA", "N/A", "NULL", "null", "None", "nan"]
    skip: list[Condition] = []
    events: Annotated[list[EventSpec], Field(min_length=1)]
    reorder_window: str = Field(
        "1h", description="rows may be this much out of time order; the output is in time order"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        zone(name)
        return name

    @field_validator("reorder_window")
    @classmethod
    def _window(cls, text: str) -> str:
        parse_duration(text)
        return text

    def format_of(self, path: Path) -> str:
        if self.format:
            return self.format
        suffix = path.suffix.lower().lstrip(".")
        found = {"csv": "csv", "tsv": "csv", "parquet": "parquet", "jsonl": "jsonl", "ndjson": "jsonl"}.get(suffix)
        if found is None:
            raise MappingError(f"cannot tell the format of {path.name}: set format: csv, parquet or jsonl")
        return found

    def columns(self) -> set[str]:
        """Every column the mapping reads."""
        out: set[str] = set()
        conditions = [*self.skip, *(e.when for e in self.events if e.when)]
        for e in self.events:
            for spec in e.fields.values():
                if spec.column:
                    out.add(spec.column)
                if spec.template:
                    out.update(_TEMPLATE.findall(spec.template))
                if spec.when:
                    conditions.append(spec.when)
        out.update(c.column for c in conditions)
        return out


def load_mapping(path: str | Path) -> Mapping:
    """A mapping file, checked; raises :class:`MappingError` naming each problem's place."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"cannot read mapping {path}: {exc}") from None
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"loc": ".".join(str(p) for p in err["loc"]), "msg": err["msg"].removeprefix("Value error, ")}
            for err in exc.errors(include_url=False)
        ]
        lines = "\n  ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        raise MappingError(f"invalid mapping {path}:\n  {lines}", errors) from None


# ------------------------------------------------------------------ compiled converters
def _field_type(kind: str, name: str) -> str:
    if name == "pan":
        return "pan"
    annotation = TYPE_BY_KIND[kind].model_fields[name].annotation
    args = [a for a in (get_args(annotation) or (annotation,)) if a is not type(None)]
    first = args[0]
    if get_origin(first) is Annotated:
        first = get_args(first)[0]
    if name == "time" or getattr(first, "__name__", "") == "datetime":
        return "time"
    if name in MONEY_FIELDS:
        return "money"
    if first is bool:
        return "bool"
    if first is int:
        return "int"
    return "str"


def condition(spec: Condition, nulls: frozenset[str]) -> Callable[[Row], bool]:
    col = spec.column
    inside = None if spec.in_ is None else frozenset(spec.in_)
    outside = None if spec.not_in is None else frozenset(spec.not_in)

    def test(row: Row) -> bool:
        value = row.get(col)
        empty = value is None or (isinstance(value, str) and value.strip() in nulls)
        text = "" if value is None else str(value).strip()
        if spec.empty is not None and empty != spec.empty:
            return False
        if inside is not None and text not in inside:
            return False
        if outside is not None and text in outside:
            return False
        if spec.is_ is not None:
            if empty:
                return False
            try:
                if to_bool(value) != spec.is_:
                    return False
            except CellError:
                return False
        return True

    return test


class Converter:
    """One field of one event kind: reads its cells and returns the field's value (None:
    leave the field out) or raises :class:`CellError`."""

    def __init__(self, kind: str, name: str, spec: FieldSpec, mapping: Mapping):
        self.name = name
        self.column = spec.column or spec.template or "(value)"
        self.spec = spec
        self.type = _field_type(kind, name)
        self.nulls = frozenset(mapping.nulls)
        self.tz = zone(spec.timezone or mapping.timezone)
        self.shift = parse_duration(spec.shift) if spec.shift else timedelta(0)
        self.when = condition(spec.when, self.nulls) if spec.when else None
        self.true = frozenset(s.lower() for s in spec.true) if spec.true else TRUE_SPELLINGS
        self.false = frozenset(s.lower() for s in spec.false) if spec.false else FALSE_SPELLINGS
        self.template_columns = _TEMPLATE.findall(spec.template) if spec.template else []

        self.read = self._reader()
        self.convert = self._converter()

    def _reader(self) -> Callable[[Row], Any]:
        """The cell (or template, or constant) of a row; None for an empty cell."""
        spec, nulls = self.spec, self.nulls
        if spec.column is not None:
            col = spec.column

            def cell(row: Row) -> Any:
                value = row.get(col)
                if value.__class__ is str and value.strip() in nulls:
                    return None
                return value

            return cell
        if spec.template is not None:
            template, columns = spec.template, self.template_columns

            def fill(row: Row) -> Any:
                for col in columns:
                    cell = row.get(col)
                    if cell is None or (cell.__class__ is str and cell.strip() in nulls):
                        return None
                return template.format_map(row)

            return fill
        constant = spec.value
        return lambda row: constant

    def _converter(self) -> Callable[[Any, str | None], Any]:
        """The value's conversion for the field's type (codes and maps first)."""
        spec, name = self.spec, self.name
        if spec.codes:
            part = 0 if name == "result" else 1
            return lambda value, currency: RESPONSE_CODES.get(str(value).strip().upper(), ("declined", "other"))[part]
        typed = self._typed()
        if spec.map is None:
            return typed
        table, default = spec.map, spec.default

        def mapped(value: Any, currency: str | None) -> Any:
            key = str(value).strip()
            if key in table:
                value = table[key]
            elif default is not None:
                value = default
            else:
                raise CellError(f"unknown value {key!r}; the mapping knows {', '.join(list(table)[:12])}")
            return None if value is None else typed(value, currency)

        return mapped

    def _typed(self) -> Callable[[Any, str | None], Any]:
        spec = self.spec
        if self.type == "time":
            fmt, tz, shift = spec.format, self.tz, self.shift
            if shift:
                return lambda value, currency: parse_time(value, fmt, tz) + shift
            return lambda value, currency: parse_time(value, fmt, tz)
        if self.type == "money":
            if spec.units == "minor":
                return lambda value, currency: _int(value)
            round_half_even = spec.round

            def money(value: Any, currency: str | None) -> int:
                if currency is None:
                    raise CellError("major units need the event's currency")
                return to_minor(value, currency, round_half_even=round_half_even)

            return money
        if self.type == "bool":
            true, false = self.true, self.false
            return lambda value, currency: to_bool(value, true, false)
        if self.type == "int":
            return lambda value, currency: _int(value)
        if self.type == "pan":
            return lambda value, currency: card_digits(value)

        def text(value: Any, currency: str | None) -> Any:
            if value.__class__ is str:
                return value
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)

        return text

    def __call__(self, row: Row, currency: str | None) -> Any:
        if self.when is not None and not self.when(row):
            return None
        value = self.read(row)
        return None if value is None else self.convert(value, currency)


def card_digits(value: Any) -> str:
    """The digits of a card number column: 12 to 19 (ISO/IEC 7812; Maestro has 12) passing the
    Luhn check, spaces and dashes allowed. The cell is never echoed in the error: it may be a
    mistyped real card number."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(value)
    else:
        digits = str(value).strip().replace(" ", "").replace("-", "")
    if not digits.isdigit():
        raise CellError("not a card number (not digits)")
    if not 12 <= len(digits) <= 19:
        raise CellError(f"not a card number ({len(digits)} digits, not 12 to 19)")
    if not luhn_valid(digits):
        raise CellError("not a card number (fails the Luhn check)")
    return digits


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        raise CellError(f"{value!r} is not a whole number") from None
    if not number.is_integer():
        raise CellError(f"{value!r} is not a whole number")
    return int(number)
