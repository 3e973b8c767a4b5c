#!/usr/bin/env python3
"""A second opinion on released data: pyCANON (an independent implementation) measures k-anonymity
and, where a sensitive column is named, l-diversity, and must agree with what anonpub claims.

    check_pycanon.py release DIR --anonpub BIN
        An anonpub release. Quasi-identifiers: every measurement column of measurements.csv (an
        empty cell, "not published", is a value of its own); for a generalized release (a
        `generalization` entry in report.json) the columns it lists as quasi-identifiers. pyCANON's
        k must equal the smallest group that `anonpub verify` reports, reach k_requested of
        report.json and be at least the k_achieved it records (people per group; a group has at
        least as many rows as people). Where report.json asked for l-diversity, pyCANON's l of
        every sensitive column must equal a direct count made here and the l report.json claims,
        and reach the l asked for.

    check_pycanon.py table CSV --sep ';' --k K [--sensitive COLUMN --l L]
        Any released table, such as ARX's golden outputs. Rows with `*` in every column are
        suppressed records and are left out. Quasi-identifiers: every column but the sensitive one.
        pyCANON's k (and l) must equal a direct count made here, and reach K (and L).

Exit 0 when everything agrees and holds, 1 on any disagreement or failed requirement. Prints only
counts and column names, never a cell.
"""

import argparse
import collections
import json
import pathlib
import re
import subprocess
import sys

import pandas as pd
from pycanon import anonymity


def read(path, sep):
    # Every cell as text, empty cells kept as "" (a value of its own, not NaN).
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)


def direct_k(frame, quasi):
    counts = collections.Counter(map(tuple, frame[quasi].itertuples(index=False)))
    return min(counts.values())


def direct_l(frame, quasi, sensitive):
    values = collections.defaultdict(set)
    for key, value in zip(map(tuple, frame[quasi].itertuples(index=False)), frame[sensitive]):
        values[key].add(value)
    return min(len(v) for v in values.values())


class Outcome:
    def __init__(self):
        self.failures = 0

    def expect(self, ok, line):
        print(("ok    " if ok else "FAIL  ") + line)
        if not ok:
            self.failures += 1


def check_release(args, outcome):
    release = pathlib.Path(args.dir)
    frame = read(release / "measurements.csv", ",")
    report = json.loads((release / "report.json").read_text())
    generalization = report.get("generalization")
    if generalization:
        roles = {c["name"]: c["role"] for c in generalization["columns"]}
        quasi = [c for c in frame.columns if roles.get(c) == "quasi_identifier"]
        sensitive = [c for c in frame.columns if roles.get(c) == "sensitive"]
    else:
        quasi = [c for c in frame.columns if c != "record_id"]
        sensitive = []
    k_pycanon = anonymity.k_anonymity(frame, quasi)
    verify = subprocess.run(
        [args.anonpub, "verify", str(release)], capture_output=True, text=True, check=False
    )
    found = re.search(r"smallest group of identical rows: (\d+)", verify.stdout)
    k_verify = int(found.group(1)) if found else None
    name = f"{release.name}: {len(frame)} rows, {len(quasi)} quasi-identifiers"
    outcome.expect(verify.returncode == 0, f"{name}: anonpub verify exits 0")
    outcome.expect(
        k_pycanon == k_verify, f"{name}: pyCANON k = {k_pycanon}, anonpub verify k = {k_verify}"
    )
    outcome.expect(
        k_pycanon >= report["k_requested"],
        f"{name}: pyCANON k = {k_pycanon} >= k_requested = {report['k_requested']}",
    )
    outcome.expect(
        k_pycanon >= report["k_achieved"],
        f"{name}: pyCANON k = {k_pycanon} >= k_achieved (people) = {report['k_achieved']}",
    )
    asked = (generalization or {}).get("l_diversity")
    if asked:
        for column in sensitive:
            l_pycanon = anonymity.l_diversity(frame, quasi, [column])
            l_direct = direct_l(frame, quasi, column)
            outcome.expect(
                l_pycanon == l_direct,
                f"{name}: `{column}` pyCANON l = {l_pycanon}, direct count l = {l_direct}",
            )
            outcome.expect(
                l_pycanon >= asked["requested"],
                f"{name}: `{column}` pyCANON l = {l_pycanon} >= l asked = {asked['requested']}",
            )
        l_claimed = min(direct_l(frame, quasi, c) for c in sensitive)
        outcome.expect(
            l_claimed == asked["achieved"],
            f"{name}: l of the release = {l_claimed}, report.json claims {asked['achieved']}",
        )


def check_table(args, outcome):
    frame = read(args.csv, args.sep)
    suppressed = (frame == "*").all(axis=1)
    kept = frame[~suppressed].reset_index(drop=True)
    quasi = [c for c in kept.columns if c != args.sensitive]
    name = (
        f"{pathlib.Path(args.csv).name}: {len(kept)} rows ({int(suppressed.sum())} suppressed), "
        f"{len(quasi)} quasi-identifiers"
    )
    k_pycanon = anonymity.k_anonymity(kept, quasi)
    k_direct = direct_k(kept, quasi)
    outcome.expect(k_pycanon == k_direct, f"{name}: pyCANON k = {k_pycanon}, direct count k = {k_direct}")
    outcome.expect(k_pycanon >= args.k, f"{name}: k = {k_pycanon} >= {args.k}")
    if args.sensitive:
        l_pycanon = anonymity.l_diversity(kept, quasi, [args.sensitive])
        l_direct = direct_l(kept, quasi, args.sensitive)
        outcome.expect(
            l_pycanon == l_direct,
            f"{name}: `{args.sensitive}` pyCANON l = {l_pycanon}, direct count l = {l_direct}",
        )
        outcome.expect(l_pycanon >= args.l, f"{name}: l = {l_pycanon} >= {args.l}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    release = modes.add_parser("release")
    release.add_argument("dir")
    release.add_argument("--anonpub", required=True, help="the anonpub binary")
    table = modes.add_parser("table")
    table.add_argument("csv")
    table.add_argument("--sep", default=",")
    table.add_argument("--k", type=int, required=True)
    table.add_argument("--sensitive")
    table.add_argument("--l", type=int, default=1)
    args = parser.parse_args()
    outcome = Outcome()
    if args.mode == "release":
        check_release(args, outcome)
    else:
        check_table(args, outcome)
    sys.exit(1 if outcome.failures else 0)


if __name__ == "__main__":
    main()
