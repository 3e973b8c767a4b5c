#!/usr/bin/env bash
# Benchmarks of `anonpub tabulate` on access logs at a portal's scale (a year of a busy site).
#
#   scripts/bench-logs.sh [LINES ...]        default: 10000000
#
# For each size: writes a synthetic Combined Log Format log of LINES lines over 365 days, 1,500
# pages (Zipf-like popularity), LINES/12 visitors (IPv4 and IPv6), with bots, static files and
# errors mixed in as in real logs (unless BENCH_DIR already holds it), then runs under
# /usr/bin/time -v:
#   1. tabulate --by path                (the baseline)
#   2. tabulate --by path,time:day       (the page × day table; compare with 1)
#   3. verify of the page × day release
# and prints wall time, peak RSS, the `--timings` stages and the table's size.
#
#   BENCH_DIR   where logs and releases live (default /tmp/anonpub-bench-logs); kept between runs
#   PAGES       pages (default 1500)
#   BYS         the tables to time (default "path path,time:day"; e.g. BYS=path,time:day alone for
#               the memory worst case at 100M lines, whose log is written once, 15 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/anonpub
dir=${BENCH_DIR:-/tmp/anonpub-bench-logs}
pages=${PAGES:-1500}
mkdir -p "$dir"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000000)

wall() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

for lines in "${sizes[@]}"; do
    log="$dir/access-$lines.log"
    if [ ! -s "$log" ]; then
        echo "writing $log ..."
        python3 - "$log" "$lines" "$pages" <<'EOF'
import random, sys
path, lines, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
visitors = max(1000, lines // 12)
weights = [1.0 / (rank + 1) ** 0.9 for rank in range(pages)]
page_names = ["/p/%d/%s" % (i, "x" * (i % 13)) for i in range(pages)]
cumulative = []
total = 0.0
for w in weights:
    total += w
    cumulative.append(total)
ua = '"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"'
bot = '"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"'
months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
days_in = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
stamps = []
for m, n in enumerate(days_in):
    for d in range(n):
        stamps.append("%02d/%s/2025" % (d + 1, months[m]))
def ip(v):
    if v % 5 == 0:
        return "2001:db8:%x:%x::1" % (v >> 16, v & 0xFFFF)
    return "10.%d.%d.%d" % ((v >> 16) & 255, (v >> 8) & 255, v & 255)
per_second = lines / (365 * 86400)
out = open(path, "w", buffering=1 << 22)
chunk = []
choices = rng.choices
for i in range(lines):
    t = int(i / per_second)
    day, rest = divmod(t, 86400)
    stamp = "[%s:%02d:%02d:%02d +0000]" % (stamps[day], rest // 3600, rest // 60 % 60, rest % 60)
    v = int(rng.random() ** 2 * visitors)
    roll = rng.random()
    if roll < 0.15:
        target, status, agent = "/static/app.js", 200, ua
    elif roll < 0.20:
        target, status, agent = "/", 200, bot
    elif roll < 0.23:
        target, status, agent = "/missing", 404, ua
    else:
        target = choices(page_names, cum_weights=cumulative)[0]
        if roll > 0.97:
            target += "?q=search+terms"
        status, agent = 200, ua
    chunk.append('%s - - %s "GET %s HTTP/1.1" %d 5120 "-" %s\n' % (ip(v), stamp, target, status, agent))
    if len(chunk) == 100000:
        out.write("".join(chunk))
        chunk.clear()
out.write("".join(chunk))
out.close()
EOF
    fi
    echo "## $lines lines ($(du -h "$log" | cut -f1)), $pages pages, 365 days"
    for by in ${BYS:-path path,time:day}; do
        out="$dir/out-$lines-${by//[,:]/-}"
        /usr/bin/time -v "$bin" tabulate --input "$log" --log-format combined --timezone Europe/Paris \
            --by "$by" --out "$out" --force --timings 2> "$dir/time-$by.log" > /dev/null
        echo "tabulate --by $by: $(wall "$dir/time-$by.log") s, peak $(rss_mb "$dir/time-$by.log") MB," \
            "$(($(wc -l < "$out/frequencies.csv") - 1)) lines"
        grep '^timing' "$dir/time-$by.log" | sed 's/^/    /'
    done
    out="$dir/out-$lines-path-time-day"
    [ -d "$out" ] || continue
    /usr/bin/time -v "$bin" verify "$out" --timings 2> "$dir/time-verify.log" > /dev/null
    echo "verify (page × day): $(wall "$dir/time-verify.log") s, peak $(rss_mb "$dir/time-verify.log") MB"
done
