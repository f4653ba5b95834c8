r"""Prediction-powered inference (PPI) for a difference of two proportions, and the mitigation study.

PPI (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic 2023, *Science* 382:669-674, "Prediction-
powered inference", eq. for the mean) corrects the mean of model predictions :math:`f` on the
unlabelled items with a *rectifier* estimated on a small human-labelled sample. In group *g*,
with :math:`N_g` unlabelled items and :math:`n_g` labelled ones (disjoint, both random):

.. math::

    \hat\theta_g = \frac{1}{N_g}\sum_{i \le N_g} f_i \;+\; \frac{1}{n_g}\sum_{j \le n_g} (y_j - f_j),
    \qquad
    \widehat{\operatorname{Var}}(\hat\theta_g) = \frac{\hat\sigma^2_f}{N_g} + \frac{\hat\sigma^2_{y-f}}{n_g},

where :math:`f = 1[\text{LLM label} = k]`, :math:`y = 1[\text{human label} = k]` and the two
sample variances use :math:`n - 1`. The rectifier makes :math:`\hat\theta_g` unbiased for the
human-label share whatever the LLM's bias; the groups are independent, so for
:math:`\Delta = \theta_a - \theta_b`:
:math:`\hat\Delta \pm z_{1-\alpha/2}\,(\widehat{\operatorname{Var}}_a + \widehat{\operatorname{Var}}_b)^{1/2}`,
and the two-sided z-test gives the conclusion. A group with fewer than 2 labelled or
unlabelled items, or a zero standard error, gives no conclusion (``none``; counted as undefined).

:func:`mitigation` compares, over random human subsamples of several sizes, (1) the human
labels of the subsample alone (the GLM Wald test on the subsample), (2) the LLM labels of all
items (the grid) and (3) PPI, on their Type I, Type II and Type S rates against the full-data
gold conclusion, as Baumann et al. (2025) do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from .analysis import Grid, logit_tests
from .counts import label_counts
from .hypotheses import gold_level_counts
from .load import AnnotationData
from .columns import CONCLUSIONS


@dataclass(frozen=True)
class PPIResult:
    """Vectorised PPI estimates of :math:`p_a - p_b` (arrays of the broadcast input shape)."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    valid: np.ndarray


def ppi_mean(f_unl, n_unl, f_lab, y_lab, mismatch_lab, n_lab):
    """PPI estimate of a proportion and its variance from counts (binary f and y).

    Parameters
    ----------
    f_unl, n_unl : array_like
        Number of unlabelled items with f = 1, and of unlabelled items.
    f_lab, y_lab, mismatch_lab, n_lab : array_like
        On the labelled items: number with f = 1, with y = 1, with f != y, and their number.

    Returns
    -------
    theta, var, valid : ndarray
        :math:`\\hat\\theta = \\bar f_{unl} + \\overline{(y - f)}_{lab}`; :math:`s^2_f/N + s^2_{y-f}/n`
        (sample variances with n - 1; for binary data :math:`s^2_f = N\\bar f(1-\\bar f)/(N-1)` and
        :math:`s^2_{y-f} = (D - (Y - F)^2/n)/(n-1)` with D the mismatches); ``valid`` where both
        samples have at least 2 items.
    """
    f_unl, n_unl, f_lab, y_lab, d, n_lab = (np.asarray(v, dtype=float) for v in
                                            (f_unl, n_unl, f_lab, y_lab, mismatch_lab, n_lab))
    valid = (n_unl >= 2) & (n_lab >= 2)
    N = np.where(valid, n_unl, 2.0)
    n = np.where(valid, n_lab, 2.0)
    fbar = f_unl / N
    rect = (y_lab - f_lab) / n
    theta = fbar + rect
    s2_f = fbar * (1.0 - fbar) * N / (N - 1.0)
    s2_r = np.maximum(d - (y_lab - f_lab) ** 2 / n, 0.0) / (n - 1.0)
    var = s2_f / N + s2_r / n
    return np.where(valid, theta, np.nan), np.where(valid, var, np.nan), valid


def ppi_difference(a: tuple, b: tuple, *, alpha: float = 0.05) -> PPIResult:
    """PPI estimate, CI and z-test of :math:`\\theta_a - \\theta_b`; ``a`` and ``b`` are the
    :func:`ppi_mean` count tuples ``(f_unl, n_unl, f_lab, y_lab, mismatch_lab, n_lab)``."""
    ta, va, oka = ppi_mean(*a)
    tb, vb, okb = ppi_mean(*b)
    est = ta - tb
    se = np.sqrt(va + vb)
    valid = oka & okb & (se > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(valid, est / np.where(valid, se, 1.0), np.nan)
    p = np.where(valid, 2.0 * special.ndtr(-np.abs(z)), np.nan)
    q = special.ndtri(1.0 - alpha / 2.0)
    return PPIResult(est, se, est - q * se, est + q * se, z, p, valid)


def _wald_coverage(x_a, n_a, x_b, n_b, target, alpha: float) -> float:
    r"""Share of Wald intervals :math:`\hat p_a - \hat p_b \pm z\sqrt{\hat p_a(1-\hat p_a)/n_a + \hat p_b(1-\hat p_b)/n_b}`
    that contain ``target`` (groups without items left out)."""
    x_a, n_a, x_b, n_b = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    ok = (n_a > 0) & (n_b > 0)
    pa = np.divide(x_a, n_a, out=np.zeros_like(x_a), where=n_a > 0)
    pb = np.divide(x_b, n_b, out=np.zeros_like(x_b), where=n_b > 0)
    se = np.sqrt(pa * (1 - pa) / np.where(ok, n_a, 1) + pb * (1 - pb) / np.where(ok, n_b, 1))
    q = special.ndtri(1.0 - alpha / 2.0)
    cover = np.abs(pa - pb - np.broadcast_to(target, pa.shape)) <= q * se
    return float(cover[ok].mean()) if ok.any() else np.nan


def _conclusion(effect: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    """Codes into CONCLUSIONS (undefined p -> none)."""
    sig = np.nan_to_num(p, nan=1.0) < alpha
    out = np.full(effect.shape, CONCLUSIONS.index("none"), dtype=np.int8)
    out[sig & (effect > 0)] = CONCLUSIONS.index("a_larger")
    out[sig & (effect < 0)] = CONCLUSIONS.index("b_larger")
    return out


def _rates(concl: np.ndarray, gold_concl: np.ndarray) -> dict[str, float]:
    """Type I rate among gold-null pairs, Type II and Type S rates among gold-significant ones."""
    none = CONCLUSIONS.index("none")
    g = np.broadcast_to(gold_concl.reshape(-1, *([1] * (concl.ndim - 1))), concl.shape)
    gnull = g == none
    sig = concl != none
    gsig = ~gnull
    opposite = sig & gsig & (concl != g)
    n_null, n_sig = int(gnull.sum()), int(gsig.sum())
    wrong = (sig & gnull) | (~sig & gsig) | opposite
    return {
        "type_I_rate": float((sig & gnull).sum() / n_null) if n_null else np.nan,
        "type_II_rate": float((~sig & gsig).sum() / n_sig) if n_sig else np.nan,
        "type_S_rate": float(opposite.sum() / n_sig) if n_sig else np.nan,
        "risk": float(wrong.mean()),
    }


def _rmse(errors: np.ndarray) -> float:
    """Root mean square of the defined errors; NaN when none is defined (no estimate in any group)."""
    e = np.asarray(errors, dtype=float)
    return float(np.sqrt(np.nanmean(e ** 2))) if (~np.isnan(e)).any() else float("nan")


def mitigation(data: AnnotationData, grid: Grid, sizes: list[int], replicates: int, *, seed: int = 0,
               alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Human-only, LLM-only and PPI conclusions over random human subsamples.

    For each size n and replicate r, a simple random sample of n items (seeded by
    ``(seed, n, r)``) is "human-labelled". Human labels are ``gold`` and, when the items carry
    ``human_single``, also that single rater's labels (items without it are left out of that
    variant). The reference is the gold conclusion on all items; for the single rater's variant, when the
    items carry ``gold_without_single`` (gold of the other raters), the conclusion with those labels on all
    items (:func:`reference_conclusions`), so that the rater is not compared with a gold it is part of.

    Returns ``(summary, per_replicate)``: rates averaged over replicates with their standard
    deviation, and the per-replicate rates. ``rmse_effect`` is the root mean squared difference of
    the estimated :math:`p_a - p_b` from the gold one; ``ci_coverage`` the share of 95% (``1 - alpha``)
    intervals containing the gold :math:`p_a - p_b` (Wald intervals for the LLM-only and human-only
    estimates, the PPI interval for PPI).
    """
    hyps = grid.hypotheses
    cols = list(data.groups)
    gold_concl = pd.Categorical(hyps["gold_conclusion"], categories=list(CONCLUSIONS)).codes.astype(np.int8)
    gold_eff = hyps["gold_effect"].to_numpy()
    totals = {c: label_counts(data, c) for c in cols}
    references = [("gold", data.gold)]
    if data.human is not None:
        references.append(("human_single", data.human))
    # the reference conclusions of each kind of human labels: gold's, or, for the single rater when the items
    # carry gold_without_single, the other raters' (the rater is not compared with a gold that contains it)
    targets = {"gold": (gold_concl, gold_eff)}
    if data.human is not None:
        targets["human_single"] = (gold_concl, gold_eff) if data.human_gold is None else \
            reference_conclusions(data, hyps, data.human_gold, alpha)
    llm = {**_rates(grid.conclusion, gold_concl), "rmse_effect": _rmse(grid.effect - gold_eff[:, None]),
           "ci_coverage": _wald_coverage(grid.x_a, grid.n_a, grid.x_b, grid.n_b, gold_eff[:, None], alpha),
           "undefined_share": float((~grid.defined).mean())}
    # per-row level codes and reference labels, gathered once; each subsample then only touches its rows
    lvl_rows = {c: data.groups[c][0][data.ann_item] for c in cols}
    ref_rows = {name: ref[data.ann_item] for name, ref in references}
    rows = []
    for n_h in sizes:
        n_take = min(int(n_h), data.n_items)
        for r in range(replicates):
            rng = np.random.default_rng([seed, n_take, r])
            in_s = np.zeros(data.n_items, dtype=bool)
            in_s[rng.choice(data.n_items, size=n_take, replace=False)] = True
            sel = np.flatnonzero(in_s[data.ann_item])
            base = {"n_human": n_take, "replicate": r}
            rows.append({"method": "llm_only", "human_labels": "none", **base, **llm})
            cell_s, in_s_counts = _subsample_cells(data, lvl_rows, sel, grid.shape[1])
            for ref_name, ref in references:
                human, ppi_parts = _subsample_counts(data, hyps, ref, ref_rows[ref_name][sel], in_s, cell_s,
                                                     in_s_counts, totals, grid.shape)
                t_concl, t_eff = targets[ref_name]
                rows.append({"method": "human_only", "human_labels": ref_name, **base,
                             **_human_only_scores(human, t_concl, t_eff, alpha)})
                rows.append({"method": "ppi", "human_labels": ref_name, **base,
                             **_ppi_scores(ppi_parts, t_concl, t_eff, alpha)})
    per_rep = pd.DataFrame(rows)
    return _summarise_replicates(per_rep, replicates), per_rep


def reference_conclusions(data: AnnotationData, hyps: pd.DataFrame, labels: np.ndarray, alpha: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Conclusion codes and effects :math:`\\hat p_a - \\hat p_b` of every hypothesis tested with other reference
    labels on all items (codes < 0 left out); a test whose logit MLE does not exist concludes ``none``."""
    cols = list(data.groups)
    col_idx, a, b, k = (hyps[c].to_numpy() for c in ("col_idx", "a", "b", "k"))
    x_a, n_a, x_b, n_b = (np.zeros(len(hyps)) for _ in range(4))
    for j, col in enumerate(cols):
        m = np.flatnonzero(col_idx == j)
        if len(m):
            cnt = gold_level_counts(data, col, labels=labels)
            tot = cnt.sum(axis=1)
            x_a[m], n_a[m], x_b[m], n_b[m] = cnt[a[m], k[m]], tot[a[m]], cnt[b[m], k[m]], tot[b[m]]
    res, _, p, _ = logit_tests(x_a, n_a, x_b, n_b, alpha)
    eff = np.where((n_a > 0) & (n_b > 0), res.diff, np.nan)
    return _conclusion(np.nan_to_num(eff), p, alpha), eff


def _subsample_cells(data: AnnotationData, lvl_rows: dict[str, np.ndarray], sel: np.ndarray,
                     C: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per group column, the (configuration, level, label) cell of every subsampled row and the cell counts."""
    K = len(data.classes)
    conf_s = data.ann_config[sel].astype(np.int64)
    lab_s = data.ann_label[sel].astype(np.int64)
    in_s_counts, cell_s = {}, {}
    for col in data.groups:
        L1 = len(data.groups[col][1]) + 1
        cell_s[col] = (conf_s * L1 + lvl_rows[col][sel]) * K + lab_s
        in_s_counts[col] = np.bincount(cell_s[col], minlength=C * L1 * K).reshape(C, L1, K)
    return cell_s, in_s_counts


def _subsample_counts(data: AnnotationData, hyps: pd.DataFrame, ref: np.ndarray, r_s: np.ndarray,
                      in_s: np.ndarray, cell_s: dict[str, np.ndarray], in_s_counts: dict[str, np.ndarray],
                      totals: dict[str, np.ndarray], shape: tuple[int, int]) -> tuple[tuple, dict[str, np.ndarray]]:
    """Counts of one human subsample, per hypothesis.

    Returns ``((hx_a, hn_a, hx_b, hn_b), parts)``: the human-labelled successes and sizes of both
    groups, and the PPI pieces (H, C) of every configuration: unlabelled predictions (``fu``, ``nu``),
    labelled predictions, references and mismatches (``fl``, ``yl``, ``dl``, ``nl``) per side.
    """
    H, C = shape
    K = len(data.classes)
    col_idx = hyps["col_idx"].to_numpy()
    ok = r_s >= 0
    hx_a = np.zeros(H)
    hn_a = np.zeros(H)
    hx_b = np.zeros(H)
    hn_b = np.zeros(H)
    parts = {key: np.zeros((H, C)) for key in
             ("fu_a", "nu_a", "fl_a", "yl_a", "dl_a", "nl_a", "fu_b", "nu_b", "fl_b", "yl_b", "dl_b", "nl_b")}
    for j, col in enumerate(data.groups):
        m = np.flatnonzero(col_idx == j)
        if not len(m):
            continue
        L1 = len(data.groups[col][1]) + 1
        cnt = gold_level_counts(data, col, labels=ref, mask=in_s)  # (L+1, K)
        tot_lv = cnt.sum(axis=1)
        lv_a, lv_b, k = hyps["a"].to_numpy()[m], hyps["b"].to_numpy()[m], hyps["k"].to_numpy()[m]
        hx_a[m], hn_a[m] = cnt[lv_a, k], tot_lv[lv_a]
        hx_b[m], hn_b[m] = cnt[lv_b, k], tot_lv[lv_b]
        # labelled: sampled rows with a valid reference; unlabelled: rows not sampled
        conf = np.bincount(cell_s[col][ok] * K + r_s[ok], minlength=C * L1 * K * K).reshape(C, L1, K, K)
        f_lab = conf.sum(axis=3)
        y_lab = conf.sum(axis=2)
        mism = f_lab + y_lab - 2 * np.einsum("clkk->clk", conf)
        n_lab = conf.sum(axis=(2, 3))
        f_unl = totals[col] - in_s_counts[col]
        n_unl = totals[col].sum(axis=2) - in_s_counts[col].sum(axis=2)
        for side, lv in (("a", lv_a), ("b", lv_b)):
            parts[f"fu_{side}"][m] = f_unl[:, lv, k].T
            parts[f"nu_{side}"][m] = n_unl[:, lv].T
            parts[f"fl_{side}"][m] = f_lab[:, lv, k].T
            parts[f"yl_{side}"][m] = y_lab[:, lv, k].T
            parts[f"dl_{side}"][m] = mism[:, lv, k].T
            parts[f"nl_{side}"][m] = n_lab[:, lv].T
    return (hx_a, hn_a, hx_b, hn_b), parts


def _human_only_scores(human: tuple, gold_concl: np.ndarray, gold_eff: np.ndarray, alpha: float) -> dict:
    """Error rates, effect RMSE, Wald coverage and undefined share of the human-only tests."""
    hx_a, hn_a, hx_b, hn_b = human
    res, defined, p, p_dec = logit_tests(hx_a, hn_a, hx_b, hn_b, alpha)
    eff = np.where((hn_a > 0) & (hn_b > 0), res.diff, np.nan)
    hc = _conclusion(np.nan_to_num(eff), p, alpha)
    return {**_rates(hc, gold_concl), "rmse_effect": _rmse(eff - gold_eff),
            "ci_coverage": _wald_coverage(hx_a, hn_a, hx_b, hn_b, gold_eff, alpha),
            "undefined_share": float((~defined).mean())}


def _ppi_scores(parts: dict[str, np.ndarray], gold_concl: np.ndarray, gold_eff: np.ndarray, alpha: float) -> dict:
    """Error rates, effect RMSE, interval coverage and undefined share of the PPI tests of every configuration."""
    pp = ppi_difference(tuple(parts[f"{x}_a"] for x in ("fu", "nu", "fl", "yl", "dl", "nl")),
                        tuple(parts[f"{x}_b"] for x in ("fu", "nu", "fl", "yl", "dl", "nl")),
                        alpha=alpha)
    pc = _conclusion(np.nan_to_num(pp.estimate), pp.p_value, alpha)
    return {**_rates(pc, gold_concl), "rmse_effect": _rmse(pp.estimate - gold_eff[:, None]),
            "ci_coverage": float(np.mean(((pp.ci_low <= gold_eff[:, None]) &
                                          (gold_eff[:, None] <= pp.ci_high))[pp.valid]))
            if pp.valid.any() else np.nan,
            "undefined_share": float((~pp.valid).mean())}


def _summarise_replicates(per_rep: pd.DataFrame, replicates: int) -> pd.DataFrame:
    """Mean and standard deviation over replicates of every rate, per method x human labels x size."""
    keys = ["method", "human_labels", "n_human"]
    metrics = ["type_I_rate", "type_II_rate", "type_S_rate", "risk", "rmse_effect", "ci_coverage", "undefined_share"]
    g = per_rep.groupby(keys, sort=False)[metrics]
    summary = g.mean().join(g.std(ddof=1).add_suffix("_sd")).reset_index()
    summary.insert(3, "n_replicates", replicates)
    order = {"human_only": 0, "llm_only": 1, "ppi": 2}
    summary = summary.sort_values(["human_labels", "method", "n_human"],
                                  key=lambda s: s.map(order) if s.name == "method" else s, kind="stable")
    return summary.reset_index(drop=True)


def record_stem(row) -> str:
    """``results.json`` key stem of a row of the :func:`mitigation` summary.

    ``mitigation.<method>[_<human labels>].n<size>``; the gold labels (and the LLM-only
    method, which uses none) add no suffix, e.g. ``mitigation.ppi.n100`` and
    ``mitigation.ppi_human_single.n100``.
    """
    suffix = "" if row.human_labels in ("none", "gold") else f"_{row.human_labels}"
    return f"mitigation.{row.method}{suffix}.n{row.n_human}"
