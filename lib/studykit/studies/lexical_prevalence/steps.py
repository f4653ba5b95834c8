"""Notebook steps: each is a pure function of counts, tables and parameters.

A step returns ``(result, issues)``: a result of :mod:`.results` and a tuple
of :class:`studykit.contract.issues.DataIssue` (every data problem met, with the rule
applied). Steps never write; :mod:`.saves` wraps each as a result that declares
its exhibits, which the notebook writes with one call (``out.save(step)``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue, Issues, examples
from studykit.contract.names import slug
from studykit.files.paths import resolve

from . import analysis
from .counting import CorpusCounts
from .results import (ConvergenceResult, CorpusSummary, ExcessRecovery, ExcessResult, LprResult, TruthRecovery,
                      UptakeResult)
from .schema import Params
from .text import lemmatizer_language, stopwords
from .uptake import (did_table, document_bootstrap, excess_noise_floor, lemma_columns, lemma_level_did, two_way_did,
                     yearly_two_way_did)

#: the rule applied for each check reported by the counting kernel and the steps
RULES = {
    "missing_language": "row excluded: empty or missing language",
    "bad_source": "row excluded: source is not 'ai' or 'human'",
    "bad_year": "row excluded: year/date not readable as a four-digit year",
    "empty_text": "document excluded from n: no word token in its text",
    "undecodable_bytes": "text kept: undecodable bytes replaced by U+FFFD (mixed encodings)",
    "no_lemmatizer": "language unknown to simplemma: lowercased word forms used as lemmas",
    "upos_misaligned": "document excluded: tokens and upos have different lengths",
    "duplicate_document": "exact duplicate document (same doc_id, language, source/year, text) dropped, "
                          "first copy kept",
    "duplicate_doc_id": "doc_id repeated within a language and source/year with different text: all rows kept",
    "bad_json_line": "JSONL line skipped: not a JSON object",
    "single_source_language": "language excluded from LPR: only one of ai/human present",
    "years_outside_periods": "documents kept for trajectories and excess words, outside pre/post uptake periods",
    "no_stopword_list": "language without a stop-word list: all tokens treated as content words",
    "uptake_no_diachronic_documents": "language left out of uptake: no document in the diachronic corpus",
    "excess_no_analysable_year": "language left out of the excess-word analysis: no year with the three "
                                 "preceding years present",
    "uptake_undefined": "language left out of the uptake means: word set absent in the pre period",
}


def counting_issues(issues: pd.DataFrame, corpus: str) -> Issues:
    """One DataIssue per check of the counting kernel (counts summed over languages, languages in the detail)."""
    if issues is None or issues.empty:
        return ()
    found = []
    for check, g in issues.groupby("check", sort=True):
        detail = ", ".join(f"{lang or '?'}: {int(c)}" for lang, c in zip(g["language"], g["count"]))
        found.append(DataIssue(f"{corpus}.{check}", int(g["count"].sum()), RULES.get(check, check), detail))
    return tuple(found)


def describe_corpus(counts: CorpusCounts) -> tuple[CorpusSummary, Issues]:
    """Languages with both sources (the others reported) and the size of the comparison corpus."""
    found = list(counting_issues(counts.issues, "corpus"))
    both, single = analysis.usable_languages(counts.totals)
    if not both:
        raise InputError(f"comparison corpus: no language has documents of both sources 'ai' and 'human' "
                         f"(languages: {examples(single)})")
    if single:
        n = int(counts.totals[counts.totals["language"].isin(single)]["n_docs"].sum())
        found.append(DataIssue("corpus.single_source_language", n, RULES["single_source_language"],
                               ", ".join(single)))
    without_list = [lang for lang in both if stopwords(lang)[1] == "none"]
    if without_list and counts.config.content_filter == "stopwords":
        found.append(DataIssue("corpus.no_stopword_list", len(without_list), RULES["no_stopword_list"],
                               ", ".join(without_list)))
    totals = counts.totals[counts.totals["language"].isin(both)]
    summary = CorpusSummary(tuple(both), len(both), int(totals[totals["source"] == "ai"]["n_docs"].sum()),
                            int(totals[totals["source"] == "human"]["n_docs"].sum()), int(counts.n_tokens))
    return summary, tuple(found)


def lemmatizer_table(languages) -> pd.DataFrame:
    """Per language: simplemma code (or none) and the stop-word source used."""
    return pd.DataFrame([{"language": lang,
                          "lemmatizer": (f"simplemma:{lemmatizer_language(lang)}" if lemmatizer_language(lang)
                                         else "none (lowercased forms)"),
                          "stopwords": stopwords(lang)[1], "n_stopwords": len(stopwords(lang)[0])}
                         for lang in languages])


def lpr_analysis(counts: CorpusCounts, languages, params: Params) -> tuple[LprResult, Issues]:
    """Full lemma tables and top-N tables with bootstrap CIs for every language.

    A language where fewer than ``top_n`` lemmas pass the guard with LPR > 0
    gets a shorter list, reported as ``top_short.<language>``.
    """
    tables, tops, found = {}, {}, []
    docs = analysis.split_by_language(counts.docs)
    for lang in languages:
        table = analysis.lemma_table(counts, lang, params.min_count_guard, docs.get(lang, counts.docs.iloc[:0]))
        tables[lang] = table
        tops[lang] = analysis.top_table(table, params.top_n, n_resamples=params.n_bootstrap,
                                        confidence=params.confidence, seed=analysis.language_seed(params.seed, lang, 1))
    for lang in sorted(tables):
        if len(tops[lang]) < params.top_n:
            found.append(DataIssue(f"top_short.{slug(lang)}", params.top_n - len(tops[lang]),
                                   "fewer lemmas than top_n pass the guard with LPR > 0; the list is shorter"))
    return LprResult(tables, tops, params.top_n), tuple(found)


def convergence(lpr: LprResult, params: Params) -> ConvergenceResult:
    """Concept matrix (rank of each concept's lemma per language) and the lemmas shared by several top-N lists."""
    matrix = analysis.convergence(lpr.tables, params.top_n)
    wide = (matrix.pivot(index="language", columns="concept", values="rank").reset_index()
            if len(matrix) else matrix)
    shared = analysis.shared_top_lemmas({lang: t["lemma"].tolist() for lang, t in lpr.tops.items()})
    return ConvergenceResult(matrix, wide, shared)


def diachronic_issues(diach, params: Params) -> Issues:
    """Counting problems of the diachronic corpus, years outside both periods, and periods without documents."""
    found = list(counting_issues(diach.issues, "diachronic"))
    outside = diach.totals[~diach.totals["year"].isin(set(params.pre_years) | set(params.post_years))]
    if len(outside):
        found.append(DataIssue("diachronic.years_outside_periods", int(outside["n_docs"].sum()),
                               RULES["years_outside_periods"],
                               ", ".join(str(y) for y in sorted(set(outside["year"])))))
    years = set(diach.totals["year"])
    for period, period_years in (("pre_years", params.pre_years), ("post_years", params.post_years)):
        missing = sorted(set(period_years) - years)
        if missing:
            found.append(DataIssue(f"diachronic.{period}_missing", len(missing),
                                   f"{period} without any document; the period uses the years present",
                                   ", ".join(map(str, missing))))
    return tuple(found)


def word_sets(diach, lpr: LprResult, params: Params) -> tuple[dict[str, dict[str, list[str]]], Issues]:
    """Per language with diachronic documents: the AI set (top-N) and a frequency-matched baseline set."""
    langs = [lang for lang in sorted(lpr.tops) if lang in set(diach.totals["language"])]
    found = []
    absent = sorted(set(lpr.tops) - set(langs))
    if absent:
        found.append(DataIssue("uptake_no_diachronic_documents", len(absent), RULES["uptake_no_diachronic_documents"],
                               examples(absent)))
    sets = {}
    for lang in langs:
        ai_words = lpr.tops[lang]["lemma"].tolist()
        baseline = analysis.baseline_words(lpr.tables[lang], ai_words, tolerance=params.baseline_lpr_tolerance,
                                           candidates=params.baseline_candidates,
                                           seed=analysis.language_seed(params.seed, lang, 2))
        sets[lang] = {"ai": ai_words, "baseline": baseline}
        if len(baseline) < len(ai_words):
            found.append(DataIssue(f"baseline_short.{slug(lang)}", len(ai_words) - len(baseline),
                                   "fewer guard-passing lemmas with |LPR| <= baseline_lpr_tolerance than AI "
                                   "lemmas: the baseline set is shorter"))
    return sets, tuple(found)


def uptake(diach, sets: dict[str, dict[str, list[str]]], documents: pd.DataFrame | None,
           params: Params) -> tuple[UptakeResult, Issues]:
    """Pre/post share of each word set per language (with the token-level chi-square of the paper) and the
    difference in differences AI vs baseline, Holm-corrected over languages: the two-way bootstrap over
    documents and lemmas (the call), the document-only bootstrap (before), the pre-trend placebo on
    ``placebo_pre_years`` vs ``placebo_post_years`` and the minimum detectable effect (:mod:`.uptake`).

    ``documents``: per-document tokens of each lemma (:func:`.load.count_documents`); None for yearly-count
    input, where lemmas are resampled and the former Welch t is kept as the descriptive ``did_p_value_documents``.
    """
    found = []
    table = analysis.uptake_table(diach, sets, params.pre_years, params.post_years)
    table["lemmas"] = [",".join(sets[lang][s]) for lang, s in zip(table["language"], table["word_set"])]
    undefined = table[(table["word_set"] == "ai") & table["change_pct"].isna()]
    if len(undefined):
        found.append(DataIssue("uptake_undefined", len(undefined), RULES["uptake_undefined"],
                               ", ".join(undefined["language"])))
    rows = []
    by_language = analysis.split_by_language(documents) if documents is not None else {}
    placebo = (params.placebo_pre_years, params.placebo_post_years) if params.placebo_pre_years else None
    for lang in sorted(sets):
        seed = analysis.language_seed(params.seed, lang, 3)
        if documents is not None:
            docs = by_language.get(lang, documents.iloc[:0])
            columns = lemma_columns(sets[lang])

            def test(pre, post, stream):
                return two_way_did(docs, columns, pre, post, n_resamples=params.n_uptake_bootstrap,
                                   confidence=params.confidence, seed=analysis.language_seed(params.seed, lang, stream))

            before = document_bootstrap(docs, params.pre_years, params.post_years,
                                        n_resamples=params.n_uptake_bootstrap, confidence=params.confidence, seed=seed)
            method = "two-way bootstrap (documents x lemmas)"
        else:
            counts = diach.docs[diach.docs["language"] == lang]
            totals = diach.totals[diach.totals["language"] == lang]

            def test(pre, post, stream):
                return yearly_two_way_did(counts, totals, sets[lang], pre, post,
                                          n_resamples=params.n_uptake_bootstrap, confidence=params.confidence,
                                          seed=analysis.language_seed(params.seed, lang, stream))

            before = lemma_level_did(counts, totals, sets[lang], params.pre_years, params.post_years,
                                     confidence=params.confidence)
            method = "lemma bootstrap (yearly counts; before: Welch t over lemmas, descriptive)"
        row = test(params.pre_years, params.post_years, 4)
        if "did_p_value" not in row and "did_p_value" in before and "cannot be resampled" in row["note"]:
            # one lemma in a set: only documents can be resampled; the document-only test decides, labelled
            row = {**row, **{k: before[k] for k in ("did_log", "did_se", "did_ci_low", "did_ci_high", "did_p_value")},
                   "note": row["note"] + "; the document-only test (lemmas fixed) is used"}
            method = "document-clustered bootstrap (lemmas fixed: fewer than two in a set)"
        row.update({"change_ai_pct": before.get("change_ai_pct"), "change_baseline_pct": before.get("change_baseline_pct"),
                    "did_se_documents": before.get("did_se"), "did_p_value_documents": before.get("did_p_value")})
        if placebo is not None:
            pl = test(*placebo, 5)
            row.update({"placebo_did_log": pl.get("did_log"), "placebo_did_se": pl.get("did_se"),
                        "placebo_did_p_value": pl.get("did_p_value")})
            if pl["note"]:
                row["note"] = "; ".join(filter(None, [row["note"], f"placebo: {pl['note']}"]))
        rows.append({"language": lang, "method": method, **row})
    did = did_table(rows, alpha=1 - params.confidence)
    undefined_did = did[did["did_p_value"].isna()]
    if len(undefined_did):
        found.append(DataIssue("uptake_did_undefined", len(undefined_did),
                               "language left out of the difference-in-differences count: " + "; ".join(
                                   sorted(set(undefined_did["note"]))), examples(undefined_did["language"])))
    fixed = did[did["method"].str.startswith("document-clustered")]
    if len(fixed):
        found.append(DataIssue("uptake_lemmas_fixed", len(fixed),
                               "fewer than two lemmas in a word set: lemmas cannot be resampled, the document-only "
                               "test (lemmas fixed) decides", examples(fixed["language"])))
    undefined_placebo = did[did["placebo_did_p_value"].isna()] if placebo is not None else did.iloc[:0]
    if len(undefined_placebo):
        found.append(DataIssue("uptake_placebo_undefined", len(undefined_placebo),
                               "pre-trend placebo not tested for the language (placebo years without documents, "
                               "or too few lemmas)", examples(undefined_placebo["language"])))
    summary = analysis.summarise_uptake(table, alpha=1 - params.confidence, unit=diach.unit, did=did)
    return UptakeResult(table, sets, summary, did), tuple(found)


def trajectory_items(lpr: LprResult, params: Params, per_language: int = 3) -> list[tuple[str, str]]:
    """The lemmas to trace: ``trajectory_lemmas`` or the top ``per_language`` of each language."""
    if params.trajectory_lemmas:
        return [tuple(x.split(":", 1)) for x in params.trajectory_lemmas]
    return [(lang, lemma) for lang in sorted(lpr.tops) for lemma in lpr.tops[lang]["lemma"].head(per_language)]


def excess(diach, params: Params) -> tuple[ExcessResult, Issues]:
    """Kobak et al. excess words per language and year, with the sampling-noise floor of each flag.

    A language whose years never have the three preceding years present has
    no analysable year; it is reported (``excess_no_analysable_year``).
    """
    analysed = analysis.excess_vocabulary(diach.docs, diach.totals, min_freq=params.excess_min_freq,
                                          min_docs=params.excess_min_docs, gap_threshold=params.excess_gap_threshold)
    years = diach.totals.groupby("language")["year"].agg(set)
    without = sorted(lang for lang, ys in years.items() if not any({y - 1, y - 2, y - 3} <= ys for y in ys))
    found = ()
    if without:
        found = (DataIssue("excess_no_analysable_year", len(without), RULES["excess_no_analysable_year"],
                           examples(without)),)
    floored = excess_noise_floor(analysed, diach.totals, confidence=params.excess_noise_confidence,
                                 gap_threshold=params.excess_gap_threshold)
    return ExcessResult(floored), found


# --------------------------------------------------------------------------- truth (simulated data)
def truth_folder(params: Params) -> Path | None:
    """The folder of the corpus when it holds the simulator's truth files, else None."""
    if not params.corpus_path:
        return None
    folder = resolve(params.corpus_path).parent
    return folder if (folder / "truth_planted.csv").is_file() else None


def truth_recovery(params: Params, lpr: LprResult, uptake_result: UptakeResult | None) -> TruthRecovery | None:
    """Planted vs recovered: share of planted lemmas in the top-k (k = number planted) and top-N; uptake."""
    folder = truth_folder(params)
    if folder is None:
        return None
    planted = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    planted = planted[planted["kind"] == "ai_overuse"]
    rows = []
    for lang in sorted(lpr.tables):
        lemmas = set(planted[planted["language"] == lang]["lemma"])
        if not lemmas:
            continue
        ranks = lpr.tables[lang].set_index("lemma")["rank"].reindex(sorted(lemmas))
        rows.append({"language": lang, "n_planted": len(lemmas),
                     "in_top_k": int((ranks <= len(lemmas)).sum()), "in_top_n": int((ranks <= params.top_n).sum()),
                     "worst_rank": float(ranks.max()) if ranks.notna().all() else np.nan})
    rec = pd.DataFrame(rows)
    fields: dict[str, object] = {}
    if uptake_result is not None and (folder / "truth_uptake.csv").is_file():
        planted_uptake = pd.read_csv(folder / "truth_uptake.csv").groupby("language")["uptake"].first()
        table = uptake_result.table
        ai = table[table["word_set"] == "ai"].set_index("language")
        did = uptake_result.did.set_index("language")
        rec["planted_uptake"] = rec["language"].map(planted_uptake)
        rec["change_pct"] = rec["language"].map(ai["change_pct"])
        rec["p_value"] = rec["language"].map(ai["p_value"])
        rec["did_p_value_corrected"] = rec["language"].map(did["did_p_value_corrected"])
        rec["significant_increase"] = rec["language"].map(did["significant_increase"])
    if len(rec):
        fields["planted_in_top_k_share"] = float(rec["in_top_k"].sum() / rec["n_planted"].sum())
        fields["planted_in_top_n_share"] = float(rec["in_top_n"].sum() / rec["n_planted"].sum())
        if "planted_uptake" in rec:
            defined = rec.dropna(subset=["change_pct", "did_p_value_corrected"])
            detected = defined["significant_increase"] == True  # noqa: E712 (object column after map)
            agree = (defined["planted_uptake"] == True) == detected  # noqa: E712 (column of bools or objects)
            fields["uptake_classified_correctly"] = int(agree.sum())
            fields["uptake_languages"] = int(len(defined))
    return TruthRecovery(rec, **fields)


def excess_recovery(params: Params, excess_result: ExcessResult) -> ExcessRecovery | None:
    """Kobak et al.'s rule against the planted truth (simulated data): planted AI lemmas flagged after the
    cut-off in uptake languages, topical bursts flagged before it, and everything else flagged (false positives)."""
    folder = truth_folder(params)
    ex = excess_result.analysed
    if folder is None or not (folder / "truth_uptake.csv").is_file() or ex.empty:
        return None
    planted = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    truth_uptake = pd.read_csv(folder / "truth_uptake.csv")
    adopted = truth_uptake["adoption"] > 0
    cutoff = int(truth_uptake[adopted]["year"].min()) if adopted.any() else max(params.post_years)
    has_uptake = truth_uptake.groupby("language")["uptake"].first()
    langs = set(ex["language"])
    triples = planted[["language", "lemma", "kind"]].to_numpy()
    ai = {(lang, w) for lang, w, kind in triples
          if kind == "ai_overuse" and lang in langs and bool(has_uptake.get(lang, False))}
    topic = {(lang, w) for lang, w, kind in triples if kind == "topic_burst" and lang in langs}

    def scored(flags: pd.Series) -> tuple[int, int, int]:
        flagged = ex[flags.astype(bool)][["language", "lemma", "year"]].to_numpy()
        post = {(lang, w) for lang, w, y in flagged if y >= cutoff}
        pre = {(lang, w) for lang, w, y in flagged if y < cutoff}
        return len(post & ai), len(pre & topic), len((post - ai) | (pre - topic))

    planted_post, topic_pre, other = scored(ex["excess"])
    robust_post, robust_topic, robust_other = scored(ex["noise_robust"])
    fdr_post, fdr_topic, fdr_other = scored(ex["fdr_robust"])
    return ExcessRecovery(planted_post, len(ai), topic_pre, len(topic), other, robust_post, robust_topic,
                          robust_other, fdr_post, fdr_topic, fdr_other)


def planted_lemmas(params: Params) -> dict[str, set[str]] | None:
    """language -> planted AI-overused lemmas when the corpus is simulated (for highlighting), else None."""
    folder = truth_folder(params)
    if folder is None:
        return None
    t = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    t = t[t["kind"] == "ai_overuse"]
    return {lang: set(g["lemma"]) for lang, g in t.groupby("language")}
