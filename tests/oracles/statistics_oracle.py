"""The oracle of tests/unit/statistics.test.ts: SciPy and statsmodels on the cases the test sends
(JSON on stdin), and the bootstraps as the same loops over the resampling generator written
again here from its description (xoshiro128** seeded by splitmix32, CPython's bounded draw), so
the draws are the ones core/eval/resampling-rng.ts makes. Prints the results as JSON."""

import json
import math
import sys

import numpy as np
import statsmodels.api as sm
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_confint

M32 = 0xFFFFFFFF


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Rng:
    """xoshiro128**, its four words from splitmix32 over the seed."""

    def __init__(self, seed):
        words, state = [], seed & M32
        for _ in range(4):
            state = (state + 0x9E3779B9) & M32
            z = state
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            words.append((z ^ (z >> 16)) & M32)
        self.s = words

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M32, 7) * 9) & M32
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def below(self, n):
        shift = 32 - n.bit_length()
        while True:
            r = self.next() >> shift
            if r < n:
                return r


def nearest_rank(q, n):
    return min(n, max(1, math.ceil(q * n - 1e-9))) - 1


def percentile(stats, level):
    stats = sorted(stats)
    tail = (1 - level) / 2
    return stats[nearest_rank(tail, len(stats))], stats[nearest_rank(1 - tail, len(stats))]


def bootstrap_mean(scores, resamples, seed, level):
    rng = Rng(seed)
    n = len(scores)
    stats = [sum(scores[rng.below(n)] for _ in range(n)) / n for _ in range(resamples)]
    return percentile(stats, level)


def paired_cluster(rows, resamples, seed, level):
    order, sums, counts = {}, [], []
    diffs = [r["other"] - r["base"] for r in rows]
    groups = []
    for r, d in zip(rows, diffs, strict=True):
        c = order.setdefault(r["cluster"], len(order))
        if c == len(sums):
            sums.append(0.0)
            counts.append(0)
        sums[c] += d
        counts[c] += 1
        groups.append(c)
    rng = Rng(seed)
    k = len(sums)
    stats = []
    for _ in range(resamples):
        s = m = 0
        for _ in range(k):
            c = rng.below(k)
            s += sums[c]
            m += counts[c]
        stats.append(s / m)
    low, high = percentile(stats, level)
    y = np.array(diffs)
    x = np.ones((len(y), 1))
    plain = sm.OLS(y, x).fit().bse[0] ** 2
    clustered = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": np.array(groups)}).bse[0] ** 2
    return {"delta": float(y.mean()), "low": low, "high": high, "designEffect": float(clustered / plain), "sd": float(y.std(ddof=1))}


def main():
    cases = json.load(sys.stdin)
    out = {
        "wilson": [list(proportion_confint(k, n, alpha=1 - level, method="wilson")) for k, n, level in cases["wilson"]],
        "mcnemar": [float(mcnemar([[0, b], [c, 0]], exact=True).pvalue) for b, c in cases["mcnemar"]],
        "holm": [list(multipletests(ps, method="holm")[1]) for ps in cases["holm"]],
        "mdd": [
            NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=0, alternative="two-sided") * sd
            for sd, n, alpha, power in cases["mdd"]
        ],
        "bootstrapMean": [bootstrap_mean(c["scores"], c["resamples"], c["seed"], c["level"]) for c in cases["bootstrapMean"]],
        "pairedCluster": [paired_cluster(c["rows"], c["resamples"], c["seed"], c["level"]) for c in cases["pairedCluster"]],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
