"""Hand-computed checks of LPR, LAS, the guard, the bootstrap shortcut and Kobak et al.'s excess rule.

Unit: one lemma of one language (counts c, n per source) or one language-year for the excess rule.
"""
import math

import numpy as np
import pandas as pd
import pytest

from studykit.studies.lexical_prevalence import analysis as A
from studykit.studies.lexical_prevalence.counting import CorpusCounts, CountConfig
from studykit.studies.lexical_prevalence.text import LemmaMemo, tokenize


def _counts(rows, n_ai, n_human, language="en"):
    docs = pd.DataFrame(rows, columns=["language", "source", "lemma", "docs"])
    totals = pd.DataFrame({"language": [language, language], "source": ["ai", "human"],
                           "n_docs": [n_ai, n_human], "n_content_tokens": [0, 0]})
    return CorpusCounts("source", docs, pd.DataFrame(), totals, pd.DataFrame(columns=["check", "language", "count"]),
                        0, CountConfig())


def test_prevalence_las_lpr_by_hand():
    # c_ai = 30, c_human = 10, n = 100 each: l = (c + .5) / 101
    assert A.prevalence(30, 100) == pytest.approx(30.5 / 101)
    assert A.lemma_ai_score(30, 100, 10, 100) == pytest.approx(20 / 101)
    assert A.log_prevalence_ratio(30, 100, 10, 100) == pytest.approx(math.log(30.5 / 10.5))  # = 1.0663514...
    assert A.log_prevalence_ratio(30, 100, 10, 100) == pytest.approx(1.0663514, abs=1e-7)
    # unequal n: ratio of smoothed prevalences, not of smoothed counts
    lpr = A.log_prevalence_ratio(30, 200, 10, 100)
    assert lpr == pytest.approx(math.log((30.5 / 201) / (10.5 / 101)))
    assert lpr != pytest.approx(math.log(30.5 / 10.5))


def test_guard_sets_lpr_to_zero_below_min_count():
    lpr = A.log_prevalence_ratio([19, 20, 3], 100, [0, 0, 0], 100)
    g = A.guarded_lpr(lpr, [19, 20, 3], 20)
    assert g[0] == 0 and g[2] == 0
    assert g[1] == pytest.approx(math.log(20.5 / 0.5))


def test_lemma_table_ranks_by_guarded_lpr():
    rows = [("en", "ai", "rare", 5), ("en", "ai", "common", 40), ("en", "human", "common", 10),
            ("en", "ai", "shared", 25), ("en", "human", "shared", 25), ("en", "human", "humanish", 30)]
    t = A.lemma_table(_counts(rows, 100, 100), "en", 20).set_index("lemma")
    assert t.loc["rare", "lpr"] == pytest.approx(math.log(5.5 / 0.5))  # large raw LPR ...
    assert not t.loc["rare", "guard_ok"]                                # ... but guarded out
    assert t.loc["common", "rank"] == 1
    assert t.loc["common", "lpr"] == pytest.approx(math.log(40.5 / 10.5))
    assert t.loc["shared", "lpr"] == pytest.approx(0.0)
    assert t.loc["humanish", "c_ai"] == 0 and t.loc["humanish", "rank"] == 4  # negative LPR ranks last
    assert list(t.columns[:11]) == ["c_ai", "n_ai", "c_human", "n_human", "prevalence_ai", "prevalence_human",
                                    "las", "lpr", "guard_ok", "rank", "lpr_guarded"]


def test_single_source_language_is_refused():
    rows = [("en", "ai", "x", 5)]
    c = _counts(rows, 10, 10)
    c = CorpusCounts("source", c.docs, c.tokens, c.totals[c.totals["source"] == "ai"], c.issues, 0, c.config)
    both, single = A.usable_languages(c.totals)
    assert both == [] and single == ["en"]
    with pytest.raises(ValueError, match="lacks one of the sources"):
        A.lemma_table(c, "en", 0)


def test_binomial_bootstrap_matches_explicit_text_resampling():
    """The binomial shortcut has the distribution of resampling texts (marginal per lemma)."""
    rng = np.random.default_rng(3)
    n, c_ai, c_h = 400, 60, 20
    x_ai = np.zeros(n, bool); x_ai[:c_ai] = True
    x_h = np.zeros(n, bool); x_h[:c_h] = True
    B = 4000
    ia = rng.integers(0, n, size=(B, n)); ih = rng.integers(0, n, size=(B, n))
    explicit = A.log_prevalence_ratio(x_ai[ia].sum(1), n, x_h[ih].sum(1), n)
    t = pd.DataFrame({"c_ai": [c_ai], "n_ai": [n], "c_human": [c_h], "n_human": [n]})
    fast = A.bootstrap_lpr_ci(t, n_resamples=B, confidence=0.95, seed=1)
    lo, hi = np.quantile(explicit, [0.025, 0.975])
    assert fast["lpr_ci_low"].iloc[0] == pytest.approx(lo, abs=0.06)
    assert fast["lpr_ci_high"].iloc[0] == pytest.approx(hi, abs=0.06)
    assert fast["lpr_se"].iloc[0] == pytest.approx(explicit.std(ddof=1), rel=0.08)


def test_kobak_projection_gap_ratio_by_hand():
    # p_{Y-3} = 0.01, p_{Y-2} = 0.02 -> q = 0.02 + 2 * 0.01 = 0.04
    assert A.kobak_projection(0.01, 0.02) == pytest.approx(0.04)
    # decreasing trend is not extrapolated: q = p_{Y-2}
    assert A.kobak_projection(0.03, 0.02) == pytest.approx(0.02)
    # delta = 0.06 - 0.04 = 0.02 > 0.01 -> excess by the gap rule
    assert bool(A.kobak_is_excess(0.06, 0.04))
    # ratio rule: p = 1e-4 needs r > 2; p = 1e-2 needs r > sqrt(2)
    assert bool(A.kobak_is_excess(1e-4, 1e-4 / 2.01)) and not bool(A.kobak_is_excess(1e-4, 1e-4 / 1.99))
    assert bool(A.kobak_is_excess(0.010, 0.010 / 1.42)) and not bool(A.kobak_is_excess(0.010, 0.010 / 1.40))


def test_excess_vocabulary_table_by_hand():
    # (count + 1) / (n + 1) with n + 1 = 1000: counts 9, 19, ., 59 -> p 0.01, 0.02, ., 0.06
    n = 999
    rows = [("en", 2018, "delve", 9), ("en", 2019, "delve", 19), ("en", 2020, "delve", 49), ("en", 2021, "delve", 59),
            ("en", 2018, "the", 499), ("en", 2019, "the", 499), ("en", 2020, "the", 499), ("en", 2021, "the", 499)]
    docs = pd.DataFrame(rows, columns=["language", "year", "lemma", "docs"])
    totals = pd.DataFrame({"language": "en", "year": [2018, 2019, 2020, 2021], "n_docs": n})
    ex = A.excess_vocabulary(docs, totals, min_freq=1e-4, min_docs=0).set_index("lemma")
    assert list(ex["year"]) == [2021, 2021]
    assert ex.loc["delve", "freq_expected"] == pytest.approx(0.04)
    assert ex.loc["delve", "delta"] == pytest.approx(0.02)
    assert ex.loc["delve", "ratio"] == pytest.approx(1.5)
    assert ex.loc["delve", "excess"] and not ex.loc["the", "excess"]
    assert ex.loc["the", "ratio"] == pytest.approx(1.0)


def test_tokenizer_rule():
    assert tokenize("L'homme, well-known 42 times_x; don't!") == ["l", "homme", "well-known", "times", "x", "don", "t"]
    assert tokenize("के है में") == ["के", "है", "में"]  # combining marks stay inside Hindi words


def test_lemma_memo_filters_stopwords_and_lemmatises():
    m = LemmaMemo("en")
    assert m["the"] == "" and m["is"] == "" and m["l"] == ""
    assert m["emphasizes"] == "emphasize"
    assert "emphasizes" in m  # memoised
    unknown = LemmaMemo("xx")
    assert not unknown.known and unknown["Wort".lower()] == "wort"


def test_uptake_shares_and_chi_square_by_hand():
    from types import SimpleNamespace

    from scipy.stats import chi2_contingency

    tokens = pd.DataFrame({"language": "en", "year": [2020, 2020, 2023, 2023], "lemma": ["delve", "cat", "delve", "cat"],
                           "tokens": [10, 90, 30, 70]})
    totals = pd.DataFrame({"language": "en", "year": [2020, 2023], "n_docs": [50, 50],
                           "n_content_tokens": [1000, 1000]})
    d = SimpleNamespace(tokens=tokens, docs=tokens.rename(columns={"tokens": "docs"}), totals=totals, unit="tokens")
    u = A.uptake_table(d, {"en": {"ai": ["delve"]}}, [2020], [2023]).iloc[0]
    assert u["share_pre"] == pytest.approx(0.01) and u["share_post"] == pytest.approx(0.03)
    assert u["change_pct"] == pytest.approx(200.0)
    ref = chi2_contingency([[10, 990], [30, 970]], correction=False)
    assert u["chi2"] == pytest.approx(ref.statistic) and u["p_value"] == pytest.approx(ref.pvalue)
    # yearly-count input: documents containing the lemma / (documents x lemmas)
    docs = pd.DataFrame({"language": "en", "year": [2020, 2023], "lemma": ["delve", "delve"], "docs": [5, 20]})
    dd = SimpleNamespace(tokens=None, docs=docs, totals=totals, unit="documents")
    u2 = A.uptake_table(dd, {"en": {"ai": ["delve", "absent"]}}, [2020], [2023]).iloc[0]
    assert u2["share_pre"] == pytest.approx(5 / 100) and u2["share_post"] == pytest.approx(20 / 100)
    # never seen in the pre period: % change undefined, with the reason
    u3 = A.uptake_table(d, {"en": {"ai": ["absent"]}}, [2020], [2023]).iloc[0]
    assert np.isnan(u3["change_pct"]) and "never occurs" in u3["note"]
