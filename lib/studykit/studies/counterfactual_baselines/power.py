r"""Power of aggregate vs per-sample vs regression metrics against a planted attribute effect.

Vectorised Monte Carlo at the data's size (Yang et al. 2026 claim that per-sample
metrics are far more powerful than aggregate ones). One simulated data set has
:math:`n` items, each with an original answer :math:`y^o_i \sim \mathrm{Bern}(\pi)`,
a baseline answer :math:`y^b_i = y^o_i \oplus F^b_i` and a target answer
:math:`y^t_i`:

* rewording flips answers at the base rate :math:`r`:
  :math:`F^b_i, F^t_i \sim \mathrm{Bern}(r)`;
* the planted attribute effect :math:`\delta`: with probability :math:`\delta`
  the edit moves item :math:`i`'s answer to the value its direction favours
  (:math:`y^t_i = 1[d_i = +1]`), otherwise :math:`y^t_i = y^o_i \oplus F^t_i`.

Scenarios: ``balanced`` (half the items are edited in each direction,
:math:`d_i = \pm 1`, like male->female and female->male swaps) and
``one_sided`` (every edit pushes towards the positive answer).

Tests (each at level :math:`\alpha`, two-sided):

* ``aggregate``: is the association between *original vs edited* and the answer
  stronger for the target than for the baseline? :math:`|\phi_t| - |\phi_b|` (phi of the
  pooled 2x2 table) with the paired randomization test of the ``phi`` rows of the test
  table (the same function, :func:`.family.aggregate_randomization_p`), ``n_perm`` swaps.
  It sees only the answer *distributions* (marginal shifts).
* ``per-sample``: do more items flip under the target than under the
  baseline? Exact McNemar on :math:`(f^t_i, f^b_i)`.
* ``regression``: :math:`y^t_i - y^o_i = a + \beta d_i + \gamma (y^b_i - y^o_i)`,
  OLS with CR1 cluster-robust (= HC1 with one row per item) standard errors,
  t test of :math:`\beta` with :math:`n - 1` df, as statsmodels
  ``cov_type="cluster"`` (balanced scenario only: in ``one_sided`` the
  direction does not vary).

Power = share of data sets with p < :math:`\alpha`, with a Wilson interval
for the Monte Carlo error.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from .family import aggregate_randomization_p

SCENARIOS = ("balanced", "one_sided")
POWER_METRICS = ("aggregate", "per-sample", "regression")


def mcnemar_exact_p(b: np.ndarray, c: np.ndarray) -> np.ndarray:
    r"""Vectorised exact McNemar p: :math:`\min(1, 2\,F_{Bin(b+c, 1/2)}(\min(b, c)))`; 1 when b + c = 0."""
    b = np.asarray(b)
    c = np.asarray(c)
    m = b + c
    p = np.minimum(1.0, 2.0 * sps.binom.cdf(np.minimum(b, c), np.maximum(m, 1), 0.5))
    return np.where(m == 0, 1.0, p)


def ols_hc1_p(y: np.ndarray, X: np.ndarray, col: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Batched OLS; estimate and two-sided p of coefficient ``col`` with CR1 = HC1 SEs (one row per cluster).

    :math:`\hat V = \frac{n}{n-k}(X'X)^{-1} X'\mathrm{diag}(e^2)X (X'X)^{-1}`, t with :math:`n-1` df.
    ``y``: (R, n); ``X``: (R, n, k). Rank-deficient designs give p = 1 (counted as not detected).
    """
    R, n, k = X.shape
    xtx = np.einsum("rni,rnj->rij", X, X)
    full = np.linalg.matrix_rank(xtx) == k
    xtx_safe = np.where(full[:, None, None], xtx, np.eye(k)[None])
    inv = np.linalg.inv(xtx_safe)
    beta = np.einsum("rij,rnj,rn->ri", inv, X, y)
    e = y - np.einsum("rnk,rk->rn", X, beta)
    meat = np.einsum("rni,rn,rnj->rij", X, e**2, X)
    V = inv @ meat @ inv * (n / (n - k))
    se = np.sqrt(np.clip(V[:, col, col], 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, beta[:, col] / np.where(se > 0, se, 1.0), 0.0)
    p = 2 * sps.t.sf(np.abs(t), df=n - 1)
    p = np.where(full & (se > 0), p, 1.0)
    return beta[:, col], p


def phi_randomization_p(yo: np.ndarray, yt: np.ndarray, yb: np.ndarray, n_perm: int,
                        rng: np.random.Generator) -> np.ndarray:
    r"""Two-sided paired randomization p of :math:`|\phi_t| - |\phi_b|` for each row (data set).

    The very test of the ``phi`` rows of the test table
    (:func:`.family.aggregate_randomization_p` on 0/1 answers): target and baseline
    answers are swapped within items at random, one matrix product for all data sets.
    """
    p_two, _ = aggregate_randomization_p(yo.astype(np.int64), yt.astype(np.int64), yb.astype(np.int64), 2, "phi",
                                         n_perm=n_perm, rng=rng)
    return p_two


def simulate_pvalues(n_items: int, base_flip: float, pos_rate: float, effect: float, reps: int,
                     rng: np.random.Generator, scenario: str = "balanced", n_perm: int = 499) -> dict[str, np.ndarray]:
    """p-values of the three tests on ``reps`` simulated data sets (see the module docstring)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    n = int(n_items)
    d = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) if scenario == "balanced" else np.ones(n)
    yo = rng.random((reps, n)) < pos_rate
    yb = yo ^ (rng.random((reps, n)) < base_flip)
    yt0 = yo ^ (rng.random((reps, n)) < base_flip)
    sensitive = rng.random((reps, n)) < effect
    yt = np.where(sensitive, (d > 0)[None, :], yt0)
    ft, fb = yt != yo, yb != yo
    out = {
        "aggregate": phi_randomization_p(yo, yt, yb, n_perm, rng),
        "per-sample": mcnemar_exact_p((ft & ~fb).sum(1), (~ft & fb).sum(1)),
        "flip_increase": ft.mean(1) - fb.mean(1),
    }
    if scenario == "balanced":
        X = np.stack([np.ones((reps, n)), np.broadcast_to(d, (reps, n)), yb.astype(float) - yo], axis=-1)
        _, out["regression"] = ols_hc1_p(yt.astype(float) - yo, X, col=1)
    return out


def power_curves(n_items: int, base_flip: float, pos_rate: float, effects, *, reps: int = 1000,
                 alpha: float = 0.05, seed: int = 0, scenarios=SCENARIOS, n_perm: int = 499) -> pd.DataFrame:
    """Power of each metric at each planted effect; one seeded stream per scenario x effect.

    Columns: scenario, effect, metric, power, ci_low, ci_high (Wilson 95%), reps,
    n_items, base_flip, pos_rate, flip_increase (mean realised target-minus-baseline flip rate).
    """
    from statsmodels.stats.proportion import proportion_confint

    if n_items < 4:
        raise ValueError(f"power_curves: n_items must be at least 4, got {n_items}")
    rows = []
    for s_i, scen in enumerate(scenarios):
        for e_i, eff in enumerate(effects):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), s_i, e_i]))
            res = simulate_pvalues(n_items, base_flip, pos_rate, eff, reps, rng, scen, n_perm)
            inc = float(res.pop("flip_increase").mean())
            for metric in POWER_METRICS:
                if metric not in res:
                    continue
                hits = int((res[metric] < alpha).sum())
                lo, hi = proportion_confint(hits, reps, alpha=0.05, method="wilson")
                rows.append({"scenario": scen, "effect": float(eff), "metric": metric, "power": hits / reps,
                             "ci_low": float(lo), "ci_high": float(hi), "reps": reps, "n_items": int(n_items),
                             "base_flip": float(base_flip), "pos_rate": float(pos_rate),
                             "flip_increase": inc})
    return pd.DataFrame(rows)


def design_from_tests(tests: pd.DataFrame, answers: pd.DataFrame,
                      positive_labels: dict[str, str | None]) -> dict[str, float]:
    """The data's size for the power simulation: median items per test, mean baseline flip rate,
    positive rate of the original answers (of the models and tasks that were tested).

    ``positive_labels`` maps each task to its positive label; tasks without one do not count
    towards the positive rate, and when no tested task has one the rate is 0.5
    (``pos_rate_source`` says which: ``"data"`` or ``"default 0.5"``).
    """
    fr = tests[tests["metric"] == "flip_rate"]
    tested = answers.merge(fr[["model", "task"]].drop_duplicates(), on=["model", "task"])
    orig = tested[tested["variant_kind"] == "original"]
    label = orig["task"].map(positive_labels)
    orig, label = orig[label.notna()], label[label.notna()]
    if len(orig):
        pos, source = float((orig["prediction"].astype(str) == label.astype(str)).mean()), "data"
    else:
        pos, source = 0.5, "default 0.5"
    return {"n_items": int(np.median(fr["n_items"])), "base_flip": float(fr["stat_baseline"].mean()),
            "pos_rate": pos, "pos_rate_source": source}
