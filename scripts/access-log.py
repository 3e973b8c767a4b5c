#!/usr/bin/env python3
"""Writes data/access-log.csv: a synthetic web access log (timestamp, ip, page) of a small
association's site, for `anonpub tabulate`. Deterministic (its own linear congruential generator,
no library randomness), so running it again gives the committed file byte for byte. Addresses
come from the documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24;
RFC 3849: 2001:db8::/32) and belong to nobody.

    python3 scripts/access-log.py > data/access-log.csv
"""

state = 20261101


def draw(n):
    """A number in 0..n-1 (Numerical Recipes' LCG, upper bits)."""
    global state
    state = (1664525 * state + 1013904223) % 2**32
    return (state >> 8) % n


PAGES = [
    ("/", 30),
    ("/events", 20),
    ("/opening-hours", 14),
    ("/membership", 8),
    ("/contact", 5),
    ("/board-minutes", 1),
]
NETWORKS = ["192.0.2", "198.51.100", "203.0.113"]


def page():
    total = sum(w for _, w in PAGES)
    pick = draw(total)
    for name, weight in PAGES:
        if pick < weight:
            return name
        pick -= weight
    raise AssertionError


visitors = []
for i in range(90):
    if i % 15 == 14:
        visitors.append(f"2001:db8:{draw(3):x}:{draw(65536):x}::{draw(65536):x}")
    else:
        visitors.append(f"{NETWORKS[draw(3)]}.{1 + draw(254)}")

rows = []
for visitor in visitors:
    for _ in range(1 + draw(6)):
        day = 1 + draw(7)
        # Busier in the evening: hours 8..22, weighted towards 18..21.
        hour = 8 + draw(11) + draw(4)
        rows.append((f"2026-11-{day:02}T{hour:02}:{draw(60):02}:{draw(60):02}Z", visitor, page()))
rows.sort()
print("timestamp,ip,page")
for timestamp, ip, name in rows:
    print(f"{timestamp},{ip},{name}")
