#!/usr/bin/env python3
"""Checks an anonpub release of a database made by scripts/independent_db.py, from the outside.

Usage: check_independent.py DB TRUTH RELEASE_DIR [--anonpub BIN] [--log FILE] [--k K]

Checks, each printed as one line of figures (never a value, id or canary):
  1. no canary of a NOT eligible person appears: no released row has every one of the canary's
     measurements within 0.5 mm;
  2. no eligible outlier's exact row appears (same test);
  3. no canary string (emails, user names planted in free text and inside the encrypted
     measurements) appears in any release file, nor in the publish log when --log is given;
  4. every released row (all measurement columns, missing included) is shared by >= k rows;
  5. report.json's counts against the truth: every exclusion class the truth expects is counted,
     and eligible + excluded = sets in the database (nothing dropped silently);
  6. `anonpub verify RELEASE_DIR` passes.
Exit 0 when every check passes, 1 otherwise.
"""

import argparse
import csv
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db", type=Path)
    ap.add_argument("truth", type=Path)
    ap.add_argument("release", type=Path)
    ap.add_argument("--anonpub", default=None, help="anonpub binary (default: cargo run)")
    ap.add_argument("--log", type=Path, default=None, help="publish's stdout+stderr")
    ap.add_argument("--k", type=int, default=None, help="k (default: report.json's k_requested)")
    args = ap.parse_args()

    truth = json.loads(args.truth.read_text())
    report = json.loads((args.release / "report.json").read_text())
    k = args.k or int(report["k_requested"])
    failures = []

    def check(name, ok, figures):
        print("%-34s %s  %s" % (name, "ok  " if ok else "FAIL", figures))
        if not ok:
            failures.append(name)

    with open(args.release / "measurements.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = header[1:]
        rows = []
        for r in reader:
            rows.append(tuple(float(x) if x != "" else math.nan for x in r[1:]))
    index = {c: i for i, c in enumerate(cols)}

    def appears(values):
        names = [n for n in values if n in index]
        if not names:
            return 0
        hits = 0
        for row in rows:
            if all(not math.isnan(row[index[n]]) and abs(row[index[n]] - values[n]) <= 0.5
                   for n in names):
                hits += 1
        return hits

    ineligible = truth["canaries"]["ineligible"]
    leaked = sum(1 for c in ineligible if appears(c["values"]) > 0)
    check("ineligible canaries absent", leaked == 0,
          "%d of %d canaries found in %d rows" % (leaked, len(ineligible), len(rows)))

    outliers = truth["canaries"]["outliers"]
    exact = sum(1 for c in outliers if appears(c["values"]) > 0)
    check("eligible outliers not exact", exact == 0,
          "%d of %d outliers' exact rows found" % (exact, len(outliers)))

    strings = [s.lower().encode() for s in truth["canaries"]["strings"]]
    files = sorted(p for p in args.release.rglob("*") if p.is_file())
    if args.log:
        files.append(args.log)
    found = 0
    for p in files:
        data = p.read_bytes().lower()
        found += sum(1 for s in strings if s in data)
    check("canary strings absent", found == 0,
          "%d hits of %d strings in %d files" % (found, len(strings), len(files)))

    shared = Counter(tuple("" if math.isnan(v) else v for v in r) for r in rows)
    small = [n for n in shared.values() if n < k]
    check("every row shared by >= k", not small,
          "%d rows, %d distinct, %d distinct rows below k=%d (smallest %d)"
          % (len(rows), len(shared), len(small), k, min(shared.values()) if shared else 0))

    sel = report["selection"]
    excluded = sel["excluded_sets"]
    total_excluded = sum(excluded.values())
    balanced = sel["eligible_sets"] + total_excluded == sel["sets_in_database"] == truth["sets"]
    check("eligible + excluded = total", balanced,
          "%d + %d vs %d in database, %d in truth"
          % (sel["eligible_sets"], total_excluded, sel["sets_in_database"], truth["sets"]))
    missing = [c for c, n in truth["excluded_sets"].items() if n > 0 and excluded.get(c, 0) == 0]
    check("every expected class counted", not missing,
          "%d of %d classes missing" % (len(missing), len(truth["excluded_sets"])))
    diffs = {c: excluded.get(c, 0) - truth["excluded_sets"].get(c, 0)
             for c in set(excluded) | set(truth["excluded_sets"])}
    off = {c: d for c, d in diffs.items() if d != 0}
    check("exclusion counts match truth", not off,
          " ".join("%s%+d" % (c, d) for c, d in sorted(off.items())) or "all %d equal" % len(diffs))
    check("eligible sets match truth", sel["eligible_sets"] == truth["eligible_sets"],
          "%d released-eligible vs %d expected; people %d vs %d"
          % (sel["eligible_sets"], truth["eligible_sets"], sel["eligible_people"],
             truth["eligible_people"]))
    check("unknown names counted", sel["unknown_measurements_dropped"]
          == truth["unknown_measurements_dropped"],
          "%d vs %d expected" % (sel["unknown_measurements_dropped"],
                                 truth["unknown_measurements_dropped"]))
    anon = report.get("anonymization", {})
    published = anon.get("published_records", len(rows))
    check("published = eligible - suppressed", published + anon.get("suppressed_records", 0)
          == sel["eligible_sets"] and published == len(rows),
          "%d published, %d suppressed, %d csv rows"
          % (published, anon.get("suppressed_records", 0), len(rows)))

    cmd = ([args.anonpub] if args.anonpub else ["cargo", "run", "--release", "--quiet", "--"])
    verify = subprocess.run(cmd + ["verify", str(args.release)], capture_output=True)
    check("anonpub verify", verify.returncode == 0, "exit %d" % verify.returncode)

    print("%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
