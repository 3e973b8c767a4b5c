#!/usr/bin/env bash
# Whole-process benchmarks of the release pipeline against its speed and memory targets.
#
#   scripts/bench.sh [USERS ...]        default: 100000 1000000 1700000
#
# For each size: writes a sample database (timed, with its stages) unless BENCH_DIR already holds
# one, measures the physical floors of reading that database, then runs `publish` and `verify`
# RUNS times (default 3) as cold processes under /usr/bin/time -v and prints the median wall time,
# the largest peak RSS and the median of each stage from `--timings`, stage next to floor.
# 1,700,000 users give a release of about a million rows: the size the verify target names.
#
#   BENCH_DIR   where databases and releases live (default /tmp/anonpub-bench); kept between runs
#   RUNS        runs per measurement (default 3)
#   FRESH=1     rewrite the sample databases even if present (to time `sample`)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/anonpub
dir=${BENCH_DIR:-/tmp/anonpub-bench}
runs=${RUNS:-3}
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 1700000)

# seconds and KiB from a /usr/bin/time -v log
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# median of each stage in a file of `timing <stage> <ms> ms` lines, with a floor per stage
stages() {
  local file=$1
  for stage in $(awk '{ print $2 }' "$file" | awk '!seen[$0]++'); do
    printf '         stage %-14s %9.1f ms   %s\n' "$stage" \
      "$(awk -v s="$stage" '$2 == s { print $3 }' "$file" | median)" "${floor[$stage]:-}"
  done
}

# AES-256-CBC decryption throughput of this machine (bytes/s), from OpenSSL's AES-NI code.
aes_rate=$(openssl speed -evp aes-256-cbc -decrypt -seconds 1 -bytes 1024 2>/dev/null \
  | awk '/^AES-256-CBC/ { sub(/k$/, "", $2); print $2 * 1000 }' || true)

declare -A floor=()
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
echo "machine: $(nproc) cores ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for users in "${sizes[@]}"; do
  db=$dir/sample-$users.sqlite key=$dir/sample-$users.key out=$dir/release-$users
  if [ ! -f "$db" ] || [ "${FRESH:-0}" = 1 ]; then
    /usr/bin/time -v "$bin" sample --users "$users" --seed 5 --db "$db" --key-file "$key" --as-of 2026-11-01 --force --quiet --timings 2> "$dir/sample.log"
    printf 'sample   %8d users: %6.2f s  peak %5d MiB  (one run; target at 1M: <= 60 s)\n' "$users" "$(wall "$dir/sample.log")" $(( $(rss "$dir/sample.log") / 1024 ))
    grep '^timing ' "$dir/sample.log" > "$dir/sample.stages"
    floor=()
    stages "$dir/sample.stages"
  fi

  # Floors: SQLite's own C code scanning the columns publish reads (through Python's sqlite3, one
  # aggregate query per table, so no per-row work outside SQLite), and OpenSSL decrypting as many
  # bytes as the stored ciphertext holds.
  read -r users_floor sets_floor cipher_bytes < <(python3 - "$db" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
t = time.perf_counter()
db.execute('SELECT count(id), sum(consent), sum(status), count(lastSeen) FROM "User"').fetchone()
users = time.perf_counter() - t
t = time.perf_counter()
_, hex_chars = db.execute('SELECT sum(userId), sum(length(CAST(measies AS BLOB))) FROM "Set"').fetchone()
sets = time.perf_counter() - t
print(f"{users * 1000:.0f} {sets * 1000:.0f} {hex_chars // 2}")
EOF
)
  floor=(
    [read-users]="floor ${users_floor} ms (SQLite scan of User)"
    [read-sets]="floor ${sets_floor} ms (SQLite scan of Set)"
    [write-parquet]="floor < 1000 ms (the write target)"
  )
  if [ -n "$aes_rate" ]; then
    floor[decrypt]="floor $(awk -v b="$cipher_bytes" -v r="$aes_rate" 'BEGIN { printf "%.0f", b / r * 1000 }') ms (OpenSSL AES-256-CBC over $(( cipher_bytes / 1048576 )) MiB)"
  fi

  : > "$dir/publish.walls"; : > "$dir/publish.rss"; : > "$dir/publish.stages"
  : > "$dir/verify.walls"; : > "$dir/verify.rss"; : > "$dir/verify.stages"
  for _ in $(seq "$runs"); do
    /usr/bin/time -v "$bin" publish --db "$db" --key-file "$key" --as-of 2026-11-01 --out "$out" --seed 1 --force --quiet --timings 2> "$dir/publish.log"
    wall "$dir/publish.log" >> "$dir/publish.walls"; rss "$dir/publish.log" >> "$dir/publish.rss"
    grep '^timing ' "$dir/publish.log" >> "$dir/publish.stages"
    /usr/bin/time -v "$bin" verify "$out" --timings > /dev/null 2> "$dir/verify.log"
    wall "$dir/verify.log" >> "$dir/verify.walls"; rss "$dir/verify.log" >> "$dir/verify.rss"
    grep '^timing ' "$dir/verify.log" >> "$dir/verify.stages"
  done
  printf 'publish  %8d users: %6.2f s  peak %5d MiB  (median of %d; targets: 100k <= 3 s and 1 GiB, 1M <= 20 s and 4 GiB)\n' \
    "$users" "$(median < "$dir/publish.walls")" $(( $(sort -n "$dir/publish.rss" | tail -1) / 1024 )) "$runs"
  stages "$dir/publish.stages"
  floor=()
  printf 'verify   %8d rows : %6.2f s  peak %5d MiB  (median of %d; target at 1M rows: <= 3 s)\n' \
    "$(($(wc -l < "$out/measurements.csv") - 1))" "$(median < "$dir/verify.walls")" $(( $(sort -n "$dir/verify.rss" | tail -1) / 1024 )) "$runs"
  stages "$dir/verify.stages"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
