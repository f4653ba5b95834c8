r"""Lemma prevalence ratios, convergence, diachronic uptake and excess vocabulary.

Notation for one language and lemma: :math:`c_s` documents of source
:math:`s \in \{ai, human\}` whose first :math:`K` content tokens contain the
lemma, out of :math:`n_s` documents.

Prevalence with Jeffreys smoothing (Juzek 2026)
    :math:`\ell_s = (c_s + 0.5) / (n_s + 1)`
Lemma AI score
    :math:`LAS = \ell_{ai} - \ell_{human}`
Log prevalence ratio
    :math:`LPR = \ln(\ell_{ai} / \ell_{human})`. With equal sizes
    :math:`n_{ai} = n_{human}` this is exactly the paper's
    :math:`\ln((c_{ai} + 0.5)/(c_{human} + 0.5))`; with unequal sizes it is the
    n-adjusted form (the ratio of smoothed prevalences), which is what this
    module always computes.
Guard
    :math:`LPR^{g} = LPR` if :math:`c_{ai} \ge` ``min_count_guard`` else 0;
    lemmas are ranked by :math:`LPR^{g}` (ties: larger :math:`c_{ai}`, then
    alphabetical).

Excess vocabulary (Kobak et al. 2025, Methods): with :math:`p_Y` the share
of year-:math:`Y` documents containing the word, the counterfactual
projection from years :math:`Y-3` and :math:`Y-2` (skipping :math:`Y-1`,
which may already be affected) is
:math:`q = p_{Y-2} + 2 \max(p_{Y-2} - p_{Y-3}, 0)`; excess gap
:math:`\delta = p - q`, excess ratio :math:`r = p / q`. A word is analysed in
year :math:`Y` when :math:`p > 10^{-4}` in :math:`Y` and :math:`Y-1`; it is an
excess word when :math:`\delta > 0.01` or
:math:`\log_{10} r > -\tfrac{\log_{10} 2}{4}\log_{10} p` (so :math:`r > 2` at
:math:`p = 10^{-4}`, :math:`r > \sqrt 2` at :math:`p = 10^{-2}`).
Frequencies are :math:`(count + 1)/(total + 1)` as in the authors' published
analysis code (``figures.ipynb``), which keeps :math:`r` finite.
"""
from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd

from studykit.stats import chi2_independence

from .concepts import CONCEPTS, concept_lemmas
from .counting import CorpusCounts
from .results import UptakeSummary
from .schema import LPR_TABLE_COLUMNS


# --------------------------------------------------------------------------- formulas
def prevalence(c, n):
    r"""Jeffreys-smoothed prevalence :math:`(c + 0.5)/(n + 1)` (vectorised)."""
    return (np.asarray(c, dtype=float) + 0.5) / (np.asarray(n, dtype=float) + 1.0)


def lemma_ai_score(c_ai, n_ai, c_human, n_human):
    r"""LAS :math:`= \ell_{ai} - \ell_{human}`."""
    return prevalence(c_ai, n_ai) - prevalence(c_human, n_human)


def log_prevalence_ratio(c_ai, n_ai, c_human, n_human):
    r"""LPR :math:`= \ln(\ell_{ai}/\ell_{human})` (equal n: :math:`\ln((c_{ai}+.5)/(c_{human}+.5))`)."""
    return np.log(prevalence(c_ai, n_ai) / prevalence(c_human, n_human))


def guarded_lpr(lpr, c_ai, min_count_guard: int):
    """LPR where ``c_ai >= min_count_guard``, else 0."""
    return np.where(np.asarray(c_ai) >= min_count_guard, np.asarray(lpr, dtype=float), 0.0)


def kobak_projection(p_minus3, p_minus2):
    r"""Counterfactual frequency :math:`q = p_{Y-2} + 2\max(p_{Y-2} - p_{Y-3}, 0)` (Kobak et al.)."""
    p3 = np.asarray(p_minus3, dtype=float)
    p2 = np.asarray(p_minus2, dtype=float)
    return p2 + 2.0 * np.maximum(p2 - p3, 0.0)


def kobak_is_excess(p, q, gap_threshold: float = 0.01):
    r"""Kobak et al.'s rule: :math:`\delta > 0.01` or :math:`\log_{10} r > -\frac{\log_{10}2}{4}\log_{10}p`."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    delta = p - q
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log10(p / q)
        ratio_rule = log_r > -(math.log10(2) / 4.0) * np.log10(p)
    return (delta > gap_threshold) | ratio_rule


def language_seed(seed: int, language: str, stream: int = 0) -> np.random.SeedSequence:
    """A per-language seed derived from the run seed and the language code (CRC32)."""
    return np.random.SeedSequence([seed, zlib.crc32(language.encode()), stream])


# --------------------------------------------------------------------------- LPR tables
def split_by_language(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each language (in their order, with their index): one pass over the table instead
    of one comparison of every row per language."""
    return {lang: part for lang, part in df.groupby("language", sort=False)}


def usable_languages(totals: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(languages with both sources, languages with only one source) of a comparison corpus."""
    have = totals.groupby("language")["source"].agg(lambda s: set(s))
    both = sorted(l for l, s in have.items() if {"ai", "human"} <= s)
    single = sorted(l for l, s in have.items() if not {"ai", "human"} <= s)
    return both, single


def lemma_table(counts: CorpusCounts, language: str, min_count_guard: int,
                docs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The full per-lemma table of one language (columns of ``tables/lpr_<language>.csv`` + lpr_guarded).

    Every lemma seen in either source of that language, ranked by guarded LPR. ``docs``: the
    language's rows of ``counts.docs`` when the caller has them (:func:`split_by_language`).
    """
    tot = counts.totals[counts.totals["language"] == language].set_index("source")["n_docs"]
    if not {"ai", "human"} <= set(tot.index):
        raise ValueError(f"language '{language}' lacks one of the sources ai/human")
    d = counts.docs[counts.docs["language"] == language] if docs is None else docs
    wide = d.groupby(["lemma", "source"])["docs"].sum().unstack(fill_value=0)
    for s in ("ai", "human"):
        if s not in wide.columns:
            wide[s] = 0
    t = pd.DataFrame({"lemma": wide.index.astype(str), "c_ai": wide["ai"].to_numpy(np.int64),
                      "n_ai": np.int64(tot["ai"]), "c_human": wide["human"].to_numpy(np.int64),
                      "n_human": np.int64(tot["human"])})
    t["prevalence_ai"] = prevalence(t["c_ai"], t["n_ai"])
    t["prevalence_human"] = prevalence(t["c_human"], t["n_human"])
    t["las"] = t["prevalence_ai"] - t["prevalence_human"]
    t["lpr"] = np.log(t["prevalence_ai"] / t["prevalence_human"])
    t["guard_ok"] = t["c_ai"] >= min_count_guard
    t["lpr_guarded"] = guarded_lpr(t["lpr"], t["c_ai"], min_count_guard)
    t = t.sort_values(["lpr_guarded", "c_ai", "lemma"], ascending=[False, False, True], kind="mergesort")
    t["rank"] = np.arange(1, len(t) + 1, dtype=np.int64)
    return t[list(LPR_TABLE_COLUMNS) + ["lpr_guarded"]].reset_index(drop=True)


def bootstrap_lpr_ci(table: pd.DataFrame, *, n_resamples: int, confidence: float,
                     seed: np.random.SeedSequence | int) -> pd.DataFrame:
    r"""Percentile bootstrap CI of LPR over texts, per lemma (vectorised).

    Resampling the :math:`n_s` texts of source :math:`s` with replacement
    makes the number of resampled texts containing a lemma
    :math:`c_s^* \sim \mathrm{Binomial}(n_s, c_s/n_s)`, independently for the
    two sources; drawing :math:`c^*` directly is therefore *exactly* the
    per-lemma marginal of the text bootstrap, at :math:`O(B)` cost instead of
    :math:`O(Bn)`. Joint quantities across lemmas (e.g. rank stability) would
    need the full multinomial resampling and are not computed here.
    Returns the table with ``lpr_ci_low``, ``lpr_ci_high``, ``lpr_se``.
    """
    rng = np.random.default_rng(seed)
    c_ai = table["c_ai"].to_numpy(np.int64)
    c_h = table["c_human"].to_numpy(np.int64)
    n_ai = table["n_ai"].to_numpy(np.int64)
    n_h = table["n_human"].to_numpy(np.int64)
    b_ai = rng.binomial(n_ai, c_ai / np.maximum(n_ai, 1), size=(n_resamples, len(table)))
    b_h = rng.binomial(n_h, c_h / np.maximum(n_h, 1), size=(n_resamples, len(table)))
    boot = log_prevalence_ratio(b_ai, n_ai, b_h, n_h)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    out = table.copy()
    out["lpr_ci_low"] = lo
    out["lpr_ci_high"] = hi
    out["lpr_se"] = boot.std(axis=0, ddof=1)
    return out


def top_table(table: pd.DataFrame, top_n: int, *, n_resamples: int, confidence: float,
              seed: np.random.SeedSequence | int) -> pd.DataFrame:
    """The top-N rows (guard passed, LPR > 0) with bootstrap CIs; fewer rows when fewer qualify."""
    top = table[(table["guard_ok"]) & (table["lpr_guarded"] > 0)].head(top_n)
    return bootstrap_lpr_ci(top, n_resamples=n_resamples, confidence=confidence, seed=seed)


# --------------------------------------------------------------------------- convergence
def convergence(tables: dict[str, pd.DataFrame], top_n: int,
                concepts: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """Language x concept: rank and LPR of the concept's lemma, and whether it is in the top-N.

    Long format (language, concept, lemma, rank, lpr_guarded, in_top); one row
    per language and mapped concept; a concept whose lemma never occurs has
    rank NaN and ``in_top`` False.
    """
    concepts = CONCEPTS if concepts is None else concepts
    rows = []
    for lang in sorted(tables):
        t = tables[lang].set_index("lemma")
        mapping = concept_lemmas(lang, concepts)
        by_concept: dict[str, list[str]] = {}
        for lem, c in mapping.items():
            by_concept.setdefault(c, []).append(lem)
        for c in concepts:
            lems = [l for l in by_concept.get(c, []) if l in t.index]
            if c not in by_concept:
                continue
            if lems:
                best = min(lems, key=lambda l: int(t.at[l, "rank"]))
                rank = int(t.at[best, "rank"])
                g = float(t.at[best, "lpr_guarded"])
                rows.append({"language": lang, "concept": c, "lemma": best, "rank": rank, "lpr_guarded": g,
                             "in_top": bool(rank <= top_n and g > 0)})
            else:
                rows.append({"language": lang, "concept": c, "lemma": by_concept[c][0], "rank": np.nan,
                             "lpr_guarded": np.nan, "in_top": False})
    return pd.DataFrame(rows, columns=["language", "concept", "lemma", "rank", "lpr_guarded", "in_top"])


def shared_top_lemmas(tops: dict[str, list[str]]) -> pd.DataFrame:
    """Lemmas (by identity, e.g. loanwords) in the top-N of two or more languages."""
    seen: dict[str, list[str]] = {}
    for lang in sorted(tops):
        for lem in tops[lang]:
            seen.setdefault(lem, []).append(lang)
    rows = [{"lemma": l, "n_languages": len(v), "languages": ",".join(v)} for l, v in seen.items() if len(v) > 1]
    df = pd.DataFrame(rows, columns=["lemma", "n_languages", "languages"])
    return df.sort_values(["n_languages", "lemma"], ascending=[False, True]).reset_index(drop=True)


# --------------------------------------------------------------------------- diachronic uptake
def lemma_frequency(diach, language: str, years: list[int]) -> pd.Series:
    """lemma -> occurrences in ``years`` (tokens, or documents for yearly-count input)."""
    src = diach.tokens if diach.unit == "tokens" else diach.docs
    col = "tokens" if diach.unit == "tokens" else "docs"
    d = src[(src["language"] == language) & (src["year"].isin(years))]
    return d.groupby("lemma")[col].sum()


def baseline_words(table: pd.DataFrame, ai_lemmas: list[str], *, tolerance: float, candidates: int,
                   seed: np.random.SeedSequence | int) -> list[str]:
    r"""Frequency-matched baseline lemmas with LPR near 0 (a seeded sample).

    Candidates: lemmas with :math:`|LPR| \le` ``tolerance``, passing the guard
    and not among the AI lemmas. For each AI lemma in rank order, the
    ``candidates`` unused candidates nearest in :math:`\log(c_{human} + 0.5)`
    are found and one is drawn at random. Frequency is the lemma's count on
    the *human* side of the comparison corpus, an independent sample: matching
    on the diachronic pre-period counts instead would select words whose pre
    counts are low by chance, which then regress upward in the post period
    (a spurious baseline increase; seen at paper scale, +7% mean). Returns one
    baseline lemma per AI lemma (fewer if candidates run out).
    """
    rng = np.random.default_rng(seed)
    ai = set(ai_lemmas)
    cand_t = table[(table["lpr"].abs() <= tolerance) & table["guard_ok"] & ~table["lemma"].isin(ai)]
    cand_t = cand_t.sort_values("lemma")
    cand = cand_t["lemma"].tolist()
    if not cand:
        return []
    logf = np.log(cand_t["c_human"].to_numpy(float) + 0.5)
    human = table.set_index("lemma")["c_human"]
    used = np.zeros(len(cand), dtype=bool)
    out = []
    for lem in ai_lemmas:
        target = math.log(float(human.get(lem, 0.0)) + 0.5)
        dist = np.where(used, np.inf, np.abs(logf - target))
        order = np.argsort(dist, kind="mergesort")[:candidates]
        order = order[np.isfinite(dist[order])]
        if not len(order):
            break
        pick = int(rng.choice(order))
        used[pick] = True
        out.append(cand[pick])
    return out


def period_share(diach, language: str, lemmas: list[str], years: list[int]) -> tuple[int, int]:
    """(occurrences of ``lemmas``, exposure) in ``years``.

    Token input: occurrences = content tokens of the lemmas, exposure = all
    content tokens (the paper's share of tokens). Yearly-count input:
    occurrences = documents containing each lemma summed over lemmas,
    exposure = documents x number of lemmas (mean document prevalence).
    """
    counts = diach.tokens if diach.unit == "tokens" else diach.docs
    return _period_share(counts[counts["language"] == language], diach.totals[diach.totals["language"] == language],
                         diach.unit, lemmas, years)


def _period_share(counts: pd.DataFrame, totals: pd.DataFrame, unit: str, lemmas: list[str],
                  years: list[int]) -> tuple[int, int]:
    """:func:`period_share` on one language's rows of the counts (tokens or docs) and totals."""
    tot = totals[totals["year"].isin(years)]
    occ = counts[counts["year"].isin(years) & counts["lemma"].isin(lemmas)]
    if unit == "tokens":
        return int(occ["tokens"].sum()), int(tot["n_content_tokens"].sum())
    return int(occ["docs"].sum()), int(tot["n_docs"].sum()) * len(lemmas)


UPTAKE_COLUMNS = ["language", "word_set", "n_lemmas", "occ_pre", "exposure_pre", "occ_post", "exposure_post",
                  "share_pre", "share_post", "change_pct", "chi2", "p_value", "cramers_v", "note"]


def uptake_table(diach, word_sets: dict[str, dict[str, list[str]]], pre_years: list[int],
                 post_years: list[int]) -> pd.DataFrame:
    r"""Share of each word set in the pre and post periods, % change and a 2x2 chi-square.

    ``word_sets``: language -> {set name: lemmas}. Percent change
    :math:`100\,(s_{post}/s_{pre} - 1)`; the test is Pearson's chi-square on
    [[occ_pre, exposure_pre - occ_pre], [occ_post, exposure_post - occ_post]]
    (``studykit.stats.chi2_independence``). change_pct is NaN, with the reason
    in ``note``, when the set never occurs in the pre period.
    """
    rows = []
    counts = split_by_language(diach.tokens if diach.unit == "tokens" else diach.docs)
    totals = split_by_language(diach.totals)
    empty_counts = (diach.tokens if diach.unit == "tokens" else diach.docs).iloc[:0]
    for lang in sorted(word_sets):
        own, own_totals = counts.get(lang, empty_counts), totals.get(lang, diach.totals.iloc[:0])
        for name, lemmas in word_sets[lang].items():
            o1, e1 = _period_share(own, own_totals, diach.unit, lemmas, pre_years)
            o2, e2 = _period_share(own, own_totals, diach.unit, lemmas, post_years)
            row = {"language": lang, "word_set": name, "n_lemmas": len(lemmas), "occ_pre": o1, "exposure_pre": e1,
                   "occ_post": o2, "exposure_post": e2, "share_pre": o1 / e1 if e1 else np.nan,
                   "share_post": o2 / e2 if e2 else np.nan, "change_pct": np.nan, "chi2": np.nan,
                   "p_value": np.nan, "cramers_v": np.nan, "note": ""}
            if not e1 or not e2:
                row["note"] = "no documents in the pre or post period"
            elif o1 == 0:
                row["note"] = "the word set never occurs in the pre period: % change undefined"
            else:
                row["change_pct"] = 100.0 * (row["share_post"] / row["share_pre"] - 1.0)
            if e1 and e2 and (o1 + o2) > 0:
                res = chi2_independence([[o1, e1 - o1], [o2, e2 - o2]])
                row["chi2"], row["p_value"] = res.statistic, res.p_value
                row["cramers_v"] = res.effect.estimate if res.effect is not None else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=UPTAKE_COLUMNS)


def summarise_uptake(table: pd.DataFrame, alpha: float = 0.05, unit: str = "tokens",
                     did: pd.DataFrame | None = None) -> UptakeSummary:
    """Counts and means over languages (NaN changes excluded; None when no language has one).

    ``languages_increased_significant`` counts the ``significant_increase``
    rows of ``did`` (see :mod:`.uptake`); without ``did`` it is the
    token-level chi-square count.
    """
    ai = table[table["word_set"] == "ai"]
    base = table[table["word_set"] == "baseline"]
    ai_ok = ai["change_pct"].dropna()
    base_ok = base["change_pct"].dropna()
    sig = ai[(ai["change_pct"] > 0) & (ai["p_value"] < alpha)]
    significant = int(did["significant_increase"].sum()) if did is not None else int(len(sig))
    tested = int(did["did_p_value"].notna().sum()) if did is not None else 0
    extra = {}
    if did is not None:
        extra = {"languages_increased_significant_documents":
                 int(((did["did_log"] > 0) & (did["did_p_value_corrected_documents"] < alpha)).sum()),
                 "languages_placebo_significant": int((did["placebo_did_p_value_corrected"] < alpha).sum()),
                 "languages_placebo_tested": int(did["placebo_did_p_value"].notna().sum()),
                 "languages_paper_uptake_detectable": int(did["paper_uptake_detectable"].fillna(False).sum())}
    return UptakeSummary(int((ai_ok > 0).sum()), int(len(ai)),
                         float(ai_ok.mean()) if len(ai_ok) else None,
                         float(base_ok.mean()) if len(base_ok) else None,
                         int((base_ok > 0).sum()), significant, unit, int(len(sig)), tested, **extra)


def trajectories(diach, items: list[tuple[str, str]]) -> pd.DataFrame:
    """Yearly frequency of chosen (language, lemma) items: per million content tokens
    (token input) or per thousand documents (yearly-count input)."""
    rows = []
    tot = diach.totals.set_index(["language", "year"])
    src = diach.tokens if diach.unit == "tokens" else diach.docs
    col = "tokens" if diach.unit == "tokens" else "docs"
    scale, denom, unit = ((1e6, "n_content_tokens", "per_million_tokens") if diach.unit == "tokens"
                          else (1e3, "n_docs", "per_thousand_docs"))
    sub = src[src["lemma"].isin({lem for _, lem in items})]  # one pass over the table for every item
    found = dict(zip(zip(sub["language"], sub["lemma"], sub["year"]), sub[col]))
    for lang, lem in items:
        for year in sorted(tot.loc[lang].index) if lang in tot.index.get_level_values(0) else []:
            c = int(found.get((lang, lem, year), 0))
            n = float(tot.at[(lang, year), denom])
            rows.append({"language": lang, "lemma": lem, "year": int(year), "count": c, "total": n,
                         "frequency": scale * c / n if n else np.nan, "unit": unit})
    return pd.DataFrame(rows, columns=["language", "lemma", "year", "count", "total", "frequency", "unit"])


# --------------------------------------------------------------------------- excess vocabulary
def excess_vocabulary(docs: pd.DataFrame, totals: pd.DataFrame, *, min_freq: float = 1e-4, min_docs: int = 0,
                      gap_threshold: float = 0.01, years: list[int] | None = None) -> pd.DataFrame:
    """Kobak et al.'s excess-word analysis per language and year (see the module docstring).

    ``docs``: language, year, lemma, docs (documents containing the lemma);
    ``totals``: language, year, n_docs. Analyses every year Y whose Y-1, Y-2
    and Y-3 are present (or the given ``years``). Returns one row per analysed
    (language, year, lemma) with freq (Kobak et al.'s p), freq_prev, freq_minus2, freq_minus3,
    freq_expected (their q), delta, ratio, excess.
    """
    out = []
    for lang, d in docs.groupby("language", sort=True):
        n = totals[totals["language"] == lang].set_index("year")["n_docs"]
        wide = d.groupby(["lemma", "year"])["docs"].sum().unstack(fill_value=0)
        wide = wide.reindex(columns=sorted(n.index), fill_value=0)
        counts = wide.to_numpy(float)
        freq = (counts + 1.0) / (n.reindex(wide.columns).to_numpy(float) + 1.0)
        col = {y: i for i, y in enumerate(wide.columns)}
        for y in sorted(wide.columns):
            if years is not None and y not in years:
                continue
            if not all(y - k in col for k in (1, 2, 3)):
                continue
            p, pp = freq[:, col[y]], freq[:, col[y - 1]]
            keep = ((p > min_freq) & (pp > min_freq) & (counts[:, col[y]] >= min_docs)
                    & (counts[:, col[y - 1]] >= min_docs))
            if not keep.any():
                continue
            p2, p3 = freq[:, col[y - 2]], freq[:, col[y - 3]]
            q = kobak_projection(p3, p2)
            sel = np.flatnonzero(keep)
            out.append(pd.DataFrame({
                "language": lang, "year": np.int64(y), "lemma": wide.index.to_numpy()[sel],
                "docs": counts[sel, col[y]].astype(np.int64), "freq": p[sel], "freq_prev": pp[sel],
                "freq_minus2": p2[sel], "freq_minus3": p3[sel], "freq_expected": q[sel], "delta": p[sel] - q[sel],
                "ratio": p[sel] / q[sel], "excess": kobak_is_excess(p[sel], q[sel], gap_threshold)}))
    cols = ["language", "year", "lemma", "docs", "freq", "freq_prev", "freq_minus2", "freq_minus3", "freq_expected",
            "delta", "ratio", "excess"]
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.concat(out, ignore_index=True)[cols].sort_values(["language", "year", "lemma"]).reset_index(drop=True)
