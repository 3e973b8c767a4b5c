#!/usr/bin/env bash
# Benchmark of `anonpub risk` on the ARX benchmark's adult table (30,162 records) with the
# population models, timed as a whole cold process (start-up, reading the CSV, grouping, every
# model, printing JSON). Prints each run's wall time and the median, then one `/usr/bin/time -v`
# run for the peak memory. ARX 3.9 needs 33 ms for the same analysis in a warm JVM.
#
#   scripts/bench-risk.sh            # 7 runs per schema
#   RUNS=15 scripts/bench-risk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-7}
ADULT=${ADULT:-tests/data/arx-adult/adult.csv}
POPULATION=317238626
cargo build --release --quiet
BIN=target/release/anonpub

for schema in tests/data/adult-9qi.toml tests/data/adult-4qi.toml; do
    times=()
    for _ in $(seq "$RUNS"); do
        start=$(date +%s%N)
        "$BIN" risk --input "$ADULT" --schema "$schema" --population "$POPULATION" --format json >/dev/null
        end=$(date +%s%N)
        times+=("$(( (end - start) / 1000 ))")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
    echo "$schema: runs (µs) $(echo "$sorted" | tr '\n' ' ')"
    echo "$schema: median $(awk "BEGIN { printf \"%.1f\", $median / 1000 }") ms over $RUNS runs"
done
/usr/bin/time -v "$BIN" risk --input "$ADULT" --schema tests/data/adult-9qi.toml \
    --population "$POPULATION" --format json 2>&1 >/dev/null |
    grep -E "Elapsed|Maximum resident"
