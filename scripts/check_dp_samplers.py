#!/usr/bin/env python3
"""Checks anonpub's DP samplers against OpenDP's: same parameters, two-sample tests of the output
distributions. Reads the output of `examples/dp_samples.rs` on stdin.

- discrete Laplace, scale 3: OpenDP `make_laplace` on integers;
- discrete Gaussian, sigma 2: OpenDP `make_gaussian` on integers;
- exponential mechanism for the median of a fixed histogram at epsilon 1: OpenDP `make_noisy_max`
  with Gumbel noise (OpenDP picks Gumbel for `zero_concentrated_divergence`; for `max_divergence`
  it adds exponential noise, which is permute-and-flip, a different distribution), which is the
  exponential mechanism, on the same scores (minus the rank distance; scale 2/epsilon).

Each pair of samples must pass a two-sample Kolmogorov-Smirnov test at alpha = 1e-4 (conservative
for discrete data) and a chi-square homogeneity test at the same level (bins with fewer than 10
expected draws pooled). A failure means one sampler draws from a different distribution.
Exit 0 when every check passes, 1 otherwise.
"""

import math
import sys

import opendp.prelude as dp

ALPHA = 1e-4
HISTOGRAM = [3, 0, 5, 2, 0, 0, 7, 1, 4, 2]


def median_scores(histogram, percent=50):
    """Minus the distance from q*n to the ranks [L(x), U(x)] each grid point covers."""
    n = sum(histogram)
    target = percent * n / 100
    scores, below = [], 0
    for count in histogram:
        low, high = below, below + count
        scores.append(-max(low - target, target - high, 0))
        below += count
    return scores


def ks_statistic(a, b):
    values = sorted(set(a) | set(b))
    ca, cb = count(a), count(b)
    fa = fb = 0.0
    worst = 0.0
    for v in values:
        fa += ca.get(v, 0) / len(a)
        fb += cb.get(v, 0) / len(b)
        worst = max(worst, abs(fa - fb))
    return worst


def count(sample):
    counts = {}
    for v in sample:
        counts[v] = counts.get(v, 0) + 1
    return counts


def chi_square_p(a, b):
    """Chi-square homogeneity test of two samples; returns (statistic, degrees, p-value)."""
    ca, cb = count(a), count(b)
    na, nb = len(a), len(b)
    cells, pooled = [], [0, 0]
    for v in sorted(set(ca) | set(cb)):
        x, y = ca.get(v, 0), cb.get(v, 0)
        if (x + y) * min(na, nb) / (na + nb) < 10:
            pooled[0] += x
            pooled[1] += y
        else:
            cells.append((x, y))
    if sum(pooled):
        cells.append(tuple(pooled))
    stat = 0.0
    for x, y in cells:
        total = x + y
        for observed, size in ((x, na), (y, nb)):
            expected = total * size / (na + nb)
            stat += (observed - expected) ** 2 / expected
    degrees = len(cells) - 1
    return stat, degrees, upper_gamma_regularized(degrees / 2, stat / 2)


def upper_gamma_regularized(s, x):
    """Q(s, x) = Γ(s, x)/Γ(s), by series (x < s + 1) or continued fraction (Numerical Recipes)."""
    if x <= 0:
        return 1.0
    log_front = s * math.log(x) - x - math.lgamma(s)
    if x < s + 1:
        term = total = 1.0 / s
        k = s
        for _ in range(10_000):
            k += 1
            term *= x / k
            total += term
            if term < total * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1 - s
    c, d = 1e300, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - s)
        b += 2
        d = an * d + b
        d = 1e-300 if abs(d) < 1e-300 else d
        c = b + an / c
        c = 1e-300 if abs(c) < 1e-300 else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def main():
    ours = {}
    for line in sys.stdin:
        name, *values = line.split()
        ours[name] = [int(v) for v in values]
    dp.enable_features("contrib")
    draws = len(ours["laplace"])
    laplace = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=3.0)
    gaussian = dp.m.make_gaussian(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=2.0)
    noisy_max = dp.m.make_noisy_max(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float),
        dp.zero_concentrated_divergence(),
        scale=2.0,
    )
    scores = [float(s) for s in median_scores(HISTOGRAM)]
    theirs = {
        "laplace": [laplace(0) for _ in range(draws)],
        "gaussian": [gaussian(0) for _ in range(draws)],
        "exponential": [noisy_max(scores) for _ in range(len(ours["exponential"]))],
    }
    critical = math.sqrt(-math.log(ALPHA / 2) / 2)
    failed = False
    for name in ("laplace", "gaussian", "exponential"):
        a, b = ours[name], theirs[name]
        ks = ks_statistic(a, b)
        ks_limit = critical * math.sqrt((len(a) + len(b)) / (len(a) * len(b)))
        stat, degrees, p = chi_square_p(a, b)
        ok = ks <= ks_limit and p >= ALPHA
        failed |= not ok
        print(
            f"{'ok  ' if ok else 'FAIL'} {name}: {len(a)} draws each; KS {ks:.4f} (limit {ks_limit:.4f}); "
            f"chi-square {stat:.1f} on {degrees} df, p = {p:.3g}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
