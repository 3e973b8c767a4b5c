#!/usr/bin/env bash
# Times `publish` of two binaries in alternation on one database, so that both see the same load
# on a shared machine; one line per run: wall, user and system CPU, peak RSS, the 1-minute load
# average just before the run, and the stage timings `--timings` prints.
#
#   scripts/bench-publish-ab.sh BASELINE_BIN NEW_BIN DB KEY [RUNS]      (RUNS default 3)
#
# A first run of each binary warms the page cache and is not reported. The load average is
# printed because the machine may be shared: a run at load above ~0.5 is inflated by whatever
# else runs, and only the runs taken side by side compare. Releases go to a temporary directory
# that is removed at the end.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,11p' "$0"; exit 2; }
base=$1 new=$2 db=$3 key=$4 runs=${5:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # NAME BIN: one timed publish, its line printed
  local name=$1 bin=$2 load
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f 'TIME %e %U %S %M' "$bin" publish --db "$db" --key-file "$key" \
    --as-of 2026-11-01 --out "$out/$name" --seed 1 --force --quiet --timings 2> "$out/log"
  awk -v name="$name" -v load="$load" '
    /^TIME/ { wall = $2; user = $3; sys = $4; rss = $5 }
    /^timing/ { stages = stages sprintf(" %s=%.2f", $2, $3 / 1000) }
    END { printf "%-8s load %5s  wall %6.2f s  user %6.2f s  sys %5.2f s  rss %4d MiB |%s\n",
          name, load, wall, user, sys, rss / 1024, stages }' "$out/log"
}

run baseline "$base" > /dev/null
run new "$new" > /dev/null
for _ in $(seq "$runs"); do
  run baseline "$base"
  run new "$new"
done
