"""Property-based robustness: valid and corrupted inputs through load and every analysis step.

Unit: one generated input (a comparison corpus, optionally a diachronic corpus or
yearly counts, and parameters). The property: the run ends with a clean result
whose data problems are all in ``data_issues``, or with a one-line
:class:`~studykit.contract.errors.InputError`; never another exception, never a NaN or
missing number in the results without a data issue that explains it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from studykit.contract.errors import InputError, StudykitError
from studykit.contract.outputs import Outputs
from studykit.studies.lexical_prevalence import Params, analysis, load, steps

WORDS = ["crucial", "emphasize", "data", "river", "house", "city", "significant", "enhance", "delve",
         "betonen", "wichtig", "haus", "stadt", "réseau", "améliorer", "naïve", "x-ray", "über", "zoë"]
VALID_LANGUAGES = ["en", "de", "xx", "dé🙂", "ja-名前", "a" * 80]
BAD_LANGUAGES = ["", "  ", None, float("nan"), 5, "EN ", "<script>", "a.b"]
BAD_SOURCES = ["AI", " Human ", "bot", "", None, 1.5]
BAD_YEARS = ["twenty-twenty", None, float("nan"), 20.5, 99999, -3, "2021", "", 1e308]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                      HealthCheck.function_scoped_fixture], derandomize=True,
                # shrinking a failing corpus takes minutes; the first failing example is reported as drawn
                phases=[Phase.explicit, Phase.reuse, Phase.generate])


def analyse(params: Params, out: Outputs) -> None:
    """The notebook's analysis cells without figures (load, LPR, convergence, uptake, excess, truth)."""
    def save(df, name):  # CSV only: the LaTeX and HTML writers are slow and tested elsewhere
        out.save_table(df, name, formats=("csv",))

    counts = load.count_comparison(params)
    corpus, issues = steps.describe_corpus(counts)
    out.note_issues(issues)
    out.record_many(corpus.records(out.name))
    save(steps.lemmatizer_table(corpus.languages), "lemmatizers")
    lpr, issues = steps.lpr_analysis(counts, corpus.languages, params)
    for language, table in lpr.tables.items():
        save(table, f"lpr_{out.name(language)}")
    out.note_issues(issues)
    out.record_many(lpr.records(out.name))
    save(lpr.top_lemmas(), "top_lemmas")
    conv = steps.convergence(lpr, params)
    save(conv.wide, "convergence_matrix")
    out.record_many(conv.records(out.name))
    diach = load.load_diachronic(params)
    uptake = None
    if diach is not None:
        out.note_issues(steps.diachronic_issues(diach, params))
        sets, issues = steps.word_sets(diach, lpr, params)
        out.note_issues(issues)
        uptake, issues = steps.uptake(diach, sets, load.count_documents(params, diach, sets), params)
        save(uptake.table, "uptake")
        save(uptake.did, "uptake_did")
        out.record_many(uptake.records(out.name))
        out.note_issues(issues)
        out.record_result("uptake", uptake.summary_over_languages)
        save(analysis.trajectories(diach, steps.trajectory_items(lpr, params)), "trajectories")
        excess, issues = steps.excess(diach, params)
        out.note_issues(issues)
        save(excess.words, "excess_words")
        out.record_many(excess.records(out.name))
    recovery = steps.truth_recovery(params, lpr, uptake)
    if recovery is not None:
        out.record_many(recovery.records(out.name))


def check_outcome(tmp_path, params: Params, *, must_succeed: bool) -> None:
    """Run :func:`analyse`; assert a clean result or a one-line InputError (see the module docstring)."""
    out = Outputs("lexical_prevalence", params, tmp_path / "run")
    try:
        analyse(params, out)
    except (InputError, StudykitError) as exc:
        assert "\n" not in str(exc), str(exc)
        assert not must_succeed, f"valid input refused: {exc}"
        return
    # in memory: Outputs.close() adds only the manifest (git and environment queries, slow)
    results, issues = out.results, out.data_issues
    for key, value in results.items():
        assert not (isinstance(value, float) and not math.isfinite(value)), key
        if value is None:
            assert issues, f"{key} is null without a data issue"
    uptake_csv = tmp_path / "run" / "tables" / "uptake.csv"
    if uptake_csv.is_file():
        table = pd.read_csv(uptake_csv, keep_default_na=False, na_values=[""])
        for column in ("change_pct", "p_value"):
            undefined = table[table[column].isna()]
            assert (undefined["note"].astype(str).str.len() > 0).all(), (column, undefined)


def text_strategy(valid: bool):
    words = st.lists(st.sampled_from(WORDS), min_size=1 if valid else 0, max_size=14).map(" ".join)
    if valid:
        return st.one_of(words, st.text(alphabet=st.characters(categories=["L", "M", "Zs"]), min_size=1,
                                         max_size=40).map(lambda t: t + " data"))
    return st.one_of(words, st.text(max_size=40), st.none(), st.just(float("nan")), st.integers())


@st.composite
def corpus_rows(draw, valid: bool):
    languages = draw(st.lists(st.sampled_from(VALID_LANGUAGES), min_size=1, max_size=3, unique=True))
    rows = []
    for lang in languages:
        for source in ("ai", "human"):
            for _ in range(draw(st.integers(1, 8))):
                rows.append({"doc_id": f"{lang}-{source}-{len(rows)}", "language": lang, "source": source,
                             "text": draw(text_strategy(True))})
    if not valid:
        for _ in range(draw(st.integers(0, 8))):
            rows.append({"doc_id": draw(st.one_of(st.integers(), st.none(), st.text(max_size=5))),
                         "language": draw(st.sampled_from(VALID_LANGUAGES + BAD_LANGUAGES)),
                         "source": draw(st.sampled_from(["ai", "human"] + BAD_SOURCES)),
                         "text": draw(text_strategy(False))})
        if rows and draw(st.booleans()):
            rows += draw(st.lists(st.sampled_from(rows), max_size=10))  # duplicated documents
        if draw(st.integers(0, 9)) == 0:
            rows = []  # empty corpus (header only)
    return rows, languages


@st.composite
def diachronic_rows(draw, languages, valid: bool):
    rows = []
    years = draw(st.lists(st.integers(2017, 2024), min_size=1, max_size=8, unique=True))
    for lang in draw(st.lists(st.sampled_from(languages), min_size=1 if valid else 0, unique=True)):
        for year in years:
            for _ in range(draw(st.integers(1, 4))):
                rows.append({"doc_id": f"{lang}-{year}-{len(rows)}", "language": lang, "year": year,
                             "text": draw(text_strategy(True))})
    if not valid:
        for _ in range(draw(st.integers(0, 6))):
            rows.append({"doc_id": draw(st.one_of(st.integers(), st.none())),
                         "language": draw(st.sampled_from(languages + BAD_LANGUAGES)),
                         "year": draw(st.sampled_from(BAD_YEARS + [2020, 2023])),
                         "text": draw(text_strategy(False))})
        if rows and draw(st.booleans()):
            rows += draw(st.lists(st.sampled_from(rows), max_size=6))
    return rows


def write(rows: list[dict], columns: list[str], path, fmt: str, optional: dict | None = None) -> str:
    df = pd.DataFrame(rows, columns=columns)
    for name, values in (optional or {}).items():
        df[name] = values[: len(df)] if len(values) >= len(df) else list(values) + [None] * (len(df) - len(values))
    target = path.with_suffix("." + fmt)
    if fmt == "csv":
        df.to_csv(target, index=False)
    elif fmt == "jsonl":
        df.to_json(target, orient="records", lines=True, force_ascii=False)
    else:
        df.astype({c: str for c in df.columns if c != "year"}).to_parquet(target, index=False)
    return str(target)


def small_params(draw, corpus_path: str, diachronic_path: str | None) -> Params:
    pre = draw(st.sampled_from([[2020, 2021], [2019], [2021]]))
    post = draw(st.sampled_from([[2023, 2024], [2022], [2024]]))
    return Params(corpus_path=corpus_path, diachronic_path=diachronic_path, n_workers=1, n_bootstrap=100,
                  top_n=draw(st.integers(1, 5)), min_count_guard=draw(st.integers(0, 3)),
                  excess_min_docs=draw(st.integers(0, 2)), pre_years=pre, post_years=post,
                  window_tokens=draw(st.integers(1, 12)), n_uptake_bootstrap=100)


@settings(max_examples=20, **SETTINGS)
@given(data=st.data())
def test_valid_inputs_give_clean_results(tmp_path_factory, data):
    """Valid corpora of the documented schema (1-3 languages, Unicode names and text, ``text`` or ``tokens``,
    optional pair_id present or not, CSV/JSONL/Parquet, with or without a diachronic corpus with ``year`` or
    ``date``) always succeed."""
    tmp = tmp_path_factory.mktemp("valid")
    rows, languages = data.draw(corpus_rows(valid=True))
    fmt = data.draw(st.sampled_from(["csv", "jsonl", "parquet"]))
    text_column = data.draw(st.sampled_from(["text", "tokens"]))  # raw text or pre-tokenised lemmas
    optional = {"pair_id": list(range(len(rows)))} if data.draw(st.booleans()) else None
    corpus = write([{("tokens" if k == "text" else k) if text_column == "tokens" else k: v for k, v in r.items()}
                    for r in rows], ["doc_id", "language", "source", text_column], tmp / "corpus", fmt, optional)
    diachronic = None
    if data.draw(st.booleans()):
        diach = data.draw(diachronic_rows(languages, valid=True))
        if data.draw(st.booleans()):  # a date column instead of the year
            diach = [{**{k: v for k, v in r.items() if k != "year"}, "date": f"{r['year']}-05-17"} for r in diach]
        time_column = "date" if diach and "date" in diach[0] else "year"
        diachronic = write(diach, ["doc_id", "language", time_column, "text"], tmp / "diachronic", fmt)
    check_outcome(tmp, small_params(data.draw, corpus, diachronic), must_succeed=True)


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_corrupted_inputs_give_issues_or_one_line_errors(tmp_path_factory, data):
    """Wrong types, NaN, empty and missing values, bad sources and years, duplicated documents, empty
    files and bad yearly counts: data issues or a one-line InputError, nothing else."""
    tmp = tmp_path_factory.mktemp("corrupt")
    rows, languages = data.draw(corpus_rows(valid=False))
    fmt = data.draw(st.sampled_from(["csv", "jsonl"]))
    corpus = write(rows, ["doc_id", "language", "source", "text"], tmp / "corpus", fmt)
    kind = data.draw(st.sampled_from(["none", "texts", "yearly"]))
    diachronic = None
    if kind == "texts":
        diachronic = write(data.draw(diachronic_rows(languages, valid=False)), ["doc_id", "language", "year", "text"],
                           tmp / "diachronic", fmt)
    elif kind == "yearly":
        n = data.draw(st.integers(0, 12))
        yearly = [{"language": data.draw(st.sampled_from(languages + BAD_LANGUAGES[:3])),
                   "lemma": data.draw(st.sampled_from(WORDS + ["", "a.b"])),
                   "year": data.draw(st.sampled_from(list(range(2017, 2025)) + BAD_YEARS)),
                   "docs_with_lemma": data.draw(st.sampled_from([0, 1, 3, -1, 2.5, None, "many"])),
                   "n_docs": data.draw(st.sampled_from([5, 10, 0, None]))} for _ in range(n)]
        diachronic = write(yearly, ["language", "lemma", "year", "docs_with_lemma", "n_docs"], tmp / "yearly", "csv")
    check_outcome(tmp, small_params(data.draw, corpus, diachronic), must_succeed=False)
