r"""Power of aggregate vs per-sample vs regression metrics against a planted attribute effect.

Vectorised Monte Carlo at the data's size (Yang et al. 2026 claim that per-sample
metrics are far more powerful than aggregate ones). One simulated data set has
:math:`n` items, each with an original answer :math:`y^o_i \sim \mathrm{Bern}(\pi)`,
a baseline answer :math:`y^b_i = y^o_i \oplus F^b_i` and a target answer
:math:`y^t_i`:

* rewording flips answers at the base rate :math:`r`:
  :math:`F^b_i, F^t_i \sim \mathrm{Bern}(r)`, with concordance :math:`\rho`
  (the phi coefficient of the pair): :math:`P(F^t_i = F^b_i = 1) = r^2 + \rho\,r(1-r)`.
  Items that any rewording unsettles flip under both; in MedPerturb the observed
  :math:`\rho` is 0.17-0.57 (mean 0.40), and :math:`\rho = 0` (independent flips) overstates
  the noise of the per-sample difference and so understates its power.
  :func:`flip_concordance` measures :math:`\rho` on the data;
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

import math

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


def concordant_flips(base_flip: float, concordance: float, shape: tuple[int, int],
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""Pairs of Bernoulli(:math:`r`) flips (target, baseline) with phi coefficient :math:`\rho`.

    :math:`P(1, 1) = r^2 + \rho r (1 - r)`; the baseline flips first and the target's
    flip is drawn given it: :math:`P(F^t = 1 | F^b = 1) = P(1,1)/r`,
    :math:`P(F^t = 1 | F^b = 0) = (r - P(1,1))/(1 - r)`. :math:`\rho` is clipped to the
    range two Bernoulli(:math:`r`) variables allow, :math:`[-\min(r, 1-r)/\max(r, 1-r), 1]`.
    """
    r = float(base_flip)
    fb = rng.random(shape) < r
    u = rng.random(shape)
    if r <= 0 or r >= 1:
        return u < r, fb
    rho = float(np.clip(concordance, -min(r, 1 - r) / max(r, 1 - r), 1.0))
    p11 = r * r + rho * r * (1 - r)
    ft = np.where(fb, u < p11 / r, u < (r - p11) / (1 - r))
    return ft, fb


def flip_concordance(ft: np.ndarray, fb: np.ndarray) -> float:
    r"""Phi coefficient of paired 0/1 flips: :math:`(n_{11}n_{00} - n_{10}n_{01})/\sqrt{n_{1\cdot}n_{0\cdot}n_{\cdot1}n_{\cdot0}}`.

    NaN when either variable is constant (phi undefined).
    """
    ft, fb = np.asarray(ft, bool), np.asarray(fb, bool)
    n11, n10 = int((ft & fb).sum()), int((ft & ~fb).sum())
    n01, n00 = int((~ft & fb).sum()), int((~ft & ~fb).sum())
    den = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    return (n11 * n00 - n10 * n01) / math.sqrt(float(den)) if den > 0 else float("nan")


def simulate_pvalues(n_items: int, base_flip: float, pos_rate: float, effect: float, reps: int,
                     rng: np.random.Generator, scenario: str = "balanced", n_perm: int = 499,
                     concordance: float = 0.0) -> dict[str, np.ndarray]:
    """p-values of the three tests on ``reps`` simulated data sets (see the module docstring)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, got {scenario!r}")
    n = int(n_items)
    d = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) if scenario == "balanced" else np.ones(n)
    yo = rng.random((reps, n)) < pos_rate
    flip_t, flip_b = concordant_flips(base_flip, concordance, (reps, n), rng)
    yb = yo ^ flip_b
    yt0 = yo ^ flip_t
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
                 alpha: float = 0.05, seed: int = 0, scenarios=SCENARIOS, n_perm: int = 499,
                 concordance: float = 0.0) -> pd.DataFrame:
    """Power of each metric at each planted effect; one seeded stream per scenario x effect.

    Columns: scenario, effect, metric, power, ci_low, ci_high (Wilson 95%), reps,
    n_items, base_flip, pos_rate, concordance (of target and baseline flips),
    flip_increase (mean realised target-minus-baseline flip rate).
    """
    from statsmodels.stats.proportion import proportion_confint

    if n_items < 4:
        raise ValueError(f"power_curves: n_items must be at least 4, got {n_items}")
    rows = []
    for s_i, scen in enumerate(scenarios):
        for e_i, eff in enumerate(effects):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), s_i, e_i]))
            res = simulate_pvalues(n_items, base_flip, pos_rate, eff, reps, rng, scen, n_perm, concordance)
            inc = float(res.pop("flip_increase").mean())
            for metric in POWER_METRICS:
                if metric not in res:
                    continue
                hits = int((res[metric] < alpha).sum())
                lo, hi = proportion_confint(hits, reps, alpha=0.05, method="wilson")
                rows.append({"scenario": scen, "effect": float(eff), "metric": metric, "power": hits / reps,
                             "ci_low": float(lo), "ci_high": float(hi), "reps": reps, "n_items": int(n_items),
                             "base_flip": float(base_flip), "pos_rate": float(pos_rate),
                             "concordance": float(concordance), "flip_increase": inc})
    return pd.DataFrame(rows)


def design_from_tests(tests: pd.DataFrame, answers: pd.DataFrame,
                      positive_labels: dict[str, str | None]) -> dict[str, float]:
    """The data's size for the power simulation: median items per test, mean baseline flip rate,
    positive rate of the original answers (of the models and tasks that were tested), and the mean
    concordance of target and baseline flips over the tested cells (:func:`observed_concordance`).

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
    conc, n_conc = observed_concordance(fr, answers)
    return {"n_items": int(np.median(fr["n_items"])), "base_flip": float(fr["stat_baseline"].mean()),
            "pos_rate": pos, "pos_rate_source": source, "concordance": conc, "concordance_n_tests": n_conc}


def observed_concordance(flip_tests: pd.DataFrame, answers: pd.DataFrame) -> tuple[float, int]:
    """Mean phi (:func:`flip_concordance`) of target and baseline flips over the flip-rate tests where it is
    defined, and how many those are (0 and 0 when none: the simulation then assumes independent flips).

    The items are those of the test: an original, a target and a baseline answer.
    """
    from .design import wide_answers

    w = wide_answers(answers)
    phis = []
    for t in flip_tests.itertuples():
        block = w.xs((t.model, t.task), level=["model", "task"], drop_level=False) if len(w) else w
        if t.target not in block.columns or t.baseline not in block.columns:
            continue
        sub = block[["original", t.target, t.baseline]].dropna()
        o = sub["original"].to_numpy()
        phi = flip_concordance(sub[t.target].to_numpy() != o, sub[t.baseline].to_numpy() != o)
        if np.isfinite(phi):
            phis.append(phi)
    return (float(np.mean(phis)), len(phis)) if phis else (0.0, 0)
