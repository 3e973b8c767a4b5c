#!/usr/bin/env python3
"""Runs the README's DuckDB query on the example log and checks that `anonpub tabulate
--contributions` on its output gives exactly the table of the raw log.

    python3 scripts/check_contributions_duckdb.py [path/to/anonpub]

Needs the `duckdb` Python package (scripts/requirements-ci.txt). The log is parsed into `hits`
with a regular expression (lines it cannot parse get no address and are dropped); the query
itself is taken from README.md as it stands, with a throwaway holder secret.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
anonpub = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "anonpub")
readme = (ROOT / "README.md").read_text()
query = re.search(r"```sql\n(.*?)```", readme, re.S).group(1)

with tempfile.TemporaryDirectory() as work:
    work = Path(work)
    query = query.replace("'contributions.csv'", f"'{work / 'contributions.csv'}'").replace(
        "'…64 hex digits, kept by the holder…'", "'" + "5a" * 32 + "'"
    )
    con = duckdb.connect()
    con.execute(rf"""
    CREATE TABLE hits AS
    WITH raw AS (SELECT line FROM read_csv('{ROOT / "data" / "access.log.gz"}', columns={{'line': 'VARCHAR'}},
                 delim=E'\x01', quote='', escape='', header=false)),
    m AS (SELECT regexp_extract(line, '^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+)[^"]*" (\d{{3}}) \S+ "[^"]*" "([^"]*)"',
            ['ip', 'ts', 'method', 'path', 'status', 'user_agent']) AS f FROM raw)
    SELECT f.ip AS ip, try_strptime(f.ts, '%d/%b/%Y:%H:%M:%S %z') AS ts, f.method AS method,
           f.path AS path, try_cast(f.status AS INTEGER) AS status, f.user_agent AS user_agent
    FROM m WHERE f.ip <> ''
    """)
    con.execute(query)
    common = ["--by", "path,time:day", "--force", "--quiet"]
    subprocess.run([anonpub, "tabulate", "--input", str(work / "contributions.csv"), "--contributions",
                    "--out", str(work / "grouped"), *common], check=True)
    subprocess.run([anonpub, "tabulate", "--input", str(ROOT / "data" / "access.log.gz"), "--log-format",
                    "combined", "--timezone", "Europe/Paris", "--out", str(work / "raw"), *common], check=True)
    same = (work / "grouped" / "frequencies.csv").read_bytes() == (work / "raw" / "frequencies.csv").read_bytes()
    print("identical tables" if same else "TABLES DIFFER")
    sys.exit(0 if same else 1)
