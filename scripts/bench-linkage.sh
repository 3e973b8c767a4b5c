#!/usr/bin/env bash
# Benchmark of the linkage attack at scale. Generates a synthetic database
# (`anonpub sample`, 100,000 users by default), publishes it with `--internal-report` (which runs
# the linkage attack and the utility comparison) under `/usr/bin/time -v`, and prints the
# attack's own time (logged by publish), the whole run's time and peak memory, and the attack's
# figures from the internal report. Goal: the attack itself within 10 s.
#
#   scripts/bench-linkage.sh
#   USERS=300000 WORK=/tmp/bench scripts/bench-linkage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-100000}
WORK=${WORK:-$(mktemp -d)}
cargo build --release --quiet
BIN=target/release/anonpub

"$BIN" sample --users "$USERS" --seed 1 --db "$WORK/sample.sqlite" --key-file "$WORK/sample.key" --force --quiet
/usr/bin/time -v "$BIN" publish --db "$WORK/sample.sqlite" --key-file "$WORK/sample.key" \
    --as-of 2026-11-01 --out "$WORK/release" --seed 1 --force \
    --internal-report "$WORK/internal.json" 2>"$WORK/publish.log"
grep -E "selected|linkage attack|published" "$WORK/publish.log"
grep -E "Elapsed|Maximum resident" "$WORK/publish.log"
jq '.linkage.result' "$WORK/internal.json"
echo "files in $WORK"
