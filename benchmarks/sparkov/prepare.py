"""Join the Sparkov generator's output into one time-ordered CSV for ``fraudwatch import``.

    python benchmarks/sparkov/prepare.py GENERATED_DIR --out var/sparkov.csv

The generator (Brandon Harris's Sparkov_Data_Generation, MIT licence; docs/benchmarks/sparkov.md)
writes one pipe-separated file per customer profile and chunk of customers, each ordered by
customer, not by time. This writes them as one comma-separated file sorted by transaction time, in
the column layout of the widely used published files made with the same generator
(``trans_date_trans_time, cc_num, merchant, category, amt, ..., is_fraud``), so
``benchmarks/sparkov/mapping.yaml`` reads either. ``customers.csv`` (the customer list) is skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COLUMNS = [
    "trans_date_trans_time",
    "cc_num",
    "merchant",
    "category",
    "amt",
    "first",
    "last",
    "gender",
    "street",
    "city",
    "state",
    "zip",
    "lat",
    "long",
    "city_pop",
    "job",
    "dob",
    "trans_num",
    "unix_time",
    "merch_lat",
    "merch_long",
    "is_fraud",
]
GENERATED = {*COLUMNS[1:], "trans_date", "trans_time"} - {"trans_date_trans_time"}


def prepare(generated: Path, out: Path) -> int:
    """Write ``out`` from the transaction files under ``generated``; returns the rows written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    files = sorted(p for p in generated.glob("*.csv") if p.name != "customers.csv")
    if not files:
        raise SystemExit(f"{generated}: no transaction files (*.csv other than customers.csv)")
    tables = []
    for path in files:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter="|"),
            # every column as text, as written: card numbers and zip codes are not numbers
            convert_options=pacsv.ConvertOptions(column_types={name: pa.string() for name in GENERATED}),
        )
        missing = GENERATED - set(table.column_names)
        if missing:
            raise SystemExit(f"{path}: not a Sparkov transaction file (no column {', '.join(sorted(missing))})")
        tables.append(table.select(sorted(GENERATED)))
    table = pa.concat_tables(tables)
    when = pc.binary_join_element_wise(table["trans_date"], table["trans_time"], " ")
    table = table.append_column("trans_date_trans_time", when)
    # time order; ties by transaction number so that the output does not depend on file order
    order = pc.sort_indices(
        table.append_column("t", pc.cast(table["unix_time"], pa.int64())),
        sort_keys=[("t", "ascending"), ("trans_num", "ascending")],
    )
    table = table.take(order).select(COLUMNS)
    out.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, out)
    return table.num_rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generated", type=Path, help="the generator's output folder (its -o)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV to write")
    args = parser.parse_args(argv)
    rows = prepare(args.generated, args.out)
    print(f"{rows} transactions from {args.generated} written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
