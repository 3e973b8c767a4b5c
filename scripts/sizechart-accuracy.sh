#!/usr/bin/env bash
# Accuracy of the differentially private size chart. For generated people (anonpub's
# own generator: the sample's 2,000, then 10,000 and 100,000), draws the chart RUNS times with
# fresh OS randomness at ε = 1 for the whole chart and prints, per measurement and figure, the
# 95th percentile of |error| against the exact figure in SD units, how often each stated error95
# held, and whether the accuracy targets are met (per figure, and for all 8 measurements at once).
#
# Then the same for the people a release of the sample database (data/sample.sqlite) would chart.
#
#   scripts/sizechart-accuracy.sh                       # 2k, 10k, 100k people, sample; 100 runs
#   PEOPLE=10000 RUNS=200 SAMPLE=0 scripts/sizechart-accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${PEOPLE:-2000,10000,100000}
RUNS=${RUNS:-100}
EPSILON=${EPSILON:-1}
cargo run --release --quiet --example sizechart_accuracy -- \
    --people "$PEOPLE" --runs "$RUNS" --epsilon "$EPSILON"
if [ "${SAMPLE:-1}" != 0 ]; then
    cargo run --release --quiet --example sizechart_accuracy -- \
        --runs "$RUNS" --epsilon "$EPSILON" \
        --db data/sample.sqlite --key-file data/sample.key --as-of 2026-11-01
fi
