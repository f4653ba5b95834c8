r"""Uptake tests whose unit is the document, and the sampling-noise floor of excess words.

Difference in differences (token input)
    For one language, period :math:`P \in \{pre, post\}` and word set
    :math:`S \in \{ai, baseline\}`, with :math:`x_{dS}` the tokens of set
    :math:`S` and :math:`n_d` the content tokens of document :math:`d`, the
    Jeffreys-smoothed share is :math:`s_S(P) = (\sum_d x_{dS} + 0.5)/(\sum_d n_d + 1)`
    and the log change :math:`\Delta_S = \ln s_S(post) - \ln s_S(pre)`. The
    test statistic is the difference in differences
    :math:`D = \Delta_{ai} - \Delta_{baseline}` (the AI words' change beyond
    the change of frequency-matched words with LPR near 0).

Document-clustered bootstrap
    Words are bursty: a document that uses a word often uses it again, and
    documents differ in their rates, so tokens are not independent and a
    token-level chi-square is far too small. Documents are resampled with
    replacement within each year (keeping the years' sizes), every token of a
    resampled document coming with it; :math:`D^*` and :math:`\Delta^*_S` are
    recomputed on each resample. The standard error is the SD of the
    replicates, the p-value :math:`2\Phi(-|D|/SE)`, the interval the
    percentile interval. Languages form one family, corrected by Holm's
    method; a language counts as a significant increase when :math:`D > 0`
    and its Holm-adjusted p is below ``alpha``.

Yearly-count input (no documents)
    With only documents-per-lemma counts, the lemma is the unit: per lemma
    :math:`d_w = \ln \hat p_w(post) - \ln \hat p_w(pre)` with
    :math:`\hat p = (c + 0.5)/(n + 1)`, and Welch's t compares the mean
    :math:`d_w` of AI and baseline lemmas (the difference in differences over
    lemmas). It allows for lemma-to-lemma heterogeneity but not for documents
    that contain several lemmas of a set.

Excess-word noise floor (Kobak et al.'s rule with sampling error)
    With :math:`\hat p_k = (c_k + 1)/(n_k + 1)` in year :math:`k`, the binomial
    variance over documents is :math:`v_k = \hat p_k(1 - \hat p_k)/n_k`;
    :math:`q = p_{Y-2} + 2\max(p_{Y-2} - p_{Y-3}, 0)` has variance
    :math:`9v_{Y-2} + 4v_{Y-3}` when the trend term is active and
    :math:`v_{Y-2}` otherwise. By the delta method
    :math:`\mathrm{Var}(\ln r) \approx v_Y/p^2 + \mathrm{Var}(q)/q^2` and
    :math:`\mathrm{Var}(\delta) = v_Y + \mathrm{Var}(q)`. The one-sided
    lower bounds :math:`\ln r_{low} = \ln r - z_{1-a}\,SE(\ln r)` and
    :math:`\delta_{low} = \delta - z_{1-a}\,SE(\delta)` replace :math:`r` and
    :math:`\delta` in Kobak et al.'s rule; a word flagged by the point rule
    but not at the bounds is *flagged but noisy*.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit.stats import adjust_pvalues, welch_t

DID_COLUMNS = ["language", "method", "n_docs_pre", "n_docs_post", "change_ai_pct", "change_baseline_pct",
               "did_log", "did_se", "did_ci_low", "did_ci_high", "did_p", "did_p_holm", "significant_increase",
               "ai_change_p_doc", "baseline_change_p_doc", "note"]


def _smoothed_log_share(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.log((x + 0.5) / (n + 1.0))


def document_bootstrap(docs: pd.DataFrame, pre_years, post_years, *, n_resamples: int, confidence: float,
                       seed: np.random.SeedSequence | int, block: int = 200) -> dict:
    """Difference in differences with a document-clustered bootstrap for one language (module docstring).

    ``docs``: one row per document with ``year``, ``n_content``, ``ai`` and
    ``baseline`` (tokens). Returns a dict of the :data:`DID_COLUMNS` fields
    (without language, method and the Holm column).
    """
    rng = np.random.default_rng(seed)
    out = {"n_docs_pre": int(docs["year"].isin(pre_years).sum()),
           "n_docs_post": int(docs["year"].isin(post_years).sum()), "note": ""}
    if not out["n_docs_pre"] or not out["n_docs_post"]:
        return {**out, "note": "no documents in the pre or post period"}
    columns = ["n_content", "ai", "baseline"]
    periods = {}
    for name, years in (("pre", pre_years), ("post", post_years)):
        d = docs[docs["year"].isin(years)]
        periods[name] = [g[columns].to_numpy(np.float64) for _, g in d.groupby("year", sort=True)]
    totals = {name: sum(m.sum(axis=0) for m in mats) for name, mats in periods.items()}

    def statistics(t_pre: np.ndarray, t_post: np.ndarray) -> np.ndarray:
        """[D, Delta_ai, Delta_baseline] from period totals (..., 3)."""
        change = (_smoothed_log_share(t_post[..., 1:], t_post[..., :1])
                  - _smoothed_log_share(t_pre[..., 1:], t_pre[..., :1]))
        return np.concatenate([change[..., :1] - change[..., 1:], change], axis=-1)

    estimate = statistics(totals["pre"], totals["post"])
    reps = []
    for start in range(0, n_resamples, block):
        b = min(block, n_resamples - start)
        sums = {}
        for name, mats in periods.items():
            acc = np.zeros((b, 3))
            for m in mats:
                idx = rng.integers(0, len(m), size=(b, len(m)))
                acc += m[idx].sum(axis=1)
            sums[name] = acc
        reps.append(statistics(sums["pre"], sums["post"]))
    reps = np.concatenate(reps)
    se = reps.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * sps.norm.sf(np.abs(estimate) / se), np.where(estimate == 0, 1.0, 0.0))
    alpha = 1 - confidence
    lo, hi = np.quantile(reps[:, 0], [alpha / 2, 1 - alpha / 2])
    raw = {name: t[1:] / t[0] if t[0] else np.full(2, np.nan) for name, t in totals.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = 100 * (raw["post"] / raw["pre"] - 1)
    return {**out, "change_ai_pct": float(change_pct[0]), "change_baseline_pct": float(change_pct[1]),
            "did_log": float(estimate[0]), "did_se": float(se[0]), "did_ci_low": float(lo), "did_ci_high": float(hi),
            "did_p": float(p[0]), "ai_change_p_doc": float(p[1]), "baseline_change_p_doc": float(p[2])}


def lemma_level_did(docs: pd.DataFrame, totals: pd.DataFrame, word_sets: dict[str, list[str]], pre_years,
                    post_years, *, confidence: float = 0.95) -> dict:
    """Yearly-count input: Welch's t of per-lemma log changes, AI vs baseline lemmas (module docstring)."""
    n = {name: int(totals[totals["year"].isin(years)]["n_docs"].sum())
         for name, years in (("pre", pre_years), ("post", post_years))}
    out = {"n_docs_pre": n["pre"], "n_docs_post": n["post"], "note": ""}
    if not n["pre"] or not n["post"]:
        return {**out, "note": "no documents in the pre or post period"}
    changes = {}
    for name, lemmas in word_sets.items():
        counts = {}
        for period, years in (("pre", pre_years), ("post", post_years)):
            d = docs[docs["year"].isin(years) & docs["lemma"].isin(lemmas)].groupby("lemma")["docs"].sum()
            counts[period] = d.reindex(lemmas, fill_value=0).to_numpy(np.float64)
        changes[name] = (_smoothed_log_share(counts["post"], np.float64(n["post"]))
                         - _smoothed_log_share(counts["pre"], np.float64(n["pre"])))
    ai, base = changes.get("ai", np.zeros(0)), changes.get("baseline", np.zeros(0))
    if len(ai) < 2 or len(base) < 2:
        return {**out, "note": "fewer than two lemmas in a word set: lemma-level test undefined"}
    test = welch_t(ai, base, confidence=confidence)
    diff = float(ai.mean() - base.mean())
    se = math.sqrt(ai.var(ddof=1) / len(ai) + base.var(ddof=1) / len(base))
    tq = sps.t.ppf(0.5 + confidence / 2, test.df) if test.df and se > 0 else math.nan
    return {**out, "did_log": diff, "did_se": se, "did_ci_low": diff - tq * se, "did_ci_high": diff + tq * se,
            "did_p": float(test.p_value) if se > 0 else (1.0 if diff == 0 else 0.0)}


def did_table(rows: list[dict], alpha: float) -> pd.DataFrame:
    """One row per language with the Holm-adjusted p over languages and the significance call."""
    table = pd.DataFrame(rows, columns=DID_COLUMNS)
    p = table["did_p"].to_numpy(np.float64)
    table["did_p_holm"] = adjust_pvalues(p, "holm", nan_policy="omit") if len(p) else p
    table["significant_increase"] = (table["did_log"] > 0) & (table["did_p_holm"] < alpha)
    missing = table["did_p"].isna() & (table["note"].fillna("") == "")
    table.loc[missing, "note"] = "difference in differences undefined"
    return table


def excess_noise_floor(analysed: pd.DataFrame, n_docs: pd.DataFrame, *, confidence: float,
                       gap_threshold: float) -> pd.DataFrame:
    """Add ``ratio_low``, ``delta_low`` and ``noise_robust`` to Kobak et al.'s table (module docstring).

    ``n_docs``: language, year, n_docs. ``noise_robust`` is True when the rule
    holds at the lower bounds; ``excess & ~noise_robust`` are the flagged but
    noisy word-years.
    """
    out = analysed.copy()
    if out.empty:
        for c in ("ratio_low", "delta_low"):
            out[c] = pd.Series(dtype=float)
        out["noise_robust"] = pd.Series(dtype=bool)
        return out
    size = n_docs.set_index(["language", "year"])["n_docs"]

    def docs_in(offset: int) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([out["language"], out["year"].astype(np.int64) - offset])
        return size.reindex(keys).to_numpy(np.float64)

    def var(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        return p * (1 - p) / np.maximum(n, 1)

    p, p2, p3 = (out[c].to_numpy(np.float64) for c in ("p", "p_minus2", "p_minus3"))
    v, v2, v3 = var(p, docs_in(0)), var(p2, docs_in(2)), var(p3, docs_in(3))
    var_q = np.where(p2 > p3, 9 * v2 + 4 * v3, v2)
    q = out["q"].to_numpy(np.float64)
    z = sps.norm.ppf(confidence)
    log_r_low = np.log(p / q) - z * np.sqrt(v / p ** 2 + var_q / q ** 2)
    delta_low = (p - q) - z * np.sqrt(v + var_q)
    ratio_rule = np.log10(np.exp(log_r_low)) > -(math.log10(2) / 4.0) * np.log10(p)
    out["ratio_low"] = np.exp(log_r_low)
    out["delta_low"] = delta_low
    out["noise_robust"] = out["excess"].astype(bool) & ((delta_low > gap_threshold) | ratio_rule)
    return out
