r"""Uptake tests whose units are documents and lemmas, and the sampling-noise floor and FDR of excess words.

Difference in differences (token input)
    For one language, period :math:`P \in \{pre, post\}` and word set
    :math:`S \in \{ai, baseline\}`, with :math:`x_{dS}` the tokens of set
    :math:`S` and :math:`n_d` the content tokens of document :math:`d`, the
    Jeffreys-smoothed share is :math:`s_S(P) = (\sum_d x_{dS} + 0.5)/(\sum_d n_d + 1)`
    and the log change :math:`\Delta_S = \ln s_S(post) - \ln s_S(pre)`. The
    test statistic is the difference in differences
    :math:`D = \Delta_{ai} - \Delta_{baseline}` (the AI words' change beyond
    the change of frequency-matched words with LPR near 0).

Document-clustered bootstrap (kept as the "before": ``did_p_value_documents``)
    Words are bursty: a document that uses a word often uses it again, and
    documents differ in their rates, so tokens are not independent and a
    token-level chi-square is far too small. Documents are resampled with
    replacement within each year (keeping the years' sizes), every token of a
    resampled document coming with it; :math:`D^*` and :math:`\Delta^*_S` are
    recomputed on each resample. The standard error is the SD of the
    replicates, the p-value :math:`2\Phi(-|D|/SE)`, the interval the
    percentile interval. Languages form one family, corrected by Holm's
    method. This bootstrap holds the tracked lemmas fixed.

Two-way bootstrap over documents and lemmas (the test that decides)
    The tracked lemmas are themselves a sample: each word drifts in its own
    way between periods (fashion, topic), and with 20 words per set that
    lemma-to-lemma drift does not average out. Treating the lemmas as fixed,
    the document-only bootstrap rejected 12 % of true nulls (family-wise 18 %)
    at a lemma drift SD of 0.3. The pigeonhole bootstrap
    (:func:`studykit.stats.pigeonhole_bootstrap`, Owen 2007) resamples
    documents within each year *and* lemmas within each word set, independently;
    with document weights :math:`w_d` and lemma weights :math:`u_j`, the set's
    tokens in period :math:`P` are :math:`\sum_{d \in P}\sum_{j \in S} w_d u_j x_{dj}`
    and the content tokens :math:`\sum_{d \in P} w_d n_d`; :math:`D^*` is
    recomputed from these sums. SE, normal p and percentile interval as above
    (:func:`studykit.stats.replicate_test`). Languages form one family
    (Holm); a language counts as a significant increase when :math:`D > 0`
    and its Holm-adjusted p is below ``alpha``. When the document x lemma
    noise is large against the drift, it is counted by both resamplings and
    the test is conservative (Owen 2007): small corpora lose power, not
    validity.

Pre-trend placebo
    The same two-way test on two earlier periods (``placebo_pre_years`` vs
    ``placebo_post_years``, both before any model release): a significant
    placebo difference says the AI and baseline words were already diverging,
    so the main estimate is not an uptake effect alone.

Minimum detectable effect
    At power 0.8 and two-sided level :math:`\alpha`,
    :math:`MDE = (z_{1-\alpha/2} + z_{0.8})\,SE_{two-way}` on the log scale
    (Bloom 1995; :func:`studykit.stats.minimum_detectable_effect`), also as a
    percentage :math:`100(e^{MDE} - 1)`; the paper's mean uptake of +15.1 %
    (:math:`\ln 1.151 = 0.141` with a flat baseline) is *detectable* when it is
    at least the MDE. :math:`\alpha` is the per-language level, before Holm's
    correction (which only raises the MDE); where the uptake itself varies
    across lemmas, the SE and the MDE include that variation.

Yearly-count input (no documents)
    With only documents-per-lemma counts :math:`c_{jP}` out of :math:`n_P`
    documents, documents cannot be resampled. Each lemma's pair of counts is
    then the unit: lemmas are resampled within each set (weights :math:`u_j`,
    :func:`studykit.stats.stratified_weights`), which carries both the
    binomial noise of each count and the lemma-specific drift; the statistic is
    the same :math:`D` on mean document prevalences
    :math:`(\sum_j u_j c_{jP} + 0.5)/(n_P \sum_j u_j + 1)`. With :math:`g` lemmas
    in the smaller set the SE is inflated by :math:`\sqrt{g/(g-1)}` and the
    p-value referred to :math:`t_{g-1}` (few units, as for few clusters). It
    ignores that one document can hold several lemmas of a set. The former test, Welch's t on
    per-lemma log changes, is kept as a labelled, descriptive
    ``did_p_value_documents`` column ("Welch t over lemmas, descriptive"): it weighs
    a rare lemma's noisy log change like a frequent one's and tests a mean of
    per-lemma changes, not the share the table reports (a review measured 14 %
    null rejection for it).

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

False discovery rate of excess words
    The noise floor tests each word-year at level :math:`a` on its own; a
    corpus has thousands of analysed word-years, so many flags pass it by
    chance. Each analysed word-year gets a one-sided p-value of the null "the
    word-year does not meet the rule":
    :math:`p_r = 1 - \Phi((\ln r - t(p))/SE(\ln r))` with
    :math:`t(p) = -\tfrac{\ln 2}{4}\log_{10} p` (the ratio rule) and
    :math:`p_\delta = 1 - \Phi((\delta - 0.01)/SE(\delta))` (the gap rule),
    combined by Bonferroni over the two rules, :math:`p = \min(1, 2\min(p_r, p_\delta))`.
    Benjamini-Hochberg over all analysed word-years of the run (one family)
    gives ``excess_p_value_corrected``; a flag with :math:`q < a` is ``fdr_robust``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit.stats import (adjust_pvalues, minimum_detectable_effect, pigeonhole_bootstrap, replicate_test,
                            stratified_weights, welch_t)

DID_COLUMNS = ["language", "method", "n_docs_pre", "n_docs_post", "n_lemmas_ai", "n_lemmas_baseline",
               "change_ai_pct", "change_baseline_pct", "did_log", "did_se", "did_ci_low", "did_ci_high", "did_p_value",
               "did_p_value_corrected", "significant_increase", "did_se_documents", "did_p_value_documents",
               "did_p_value_corrected_documents",
               "mde_log", "mde_pct", "paper_uptake_detectable", "placebo_did_log", "placebo_did_se",
               "placebo_did_p_value", "placebo_did_p_value_corrected", "ai_change_p_value_doc",
               "baseline_change_p_value_doc", "note"]

#: the paper's mean uptake of the AI words (Juzek 2026: +15.1 %), on the log scale with a flat baseline
PAPER_UPTAKE_LOG = math.log(1.151)
#: power at which the minimum detectable effect is given
MDE_POWER = 0.8


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
            "did_p_value": float(p[0]), "ai_change_p_value_doc": float(p[1]),
            "baseline_change_p_value_doc": float(p[2])}


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
            "did_p_value": float(test.p_value) if se > 0 else (1.0 if diff == 0 else 0.0)}


def lemma_columns(word_sets: dict[str, list[str]]) -> dict[str, list[str]]:
    """Column names of the per-lemma token counts in the document table: ``ai.000``, ``ai.001``, ... and
    ``baseline.000``, ... (one per lemma of the set, in the set's order; :func:`.load.count_documents`)."""
    return {name: [f"{name}.{i:03d}" for i in range(len(lemmas))] for name, lemmas in word_sets.items()}


def _did_from_sums(t_pre: np.ndarray, t_post: np.ndarray) -> np.ndarray:
    """[D, Delta_ai, Delta_baseline] from period sums (..., 3) = (exposure, ai, baseline)."""
    change = (_smoothed_log_share(t_post[..., 1:], t_post[..., :1])
              - _smoothed_log_share(t_pre[..., 1:], t_pre[..., :1]))
    return np.concatenate([change[..., :1] - change[..., 1:], change], axis=-1)


def two_way_did(docs: pd.DataFrame, columns: dict[str, list[str]], pre_years, post_years, *, n_resamples: int,
                confidence: float, seed) -> dict:
    """Difference in differences with the two-way bootstrap over documents and lemmas (module docstring).

    ``docs``: one row per document with ``year``, ``n_content`` and the per-lemma token columns named in
    ``columns`` (``{"ai": [...], "baseline": [...]}``, :func:`lemma_columns`). Returns ``did_log``,
    ``did_se``, ``did_ci_low``, ``did_ci_high``, ``did_p_value``, ``ai_change_p_value_doc``,
    ``baseline_change_p_value_doc``,
    the sizes and a ``note`` (a reason when the test is undefined).
    """
    ai, base = list(columns.get("ai", [])), list(columns.get("baseline", []))
    out = {"n_docs_pre": int(docs["year"].isin(pre_years).sum()),
           "n_docs_post": int(docs["year"].isin(post_years).sum()),
           "n_lemmas_ai": len(ai), "n_lemmas_baseline": len(base), "note": ""}
    if not out["n_docs_pre"] or not out["n_docs_post"]:
        return {**out, "note": "no documents in the pre or post period"}
    if len(ai) < 2 or len(base) < 2:
        return {**out, "note": "fewer than two lemmas in a word set: lemmas cannot be resampled"}
    d = docs[docs["year"].isin(list(pre_years) + list(post_years))]
    post = d["year"].isin(post_years).to_numpy()
    x = d[ai + base].to_numpy(np.float64)
    n = d["n_content"].to_numpy(np.float64)
    k = len(ai)
    parts = [(x[~post], n[~post], ~post), (x[post], n[post], post)]

    def statistic(w: np.ndarray, u: np.ndarray) -> np.ndarray:
        sums = []
        for xp, n_p, mask in parts:
            wp = w[:, mask]
            t = (wp @ xp) * u
            sums.append(np.stack([wp @ n_p, t[:, :k].sum(axis=1), t[:, k:].sum(axis=1)], axis=-1))
        return _did_from_sums(*sums)

    estimate = statistic(np.ones((1, len(d))), np.ones((1, k + len(base))))[0]
    reps = pigeonhole_bootstrap(statistic, d["year"].to_numpy(), np.repeat([0, 1], [k, len(base)]),
                                n_resamples=n_resamples, seed=seed)
    res = replicate_test(estimate, reps, confidence=confidence)
    return {**out, "did_log": float(estimate[0]), "did_se": float(res["se"][0]),
            "did_ci_low": float(res["ci_low"][0]), "did_ci_high": float(res["ci_high"][0]),
            "did_p_value": float(res["p_value"][0]), "ai_change_p_value_doc": float(res["p_value"][1]),
            "baseline_change_p_value_doc": float(res["p_value"][2])}


def yearly_two_way_did(docs: pd.DataFrame, totals: pd.DataFrame, word_sets: dict[str, list[str]], pre_years,
                       post_years, *, n_resamples: int, confidence: float, seed) -> dict:
    """Yearly-count input: the pooled difference in differences with lemmas resampled within sets (module
    docstring)."""
    n = {name: int(totals[totals["year"].isin(years)]["n_docs"].sum())
         for name, years in (("pre", pre_years), ("post", post_years))}
    ai, base = list(word_sets.get("ai", [])), list(word_sets.get("baseline", []))
    out = {"n_docs_pre": n["pre"], "n_docs_post": n["post"], "n_lemmas_ai": len(ai),
           "n_lemmas_baseline": len(base), "note": ""}
    if not n["pre"] or not n["post"]:
        return {**out, "note": "no documents in the pre or post period"}
    if len(ai) < 2 or len(base) < 2:
        return {**out, "note": "fewer than two lemmas in a word set: lemmas cannot be resampled"}
    lemmas, k = ai + base, len(ai)
    counts = {}
    for period, years in (("pre", pre_years), ("post", post_years)):
        c = docs[docs["year"].isin(years) & docs["lemma"].isin(lemmas)].groupby("lemma")["docs"].sum()
        counts[period] = c.reindex(lemmas, fill_value=0).to_numpy(np.float64)

    def statistic(u: np.ndarray) -> np.ndarray:
        """[D, Delta_ai, Delta_baseline]; a set's exposure is documents x (resampled) lemmas."""
        changes = []
        for cols in (slice(0, k), slice(k, None)):
            uu = u[:, cols]
            share = [_smoothed_log_share((counts[p][cols] * uu).sum(axis=1), n[p] * uu.sum(axis=1))
                     for p in ("pre", "post")]
            changes.append(share[1] - share[0])
        return np.stack([changes[0] - changes[1], *changes], axis=-1)

    estimate = statistic(np.ones((1, len(lemmas))))[0]
    u = stratified_weights(np.repeat([0, 1], [k, len(base)]), n_resamples, seed)
    res = replicate_test(estimate, statistic(u), confidence=confidence)
    # few lemmas: the bootstrap variance of a mean of g units is (g - 1)/g of the unbiased one; inflate the SE by
    # sqrt(g/(g - 1)) and refer to t on g - 1 degrees of freedom, g the smaller set (as for few clusters)
    g = min(k, len(base))
    se = res["se"] * math.sqrt(g / (g - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * sps.t.sf(np.abs(estimate) / se, g - 1), np.where(estimate == 0, 1.0, 0.0))
    return {**out, "did_log": float(estimate[0]), "did_se": float(se[0]),
            "did_ci_low": float(res["ci_low"][0]), "did_ci_high": float(res["ci_high"][0]),
            "did_p_value": float(p[0]), "ai_change_p_value_doc": float(p[1]),
            "baseline_change_p_value_doc": float(p[2])}


def did_table(rows: list[dict], alpha: float) -> pd.DataFrame:
    """One row per language: Holm over languages of the two-way test (the significance call), of the
    document-only test (before) and of the placebo; the minimum detectable effect at power 0.8."""
    table = pd.DataFrame(rows, columns=DID_COLUMNS)
    for raw, adjusted in (("did_p_value", "did_p_value_corrected"),
                          ("did_p_value_documents", "did_p_value_corrected_documents"),
                          ("placebo_did_p_value", "placebo_did_p_value_corrected")):
        p = table[raw].to_numpy(np.float64)
        table[adjusted] = adjust_pvalues(p, "holm", nan_policy="omit") if len(p) and np.isfinite(p).any() else p
    table["significant_increase"] = (table["did_log"] > 0) & (table["did_p_value_corrected"] < alpha)
    se = table["did_se"].to_numpy(np.float64)
    mde = np.array([minimum_detectable_effect(v, alpha=alpha, power=MDE_POWER) if np.isfinite(v) and v > 0
                    else np.nan for v in se])
    table["mde_log"] = mde
    table["mde_pct"] = 100 * np.expm1(mde)
    table["paper_uptake_detectable"] = pd.array([None if not np.isfinite(m) else bool(PAPER_UPTAKE_LOG >= m)
                                                 for m in mde], dtype="boolean")
    missing = table["did_p_value"].isna() & (table["note"].fillna("") == "")
    table.loc[missing, "note"] = "difference in differences undefined"
    return table


def excess_noise_floor(analysed: pd.DataFrame, n_docs: pd.DataFrame, *, confidence: float,
                       gap_threshold: float) -> pd.DataFrame:
    """Add ``ratio_low``, ``delta_low``, ``noise_robust``, ``excess_p_value``, ``excess_p_value_corrected`` and
    ``fdr_robust`` to Kobak et al.'s table (module docstring).

    ``n_docs``: language, year, n_docs. ``noise_robust`` is True when the rule
    holds at the lower bounds; ``excess & ~noise_robust`` are the flagged but
    noisy word-years; ``fdr_robust``: flagged with a Benjamini-Hochberg q below
    ``1 - confidence`` over every analysed word-year (one family).
    """
    out = analysed.copy()
    if out.empty:
        for c in ("ratio_low", "delta_low", "excess_p_value", "excess_p_value_corrected"):
            out[c] = pd.Series(dtype=float)
        out["noise_robust"] = pd.Series(dtype=bool)
        out["fdr_robust"] = pd.Series(dtype=bool)
        return out
    size = n_docs.set_index(["language", "year"])["n_docs"]

    def docs_in(offset: int) -> np.ndarray:
        keys = pd.MultiIndex.from_arrays([out["language"], out["year"].astype(np.int64) - offset])
        return size.reindex(keys).to_numpy(np.float64)

    def var(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        return p * (1 - p) / np.maximum(n, 1)

    p, p2, p3 = (out[c].to_numpy(np.float64) for c in ("freq", "freq_minus2", "freq_minus3"))
    v, v2, v3 = var(p, docs_in(0)), var(p2, docs_in(2)), var(p3, docs_in(3))
    var_q = np.where(p2 > p3, 9 * v2 + 4 * v3, v2)
    q = out["freq_expected"].to_numpy(np.float64)
    z = sps.norm.ppf(confidence)
    log_r_low = np.log(p / q) - z * np.sqrt(v / p ** 2 + var_q / q ** 2)
    delta_low = (p - q) - z * np.sqrt(v + var_q)
    ratio_rule = np.log10(np.exp(log_r_low)) > -(math.log10(2) / 4.0) * np.log10(p)
    out["ratio_low"] = np.exp(log_r_low)
    out["delta_low"] = delta_low
    out["noise_robust"] = out["excess"].astype(bool) & ((delta_low > gap_threshold) | ratio_rule)
    threshold = -(math.log(2) / 4.0) * np.log10(p)        # the ratio rule on the ln scale
    with np.errstate(divide="ignore", invalid="ignore"):
        p_ratio = sps.norm.sf((np.log(p / q) - threshold) / np.sqrt(v / p ** 2 + var_q / q ** 2))
        p_gap = sps.norm.sf((p - q - gap_threshold) / np.sqrt(v + var_q))
    out["excess_p_value"] = np.minimum(1.0, 2 * np.minimum(p_ratio, p_gap))
    out["excess_p_value_corrected"] = adjust_pvalues(out["excess_p_value"].to_numpy(np.float64), "fdr_bh",
                                                     nan_policy="omit")
    out["fdr_robust"] = out["excess"].astype(bool) & (out["excess_p_value_corrected"] < 1 - confidence)
    return out
