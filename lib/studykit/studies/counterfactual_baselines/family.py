r"""The family of target-vs-baseline tests: per-sample and aggregate metrics, and the correction.

For each model x task x target, on the items with an original, a target and a
baseline answer (notation of :mod:`.design`): the paired difference
:math:`\Delta = \bar f^{t} - \bar f^{b}` of flip rates, of the per-item JS and
KL divergences, and of two aggregate associations (mutual information, |phi|)
between *original vs edited* and the answer.

References
----------
Yang, Levy, Goldberg, Wallace (2026). Compared to What? Baselines and Metrics for Counterfactual Prompting.
McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions.
Efron, B., & Tibshirani, R. (1993). An Introduction to the Bootstrap, ch. 13 (percentile interval).
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Stat. 6(2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from studykit import stats as sst
from studykit.contract.issues import DataIssue
from studykit.stats.results import Result

from .design import Design, wide_answers

#: the columns every study of this kind reports first, in this order, then the extras
TEST_COLUMNS = ["model", "task", "target", "baseline", "metric", "stat_target", "stat_baseline", "diff", "ci_low",
                "ci_high", "p_value", "p_value_corrected", "significant", "p_value_one_sided",
                "p_value_corrected_one_sided", "significant_one_sided", "level", "n_items", "test", "family"]
METRICS = ("flip_rate", "js_divergence", "kl_divergence", "mutual_information", "phi")


def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def mi_from_counts(c_orig: np.ndarray, c_var: np.ndarray) -> np.ndarray:
    r"""Plug-in mutual information (bits) between *variant* (original vs edited) and the answer.

    The table has two rows (the original answers and the edited answers,
    :math:`n` each) and one column per label:
    :math:`I = \sum_{r,l} \frac{c_{rl}}{N}\log_2\frac{c_{rl}N}{n_r c_{\cdot l}}`, :math:`N = 2n`.
    Vectorised over leading axes; equals :func:`studykit.stats.mutual_information`
    on the pooled labels.
    """
    c = np.stack([c_orig, c_var], axis=-2)  # (..., 2, L)
    n_tot = c.sum(axis=(-2, -1), keepdims=True)
    row = c.sum(axis=-1, keepdims=True)
    col = c.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(c > 0, c / n_tot * np.log2(c * n_tot / (row * col)), 0.0)
    return np.clip(term.sum(axis=(-2, -1)), 0.0, None)


def abs_phi_from_counts(pos_orig: np.ndarray, pos_var: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    r""":math:`|\phi|` of the 2x2 table variant (original / edited) x answer (negative / positive).

    With :math:`a` positives among the :math:`n` original answers and :math:`c`
    among the :math:`n` edited ones,
    :math:`\phi = (c - a)/\sqrt{(a + c)(2n - a - c)}`; defined as 0 when every
    answer is the same (no association is possible). Equals
    :func:`studykit.stats.phi` on that table.
    """
    a = np.asarray(pos_orig, float)
    c = np.asarray(pos_var, float)
    den = (a + c) * (2 * np.asarray(n, float) - a - c)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, np.abs(c - a) / np.sqrt(np.where(den > 0, den, 1.0)), 0.0)
    return out


def _aggregate_from_counts(kind: str, co: np.ndarray, cv: np.ndarray, n: int) -> np.ndarray:
    if kind == "mutual_information":
        return mi_from_counts(co, cv)
    return abs_phi_from_counts(co[..., 1], cv[..., 1], n)


def _onehot(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """(..., n) integer codes -> (..., n, n_labels) 0/1 indicators."""
    return (codes[..., None] == np.arange(n_labels)).astype(float)


def aggregate_randomization_p(o: np.ndarray, t: np.ndarray, b: np.ndarray, n_labels: int, kind: str, *,
                              n_perm: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""Paired randomization p of an aggregate metric's target-minus-baseline difference, batched.

    The null hypothesis is that the edit acts like its paraphrase: within each item the
    target and baseline answers are exchangeable. Each of ``n_perm`` swap patterns
    :math:`s \in \{0,1\}^n` (one fair coin per item: 1 keeps the item's answers, 0 swaps
    them) gives the target's label counts
    :math:`c^{t*}_l = c^b_l + \sum_i s_i (1[y^t_i = l] - 1[y^b_i = l])` and the baseline's
    :math:`c^{b*} = c^t + c^b - c^{t*}`, one matrix product for all data sets, and the
    statistic :math:`\theta^* = M(c^o, c^{t*}) - M(c^o, c^{b*})` with :math:`M` the mutual
    information or :math:`|\phi|`. One-sided (target > baseline):
    :math:`p^+ = (1 + \#\{\theta^* \ge \theta\})/(B + 1)`; two-sided
    :math:`\min(1, 2\min(p^+, p^-))`.

    The same function gives the ``mutual_information`` and ``phi`` p-values of the test table
    (one data set) and the aggregate power curve (:mod:`.power`, many data sets), so that the
    power shown is that of the test reported.

    Parameters
    ----------
    o, t, b : ndarray of int, shape (R, n) or (n,)
        Label codes (0 .. n_labels-1) of the original, target and baseline answers.
    n_labels : int
        Number of labels (at least 2; ``phi`` uses the count of code 1).
    kind : {"mutual_information", "phi"}
    n_perm : int
        Random swap patterns.
    rng : numpy.random.Generator

    Returns
    -------
    p_value_two_sided, p_value_one_sided : ndarray, shape (R,)
    """
    o, t, b = (np.atleast_2d(np.asarray(x)) for x in (o, t, b))
    reps, n = o.shape
    co, ct, cb = (_onehot(x, n_labels).sum(axis=1) for x in (o, t, b))  # (R, L)
    obs = _aggregate_from_counts(kind, co, ct, n) - _aggregate_from_counts(kind, co, cb, n)
    keep = (rng.random((n_perm, n)) < 0.5).astype(float)
    # keep_i = 1: item i keeps its answers, 0: target and baseline swap; the permuted target's counts are
    # the baseline's plus, for every kept item, 1[t_i = l] - 1[b_i = l] (items x (R * L))
    delta = (_onehot(t, n_labels) - _onehot(b, n_labels)).transpose(1, 0, 2).reshape(n, reps * n_labels)
    ct_star = cb.reshape(1, -1) + keep @ delta  # (P, R * L)
    ct_star = ct_star.reshape(n_perm, reps, n_labels)
    cb_star = (ct + cb)[None] - ct_star
    co_star = np.broadcast_to(co[None], ct_star.shape)
    null = _aggregate_from_counts(kind, co_star, ct_star, n) - _aggregate_from_counts(kind, co_star, cb_star, n)
    tol = 1e-12
    p_hi = (1 + (null >= obs[None, :] - tol).sum(0)) / (n_perm + 1)
    p_lo = (1 + (null <= obs[None, :] + tol).sum(0)) / (n_perm + 1)
    return np.minimum(1.0, 2 * np.minimum(p_hi, p_lo)), p_hi


def aggregate_bootstrap(o: np.ndarray, t: np.ndarray, b: np.ndarray, n_labels: int, kind: str, *,
                        n_boot: int, seed: int, confidence: float) -> dict[str, Any]:
    r"""Paired bootstrap CI over items of an aggregate metric's target-minus-baseline difference.

    Resampling :math:`n` items with replacement is the same as drawing the counts
    of the items' answer patterns :math:`(y^o, y^t, y^b)` from
    :math:`\mathrm{Multinomial}(n, \hat p_{\text{pattern}})`, so the bootstrap runs
    on at most :math:`L^3` pattern counts (vectorised, exact in distribution).
    CI: percentile. The p-value comes from :func:`aggregate_randomization_p`: the
    bootstrap percentile p of a statistic bounded below by 0 (MI, :math:`|\phi|`)
    rejects far below its level at the null (0 of 300 null data sets at 0.05).
    """
    n = len(o)
    L = n_labels
    pat = (o * L + t) * L + b
    ids, counts = np.unique(pat, return_counts=True)
    po, pt, pb = ids // (L * L), (ids // L) % L, ids % L
    Mo, Mt, Mb = _onehot(po, L), _onehot(pt, L), _onehot(pb, L)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=n_boot).astype(float)
    c0 = counts.astype(float)
    val = {}
    for name, cnt in (("obs", c0[None, :]), ("boot", draws)):
        co, ct, cb = cnt @ Mo, cnt @ Mt, cnt @ Mb
        val[name] = (_aggregate_from_counts(kind, co, ct, n), _aggregate_from_counts(kind, co, cb, n))
    st, sb = float(val["obs"][0][0]), float(val["obs"][1][0])
    est = st - sb
    theta = val["boot"][0] - val["boot"][1]
    a = (1 - confidence) / 2
    if np.all(theta == theta[0]) and theta[0] == est:
        ci = (est, est)
    else:
        ci = tuple(float(v) for v in np.quantile(theta, [a, 1 - a]))
    return {"stat_target": st, "stat_baseline": sb, "diff": est, "ci_low": ci[0], "ci_high": ci[1],
            "note": "target and baseline identical on every item" if np.array_equal(t, b) else ""}


def _seed(seed: int, k: int) -> int:
    return int((seed + 7919 * k) % (2**32 - 1))


def _paired_row(x: np.ndarray, y: np.ndarray, statistic, *, n_boot: int, seed: int,
                confidence: float, randomization: bool = True) -> dict[str, Any]:
    """CI by paired bootstrap over items; p (two-sided) by paired randomization (swap target/baseline per item)."""
    fn = _mean_diff if statistic == "mean_diff" else statistic
    est = float(fn(x[None, :], y[None, :], axis=-1)[0])
    if np.array_equal(x, y):
        return {"diff": est, "ci_low": est, "ci_high": est, "p_value": 1.0, "p_value_one_sided": 1.0,
                "note": "target and baseline identical on every item"}
    boot = sst.bootstrap_ci((x, y), statistic, n_resamples=n_boot, method="percentile", paired=True,
                            confidence=confidence, seed=seed)
    out = {"diff": est, "ci_low": float(boot.ci_low), "ci_high": float(boot.ci_high), "note": ""}
    if randomization:
        for key, alt in (("p_value", "two-sided"), ("p_value_one_sided", "greater")):
            out[key] = float(sst.permutation_test(x, y, statistic=statistic, paired=True, n_resamples=n_boot,
                                                  alternative=alt, seed=seed + 1).p_value)
    return out


def _mcnemar_p(ft: np.ndarray, fb: np.ndarray) -> tuple[float, float]:
    """Exact McNemar on the discordant items: two-sided p and one-sided p (target flips more)."""
    from scipy.stats import binomtest

    b = int(((ft == 1) & (fb == 0)).sum())
    c = int(((ft == 0) & (fb == 1)).sum())
    if b + c == 0:
        return 1.0, 1.0
    two = float(sst.mcnemar((b, c), exact=True).p_value)
    one = float(binomtest(b, b + c, 0.5, alternative="greater").pvalue)
    return two, one


def _divergences(po: np.ndarray, pv: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-item JS and KL (bits) between the binary answer distributions [1-p, p]."""
    po = np.clip(po, eps, 1 - eps)
    pv = np.clip(pv, eps, 1 - eps)
    P = np.stack([1 - po, po], axis=-1)
    Q = np.stack([1 - pv, pv], axis=-1)
    return np.asarray(sst.jensen_shannon(P, Q), float), np.asarray(sst.kl_divergence(P, Q), float)


def compare_targets(design: Design, *, n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95,
                    eps: float = 1e-4, min_items: int = 5) -> tuple[pd.DataFrame, list[DataIssue]]:
    r"""The family of target-vs-baseline tests, per model x task x target (unadjusted p).

    On the items with an original, a target and a baseline answer:

    * ``flip_rate`` (per-sample): :math:`\bar f^t - \bar f^b`; CI by paired
      bootstrap over items (percentile);
      ``p_value``: exact McNemar on the discordant items
      (:math:`f^t_i \ne f^b_i`), ``p_value_one_sided``: the exact binomial test that
      more discordant items flip under the target (target > baseline).
    * ``js_divergence``, ``kl_divergence`` (per-sample, when probabilities
      exist): mean over items of :math:`JS(\pi^o_i, \pi^v_i)` and
      :math:`KL(\pi^o_i \| \pi^v_i)`, :math:`\pi = (1-p, p)` clipped to
      :math:`[\epsilon, 1-\epsilon]`; paired bootstrap CI; p by the paired
      randomization test that swaps target and baseline within items, two-sided
      and one-sided (target > baseline). Its p has a floor of
      :math:`1/(B+1)` per side (:func:`p_floor_check`).
    * ``mutual_information``, ``phi`` (aggregate): association between
      *original vs edited* and the answer over the pooled answers
      (:math:`I` in bits, :math:`|\phi|` for two labels), target minus
      baseline; CI from a paired bootstrap over items
      (:func:`aggregate_bootstrap`), p (two- and one-sided) from the paired
      randomization test (:func:`aggregate_randomization_p`), the test the
      power curves simulate. Its null is that target and baseline are
      exchangeable within items (the edit acts like a paraphrase); it also
      rejects when the two move the answers in opposite directions by the same
      amount, which is an edit that does not act like its paraphrase.

    Cells with fewer than ``min_items`` complete items are not tested (reported).
    """
    ans = design.answers
    w = wide_answers(ans)
    wp = wide_answers(ans, "p_positive") if design.has_probability else None
    rows, issues, skipped = [], [], []
    k = 0  # counts the tests run so far; test k draws from the seed (seed, k)
    for (model, task), block in w.groupby(level=["model", "task"], sort=True):
        # answers are coded within the task: tasks may use different labels (routine/urgent, hire/reject)
        labels = list(design.task_labels[task])
        for target, baseline in sorted(design.pairs.items()):
            if target not in block.columns or baseline not in block.columns:
                continue
            sub = block[["original", target, baseline]].dropna()
            if block[target].notna().sum() == 0 or block[baseline].notna().sum() == 0:
                continue
            n = len(sub)
            if n < min_items:
                skipped.append(f"{model}/{task}/{target} ({n} items)")
                continue
            base = {"model": model, "task": task, "target": target, "baseline": baseline, "n_items": n}
            o, t, b = (sub[c].to_numpy() for c in ("original", target, baseline))
            k += 1
            rows.append(_flip_rate_row(base, o, t, b, n_boot=n_boot, seed=_seed(seed, k), confidence=confidence))
            if wp is not None:
                subp = wp.loc[sub.index, ["original", target, baseline]]
                more, k = _divergence_rows(base, subp, k, n_boot=n_boot, seed=seed, confidence=confidence,
                                           eps=eps, min_items=min_items)
                rows += more
            more, k = _aggregate_rows(base, o, t, b, labels, k, n_boot=n_boot, seed=seed, confidence=confidence)
            rows += more
    issues += _untested_issues(design, skipped, min_items)
    tab = pd.DataFrame(rows)
    if tab.empty:
        if not skipped:
            issues.append(DataIssue("no_target_and_baseline_answers", 1,
                                    "no model x task has answers to both a target and its baseline: no test is "
                                    "run, flip rates are still shown (check 'pairs' and 'baseline_models')"))
        return pd.DataFrame(columns=[c for c in TEST_COLUMNS if c not in (
            "p_value_corrected", "significant", "p_value_corrected_one_sided", "significant_one_sided")]), issues
    notes = tab.pop("note")
    if (notes != "").any():
        issues.append(DataIssue("identical_target_and_baseline", int((notes != "").sum()),
                                "tests where target and baseline agree on every item: difference 0, CI [0, 0], p = 1"))
    return tab, issues


def _flip_rate_row(base: dict, o: np.ndarray, t: np.ndarray, b: np.ndarray, *, n_boot: int, seed: int,
                   confidence: float) -> dict:
    """Flip rate under the target minus under the baseline: paired bootstrap CI, exact McNemar p."""
    ft, fb = (t != o).astype(float), (b != o).astype(float)
    r = _paired_row(ft, fb, "mean_diff", n_boot=n_boot, seed=seed, confidence=confidence, randomization=False)
    p2, p1 = _mcnemar_p(ft, fb)
    return {**base, "metric": "flip_rate", "level": "per-sample", "stat_target": ft.mean(),
            "stat_baseline": fb.mean(), **r, "p_value": p2, "p_value_one_sided": p1,
            "test": "paired bootstrap CI; exact McNemar p (one-sided: exact binomial)"}


def _divergence_rows(base: dict, subp: pd.DataFrame, k: int, *, n_boot: int, seed: int, confidence: float,
                     eps: float, min_items: int) -> tuple[list[dict], int]:
    """JS and KL divergence of the target minus the baseline (items with all three probabilities), and the new k.

    Not tested (no rows) when fewer than ``min_items`` items have the probabilities.
    """
    rows = []
    okp = subp.notna().all(axis=1).to_numpy()
    if okp.sum() >= min_items:
        po, pt, pb = (subp[c].to_numpy()[okp] for c in subp.columns)
        js_t, kl_t = _divergences(po, pt, eps)
        js_b, kl_b = _divergences(po, pb, eps)
        for metric, xt, xb in (("js_divergence", js_t, js_b), ("kl_divergence", kl_t, kl_b)):
            k += 1
            r = _paired_row(xt, xb, "mean_diff", n_boot=n_boot, seed=_seed(seed, k), confidence=confidence)
            rows.append({**base, "n_items": int(okp.sum()), "metric": metric, "level": "per-sample",
                         "stat_target": xt.mean(), "stat_baseline": xb.mean(), **r,
                         "test": "paired bootstrap CI; paired randomization p"})
    return rows, k


def _aggregate_rows(base: dict, o: np.ndarray, t: np.ndarray, b: np.ndarray, labels: list[str], k: int, *,
                    n_boot: int, seed: int, confidence: float) -> tuple[list[dict], int]:
    """Mutual information (and phi with two labels) of the target minus the baseline, and the new k."""
    code = {lab: j for j, lab in enumerate(labels)}
    n_labels = max(len(labels), 2)
    rows = []
    co, ct, cb = (np.array([code[v] for v in arr]) for arr in (o, t, b))
    aggs = ["mutual_information"] + (["phi"] if len(labels) <= 2 else [])
    for metric in aggs:
        k += 1
        r = aggregate_bootstrap(co, ct, cb, n_labels, metric, n_boot=n_boot, seed=_seed(seed, k),
                                confidence=confidence)
        if r["note"]:
            r.update(p_value=1.0, p_value_one_sided=1.0)
        else:
            p2, p1 = aggregate_randomization_p(co, ct, cb, n_labels, metric, n_perm=n_boot,
                                               rng=np.random.default_rng(_seed(seed, k) + 1))
            r.update(p_value=float(p2[0]), p_value_one_sided=float(p1[0]))
        rows.append({**base, "metric": metric, "level": "aggregate", **r,
                     "test": "paired bootstrap CI (multinomial over answer patterns); paired "
                             "randomization p"})
    return rows, k


def _untested_issues(design: Design, skipped: list[str], min_items: int) -> list[DataIssue]:
    """Issues for cells with too few complete items and for tasks where phi is not defined."""
    issues = []
    if skipped:
        issues.append(DataIssue("too_few_items_for_test", len(skipped),
                                f"model x task x target cells with fewer than {min_items} items having an original, "
                                "target and baseline answer are not tested (flip rates still shown)",
                                "; ".join(skipped)))
    many = {task: labels for task, labels in design.task_labels.items() if len(labels) > 2}
    if many:
        issues.append(DataIssue("phi_not_defined", len(many), "tasks with more than two answer labels: phi is "
                                "not computed there (mutual information is)",
                                "; ".join(f"{t}: {', '.join(labs)}" for t, labs in many.items())))
    return issues


def p_floor_check(tests: pd.DataFrame, *, n_boot: int, alpha: float) -> DataIssue | None:
    """A reported caveat when Monte Carlo p-values at their floor still miss significance after correction.

    A two-sided randomization or bootstrap p is at least :math:`2/(B+1)`. Rows whose raw
    p sits at that floor (nothing in the resampled null was as extreme) but whose
    corrected p is not below :math:`\\alpha` could not have been significant with this
    ``n_boot``, whatever the data: the check counts them (exact McNemar rows are exempt).
    Takes the table after :func:`adjust_family`.
    """
    floor = 2.0 / (n_boot + 1)
    resampled = ~tests["test"].str.contains("McNemar")
    at_floor = resampled & (tests["p_value"] <= floor * (1 + 1e-9)) & ~tests["significant"]
    if at_floor.any():
        sizes = tests.groupby("family").size() if "family" in tests.columns else pd.Series({"all": len(tests)})
        over = ", ".join(f"{n} {name}" for name, n in sizes.items())
        return DataIssue("p_value_floor", int(at_floor.sum()),
                         f"resampling p-values at their floor 2/(n_boot+1) = {floor:.2g} stay above alpha = "
                         f"{alpha:g} after the correction over their family of tests ({over}): these rows are "
                         "limited by n_boot, not by the data (raise n_boot, or use correction: fdr_bh)")
    return None


def adjust_family(tests: pd.DataFrame, *, correction: str = "holm", alpha: float = 0.05,
                  primary_metric: str | None = None) -> pd.DataFrame:
    """Add ``family``, ``p_value_corrected`` (corrected within each family) and ``significant`` =
    ``p_value_corrected < alpha``.

    With ``primary_metric`` the rows of that metric form the *primary* family and every other
    row the *secondary* family, each corrected on its own: the secondary metrics (aggregate
    ones rarely reject) neither dilute nor borrow from the primary test. ``None``: one family
    over every row (``family`` = ``"all"``).

    The paper's question is one-sided (is the model *more* sensitive to the edit than to a
    rewording?), so each family is also corrected on its one-sided p-values on their own:
    ``p_value_corrected_one_sided`` and ``significant_one_sided`` answer that question with a one-sided
    family (two-sided and one-sided p-values are never mixed in one correction).
    """
    out = tests.copy()
    if primary_metric is None:
        out["family"] = "all"
    else:
        out["family"] = np.where(out["metric"] == primary_metric, "primary", "secondary")
    for raw, adjusted, flag in (("p_value", "p_value_corrected", "significant"),
                                ("p_value_one_sided", "p_value_corrected_one_sided", "significant_one_sided")):
        if raw not in out.columns:  # a table without one-sided p-values gets the two-sided correction only
            continue
        out[adjusted] = np.nan
        for _, idx in out.groupby("family", sort=True).groups.items():
            p = out.loc[idx, raw].to_numpy(float)
            out.loc[idx, adjusted] = p if correction == "none" else sst.adjust_pvalues(p, method=correction)
        out[adjusted] = out[adjusted].astype(float)
        out[flag] = out[adjusted] < alpha
    cols = [c for c in TEST_COLUMNS if c in out.columns]
    return out[cols].sort_values(["model", "task", "target", "metric"], kind="mergesort").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class Comparisons(Result):
    """The family of target-vs-baseline tests after the correction.

    Attributes
    ----------
    table : DataFrame
        One row per model x task x target x metric, columns :data:`TEST_COLUMNS`.
    correction : str
        The multiple-testing method, applied within each family.
    alpha : float
        ``significant`` = ``p_value_corrected < alpha``.
    primary_metric : str
        The metric of the primary family (the others form the secondary family).
    n_tests, n_significant : int
        Rows of ``table``, and those significant after the correction (both families).
    n_tests_primary, n_significant_primary : int
        The same for the primary family.
    n_significant_one_sided, n_significant_primary_one_sided : int
        Significant after the correction of the one-sided p-values (target flips more than its
        baseline), both families and the primary family.
    """

    table: pd.DataFrame
    correction: str
    alpha: float
    primary_metric: str
    n_tests: int
    n_significant: int
    n_tests_primary: int
    n_significant_primary: int
    n_significant_one_sided: int = 0
    n_significant_primary_one_sided: int = 0

    def records(self, name: Callable[[Any], str]) -> dict[str, Any]:
        """``n_tests``, ``n_significant``, ``primary.*`` and ``diff.<model>.<task>.<target>`` (flip rates).

        ``name`` maps names taken from data to key-safe ones (the notebook passes ``out.name``).
        """
        out: dict[str, Any] = {"n_tests": self.n_tests, "n_significant": self.n_significant,
                               "n_significant_one_sided": self.n_significant_one_sided,
                               "primary.metric": self.primary_metric, "primary.n_tests": self.n_tests_primary,
                               "primary.n_significant": self.n_significant_primary,
                               "primary.n_significant_one_sided": self.n_significant_primary_one_sided}
        for r in self.table[self.table["metric"] == "flip_rate"].itertuples():
            out[f"diff.{name(r.model)}.{name(r.task)}.{name(r.target)}"] = float(r.diff)
        return out


def run_tests(design: Design, *, n_boot: int, seed: int, confidence: float, eps: float, correction: str,
              alpha: float, primary_metric: str = "flip_rate") -> tuple[Comparisons, tuple[DataIssue, ...]]:
    """:func:`compare_targets`, :func:`adjust_family` and :func:`p_floor_check`: the family and its issues."""
    tab, issues = compare_targets(design, n_boot=n_boot, seed=seed, confidence=confidence, eps=eps)
    tab = adjust_family(tab, correction=correction, alpha=alpha, primary_metric=primary_metric)
    floor = p_floor_check(tab, n_boot=n_boot, alpha=alpha)
    primary = tab[tab["family"] == "primary"]
    if len(tab) and primary.empty:
        issues.append(DataIssue("primary_metric_not_tested", 1,
                                f"the primary metric '{primary_metric}' has no test in these data (e.g. JS/KL "
                                "need p_positive, phi two labels): every test is in the secondary family",
                                ", ".join(sorted(tab["metric"].unique()))))
    family = Comparisons(table=tab, correction=correction, alpha=alpha, primary_metric=primary_metric,
                         n_tests=int(len(tab)), n_significant=int(tab["significant"].sum()),
                         n_tests_primary=int(len(primary)), n_significant_primary=int(primary["significant"].sum()),
                         n_significant_one_sided=int(tab["significant_one_sided"].sum()),
                         n_significant_primary_one_sided=int(primary["significant_one_sided"].sum()))
    return family, tuple(issues) + ((floor,) if floor else ())
