"""Speed of the counterfactual_baselines study's two vectorised parts against the obvious alternatives.

1. Power simulation: one vectorised pass over all simulated data sets (power.simulate_pvalues) vs a loop over
   data sets calling studykit.stats.mcnemar, statsmodels OLS (cluster-robust) and studykit.stats.permutation_test.
2. Aggregate-metric bootstrap: multinomial draws of answer-pattern counts (family.aggregate_bootstrap) vs
   resampling items with studykit.stats.bootstrap_ci on the same statistic.

Same data, same sizes; prints the times, the ratio, and that both give the same answer.
Run: .venv/bin/python benchmarks/bench_counterfactual_baselines.py
"""
from __future__ import annotations

import time

import numpy as np
import statsmodels.api as sm

import studykit.stats as sst
from studykit.studies.counterfactual_baselines import family as F
from studykit.studies.counterfactual_baselines import power as P


def timed(fn, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def power_loop(n, r, pi, eff, reps, seed, n_perm):
    rng = np.random.default_rng(seed)
    d = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    hits = {"aggregate": 0, "per-sample": 0, "regression": 0}
    for _ in range(reps):
        yo = rng.random(n) < pi
        yb = yo ^ (rng.random(n) < r)
        yt = np.where(rng.random(n) < eff, d > 0, yo ^ (rng.random(n) < r))
        ft, fb = yt != yo, yb != yo
        b, c = int((ft & ~fb).sum()), int((~ft & fb).sum())
        p = 1.0 if b + c == 0 else sst.mcnemar((b, c)).p_value
        hits["per-sample"] += p < 0.05
        X = np.column_stack([np.ones(n), d, yb.astype(float) - yo])
        fit = sm.OLS(yt.astype(float) - yo, X).fit(cov_type="cluster", cov_kwds={"groups": np.arange(n)},
                                                     use_t=True)
        hits["regression"] += fit.pvalues[1] < 0.05
        x, y = 2 * yo.astype(int) + yt, 2 * yo.astype(int) + yb

        def stat(x, y, axis=-1):
            x, y = np.asarray(x).astype(int), np.asarray(y).astype(int)
            a = (x >> 1).sum(-1)
            return F.abs_phi_from_counts(a, (x & 1).sum(-1), n) - F.abs_phi_from_counts(a, (y & 1).sum(-1), n)

        hits["aggregate"] += sst.permutation_test(x, y, stat, paired=True, n_resamples=n_perm,
                                                  seed=int(rng.integers(1 << 30))).p_value < 0.05
    return {k: v / reps for k, v in hits.items()}


def main():
    n, r, pi, eff, reps, n_perm = 200, 0.12, 0.45, 0.15, 300, 499
    t_vec, res = timed(lambda: P.simulate_pvalues(n, r, pi, eff, reps, np.random.default_rng(1), "balanced", n_perm))
    pw_vec = {k: float((v < 0.05).mean()) for k, v in res.items() if k != "flip_increase"}
    t_loop, pw_loop = timed(lambda: power_loop(n, r, pi, eff, reps, 2, n_perm), repeat=1)

    rng = np.random.default_rng(3)
    m = 200
    o = rng.integers(0, 2, m)
    t = np.where(rng.random(m) < 0.3, 1, o)
    b = np.where(rng.random(m) < 0.1, 1 - o, o)
    B = 10_000
    t_mn, agg = timed(lambda: F.aggregate_bootstrap(o, t, b, 2, "phi", n_boot=B, seed=1, confidence=0.95))

    def stat(x, y, axis=-1):
        x, y = np.asarray(x).astype(np.int64), np.asarray(y).astype(np.int64)
        a = (x >> 1).sum(-1)
        return F.abs_phi_from_counts(a, (x & 1).sum(-1), m) - F.abs_phi_from_counts(a, (y & 1).sum(-1), m)

    t_it, ref = timed(lambda: sst.bootstrap_ci((2 * o + t, 2 * o + b), stat, paired=True, method="percentile",
                                               n_resamples=B, seed=2))

    print(f"{'task':58s} {'vectorised s':>12s} {'alternative s':>13s} {'ratio':>7s}")
    print(f"{'power: %d data sets x %d items, 3 tests (aggregate: %d perms)' % (reps, n, n_perm):58s} "
          f"{t_vec:12.3f} {t_loop:13.3f} {t_loop / t_vec:7.1f}")
    print(f"{'aggregate |phi| bootstrap, %d items, %d resamples' % (m, B):58s} "
          f"{t_mn:12.3f} {t_it:13.3f} {t_it / t_mn:7.1f}")
    print()
    print("power (vectorised vs loop, different random streams):",
          {k: (round(pw_vec[k], 3), round(pw_loop[k], 3)) for k in pw_vec})
    print(f"bootstrap CI (multinomial vs item resampling): [{agg['ci_low']:.4f}, {agg['ci_high']:.4f}] vs "
          f"[{ref.ci_low:.4f}, {ref.ci_high:.4f}]")


if __name__ == "__main__":
    main()
