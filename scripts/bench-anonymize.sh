#!/usr/bin/env bash
# Whole-process benchmarks of `anonpub anonymize` (the release path of `publish`, writing the
# whole verifiable release): each case runs RUNS times (default 5)
# as a fresh process; the median wall time (nanosecond clock around the process), the median CPU
# time (user + system) and the median peak RSS (/usr/bin/time -v) are printed as a Markdown table
# for BENCHMARKS.md. Other processes on the machine inflate wall times but hardly CPU times, so the
# load average is printed too.
#
#   scripts/bench-anonymize.sh            # all cases
#   RUNS=9 scripts/bench-anonymize.sh     # more runs
#
# Needs a release build (`cargo build --release --examples`) (the ARX files are in tests/data/arx-adult).
# The 100k × 38 measurements CSV is generated once into target/bench/ by examples/mdav_bench.rs.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BIN=target/release/anonpub
ARX=tests/data/arx-adult
WORK=target/bench
mkdir -p "$WORK"

for needed in "$BIN" target/release/examples/mdav_bench /usr/bin/time "$ARX/adult.csv"; do
    [[ -e $needed ]] || { echo "missing $needed: run cargo build --release --examples" >&2; exit 2; }
done

MEASUREMENTS="$WORK/measurements-100k.csv"
if [[ ! -s $MEASUREMENTS ]]; then
    target/release/examples/mdav_bench csv 100000 1 "$MEASUREMENTS"
fi
# The synthetic people have one row each; the measurements release keys its group noise by a
# secret.
printf 'name = "measurements-100k"\nrows_are_people = true\ninclude_measurements = "freesewing"\n' \
    >"$WORK/measurements.toml"
printf 'bench-secret\n' >"$WORK/bench.key"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# bench NAME ARGS...: runs `anonpub anonymize ARGS --as-of … --seed 1 --out $WORK/out --force
# --quiet` RUNS times.
bench() {
    local name=$1
    shift
    local times=() cpu=() rss=()
    for _ in $(seq "$RUNS"); do
        local start end
        start=$(date +%s%N)
        /usr/bin/time -v -o "$WORK/time.txt" "$BIN" anonymize "$@" --as-of 2026-11-01 --seed 1 \
            --out "$WORK/out" --force --quiet
        end=$(date +%s%N)
        times+=($(((end - start) / 1000000)))
        rss+=("$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/time.txt")")
        cpu+=("$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%d", s * 1000 }' "$WORK/time.txt")")
    done
    local time_median cpu_median rss_median
    time_median=$(printf '%s\n' "${times[@]}" | median)
    cpu_median=$(printf '%s\n' "${cpu[@]}" | median)
    rss_median=$(printf '%s\n' "${rss[@]}" | median)
    printf '| %s | %s ms | %s ms | %s MB | %s |\n' \
        "$name" "$time_median" "$cpu_median" "$((rss_median / 1024))" "${times[*]}"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | median wall time | median CPU time | median peak RSS | all wall times (ms) |"
echo "|---|---|---|---|---|"
bench "adult, global, k=5, 0 % suppression" \
    --input "$ARX/adult.csv" --schema schemas/adult.toml --k 5 --suppression 0
bench "adult, global, k=5, 2 % suppression" \
    --input "$ARX/adult.csv" --schema schemas/adult.toml --k 5 --suppression 0.02
bench "adult, mondrian, k=5" \
    --input "$ARX/adult.csv" --schema schemas/adult.toml --k 5 --method mondrian
bench "100k × 38 measurements, mdav, k=5" \
    --input "$MEASUREMENTS" --schema "$WORK/measurements.toml" --key-file "$WORK/bench.key" \
    --k 5 --method mdav
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
