#!/usr/bin/env bash
# Accuracy and error-bar coverage of the differentially private size chart. For generated people
# (anonpub's own generator: 1,500 — a first release's size — and 10,000), draws the chart RUNS
# times with fresh OS randomness at ε = 1 for the whole chart (default measurements, or
# MEASUREMENTS) and prints, per measurement and
# figure, the 95th percentile of |error| against the exact figure in SD units ("not published"
# when withheld in more than 5 % of runs), the share of published figures whose stated error95
# held (coverage, per figure), and the targets: at 10,000 people P50 within 0.1 SD and P5/P95
# within 0.3 SD in ≥ 95 % of (figure, run) pairs; at 1,500 people mean and P50 of chest, waist and
# hips published and every published figure within 0.5 SD.
#
# Then the same for the people a release of the sample database (data/sample.sqlite) would chart.
#
#   scripts/sizechart-accuracy.sh                       # 1.5k and 10k people, sample; 200 runs
#   PEOPLE=10000 RUNS=50 SAMPLE=0 scripts/sizechart-accuracy.sh
#   MEASUREMENTS=chest,waist,hips,seat,neck,inseam,waistToFloor,shoulderToShoulder scripts/sizechart-accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${PEOPLE:-1500,10000}
RUNS=${RUNS:-200}
EPSILON=${EPSILON:-1}
# The chart's measurements (default: the config's default, the four primary dimensions).
CHOSEN=()
if [ -n "${MEASUREMENTS:-}" ]; then CHOSEN=(--measurements "$MEASUREMENTS"); fi
cargo run --release --quiet --example sizechart_accuracy -- \
    --people "$PEOPLE" --runs "$RUNS" --epsilon "$EPSILON" "${CHOSEN[@]}"
if [ "${SAMPLE:-1}" != 0 ]; then
    cargo run --release --quiet --example sizechart_accuracy -- \
        --runs "$RUNS" --epsilon "$EPSILON" "${CHOSEN[@]}" \
        --db data/sample.sqlite --key-file data/sample.key --as-of 2026-11-01
fi
