#!/usr/bin/env python3
"""Writes the example web server log of `anonpub tabulate --log-format combined`, and the two
files its tests compare the tool with:

- data/access.log.gz: a synthetic Combined Log Format log of a city portal, one week around the
  start of daylight saving time in Europe/Paris (2026-03-29), written by the server in UTC
  (+0000), gzip-compressed (mtime 0, so the bytes are reproducible). Besides page views it holds
  what real logs hold: bots and crawlers, static assets, errors and redirects, form posts, query
  strings (search terms, session ids), IPv6 visitors, visits around local midnight, and
  malformed lines (cut short, garbage, `-` as the address, impossible dates).
- data/access-log-expected.csv: the exact table computed here, independently of anonpub: for
  each (path, local day in Europe/Paris) cell and each margin, the distinct visitors and the
  page views with each visitor's views of a cell counted at most 5 times (margins: the sum of
  their cells' views). Only GET requests answered 2xx or 304, from browsers, of pages (no static
  asset), count; the query string is cut off.
- data/access-log-contributions.csv.gz: what a GROUP BY in DuckDB or Spark makes of the same log
  (see the README): one row per (person, path, local day) with its number of page views, the
  person an HMAC-SHA256 of the address under a key the holder keeps (here a fixed test key),
  never the address.

Addresses come from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24; RFC 3849: 2001:db8::/32) and belong to nobody. Deterministic:

    python3 scripts/access-log-combined.py
"""

import csv
import gzip
import hashlib
import hmac
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Europe/Paris")
FIRST_DAY = datetime(2026, 3, 26, tzinfo=ZONE)
DAYS = 7
VISITORS = 1200
CLIP = 5
HOLDER_KEY = b"example holder key: keep yours secret and random"

PAGES = [
    ("/", 40),
    ("/news", 18),
    ("/data", 16),
    ("/data/transport", 10),
    ("/data/budget", 8),
    ("/events", 9),
    ("/about", 5),
    ("/contact", 4),
    ("/downloads/report-2025.pdf", 3),
    ("/help", 1),
    ("/docs/api", 1),
]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]
STATIC = ["/static/site.css", "/static/app.js", "/static/logo.png", "/favicon.ico", "/robots.txt"]
QUERIES = ["?utm_source=newsletter", "?q=rent+assistance", "?session=8f14e45fceea167a", "?page=2"]

rng = random.Random(20260329)


def pick(weighted):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for item, w in weighted:
        x -= w
        if x < 0:
            return item
    return weighted[-1][0]


def address(visitor):
    """IPv4 for the first 500 visitors, IPv6 for the others."""
    if visitor < 500:
        net = ["192.0.2", "198.51.100", "203.0.113"][visitor % 3]
        return f"{net}.{visitor // 3 + 1}"
    return f"2001:db8:{visitor % 7:x}:{visitor:x}::{visitor % 251 + 1:x}"


def stamp(moment):
    return moment.astimezone(timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")


def line(ip, moment, method, target, status, size, referrer, agent):
    return f'{ip} - - [{stamp(moment)}] "{method} {target} HTTP/1.1" {status} {size} "{referrer}" "{agent}"'


def local_hour():
    """Daytime and evenings, with some visits just before and after midnight."""
    return pick([(h, w) for h, w in zip(range(24), [3, 2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 8, 8, 9, 9, 8, 7, 7, 8, 8, 7, 6, 5])])


entries = []  # (utc moment, line text)
counted = []  # (ip, path, local day) of each counted page view
for visitor in range(VISITORS):
    ip = address(visitor)
    agent = BROWSERS[visitor % len(BROWSERS)]
    for day in sorted(rng.sample(range(DAYS), rng.choice([1, 1, 2, 2, 3]))):
        start = FIRST_DAY + timedelta(days=day)
        # Local wall-clock time; around the 29th's 02:00 gap, zoneinfo's fold rules apply.
        moment = datetime(start.year, start.month, start.day, local_hour(), rng.randrange(60), rng.randrange(60), tzinfo=ZONE)
        moment = moment.astimezone(timezone.utc).astimezone(ZONE)
        for _ in range(rng.choice([1, 2, 3, 3, 4, 6])):
            path = pick(PAGES)
            target = path + (rng.choice(QUERIES) if rng.random() < 0.2 else "")
            roll = rng.random()
            if roll < 0.04:
                status, method = 404, "GET"
            elif roll < 0.07:
                status, method = 302, "GET"
            elif roll < 0.09 and path == "/contact":
                status, method = 200, "POST"
            else:
                status, method = (304 if rng.random() < 0.1 else 200), "GET"
            referrer = "-" if rng.random() < 0.5 else "https://portal.example/?from=home"
            entries.append((moment, line(ip, moment, method, target, status, rng.randrange(500, 90000), referrer, agent)))
            if method == "GET" and status in (200, 304):
                counted.append((ip, path, moment.astimezone(ZONE).strftime("%Y-%m-%d")))
            for asset in rng.sample(STATIC, rng.choice([0, 1, 2])):
                entries.append((moment + timedelta(seconds=1), line(ip, moment + timedelta(seconds=1), "GET", asset, 200, 1200, "-", agent)))
            if rng.random() < 0.15:  # a reload
                again = moment + timedelta(seconds=rng.randrange(5, 90))
                entries.append((again, line(ip, again, "GET", path, 200, 800, "-", agent)))
                counted.append((ip, path, again.astimezone(ZONE).strftime("%Y-%m-%d")))
            moment += timedelta(seconds=rng.randrange(20, 900))

# Crawlers and scripts: many requests from a few addresses.
for bot in range(600):
    moment = FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86400))
    ip = f"203.0.113.{200 + bot % 40}"
    entries.append((moment, line(ip, moment, "GET", pick(PAGES), 200, 4000, "-", BOTS[bot % len(BOTS)])))

# Malformed lines, each kind a few times.
for k in range(40):
    moment = FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86400))
    whole = line(address(k), moment, "GET", "/news", 200, 100, "-", BROWSERS[0])
    kind = k % 4
    if kind == 0:
        text = whole[: rng.randrange(10, len(whole) - 20)]
    elif kind == 1:
        text = "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03 garbage on the HTTP port"
    elif kind == 2:
        text = "-" + whole[len(address(k)):]
    else:
        text = whole.replace("[" + stamp(moment)[:2], "[32", 1)
    entries.append((moment, text))

entries.sort(key=lambda e: e[0])
log = ("\n".join(text for _, text in entries) + "\n").encode()
with open(ROOT / "data" / "access.log.gz", "wb") as raw:
    with gzip.GzipFile(filename="access.log", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(log)

# The exact table.
views = defaultdict(int)
for ip, path, day in counted:
    views[(ip, path, day)] += 1
cells = defaultdict(lambda: [set(), 0])
rows = defaultdict(lambda: [set(), 0])
columns = defaultdict(lambda: [set(), 0])
total = [set(), 0]
for (ip, path, day), n in views.items():
    clipped = min(n, CLIP)
    for entry in (cells[(path, day)], rows[path], columns[day], total):
        entry[0].add(ip)
        entry[1] += clipped
with open(ROOT / "data" / "access-log-expected.csv", "w", newline="") as out:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "time", "people", "events"])
    for (path, day), (people, events) in sorted(cells.items()):
        writer.writerow([path, day, len(people), events])
    for path, (people, events) in sorted(rows.items()):
        writer.writerow([path, "", len(people), events])
    for day, (people, events) in sorted(columns.items()):
        writer.writerow(["", day, len(people), events])
    writer.writerow(["", "", len(total[0]), total[1]])

# The contributions table a GROUP BY makes, with keyed-hash persons.
rows_out = []
for (ip, path, day), n in sorted(views.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
    person = hmac.new(HOLDER_KEY, ip.encode(), hashlib.sha256).hexdigest()
    rows_out.append(f"{person},{path},{day},{n}\n")
with open(ROOT / "data" / "access-log-contributions.csv.gz", "wb") as raw:
    with gzip.GzipFile(filename="access-log-contributions.csv", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(("person,path,time,events\n" + "".join(rows_out)).encode())
