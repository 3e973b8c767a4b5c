#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS seconds each, one after the other, and
# prints one line per target: executions, corpus size, crashes. Exits 1 if any target crashed,
# leaked, timed out or failed to build; the input that did it is kept in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh SECONDS [TARGET...]
#
# Seeds are read from fuzz/corpus/TARGET (committed, minimized); inputs found during the run go
# to a temporary directory and are dropped, unless FUZZ_MERGE=1, which merges them into
# fuzz/corpus/TARGET and minimizes it (`cargo fuzz cmin`). FUZZ_TARGET_DIR sets where the fuzz
# build goes (default fuzz/target).
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, ...) to rustc. This machine
# has only the stable toolchain, so RUSTC_BOOTSTRAP=1 lets stable rustc take them. cargo-fuzz
# itself is installed from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(decrypt measies schema hierarchy)
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked --quiet
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
total=0
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log="$work/$target.log"
  status=0
  cargo fuzz run --sanitizer address "$target" "$work/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(find "$work/$target" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    echo "fuzz $target: ${runs:-0} executions in ${seconds}s, $found new inputs, 0 crashes"
  else
    failed=1
    echo "fuzz $target: FAILED (exit $status) after ${runs:-?} executions; input in fuzz/artifacts/$target/"
    grep -E "^(==[0-9]+==|thread '|SUMMARY|panicked)" "$log" | head -n 20 || tail -n 40 "$log"
  fi
  total=$((total + ${runs:-0}))
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$status" -eq 0 ]; then
    cp -n "$work/$target"/* "fuzz/corpus/$target/" 2>/dev/null || true
    cargo fuzz cmin --sanitizer address "$target" "fuzz/corpus/$target" >"$work/$target.cmin.log" 2>&1
    echo "fuzz $target: corpus minimized to $(find "fuzz/corpus/$target" -type f | wc -l) inputs"
  fi
done
echo "fuzz: ${#targets[@]} targets, $total executions, $([ $failed -eq 0 ] && echo 0 || echo some) crashes"
exit $failed
