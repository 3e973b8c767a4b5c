#!/usr/bin/env python3
"""Check that common readers see the release Parquet file exactly as the CSV.

Usage: python scripts/check_parquet.py RELEASE_DIR

Reads measurements.parquet with pyarrow and with DuckDB and compares every cell with
measurements.csv, parsed with Python's csv module (an empty cell is null, anything else is a
float). Also checks the file's shape: zstd compression in every column chunk, `record_id` a string,
every measurement a 64-bit float with its unit in the Arrow field metadata, and the release
metadata (version, k, method, seed, anonpub version) in the key-value metadata.

Prints one line per check and exits 0 when all pass, 1 otherwise. Messages name rows and columns,
never a value, so the output is safe for CI logs.
"""

import csv
import json
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

REQUIRED_METADATA = [
    "anonpub:version",
    "anonpub:release_version",
    "anonpub:k",
    "anonpub:method",
    "anonpub:seed",
    "anonpub:as_of",
    "anonpub:units",
]


def read_csv(path):
    """Header and rows, with measurements as floats (None when empty)."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [
            [row[0]] + [float(cell) if cell != "" else None for cell in row[1:]]
            for row in reader
        ]
    return header, rows


def type_ok(field):
    """record_id is text; every measurement is a 64-bit float."""
    if field.name == "record_id":
        return (
            pa.types.is_string(field.type)
            or pa.types.is_large_string(field.type)
            or pa.types.is_string_view(field.type)
        )
    return pa.types.is_float64(field.type)


def first_difference(header, expected, actual):
    """(row number, column) of the first cell that differs, or None."""
    if len(expected) != len(actual):
        return ("row count", f"{len(actual)} rows, expected {len(expected)}")
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        for column, a, b in zip(header, want, got):
            same = (a is None and b is None) or (
                a is not None and b is not None and type(a) is type(b) and a == b
            )
            if not same:
                return (f"row {number}", f"column {column}")
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    release = Path(sys.argv[1])
    parquet_path = release / "measurements.parquet"
    header, expected = read_csv(release / "measurements.csv")
    results = []

    def report(name, passed, detail):
        results.append(passed)
        print(f"{'ok  ' if passed else 'FAIL'} {name}: {detail}")

    table = pq.read_table(parquet_path)
    footer = pq.ParquetFile(parquet_path).metadata
    metadata = {key.decode(): value.decode() for key, value in (footer.metadata or {}).items()}
    report(
        "pyarrow columns",
        table.column_names == header,
        f"{len(table.column_names)} columns in CSV order",
    )
    wrong_types = [field.name for field in table.schema if not type_ok(field)]
    report(
        "pyarrow types",
        not wrong_types,
        "record_id string, measurements float64"
        if not wrong_types
        else f"unexpected type: {', '.join(wrong_types)}",
    )
    units = json.loads(metadata.get("anonpub:units", "{}"))
    missing_units = [
        field.name
        for field in table.schema
        if field.name != "record_id"
        and (field.metadata or {}).get(b"unit", b"").decode() != units.get(field.name)
    ]
    report(
        "units in field metadata",
        not missing_units and bool(units),
        "every measurement has its unit"
        if not missing_units
        else f"missing or different: {', '.join(missing_units)}",
    )
    absent = [key for key in REQUIRED_METADATA if key not in metadata]
    report(
        "release metadata",
        not absent,
        f"k={metadata.get('anonpub:k')}, method={metadata.get('anonpub:method')}, "
        f"seed={metadata.get('anonpub:seed')}, anonpub {metadata.get('anonpub:version')}"
        if not absent
        else f"missing: {', '.join(absent)}",
    )
    codecs = {
        footer.row_group(g).column(c).compression
        for g in range(footer.num_row_groups)
        for c in range(footer.num_columns)
    }
    report("zstd", codecs == {"ZSTD"}, f"codecs: {', '.join(sorted(codecs))}")

    pyarrow_rows = [list(row.values()) for row in table.to_pylist()]
    difference = first_difference(header, expected, pyarrow_rows)
    report(
        "pyarrow = csv",
        difference is None,
        f"{len(expected)} rows identical" if difference is None else " ".join(difference),
    )

    connection = duckdb.connect()
    duck_columns = [
        row[0]
        for row in connection.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(parquet_path)]
        ).fetchall()
    ]
    duck_rows = [
        list(row)
        for row in connection.execute(
            "SELECT * FROM read_parquet(?)", [str(parquet_path)]
        ).fetchall()
    ]
    difference = first_difference(header, expected, duck_rows)
    report(
        "duckdb = csv",
        duck_columns == header and difference is None,
        f"{len(expected)} rows identical"
        if difference is None and duck_columns == header
        else ("column names differ" if duck_columns != header else " ".join(difference)),
    )

    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
