#!/usr/bin/env bash
# Whole-process benchmarks of the release pipeline (issue 7).
#
#   scripts/bench.sh [USERS ...]        default: 100000 1000000
#
# For each size: writes a sample database once (timed), then runs `publish` and `verify` RUNS
# times (default 3) as cold processes under /usr/bin/time -v, and prints the median wall time, the
# largest peak RSS and the median of each stage from `--timings`. Set BENCH_DIR to keep the
# databases between invocations (default /tmp/anonpub-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/anonpub
dir=${BENCH_DIR:-/tmp/anonpub-bench}
runs=${RUNS:-3}
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)

# seconds and KiB from a /usr/bin/time -v log
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
for users in "${sizes[@]}"; do
  db=$dir/sample-$users.sqlite key=$dir/sample-$users.key out=$dir/release-$users
  if [ ! -f "$db" ]; then
    /usr/bin/time -v "$bin" sample --users "$users" --seed 5 --db "$db" --key-file "$key" --as-of 2026-11-01 --force --quiet 2> "$dir/sample.log"
    printf 'sample   %8d users: %6.2f s  peak %5d MiB\n' "$users" "$(wall "$dir/sample.log")" $(( $(rss "$dir/sample.log") / 1024 ))
  fi
  : > "$dir/publish.walls"; : > "$dir/publish.rss"; : > "$dir/stages"; : > "$dir/verify.walls"; : > "$dir/verify.rss"
  for _ in $(seq "$runs"); do
    /usr/bin/time -v "$bin" publish --db "$db" --key-file "$key" --as-of 2026-11-01 --out "$out" --seed 1 --force --quiet --timings 2> "$dir/publish.log"
    wall "$dir/publish.log" >> "$dir/publish.walls"; rss "$dir/publish.log" >> "$dir/publish.rss"
    grep '^timing ' "$dir/publish.log" >> "$dir/stages"
    /usr/bin/time -v "$bin" verify "$out" > /dev/null 2> "$dir/verify.log"
    wall "$dir/verify.log" >> "$dir/verify.walls"; rss "$dir/verify.log" >> "$dir/verify.rss"
  done
  printf 'publish  %8d users: %6.2f s  peak %5d MiB  (median of %d)\n' "$users" "$(median < "$dir/publish.walls")" $(( $(sort -n "$dir/publish.rss" | tail -1) / 1024 )) "$runs"
  for stage in $(awk '{ print $2 }' "$dir/stages" | awk '!seen[$0]++'); do
    printf '         stage %-14s %9.1f ms\n' "$stage" "$(awk -v s="$stage" '$2 == s { print $3 }' "$dir/stages" | median)"
  done
  printf 'verify   %8d rows : %6.2f s  peak %5d MiB  (median of %d)\n' "$(($(wc -l < "$out/measurements.csv") - 1))" "$(median < "$dir/verify.walls")" $(( $(sort -n "$dir/verify.rss" | tail -1) / 1024 )) "$runs"
done
