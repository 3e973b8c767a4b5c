#!/usr/bin/env python3
"""Writes clients.csv: the made-up clients of a clothing-alterations marketplace, one row per
order, for the tests of generalized releases (`[method] name = "global"` / `"mondrian"`).

Unlike the FreeSewing generator it has categorical quasi-identifiers (city, sex) beside an
integer one (age), a sensitive column (the service bought, some of which reveal health or
pregnancy), repeat clients with several orders, a rare city and a rare service, clients who did
not consent, clients not seen for years, a direct identifier (email) and a few bad rows (an age
that is not a number, an age of 140, an empty client id). Deterministic: same file every run.
"""
import csv
import random

rng = random.Random(20)
cities = [  # (city, weight)
    ("Paris", 30), ("Boulogne-Billancourt", 6), ("Saint-Denis", 5), ("Lyon", 14),
    ("Villeurbanne", 4), ("Grenoble", 5), ("Marseille", 12), ("Nice", 6), ("Toulon", 3),
    ("Bordeaux", 8), ("Pau", 2), ("Lille", 7), ("Roubaix", 3), ("Ajaccio", 1),
]
services = [  # (service, weight)
    ("hem", 30), ("zip replacement", 18), ("taking in", 14), ("letting out", 10),
    ("suit tailoring", 8), ("wedding dress", 6), ("maternity adjustment", 5),
    ("post-surgery adjustment", 3), ("prosthesis-friendly alteration", 1), ("repair", 12),
]


def pick(options):
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


rows = []
for client in range(1, 751):
    city = pick(cities)
    sex = rng.choices(["F", "M", "X"], weights=[58, 40, 2])[0]
    age = max(18, min(88, int(rng.gauss(41, 14))))
    consent = rng.choices([1, 0], weights=[85, 15])[0]
    seen = rng.choice(["2026-10-%02d" % rng.randint(1, 28), "2026-0%d-15" % rng.randint(1, 9),
                       "2023-05-02"]) if rng.random() < 0.97 else ""
    for _ in range(rng.choices([1, 2, 3], weights=[70, 22, 8])[0]):
        rows.append({
            "client_id": "C%05d" % (client * 7 + 3),
            "email": "client%d@example.org" % client,
            "consent": consent,
            "last_seen": seen,
            "city": city,
            "age": age,
            "sex": sex,
            "service": pick(services),
            "garments": rng.randint(1, 4),
        })
rng.shuffle(rows)
# Bad rows among the eligible ones (consented, seen within a year), so selection meets them.
eligible = [i for i, r in enumerate(rows) if r["consent"] == 1 and r["last_seen"][:4] == "2026"]
rows[eligible[0]]["age"] = "forty"
rows[eligible[1]]["age"] = 140
rows[eligible[2]]["client_id"] = ""
with open("clients.csv", "w", newline="") as out:
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
