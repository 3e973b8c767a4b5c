#!/usr/bin/env python3
"""An independent, messy FreeSewing-v3-shaped SQLite database, for testing anonpub from outside.

This generator shares nothing with `anonpub sample` (src/sample/): its own schema text, its own
body model, its own encryption code and its own mess. It exists because a release is judged on
databases the team never sees; a second generator with different habits finds what the first
one's habits hide.

Body model: a mixture of sub-populations (adult women and men, plus sizes, teens, children and a
few people whose proportions mix both adult models). Each person has a height, a girth factor and
a shape (pear ... apple); each measurement scales with height and girth by its own exponents, with
a correlated residual (upper body, lower body, lengths), so correlations differ from the sample's.
People enter only part of the catalogue, in realistic patterns (top only, bottom only, the three
classic girths, everything, a random handful), in millimetres, centimetres (multiples of 10 mm)
or inches (converted: 927.1 mm).

Accounts: consent 0..3 (3 = open data), status (1 active; 0 pending, -1 disabled, -2 blocked,
-3 deleted), createdAt and lastSeen as Prisma writes them (integer ms) or as text (ISO 8601 or
SQLite's CURRENT_TIMESTAMP form). Users have 0..5 sets: re-measurements, exact copies, and sets of
somebody else measured on the same account.

Mess, at rates of 0.1-2 %: JSON that is not an object, numbers as strings, strings with units,
nulls, NaN/Infinity tokens, booleans, negative/zero/absurd values, inch or cm values typed as mm,
unknown and unicode measurement names, duplicate keys, exponent notation, empty sets (plain `{}`,
NULL, encrypted `{}`), undecryptable values (unencrypted JSON, bad hex, truncated ciphertext, a
wrong key, not text), sets whose owner is missing, public sets, unreadable user rows, very new
accounts.

Canaries (listed in the truth file, never printed): people who are NOT eligible (no consent,
stale, blocked) with distinctive values; eligible extreme outliers (giants); email and
username-like strings in free-text columns and inside the encrypted measurements.

The expected outcome of every set is worked out here, from the rules anonpub documents (owner
first, then public, then decoding, then plausible ranges from schemas/freesewing.toml, then exact
copies within an owner), and written with the canaries to PATH.truth.json (mode 0600) for
scripts/check_independent.py.

Usage: independent_db.py --users N --seed S --db PATH --key-file PATH --as-of YYYY-MM-DD
"""

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import sqlite3
import sys
import tomllib
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

REPO = Path(__file__).resolve().parent.parent

# ---- encryption at rest, as the FreeSewing v3 backend does it --------------------------------


def derive_key(secret: bytes) -> bytes:
    """scrypt(secret, "FreeSewing", N=2^14, r=8, p=1) -> 32 bytes."""
    return hashlib.scrypt(secret, salt=b"FreeSewing", n=16384, r=8, p=1, dklen=32)


def encrypt(key: bytes, plaintext: bytes, iv: bytes) -> tuple[str, str]:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv.hex(), (enc.update(data) + enc.finalize()).hex()


def opens_with(key: bytes, iv_hex: str, ct_hex: str) -> bool:
    """Whether the right key would open this value (for the wrong-key rows)."""
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes.fromhex(iv_hex))).decryptor()
    raw = dec.update(bytes.fromhex(ct_hex)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(raw) + unpadder.finalize()
        plain.decode("utf-8")
        return True
    except ValueError:
        return False


def envelope(iv_hex: str, ct_hex: str, style: int) -> str:
    """The stored form; serializers differ in key order and spacing."""
    if style == 1:
        return '{"ct": "%s", "iv": "%s"}' % (ct_hex, iv_hex)
    if style == 2:
        return '{ "iv" : "%s" , "ct" : "%s" }' % (iv_hex.upper(), ct_hex)
    return '{"iv":"%s","ct":"%s"}' % (iv_hex, ct_hex)


# ---- the catalogue, read from the schema anonpub publishes with --------------------------------


def load_catalog():
    schema = tomllib.loads((REPO / "schemas" / "freesewing.toml").read_text())
    cols = {}
    for col in schema["column"]:
        if col.get("role") == "quasi_identifier" and col.get("type", "number") != "string":
            if "plausible" not in col:
                continue
            cols[col["name"]] = {
                "plausible": tuple(col["plausible"]),
                "aliases": col.get("aliases", []),
                "breasts": bool(col.get("breasts_only", False)),
            }
    return cols


# ---- the body model ----------------------------------------------------------------------------

# name: (reference value for a 1640 mm adult woman of girth 1, height exponent, girth exponent,
#        residual sd (relative), residual block, male factor)
BODY = {
    "ankle": (228, 0.35, 0.45, 0.05, "low", 1.07),
    "biceps": (292, 0.10, 1.10, 0.08, "up", 1.12),
    "bustFront": (505, 0.05, 1.05, 0.06, "up", None),
    "bustPointToUnderbust": (88, 0.30, 0.80, 0.14, "up", None),
    "bustSpan": (184, 0.20, 0.55, 0.09, "up", None),
    "chest": (935, 0.10, 1.00, 0.04, "up", 1.09),
    "crossSeam": (765, 0.45, 0.75, 0.05, "low", 1.02),
    "crossSeamFront": (372, 0.45, 0.70, 0.06, "low", 1.03),
    "crotchDepth": (268, 0.55, 0.45, 0.07, "low", 0.99),
    "heel": (318, 0.55, 0.30, 0.04, "low", 1.07),
    "head": (556, 0.20, 0.12, 0.03, "len", 1.04),
    "highBust": (880, 0.10, 0.95, 0.04, "up", None),
    "highBustFront": (455, 0.10, 0.95, 0.06, "up", None),
    "hips": (1005, 0.15, 1.00, 0.04, "low", 0.96),
    "hpsToBust": (262, 0.80, 0.25, 0.06, "len", None),
    "hpsToWaistBack": (410, 1.00, 0.05, 0.04, "len", 1.03),
    "hpsToWaistFront": (445, 0.95, 0.25, 0.05, "len", None),
    "inseam": (772, 1.10, -0.10, 0.035, "len", 1.02),
    "knee": (382, 0.30, 0.70, 0.06, "low", 1.02),
    "neck": (348, 0.20, 0.60, 0.05, "up", 1.13),
    "seat": (1012, 0.15, 1.00, 0.04, "low", 0.97),
    "seatBack": (522, 0.15, 1.00, 0.05, "low", 0.98),
    "shoulderSlope": (13.0, 0.0, 0.0, 0.0, "len", 1.0),
    "shoulderToElbow": (332, 1.00, 0.05, 0.04, "len", 1.03),
    "shoulderToShoulder": (402, 0.50, 0.30, 0.05, "up", 1.10),
    "shoulderToWrist": (582, 1.00, 0.05, 0.03, "len", 1.03),
    "underbust": (778, 0.10, 1.05, 0.05, "up", None),
    "upperLeg": (578, 0.20, 1.05, 0.06, "low", 0.95),
    "waist": (782, 0.10, 1.25, 0.07, "up", 1.08),
    "waistBack": (392, 0.10, 1.25, 0.08, "up", 1.07),
    "waistToArmhole": (198, 0.80, 0.10, 0.07, "len", 1.04),
    "waistToFloor": (1042, 1.00, 0.00, 0.025, "len", 1.01),
    "waistToHips": (128, 0.70, 0.10, 0.10, "len", 1.0),
    "waistToKnee": (598, 1.00, 0.00, 0.03, "len", 1.01),
    "waistToSeat": (222, 0.80, 0.20, 0.08, "len", 0.98),
    "waistToUnderbust": (80, 0.60, 0.20, 0.14, "len", None),
    "waistToUpperLeg": (292, 0.80, 0.15, 0.06, "len", 0.99),
    "wrist": (158, 0.20, 0.45, 0.05, "up", 1.10),
}

TOP = ["chest", "neck", "shoulderToShoulder", "shoulderSlope", "biceps", "wrist",
       "hpsToWaistBack", "waistToArmhole", "shoulderToWrist", "shoulderToElbow", "waist",
       "waistBack", "head", "highBust", "underbust", "bustSpan", "hpsToBust", "bustFront",
       "highBustFront", "bustPointToUnderbust", "hpsToWaistFront", "waistToUnderbust"]
BOTTOM = ["waist", "hips", "seat", "seatBack", "inseam", "crossSeam", "crossSeamFront",
          "crotchDepth", "knee", "upperLeg", "waistToKnee", "waistToFloor", "waistToHips",
          "waistToSeat", "waistToUpperLeg", "ankle", "heel"]

# population: (share, breasts share, height mean, height sd, girth mean, girth sd)
POPULATIONS = {
    "woman": (0.40, 1.0, 1645, 68, 1.00, 0.11),
    "man": (0.31, 0.0, 1772, 72, 1.00, 0.10),
    "plus": (0.12, 0.7, 1680, 80, 1.38, 0.14),
    "teen": (0.08, 0.5, 1590, 95, 0.86, 0.09),
    "child": (0.04, 0.5, 1240, 160, 0.68, 0.08),
    "mixed": (0.05, 0.5, 1705, 85, 1.04, 0.12),
}


BREASTS_ONLY = ["bustFront", "bustPointToUnderbust", "bustSpan", "highBust", "highBustFront",
                "hpsToWaistFront", "underbust", "waistToUnderbust"]

_SHIRT = ["biceps", "chest", "hpsToWaistBack", "hips", "neck", "shoulderSlope",
          "shoulderToShoulder", "shoulderToWrist", "waistToArmhole", "waistToHips", "wrist"]
_TROUSERS = ["crossSeam", "crossSeamFront", "knee", "seat", "seatBack", "waist", "waistBack",
             "waistToFloor", "waistToHips", "waistToKnee", "waistToSeat", "waistToUpperLeg", "hips"]
_BODICE = ["bustFront", "bustPointToUnderbust", "bustSpan", "chest", "highBust", "highBustFront",
           "hpsToBust", "hpsToWaistBack", "hpsToWaistFront", "neck", "shoulderSlope",
           "shoulderToShoulder", "underbust", "waist", "waistBack", "waistToArmhole",
           "waistToUnderbust", "hips"]
# Designs as a pattern library asks for measurements: (popularity, needs breasts, measurements).
# A set records the union of the designs its owner made; the design, not the person, decides
# which columns are there, so patterns repeat (design-driven coverage).
DESIGNS = {
    "tank": (1.0, False, _SHIRT[:8] + ["waistToArmhole"]),
    "shirt": (1.4, False, _SHIRT),
    "hoodie": (0.9, False, _SHIRT + ["head"]),
    "tee": (1.2, False, [m for m in _SHIRT if m != "wrist"]),
    "trousers": (1.3, False, _TROUSERS),
    "jeans": (0.8, False, _TROUSERS + ["upperLeg", "heel"]),
    "wrap-pants": (0.5, False, ["crotchDepth", "inseam", "seat", "waist", "waistToFloor",
                                "waistToHips", "hips"]),
    "skirt": (0.7, False, ["waist", "waistToFloor", "waistToHips", "hips", "waistToSeat", "seat"]),
    "bodice": (0.8, True, _BODICE),
    "bikini": (0.5, True, ["bustSpan", "chest", "highBust", "hpsToBust", "hpsToWaistFront", "neck",
                           "underbust", "waist", "waistToUnderbust", "bustPointToUnderbust"]),
    "dress": (0.6, True, _BODICE + ["shoulderToWrist", "biceps", "wrist", "waistToFloor"]),
    "coat": (0.4, True, _SHIRT + ["bustSpan", "highBust", "highBustFront", "hpsToBust",
                                  "hpsToWaistFront"]),
}
# How likely a measurement is among the few a sparse set records (others: 0.3).
POPULAR = {"chest": 12.0, "waist": 12.0, "hips": 12.0, "neck": 5.0, "inseam": 4.0, "seat": 3.0,
           "biceps": 2.0, "shoulderToShoulder": 2.0, "waistToFloor": 2.0, "head": 1.5,
           "underbust": 1.5, "highBust": 1.0, "wrist": 1.0, "upperLeg": 1.0}
# How much more often a person with breasts picks a design that needs them.
BUST_DESIGN_WEIGHT = 1.6
# Share of the sets of people without breasts that also record a scattered few bust measurements
# (about a tenth of the people who record them).
MINORITY_BUST_SHARE = 0.11


class Body:
    def __init__(self, rng: np.random.Generator, catalog, legacy=False):
        self.rng = rng
        self.legacy = legacy
        self.catalog = catalog
        names = list(BODY)
        blocks = sorted({v[4] for v in BODY.values()})
        self.names = names
        self.block_of = [blocks.index(BODY[n][4]) for n in names]
        self.nblocks = len(blocks)

    def person(self):
        rng = self.rng
        pops = list(POPULATIONS)
        shares = np.array([POPULATIONS[p][0] for p in pops])
        pop = pops[rng.choice(len(pops), p=shares / shares.sum())]
        _, breasts_share, hm, hs, gm, gs = POPULATIONS[pop]
        breasts = rng.random() < breasts_share
        height = rng.normal(hm, hs)
        girth = max(0.45, rng.lognormal(math.log(gm), gs))
        shape = rng.normal(0, 1)  # < 0 pear, > 0 apple
        male = not breasts and pop != "child"
        blend = rng.random() if pop == "mixed" else (1.0 if male else 0.0)
        shared = rng.normal(0, 1, self.nblocks)
        values = {}
        for i, name in enumerate(self.names):
            ref, a, b, sd, _, mf = BODY[name]
            if name == "shoulderSlope":
                values[name] = float(np.clip(rng.normal(13.5 + 2 * blend, 3.2), 1, 40))
                continue
            if BODY[name][5] is None and not breasts:
                continue
            factor = 1.0 if mf is None else 1.0 + (mf - 1.0) * blend
            shape_term = 0.0
            if name in ("waist", "waistBack"):
                shape_term = 0.05 * shape
            elif name in ("hips", "seat", "seatBack", "upperLeg"):
                shape_term = -0.03 * shape
            eps = sd * (0.6 * shared[self.block_of[i]] + 0.8 * rng.normal())
            v = ref * factor * (height / 1640.0) ** a * girth ** b * math.exp(eps + shape_term)
            values[name] = v
        if not breasts and not self.legacy:
            values.update(flat_bust(rng, values, blend))
        return pop, breasts, values

    def pattern(self, values, breasts):
        """The measurements a set records: design-driven unions, the basics, everything, a sparse
        handful, or (with `--coverage legacy`) the earlier top/bottom patterns with random gaps.
        A person without breasts has flat-chest bust values in `values` (`flat_bust`); they are
        recorded only by the minority that fills in a scattered few of them."""
        rng = self.rng
        body = {n: v for n, v in values.items() if breasts or n not in BREASTS_ONLY}
        if self.legacy:
            return legacy_pattern(rng, body)
        u = rng.random()
        if u < 0.62:
            count = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
            names = list(DESIGNS)
            weights = np.array([DESIGNS[d][0] * (BUST_DESIGN_WEIGHT if DESIGNS[d][1] and breasts
                                                 else 1.0) for d in names])
            if not breasts:
                weights = np.array([0.0 if DESIGNS[d][1] else w for d, w in zip(names, weights)])
            chosen = rng.choice(len(names), size=count, replace=False, p=weights / weights.sum())
            wanted = sorted({m for d in chosen for m in DESIGNS[names[d]][2]})
            keep = [n for n in wanted if n in body and rng.random() > 0.005]
        elif u < 0.72:
            keep = [n for n in ("chest", "waist", "hips", "neck") if n in body
                    and (n != "neck" or rng.random() < 0.5)]
        elif u < 0.80:
            keep = [n for n in body if rng.random() > 0.03]
        elif u < 0.92:
            # Sparse sets: a handful of measurements, rarely one or two (those are not
            # published at all, see `min_published_measurements`).
            # People enter what they know: the girths most, lengths less, the rest rarely.
            have = list(body)
            low = 1 if rng.random() < 0.04 else 3
            k = int(rng.integers(low, min(9, len(have)) + 1))
            w = np.array([POPULAR.get(n, 0.3) for n in have])
            keep = list(rng.choice(have, size=k, replace=False, p=w / w.sum()))
        else:
            part = TOP if rng.random() < 0.6 else BOTTOM
            keep = [n for n in part if n in body and rng.random() > 0.08]
        if not breasts and rng.random() < MINORITY_BUST_SHARE and any(n in values
                                                                     for n in BREASTS_ONLY):
            # The minority: no breasts, yet a scattered few of the bust measurements, with a
            # body shape of their own (a second mode in those columns).
            bust = [n for n in BREASTS_ONLY if n in values and rng.random() < 0.45]
            if not bust:
                bust = [str(rng.choice([n for n in BREASTS_ONLY if n in values]))]
            keep = keep + [n for n in bust if n not in keep]
        if not keep:
            keep = ["chest"] if "chest" in body else list(body)[:1]
        return {n: values[n] for n in keep}


def legacy_pattern(rng, values):
    """The patterns of the first version of this generator (random gaps within top/bottom)."""
    u = rng.random()
    have = list(values)
    if u < 0.18:
        keep = [n for n in have if rng.random() > 0.05]
    elif u < 0.48:
        keep = [n for n in TOP if n in values and rng.random() > 0.15]
    elif u < 0.66:
        keep = [n for n in BOTTOM if n in values and rng.random() > 0.12]
    elif u < 0.82:
        keep = [n for n in ("chest", "waist", "hips", "neck") if n in values
                and (n != "neck" or rng.random() < 0.5)]
    else:
        k = int(rng.integers(2, min(20, len(have)) + 1))
        keep = list(rng.choice(have, size=k, replace=False))
    if not keep:
        keep = ["chest"] if "chest" in values else have[:1]
    return {n: values[n] for n in keep}


def flat_bust(rng, values, blend):
    """Bust measurements of a body without breasts, from its chest and lengths: the high bust
    is the chest, the front halves sit higher than a breasted body's (highBustFront median near
    590 mm against 455), the bust point is barely above the underbust."""
    chest = values["chest"]
    j = lambda sd: math.exp(rng.normal(0, sd))  # noqa: E731
    return {
        "highBust": chest * 0.975 * j(0.02),
        "highBustFront": chest * 0.585 * j(0.035),
        "bustFront": chest * 0.515 * j(0.03),
        "underbust": chest * 0.93 * j(0.025),
        "bustSpan": 190.0 * (0.9 + 0.2 * blend) * j(0.07),
        "bustPointToUnderbust": 55.0 * j(0.12),
        "waistToUnderbust": 54.0 * j(0.12),
        "hpsToWaistFront": values["hpsToWaistBack"] * 1.01 * j(0.03),
    }


def enter(rng, values, habit):
    """The numbers as the person typed them: mm, cm (one decimal), or inches (quarter)."""
    out = {}
    for n, v in values.items():
        if n == "shoulderSlope":
            out[n] = round(v * 2) / 2
        elif habit == "cm":
            out[n] = round(v / 10.0) * 10.0
        elif habit == "inch":
            out[n] = round(round(v / 25.4 * 4) / 4 * 25.4, 1)
        else:
            out[n] = float(round(v))
    return out


def plausible(values, catalog) -> bool:
    return all(catalog[n]["plausible"][0] <= v <= catalog[n]["plausible"][1]
               for n, v in values.items())


def fmt_number(rng, v):
    if v == int(v) and rng.random() < 0.7:
        return str(int(v))
    if rng.random() < 0.01:
        return "%.4e" % v
    return repr(float(v))


def to_json(rng, values, extra=None):
    parts = ['"%s":%s' % (n, fmt_number(rng, v)) for n, v in values.items()]
    for k, raw in (extra or []):
        parts.append("%s:%s" % (json.dumps(k, ensure_ascii=rng.random() < 0.5), raw))
    order = rng.permutation(len(parts))
    sep = ", " if rng.random() < 0.3 else ","
    return "{" + sep.join(parts[i] for i in order) + "}"


# ---- dates ---------------------------------------------------------------------------------------


def ms_of(d: dt.datetime) -> int:
    return int(d.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def stored_time(rng, d: dt.datetime):
    u = rng.random()
    if u < 0.75:
        return ms_of(d)
    if u < 0.93:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%d %H:%M:%S")


SCHEMA = """
CREATE TABLE "User" (
  "id" INTEGER PRIMARY KEY,
  "email" TEXT NOT NULL, "ehash" TEXT, "username" TEXT NOT NULL, "lusername" TEXT,
  "bio" TEXT DEFAULT '', "data" TEXT DEFAULT '{}', "imperial" BOOLEAN DEFAULT false,
  "language" TEXT DEFAULT 'en', "role" TEXT DEFAULT 'user', "patron" INTEGER DEFAULT 0,
  "consent" INTEGER NOT NULL DEFAULT 0, "status" INTEGER NOT NULL DEFAULT 0,
  "createdAt" DATETIME DEFAULT CURRENT_TIMESTAMP, "lastSeen" DATETIME DEFAULT CURRENT_TIMESTAMP,
  "updatedAt" DATETIME
);
CREATE TABLE "Set" (
  "id" INTEGER PRIMARY KEY,
  "userId" INTEGER, "name" TEXT NOT NULL DEFAULT '', "notes" TEXT NOT NULL DEFAULT '',
  "imperial" BOOLEAN DEFAULT false, "img" TEXT, "measies" TEXT DEFAULT '{}',
  "public" BOOLEAN NOT NULL DEFAULT false,
  "createdAt" DATETIME DEFAULT CURRENT_TIMESTAMP, "updatedAt" DATETIME
);
CREATE TABLE "Pattern" ("id" INTEGER PRIMARY KEY, "setId" INTEGER, "userId" INTEGER,
  "data" TEXT, "notes" TEXT);
"""

FIRST = ["ana", "jo", "mika", "sam", "lee", "noor", "ines", "olu", "kai", "zoë", "björn",
         "mei", "raj", "lena", "tomás", "ade"]


def main():
    global MINORITY_BUST_SHARE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--key-file", type=Path, required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--coverage", choices=["designs", "legacy"], default="designs",
                    help="which sets record which measurements (legacy: the first version's)")
    ap.add_argument("--minority-bust-share", type=float, default=0.11,
                    help="share of the sets of people without breasts that record a few bust "
                         "measurements (a larger share makes those columns clearly bimodal)")
    args = ap.parse_args()
    MINORITY_BUST_SHARE = args.minority_bust_share

    rng = np.random.default_rng(args.seed)
    catalog = load_catalog()
    missing = set(BODY) ^ set(catalog)
    if missing:
        sys.exit(f"body model and schema disagree on {len(missing)} measurement names")
    as_of = dt.datetime.fromisoformat(args.as_of)
    retention_start = as_of.replace(year=as_of.year - 1)  # retention_months = 12 (default)

    # Same seed, same database (key and IVs included), so that a failure can be replayed.
    secret = ("indep-%d-" % args.seed + rng.bytes(8).hex()).encode()
    key = derive_key(secret)
    wrong_key = derive_key(secret + b"-old")
    args.key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secret + b"\n")
    if args.db.exists():
        args.db.unlink()
    con = sqlite3.connect(args.db)
    con.executescript(SCHEMA)

    body = Body(rng, catalog, legacy=args.coverage == "legacy")
    expect = {}  # exclusion key -> count
    counted = lambda k: expect.__setitem__(k, expect.get(k, 0) + 1)  # noqa: E731
    eligible_sets = 0
    eligible_people = set()
    unknown_dropped = 0
    users_rows, sets_rows = [], []
    canaries = {"ineligible": [], "outliers": [], "strings": []}
    messy_planted = {}

    def plant(kind):
        messy_planted[kind] = messy_planted.get(kind, 0) + 1

    def canary_string(kind):
        s = "canary%s-%s" % (kind, rng.bytes(4).hex())
        if kind == "email":
            s = s + "@mailinator.example"
        canaries["strings"].append(s)
        return s

    def owner_verdict(u):
        if u["unreadable"]:
            return "unreadable_owner"
        if u["consent"] < 3:
            return "no_open_data_consent"
        if u["status"] != 1:
            return "account_not_active"
        if u["last_seen"] is None or u["last_seen"] < retention_start:
            return "outside_retention_window"
        return None

    n = args.users
    ineligible_canary_at = set(rng.choice(n, size=min(n, 6), replace=False).tolist())
    giant_at = set(rng.choice(n, size=min(n, 3), replace=False).tolist()) - ineligible_canary_at
    set_id = 0
    for uid in range(1, n + 1):
        i = uid - 1
        consent = int(rng.choice([0, 1, 2, 3], p=[0.18, 0.10, 0.14, 0.58]))
        status = int(rng.choice([1, 0, -1, -2, -3], p=[0.885, 0.06, 0.025, 0.015, 0.015]))
        created = as_of - dt.timedelta(days=float(rng.uniform(0, 6 * 365)))
        if rng.random() < 0.02:
            created = as_of - dt.timedelta(hours=float(rng.uniform(1, 24 * 6)))
        if rng.random() < (0.66 if args.coverage == "legacy" else 0.9):
            seen = as_of - dt.timedelta(days=float(rng.uniform(0, 360)))
        else:
            seen = as_of - dt.timedelta(days=float(rng.uniform(370, 5 * 365)))
        seen = max(seen, created)
        u = {"consent": consent, "status": status, "last_seen": seen, "unreadable": False}
        consent_cell, status_cell = consent, status
        seen_cell = stored_time(rng, seen)
        r = rng.random()
        if r < 0.002:
            consent_cell = "yes"
            u["unreadable"] = True
            plant("user_consent_text")
        elif r < 0.003:
            seen_cell = "never"
            u["unreadable"] = True
            plant("user_last_seen_garbage")
        elif r < 0.006:
            seen_cell = None  # never recorded: outside retention
            u["last_seen"] = None
            plant("user_last_seen_null")
        canary = None
        if i in ineligible_canary_at:
            canary = ["no_consent", "stale", "blocked"][len(canaries["ineligible"]) % 3]
            u.update(unreadable=False)
            consent_cell = u["consent"] = 1 if canary == "no_consent" else 3
            status_cell = u["status"] = -2 if canary == "blocked" else 1
            if canary == "stale":
                u["last_seen"] = as_of - dt.timedelta(days=900)
            else:
                u["last_seen"] = as_of - dt.timedelta(days=20)
            seen_cell = ms_of(u["last_seen"])
        if i in giant_at:
            u.update(consent=3, status=1, unreadable=False, last_seen=as_of - dt.timedelta(days=5))
            consent_cell, status_cell, seen_cell = 3, 1, ms_of(u["last_seen"])
            created = as_of - dt.timedelta(days=800)
        verdict = owner_verdict(u)
        uname = "%s%d" % (FIRST[int(rng.integers(len(FIRST)))], uid)
        email = "%s@example.org" % uname
        bio = ""
        if rng.random() < 0.01:
            bio = "sews for %s, mail %s" % (uname, canary_string("email"))
        users_rows.append((uid, email, hashlib.sha256(email.encode()).hexdigest(), uname,
                           uname.lower(), bio, consent_cell, status_cell,
                           stored_time(rng, created), seen_cell, ms_of(as_of)))
        # sets
        nsets = int(rng.choice([0, 1, 2, 3, 4, 5], p=[0.14, 0.60, 0.17, 0.06, 0.02, 0.01]))
        if canary or i in giant_at:
            nsets = 1
        pop, breasts, full = body.person()
        habit = str(rng.choice(["mm", "cm", "inch"], p=[0.62, 0.28, 0.10]))
        own_values = []  # value dicts of this owner's eligible sets, for duplicates
        for s in range(nsets):
            set_id += 1
            if s > 0:
                w = rng.random()
                if w < 0.30 and own_values:
                    kind = "copy"
                elif w < 0.70:
                    kind = "remeasure"
                else:
                    kind = "other_person"
                    pop, breasts, full = body.person()
            else:
                kind = "first"
            if kind == "remeasure":
                full = {k: v * math.exp(rng.normal(0, 0.015)) for k, v in full.items()}
            if kind == "copy":
                values = dict(own_values[int(rng.integers(len(own_values)))])
            else:
                values = enter(rng, body.pattern(full, breasts), habit)
            if canary:
                # Distinctive: every value ends in .7 mm, mid-range, all of the top pattern.
                values = {}
                for name in TOP[:12]:
                    lo, hi = catalog[name]["plausible"]
                    if name == "shoulderSlope":
                        continue
                    values[name] = math.floor(lo + (hi - lo) * rng.uniform(0.35, 0.65)) + 0.7
            if i in giant_at:
                values = {}
                for name in ("chest", "waist", "hips", "neck", "hpsToWaistBack", "inseam",
                             "shoulderToShoulder", "shoulderToWrist", "waistToFloor", "biceps",
                             "seat", "head"):
                    lo, hi = catalog[name]["plausible"]
                    values[name] = float(round(hi - (hi - lo) * rng.uniform(0.02, 0.06)))
            public = 1 if rng.random() < 0.04 and not canary and i not in giant_at else 0
            name = "my measurements" if rng.random() < 0.7 else "für %s ✂️" % uname
            notes = ""
            if rng.random() < 0.01:
                notes = "ask @%s or %s" % (canary_string("user"), canary_string("email"))
            owner_cell = uid
            if rng.random() < 0.003 and not canary and i not in giant_at:
                owner_cell = n + 1000 + set_id if rng.random() < 0.8 else None
                plant("orphan")
            extra = []
            outcome = None
            stored = None
            m = rng.random() if not canary and i not in giant_at else 1.0
            # ---- the mess ----
            if m < 0.004:
                plant("empty_plain")
                stored = "{}" if rng.random() < 0.7 else None
                outcome = "no_measurements"
            elif m < 0.007:
                plant("empty_encrypted")
                plain = "{}" if rng.random() < 0.6 else '{"colour": "blue"}'
                iv = rng.bytes(16)
                stored = envelope(*encrypt(key, plain.encode(), iv), 0)
                outcome = "no_measurements"
            elif m < 0.009:
                plant("unencrypted_json")
                stored = to_json(rng, values)
                outcome = "undecryptable"
            elif m < 0.010:
                plant("bad_hex")
                iv, ct = encrypt(key, to_json(rng, values).encode(), rng.bytes(16))
                stored = envelope(iv, "zz" + ct[2:], 0)
                outcome = "undecryptable"
            elif m < 0.011:
                plant("truncated_ciphertext")
                iv, ct = encrypt(key, to_json(rng, values).encode(), rng.bytes(16))
                stored = envelope(iv, ct[:-6], 0)
                outcome = "undecryptable"
            elif m < 0.0125:
                plant("wrong_key")
                while True:
                    iv, ct = encrypt(wrong_key, to_json(rng, values).encode(), rng.bytes(16))
                    if not opens_with(key, iv, ct):
                        break
                stored = envelope(iv, ct, 0)
                outcome = "undecryptable"
            elif m < 0.0130:
                plant("not_text")
                stored = 12345 if rng.random() < 0.5 else 3.25
                outcome = "undecryptable"
            elif m < 0.0145:
                plant("not_an_object")
                plain = str(rng.choice(['[930, 780]', '"chest 930"', "930", "null", "true",
                                        '[{"chest":930}]']))
                stored = envelope(*encrypt(key, plain.encode(), rng.bytes(16)), 0)
                outcome = "malformed_value"
            elif m < 0.0175:
                cls = str(rng.choice(["number_string", "unit_string", "null_value",
                                      "nan_token", "infinity_token", "boolean", "email_value"]))
                plant(cls)
                target = str(rng.choice(list(values)))
                v = values[target]
                raw = {
                    "number_string": json.dumps(fmt_number(rng, v)),
                    "unit_string": json.dumps("%g cm" % round(v / 10, 1)),
                    "null_value": "null",
                    "nan_token": "NaN",
                    "infinity_token": str(rng.choice(["Infinity", "-Infinity"])),
                    "boolean": "true",
                    "email_value": None,
                }[cls]
                if raw is None:
                    raw = json.dumps(canary_string("email"))
                rest = {k: x for k, x in values.items() if k != target}
                plain = to_json(rng, rest, [(target, raw)])
                stored = envelope(*encrypt(key, plain.encode(), rng.bytes(16)), 0)
                outcome = "malformed_value"
                # A plain decimal in a string is that number (null stays malformed).
                if cls == "number_string":
                    outcome = None if plausible(values, catalog) else "implausible_value"
            elif m < 0.0275:
                cls = str(rng.choice(["negative", "zero", "absurd", "inches_as_mm", "cm_as_mm"]))
                plant(cls)
                bad = dict(values)
                if cls == "inches_as_mm":
                    bad = {k: (round(x / 25.4, 1) if k != "shoulderSlope" else x)
                           for k, x in bad.items()}
                elif cls == "cm_as_mm":
                    bad = {k: (round(x / 10, 1) if k != "shoulderSlope" else x)
                           for k, x in bad.items()}
                else:
                    t = str(rng.choice([k for k in bad if k != "shoulderSlope"] or list(bad)))
                    bad[t] = {"negative": -bad[t], "zero": 0.0, "absurd": bad[t] * 1000}[cls]
                plain = to_json(rng, bad)
                stored = envelope(*encrypt(key, plain.encode(), rng.bytes(16)), 0)
                outcome = None if plausible(bad, catalog) else "implausible_value"
                values = bad
            else:
                if m < 0.0475:
                    plant("unknown_names")
                    for _ in range(int(rng.integers(1, 3))):
                        unk = str(rng.choice(["favouriteColour", "hoodDepth", "Brustumfang",
                                              "胸围", "tailleHaute", "EMAIL"]))
                        raw = json.dumps(str(rng.choice(["red", "12", "xl"]))) if \
                            rng.random() < 0.5 else fmt_number(rng, float(rng.integers(1, 900)))
                        if unk == "EMAIL":
                            unk = canary_string("email")
                        extra.append((unk, raw))
                elif m < 0.0495 and len(values) > 1:
                    plant("duplicate_key")
                    k0 = next(iter(values))
                    extra.append((k0, fmt_number(rng, values[k0] + 3)))
                    values = dict(values)
                    values[k0] = values[k0] + 3  # the last occurrence counts
                elif m < 0.0505 and "waistToArmhole" in values:
                    plant("alias_name")
                    values = dict(values)
                    wa = values.pop("waistToArmhole")
                    extra.append(("waistToArmpit", fmt_number(rng, wa)))
                    values["waistToArmhole"] = wa
                style = int(rng.choice([0, 1, 2], p=[0.97, 0.02, 0.01]))
                shown = {k: x for k, x in values.items()
                         if not any(e[0] == k for e in extra)}
                plain = to_json(rng, shown, extra)
                stored = envelope(*encrypt(key, plain.encode(), rng.bytes(16)), style)
                outcome = None if plausible(values, catalog) else "implausible_value"
            # ---- the expected outcome, in anonpub's documented order ----
            if owner_cell is None or owner_cell != uid:
                final = "orphan_set"
            elif verdict is not None:
                final = verdict
            elif public:
                final = "public_set"
            else:
                final = outcome
                if final is None and not values:
                    final = "no_measurements"
            if final is None:
                key_vals = tuple(sorted(values.items()))
                # anonpub counts the unknown names of every set that passed the checks, the
                # exact copies of an owner's own set included.
                unknown_dropped += sum(1 for e in extra if e[0] not in catalog
                                       and not any(e[0] in c["aliases"]
                                                   for c in catalog.values()))
                if key_vals in {tuple(sorted(v.items())) for v in own_values}:
                    final = "duplicate_of_own_set"
                else:
                    own_values.append(dict(values))
                    eligible_sets += 1
                    eligible_people.add(uid)
            if final is not None:
                counted(final)
            if canary:
                canaries["ineligible"].append({"why": canary, "values": values})
            if i in giant_at:
                canaries["outliers"].append({"why": "giant", "values": values,
                                             "expected": final})
            sets_rows.append((set_id, owner_cell, name, notes, stored, public,
                              stored_time(rng, created), ms_of(as_of)))
        if len(sets_rows) > 20000:
            con.executemany('INSERT INTO "Set" (id, userId, name, notes, measies, public, '
                            'createdAt, updatedAt) VALUES (?,?,?,?,?,?,?,?)', sets_rows)
            sets_rows = []
    con.executemany('INSERT INTO "User" (id, email, ehash, username, lusername, bio, consent, '
                    'status, createdAt, lastSeen, updatedAt) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
                    users_rows)
    con.executemany('INSERT INTO "Set" (id, userId, name, notes, measies, public, createdAt, '
                    'updatedAt) VALUES (?,?,?,?,?,?,?,?)', sets_rows)
    con.commit()
    con.close()

    truth = {
        "generator": "scripts/independent_db.py",
        "seed": args.seed,
        "as_of": args.as_of,
        "users": n,
        "sets": set_id,
        "eligible_sets": eligible_sets,
        "eligible_people": len(eligible_people),
        "excluded_sets": dict(sorted(expect.items())),
        "unknown_measurements_dropped": unknown_dropped,
        "planted": dict(sorted(messy_planted.items())),
        "canaries": canaries,
    }
    out = Path(str(args.db) + ".truth.json")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
    print("users %d, sets %d, expected eligible sets %d, planted classes %d"
          % (n, set_id, eligible_sets, len(messy_planted)))


if __name__ == "__main__":
    main()
