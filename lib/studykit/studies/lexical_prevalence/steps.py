"""Notebook steps: analysis functions combined with the writes to ``Outputs``.

Each step is called by one notebook cell; it computes with :mod:`.analysis`,
writes tables through ``out.save_table``, records numbers through
``out.record`` and reports every data problem through
``out.note_data_issue``, so the notebook holds no logic of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.paths import resolve

from . import analysis as A
from .counting import CorpusCounts
from .schema import LPR_TABLE_COLUMNS, Params
from .text import lemmatizer_language, stopwords

RULES = {
    "missing_language": "row excluded: empty or missing language",
    "bad_source": "row excluded: source is not 'ai' or 'human'",
    "bad_year": "row excluded: year/date not readable as a four-digit year",
    "empty_text": "document excluded from n: no word token in its text",
    "undecodable_bytes": "text kept: undecodable bytes replaced by U+FFFD (mixed encodings)",
    "no_lemmatizer": "language unknown to simplemma: lowercased word forms used as lemmas",
    "upos_misaligned": "document excluded: tokens and upos have different lengths",
    "bad_json_line": "JSONL line skipped: not a JSON object",
    "single_source_language": "language excluded from LPR: only one of ai/human present",
    "years_outside_periods": "documents kept for trajectories and excess words, outside pre/post uptake periods",
    "no_stopword_list": "language without a stop-word list: all tokens treated as content words",
    "uptake_undefined": "language left out of the uptake means: word set absent in the pre period",
}


def report_issues(out, issues: pd.DataFrame, corpus: str) -> None:
    """One ``note_data_issue`` per check (counts summed over languages, languages in the detail)."""
    if issues is None or issues.empty:
        return
    for check, g in issues.groupby("check", sort=True):
        detail = ", ".join(f"{l or '?'}: {int(c)}" for l, c in zip(g["language"], g["count"]))
        out.note_data_issue(f"{corpus}.{check}", int(g["count"].sum()), RULES.get(check, check), detail)


def choose_languages(out, counts: CorpusCounts) -> list[str]:
    """Languages with both sources; the others reported. Records n_languages and n_docs.*"""
    both, single = A.usable_languages(counts.totals)
    if single:
        n = int(counts.totals[counts.totals["language"].isin(single)]["n_docs"].sum())
        out.note_data_issue("corpus.single_source_language", n, RULES["single_source_language"], ", ".join(single))
    nolist = [l for l in both if stopwords(l)[1] == "none"]
    if nolist and counts.config.content_filter == "stopwords":
        out.note_data_issue("corpus.no_stopword_list", len(nolist), RULES["no_stopword_list"], ", ".join(nolist))
    t = counts.totals[counts.totals["language"].isin(both)]
    out.record("n_languages", len(both))
    out.record("n_docs.ai", int(t[t["source"] == "ai"]["n_docs"].sum()))
    out.record("n_docs.human", int(t[t["source"] == "human"]["n_docs"].sum()))
    out.record("n_tokens", int(counts.n_tokens))
    return both


@dataclass(frozen=True)
class LprResult:
    tables: dict[str, pd.DataFrame]
    tops: dict[str, pd.DataFrame]


def lpr_analysis(counts: CorpusCounts, languages: list[str], params: Params) -> LprResult:
    """Full lemma tables and top-N tables with bootstrap CIs for every language."""
    tables, tops = {}, {}
    for lang in languages:
        t = A.lemma_table(counts, lang, params.min_count_guard)
        tables[lang] = t
        tops[lang] = A.top_table(t, params.top_n, n_resamples=params.n_bootstrap, confidence=params.confidence,
                                 seed=A.language_seed(params.seed, lang, 1))
    return LprResult(tables, tops)


def save_lpr(out, res: LprResult, params: Params) -> pd.DataFrame:
    """Write ``tables/lpr_<language>.csv`` and ``top_lemmas``; record top.<lang> and lpr.<lang>.<lemma>."""
    rows = []
    for lang in sorted(res.tables):
        out.save_table(res.tables[lang][list(LPR_TABLE_COLUMNS) + ["lpr_guarded"]], f"lpr_{lang}",
                       caption=f"All lemmas, {lang}: window prevalence, LAS, LPR, guard, rank",
                       formats=("csv",))
        top = res.tops[lang]
        out.record(f"top.{lang}", ",".join(top["lemma"]))
        if len(top) < params.top_n:
            out.note_data_issue(f"top_short.{lang}", params.top_n - len(top),
                                "fewer lemmas than top_n pass the guard with LPR > 0; the list is shorter")
        for r in top.itertuples(index=False):
            out.record(f"lpr.{lang}.{r.lemma}", float(r.lpr))
        rows.append(top.assign(language=lang))
    cols = ["language", "rank", "lemma", "c_ai", "n_ai", "c_human", "n_human", "prevalence_ai",
            "prevalence_human", "las", "lpr", "lpr_ci_low", "lpr_ci_high"]
    allt = pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
    out.save_table(allt, "top_lemmas", caption=f"Top-{params.top_n} AI-overused lemmas per language, "
                   f"LPR with {params.confidence:.0%} bootstrap CI ({params.n_bootstrap} resamples)")
    return allt


def convergence(out, res: LprResult, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concept matrix and shared top lemmas; records convergence.<concept> (languages with it in the top-N)."""
    conv = A.convergence(res.tables, params.top_n)
    wide = conv.pivot(index="language", columns="concept", values="rank").reset_index() if len(conv) else conv
    out.save_table(wide, "convergence_matrix", caption="Rank of each concept's lemma per language (blank: absent)")
    for c, g in conv.groupby("concept", sort=True):
        out.record(f"convergence.{c}.languages_top", int(g["in_top"].sum()))
        out.record(f"convergence.{c}.languages_mapped", int(len(g)))
    shared = A.shared_top_lemmas({l: t["lemma"].tolist() for l, t in res.tops.items()})
    out.save_table(shared, "shared_top_lemmas", caption="Lemmas in the top-N of two or more languages")
    out.record("convergence.shared_lemmas", int(len(shared)))
    return conv, shared


def uptake(out, diach, res: LprResult, params: Params) -> pd.DataFrame:
    """AI (top-N) and frequency-matched baseline sets: pre/post share, % change, chi-square; records uptake.*"""
    langs = [l for l in sorted(res.tops) if l in set(diach.totals["language"])]
    years = set(diach.totals["year"])
    outside = diach.totals[~diach.totals["year"].isin(set(params.pre_years) | set(params.post_years))]
    if len(outside):
        out.note_data_issue("diachronic.years_outside_periods", int(outside["n_docs"].sum()),
                            RULES["years_outside_periods"], ", ".join(str(y) for y in sorted(set(outside["year"]))))
    for name, ys in (("pre_years", params.pre_years), ("post_years", params.post_years)):
        missing = sorted(set(ys) - years)
        if missing:
            out.note_data_issue(f"diachronic.{name}_missing", len(missing),
                                f"{name} without any document; the period uses the years present",
                                ", ".join(map(str, missing)))
    sets = {}
    for lang in langs:
        ai = res.tops[lang]["lemma"].tolist()
        base = A.baseline_words(res.tables[lang], ai, tolerance=params.baseline_lpr_tolerance,
                                candidates=params.baseline_candidates,
                                seed=A.language_seed(params.seed, lang, 2))
        sets[lang] = {"ai": ai, "baseline": base}
        if len(base) < len(ai):
            out.note_data_issue(f"baseline_short.{lang}", len(ai) - len(base),
                                "fewer guard-passing lemmas with |LPR| <= baseline_lpr_tolerance than AI lemmas: "
                                "the baseline set is shorter")
    table = A.uptake_table(diach, sets, params.pre_years, params.post_years)
    table["lemmas"] = [",".join(sets[l][s]) for l, s in zip(table["language"], table["word_set"])]
    out.save_table(table, "uptake", caption="Share of AI-associated vs baseline lemmas, pre vs post period "
                   f"({diach.unit}); % change and 2x2 chi-square")
    undefined = table[(table["word_set"] == "ai") & table["change_pct"].isna()]
    if len(undefined):
        out.note_data_issue("uptake_undefined", len(undefined), RULES["uptake_undefined"],
                            ", ".join(undefined["language"]))
    s = A.summarise_uptake(table)
    out.record("uptake.languages_increased", s.languages_increased)
    out.record("uptake.languages_increased_significant", s.languages_increased_significant)
    out.record("uptake.n_languages", s.n_languages)
    out.record("uptake.mean_change_pct", s.mean_change_pct)
    out.record("uptake.baseline_mean_change_pct", s.baseline_mean_change_pct)
    out.record("uptake.baseline_languages_increased", s.baseline_languages_increased)
    out.record("uptake.unit", diach.unit)
    return table


def trajectory_items(res: LprResult, params: Params, per_language: int = 3) -> list[tuple[str, str]]:
    """The lemmas to trace: ``trajectory_lemmas`` or the top ``per_language`` of each language."""
    if params.trajectory_lemmas:
        return [tuple(x.split(":", 1)) for x in params.trajectory_lemmas]
    return [(l, lem) for l in sorted(res.tops) for lem in res.tops[l]["lemma"].head(per_language)]


def excess(out, diach, params: Params) -> pd.DataFrame:
    """Kobak et al. excess words per language and year; records excess.n_words (distinct language-lemma pairs)."""
    ex = A.excess_vocabulary(diach.docs, diach.totals, min_freq=params.excess_min_freq,
                             min_docs=params.excess_min_docs, gap_threshold=params.excess_gap_threshold)
    words = ex[ex["excess"]]
    out.save_table(words.reset_index(drop=True), "excess_words",
                   caption="Excess words (Kobak et al.): delta > gap threshold or log10 r > -(log10 2/4) log10 p")
    out.record("excess.n_words", int(len(words[["language", "lemma"]].drop_duplicates())))
    out.record("excess.n_word_years", int(len(words)))
    for y, g in words.groupby("year", sort=True):
        out.record(f"excess.n_words_by_year.{int(y)}", int(len(g)))
    out.record("excess.n_analysed", int(len(ex)))
    return ex


# --------------------------------------------------------------------------- truth (simulated data)
def truth_folder(params: Params) -> Path | None:
    """The folder of the corpus when it holds the simulator's truth files, else None."""
    if not params.corpus_path:
        return None
    folder = resolve(params.corpus_path).parent
    return folder if (folder / "truth_planted.csv").is_file() else None


def truth_recovery(out, params: Params, res: LprResult, uptake_table: pd.DataFrame | None) -> pd.DataFrame | None:
    """Planted vs recovered: share of planted lemmas in the top-k (k = number planted) and top-N; uptake."""
    folder = truth_folder(params)
    if folder is None:
        return None
    planted = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    planted = planted[planted["kind"] == "ai_overuse"]
    rows = []
    for lang in sorted(res.tables):
        p = set(planted[planted["language"] == lang]["lemma"])
        if not p:
            continue
        t = res.tables[lang]
        ranks = t.set_index("lemma")["rank"].reindex(sorted(p))
        rows.append({"language": lang, "n_planted": len(p),
                     "in_top_k": int((ranks <= len(p)).sum()), "in_top_n": int((ranks <= params.top_n).sum()),
                     "worst_rank": float(ranks.max()) if ranks.notna().all() else np.nan})
    rec = pd.DataFrame(rows)
    if uptake_table is not None and (folder / "truth_uptake.csv").is_file():
        u = pd.read_csv(folder / "truth_uptake.csv").groupby("language")["uptake"].first()
        ai = uptake_table[uptake_table["word_set"] == "ai"].set_index("language")
        rec["planted_uptake"] = rec["language"].map(u)
        rec["change_pct"] = rec["language"].map(ai["change_pct"])
        rec["p_value"] = rec["language"].map(ai["p_value"])
    out.save_table(rec, "truth_recovery", caption="Planted vs recovered (simulated data only)")
    if len(rec):
        out.record("truth.planted_in_top_k_share", float(rec["in_top_k"].sum() / rec["n_planted"].sum()))
        out.record("truth.planted_in_top_n_share", float(rec["in_top_n"].sum() / rec["n_planted"].sum()))
        if "planted_uptake" in rec:
            ok = rec.dropna(subset=["change_pct"])
            agree = ((ok["planted_uptake"] == True) == ((ok["change_pct"] > 0) & (ok["p_value"] < 0.05)))  # noqa: E712
            out.record("truth.uptake_classified_correctly", int(agree.sum()))
            out.record("truth.uptake_languages", int(len(ok)))
    return rec


def excess_recovery(out, params: Params, ex: pd.DataFrame) -> dict[str, int] | None:
    """Kobak et al.'s rule against the planted truth (simulated data): planted AI lemmas flagged after the
    cut-off in uptake languages, topical bursts flagged before it, and everything else flagged (false positives)."""
    folder = truth_folder(params)
    if folder is None or not (folder / "truth_uptake.csv").is_file() or ex.empty:
        return None
    planted = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    up = pd.read_csv(folder / "truth_uptake.csv")
    cutoff = int(up[up["adoption"] > 0]["year"].min()) if (up["adoption"] > 0).any() else max(params.post_years)
    has = up.groupby("language")["uptake"].first()
    langs = set(ex["language"])
    ai = {(l, w) for l, w, k in planted[["language", "lemma", "kind"]].to_numpy()
          if k == "ai_overuse" and l in langs and bool(has.get(l, False))}
    topic = {(l, w) for l, w, k in planted[["language", "lemma", "kind"]].to_numpy() if k == "topic_burst" and l in langs}
    e = ex[ex["excess"]]
    post = {(l, w) for l, w, y in e[["language", "lemma", "year"]].to_numpy() if y >= cutoff}
    pre = {(l, w) for l, w, y in e[["language", "lemma", "year"]].to_numpy() if y < cutoff}
    res = {"planted_flagged_post": len(post & ai), "planted_post": len(ai),
           "topic_flagged_pre": len(pre & topic), "topic": len(topic),
           "other_flagged": len((post - ai) | (pre - topic))}
    for k, v in res.items():
        out.record(f"truth.excess.{k}", int(v))
    return res


def lemmatizer_table(languages: list[str]) -> pd.DataFrame:
    """Per language: simplemma code (or none) and the stop-word source used."""
    return pd.DataFrame([{"language": l, "lemmatizer": (f"simplemma:{lemmatizer_language(l)}"
                                                        if lemmatizer_language(l) else "none (lowercased forms)"),
                          "stopwords": stopwords(l)[1], "n_stopwords": len(stopwords(l)[0])} for l in languages])


def planted_lemmas(params: Params) -> dict[str, set[str]] | None:
    """language -> planted AI-overused lemmas when the corpus is simulated (for highlighting), else None."""
    folder = truth_folder(params)
    if folder is None:
        return None
    t = pd.read_csv(folder / "truth_planted.csv", keep_default_na=False)
    t = t[t["kind"] == "ai_overuse"]
    return {l: set(g["lemma"]) for l, g in t.groupby("language")}
