"""Importing a payment history: any CSV, Parquet or JSON Lines file through a mapping file
(which column gives each field of each event kind, with conversions) into fraudwatch events,
streaming, with a report. The handbook's data set is one mapping (``handbook.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fraudwatch.importer.convert import RESPONSE_CODES, exponent, to_minor
from fraudwatch.importer.mapping import Mapping, MappingError, load_mapping
from fraudwatch.importer.run import ImportReport, format_report, import_file, iter_events

__all__ = [
    "HANDBOOK_MAPPING",
    "ImportReport",
    "Mapping",
    "MappingError",
    "RESPONSE_CODES",
    "exponent",
    "format_report",
    "handbook_mapping",
    "import_file",
    "iter_events",
    "load_mapping",
    "to_minor",
]

HANDBOOK_MAPPING = Path(__file__).with_name("handbook.yaml")


def handbook_mapping(label_delay_days: float = 7.0) -> Mapping:
    """The handbook's mapping, its labels known ``label_delay_days`` after the payment."""
    data: dict[str, Any] = yaml.safe_load(HANDBOOK_MAPPING.read_text())
    for spec in data["events"]:
        if spec["kind"] == "label":
            spec["fields"]["time"]["shift"] = f"{label_delay_days * 86400:g}s"
    return Mapping.model_validate(data)
