#!/usr/bin/env python3
"""Per-column utility figures of a release from its internal report, against the goals.

Usage: utility_figures.py INTERNAL_REPORT.json [--goals 10k|3k] [--markdown] [--label TEXT]
                           [--before OLD_REPORT.json]

Reads the `utility` and `attacks` sections `anonpub publish --internal-report` writes and prints,
per column: values published / eligible (share), SD error, KS, P5 and P95 error in SD, and the
number of modes of the raw and released distributions (`modes`, a Gaussian kernel density with
Silverman's bandwidth: a column stays bimodal when both counts are 2 or more); then the summary
(median and worst over columns, correlation MAD, suppressed share, smallest group, membership
AUC) with each goal marked ok / FAIL. With `--before` (and `--markdown`), the table shows each
figure as before → after, from an older release's internal report of the same database. Only
aggregate figures, never a value.
"""

import argparse
import json
import statistics
import sys

GOALS = {
    "10k": dict(share=0.90, sd=0.10, ks_med=0.04, ks_max=0.08, corr=0.06, q_med=0.10, q_max=0.35,
                suppressed=0.005),
    "3k": dict(share=None, sd=0.15, ks_med=0.05, ks_max=0.10, corr=0.08, q_med=0.10, q_max=0.50,
               suppressed=0.01),
}


def columns(util):
    """Per column: name, counts, share kept, SD error, KS, P5 and P95 errors (SD), modes."""
    rows = []
    for col in util["columns"]:
        q = {round(d["level"], 2): d.get("difference_sd") for d in col["quantile_differences"]}
        rows.append(dict(
            name=col["column"], raw=col["raw_values"], released=col["released_values"],
            share=col.get("published_share"), sd=col.get("std_dev_relative_error"),
            ks=col.get("ks_distance"), p5=q.get(0.05), p95=q.get(0.95),
            modes=col.get("modes"),
        ))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--goals", choices=list(GOALS), default="10k")
    ap.add_argument("--markdown", action="store_true", help="per-column table in Markdown")
    ap.add_argument("--label", default="")
    ap.add_argument("--before", help="an older internal report of the same database")
    args = ap.parse_args()
    doc = json.load(open(args.report))
    util = doc["utility"]
    goals = GOALS[args.goals]
    rows = columns(util)
    fmt = lambda v, f: "-" if v is None else f % v  # noqa: E731
    if args.markdown and args.before:
        before = {r["name"]: r for r in columns(json.load(open(args.before))["utility"])}
        print("| column | eligible | kept | SD error | KS | P5 error (SD) | P95 error (SD) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        pair = lambda a, b, f: "%s → %s" % (fmt(a, f), fmt(b, f))  # noqa: E731
        for r in rows:
            b = before.get(r["name"], {})
            pct = lambda x: x and 100 * x  # noqa: E731
            print("| %s | %d | %s | %s | %s | %s | %s |" % (
                r["name"], r["raw"], pair(pct(b.get("share")), pct(r["share"]), "%.1f %%"),
                pair(pct(b.get("sd")), pct(r["sd"]), "%+.1f %%"), pair(b.get("ks"), r["ks"], "%.3f"),
                pair(b.get("p5"), r["p5"], "%+.2f"), pair(b.get("p95"), r["p95"], "%+.2f")))
    elif args.markdown:
        print("| column | published / eligible | SD error | KS | P5 error (SD) | P95 error (SD) "
              "| modes raw / released |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for r in rows:
            modes = "-" if not r["modes"] else "%d / %d" % tuple(r["modes"])
            print("| %s | %d / %d (%s) | %s | %s | %s | %s | %s |" % (
                r["name"], r["released"], r["raw"], fmt(r["share"] and 100 * r["share"], "%.1f %%"),
                fmt(r["sd"] and 100 * r["sd"], "%+.1f %%"), fmt(r["ks"], "%.3f"),
                fmt(r["p5"], "%+.2f"), fmt(r["p95"], "%+.2f"), modes))
    present = [r for r in rows if r["raw"] >= 2]
    shares = [r["share"] for r in present if r["share"] is not None]
    sds = [abs(r["sd"]) for r in present if r["sd"] is not None]
    kss = [r["ks"] for r in present if r["ks"] is not None]
    qs = [abs(r[k]) for r in present for k in ("p5", "p95") if r[k] is not None]
    corr = util.get("correlation_mean_absolute_difference")
    anon = doc["anonymization"]
    eligible = doc["eligible_records"]
    suppressed = anon["suppressed_records"] / eligible if eligible else 0.0
    worst = lambda xs: max(xs) if xs else float("nan")  # noqa: E731
    med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    checks = [
        ("lowest share of values kept", min(shares), goals["share"], ">="),
        ("worst SD error", worst(sds), goals["sd"], "<="),
        ("median KS", med(kss), goals["ks_med"], "<="),
        ("worst KS", worst(kss), goals["ks_max"], "<="),
        ("correlation MAD", corr, goals["corr"], "<="),
        ("P5/P95 median (SD)", med(qs), goals["q_med"], "<="),
        ("P5/P95 worst (SD)", worst(qs), goals["q_max"], "<="),
        ("suppressed share", suppressed, goals["suppressed"], "<="),
    ]
    print("%s %d eligible sets, k achieved %s (asked %s)" % (
        args.label, eligible, doc["k_achieved"], doc["k_requested"]))
    failed = 0
    for name, value, goal, op in checks:
        if goal is None or value is None:
            verdict = ""
        else:
            ok = value >= goal if op == ">=" else value <= goal
            failed += not ok
            verdict = "%s goal %s %.3f" % ("ok  " if ok else "FAIL", op, goal)
        print("  %-28s %8.4f  %s" % (name, value if value is not None else float("nan"), verdict))
    bimodal = [r for r in rows if r["modes"] and r["modes"][0] >= 2]
    lost = [r["name"] for r in bimodal if r["modes"][1] < 2]
    print("  %-28s %d raw, %d lost %s" % ("multimodal columns", len(bimodal), len(lost),
                                          ",".join(lost)))
    attacks = doc.get("attacks") or {}
    membership = attacks.get("membership")
    if membership:
        for key in ("all", "wide"):
            f = membership[key]
            print("  membership AUC %-13s %s (%d / %d), TPR at 5 %% FPR %s" % (
                key, fmt(f.get("auc"), "%.3f"), f["members"], f["non_members"],
                fmt(f.get("tpr_at_5_percent_fpr"), "%.3f")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
