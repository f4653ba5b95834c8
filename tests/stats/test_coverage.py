"""Coverage of the 95% CIs on simulated data with a known truth.

The slow tests (``-m slow``) use 2,000 simulations per effect size: the Monte
Carlo SE of a 95% coverage is 0.0049, so the 93%-97% band is about +-4 SE.
The fast smoke tests run the same code with 150 simulations and a loose band;
they only catch a broken interval, not a slightly miscalibrated one.

Unit: one simulated data set of independent draws from a known distribution; the coverage is the
share of data sets whose interval holds the truth.
"""
import math

import numpy as np
import pytest
from scipy import stats

import studykit.stats as sk

PHI = stats.norm.cdf


def _two_normal(rng, n1=20, n2=25, delta=0.5):
    return rng.normal(delta, 1, n1), rng.normal(0, 1, n2)


def _binomials(rng, p1=0.4, p2=0.25, n1=150, n2=160):
    return int(rng.binomial(n1, p1)), n1, int(rng.binomial(n2, p2)), n2


def _table_from_probs(rng, probs, n):
    return rng.multinomial(n, probs.ravel()).reshape(probs.shape)


def _v_of(probs):
    pr, pc = probs.sum(1, keepdims=True), probs.sum(0, keepdims=True)
    phi2 = (((probs - pr * pc) ** 2) / (pr * pc)).sum()
    return math.sqrt(phi2 / (min(probs.shape) - 1))


P33 = np.array([[0.16, 0.10, 0.07], [0.08, 0.14, 0.11], [0.06, 0.09, 0.19]])
P22 = np.array([[0.30, 0.20], [0.15, 0.35]])
PHI_TRUE = (P22[0, 0] * P22[1, 1] - P22[0, 1] * P22[1, 0]) / math.sqrt(P22.sum(1).prod() * P22.sum(0).prod())
RHO_S = 6 / math.pi * math.asin(0.5 / 2)   # Spearman of a bivariate normal with rho = 0.5 (Pearson 1907)


def _bvn(rng, rho, n):
    z = rng.standard_normal((2, n))
    return z[0], rho * z[0] + math.sqrt(1 - rho * rho) * z[1]


def _kendall_truth(n=12, m=8, noise=1.5, sims=20000, seed=99):
    """E[W] for m raters = (1 + (m-1) E[r_s]) / m; E[r_s] of two raters by Monte Carlo (SE ~ 0.001)."""
    rng = np.random.default_rng(seed)
    truth = np.linspace(-1.5, 1.5, n)
    a = stats.rankdata(truth + rng.normal(0, noise, (sims, n)), axis=1)
    b = stats.rankdata(truth + rng.normal(0, noise, (sims, n)), axis=1)
    a -= a.mean(1, keepdims=True)
    b -= b.mean(1, keepdims=True)
    rs = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return (1 + (m - 1) * rs.mean()) / m


def _kendall_sim(rng):
    truth = np.linspace(-1.5, 1.5, 12)
    return sk.kendalls_w(truth[:, None] + rng.normal(0, 1.5, (12, 8)))


SCENARIOS = {
    "cohens_d": (lambda rng: sk.cohens_d(*_two_normal(rng)), 0.5),
    "hedges_g": (lambda rng: sk.hedges_g(*_two_normal(rng)), 0.5),
    "cohens_d_paired": (lambda rng: sk.cohens_d(rng.normal(0.4, 1, 30), paired=True), 0.4),
    "cohens_h": (lambda rng: sk.cohens_h(*_binomials(rng)),
                 2 * math.asin(math.sqrt(0.4)) - 2 * math.asin(math.sqrt(0.25))),
    "risk_difference": (lambda rng: sk.risk_difference(*_binomials(rng)), 0.15),
    "risk_ratio": (lambda rng: sk.risk_ratio(*_binomials(rng)), 0.4 / 0.25),
    "odds_ratio": (lambda rng: sk.odds_ratio(_table_from_probs(rng, P22, 200)),
                   P22[0, 0] * P22[1, 1] / (P22[0, 1] * P22[1, 0])),
    "phi": (lambda rng: sk.phi(_table_from_probs(rng, P22, 200)), PHI_TRUE),
    "cramers_v": (lambda rng: sk.cramers_v(_table_from_probs(rng, P33, 300)), _v_of(P33)),
    "pearson_r": (lambda rng: sk.pearson_r(*_bvn(rng, 0.4, 50)).effect, 0.4),
    "spearman_rho": (lambda rng: sk.spearman_rho(*_bvn(rng, 0.5, 80)).effect, RHO_S),
    "vargha_delaney_a": (lambda rng: sk.vargha_delaney_a(*_two_normal(rng, 30, 40)), PHI(0.5 / math.sqrt(2))),
    "cliffs_delta": (lambda rng: sk.cliffs_delta(*_two_normal(rng, 30, 40)), 2 * PHI(0.5 / math.sqrt(2)) - 1),
    "rank_biserial": (lambda rng: sk.rank_biserial(*_two_normal(rng, 30, 40)), 2 * PHI(0.5 / math.sqrt(2)) - 1),
    "rank_biserial_paired": (lambda rng: sk.rank_biserial(rng.normal(0.3, 1, 60), paired=True),
                             2 * PHI(0.3 * math.sqrt(2)) - 1),
    "kendalls_w": (_kendall_sim, None),
    "bootstrap_bca_mean": (lambda rng: sk.bootstrap_ci((rng.exponential(1.0, 60),), "mean", n_resamples=999,
                                                       seed=int(rng.integers(2 ** 31))), 1.0),
    "bootstrap_bca_paired_diff": (lambda rng: sk.bootstrap_ci(
        (lambda x: (x, x * 0.5 + rng.normal(-0.2, 1, 50)))(rng.normal(0, 1, 50)), "mean_diff", paired=True,
        n_resamples=999, seed=int(rng.integers(2 ** 31))), 0.2),
}


def coverage(name: str, n_sims: int, seed: int = 2026) -> float:
    fn, truth = SCENARIOS[name]
    if truth is None:
        truth = _kendall_truth()
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_sims):
        e = fn(rng)
        assert math.isfinite(e.ci_low) and math.isfinite(e.ci_high), e
        hits += e.ci_low <= truth <= e.ci_high
    return hits / n_sims


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_coverage_smoke(name):
    assert 0.86 <= coverage(name, 150, seed=7) <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_coverage_95(name):
    cov = coverage(name, 2000)
    assert 0.93 <= cov <= 0.97, f"{name}: coverage {cov:.3f}"
