#!/usr/bin/env bash
# Profiles one command of the release pipeline with `perf` (every stage profiled).
#
#   scripts/profile.sh publish|verify|sample [USERS]      default USERS: 1000000
#
# Uses the databases and releases of scripts/bench.sh (BENCH_DIR, default /tmp/anonpub-bench;
# run the bench first, or this script writes the sample database itself). Prints the command's
# own `--timings`, then the functions with the most samples of their own (self time) and the
# anonpub functions with the most samples including their callees (inclusive time), which is
# where each stage spends its time. The raw profile stays in BENCH_DIR/perf-COMMAND-USERS.data
# for `perf report -i` (or a flamegraph tool).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf > /dev/null || { echo "perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 2; }
what=${1:?usage: scripts/profile.sh publish|verify|sample [USERS]}
users=${2:-1000000}
cargo build --release --quiet
bin=$PWD/target/release/anonpub
dir=${BENCH_DIR:-/tmp/anonpub-bench}
mkdir -p "$dir"
db=$dir/sample-$users.sqlite key=$dir/sample-$users.key out=$dir/release-$users
data=$dir/perf-$what-$users.data
sample=(sample --users "$users" --seed 5 --db "$db" --key-file "$key" --as-of 2026-11-01 --force)
publish=(publish --db "$db" --key-file "$key" --as-of 2026-11-01 --out "$out" --seed 1 --force)
[ -f "$db" ] || [ "$what" = sample ] || "$bin" --quiet "${sample[@]}"
[ -d "$out" ] || [ "$what" != verify ] || "$bin" --quiet "${publish[@]}"
case $what in
  sample) args=("${sample[@]}") ;;
  publish) args=("${publish[@]}") ;;
  verify) args=(verify "$out") ;;
  *) echo "unknown command: $what" >&2; exit 2 ;;
esac
# DWARF call graphs: the release profile keeps debug info but no frame pointers.
perf record --quiet -F 499 --call-graph dwarf,16384 -o "$data" "$bin" --quiet --timings "${args[@]}" > /dev/null
echo "== self time (top 25)"
perf report -i "$data" --no-children --sort symbol --percent-limit 0.5 --stdio -g none 2> /dev/null \
  | grep -E '^ +[0-9]' | head -25 | cut -c1-140 || true  # head closes the pipe early
echo "== inclusive time of anonpub functions (top 30)"
perf report -i "$data" --children --sort symbol --percent-limit 1 --stdio -g none 2> /dev/null \
  | grep -E '\[\.\] anonpub::[A-Za-z0-9_:]+( |$)' | head -30 | cut -c1-140 || true
