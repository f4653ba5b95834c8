"""Other people's data: duplicated corpora, unreadable years, empty files, names that are not keys.

Unit: one document (a corpus row) for the duplicate and year rules; one run of
the whole notebook for the odd-input runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.contract.names import slug
from studykit.runs.runner import run_study
from studykit.studies.lexical_prevalence import Params, load, steps

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "data" / "lexical_prevalence"


def _subset(name: str, languages: list[str], per_group: int) -> pd.DataFrame:
    """The first ``per_group`` documents of each language and source (or year) of an embedded corpus."""
    df = pd.read_parquet(DATA / name)
    df = df[df["language"].isin(languages)]
    group = "source" if "source" in df else "year"
    return df.groupby(["language", group], sort=False).head(per_group).reset_index(drop=True)


def _records(params: Params) -> tuple[dict, tuple]:
    counts = load.count_comparison(params)
    corpus, found = steps.describe_corpus(counts)
    lpr, more = steps.lpr_analysis(counts, corpus.languages, params)
    diach = load.load_diachronic(params)
    sets, set_issues = steps.word_sets(diach, lpr, params)
    uptake, up_issues = steps.uptake(diach, sets, load.count_documents(params, diach, sets), params)
    excess, excess_issues = steps.excess(diach, params)
    records = {**corpus.records(slug), **lpr.records(slug), **excess.records(slug)}
    records.update(uptake.summary_over_languages.as_record("uptake"))
    records.update(uptake.records(slug))  # the document-level test: the document pass skips the same copies
    return records, found + more + steps.diachronic_issues(diach, params) + set_issues + up_issues + excess_issues


def test_duplicated_corpus_gives_the_same_results_and_reports_the_copies(tmp_path):
    """Every document twice (both corpora): exact copies dropped and reported, every number unchanged
    (including the document-level uptake test, whose pass over the documents skips the same copies)."""
    corpus = _subset("corpus.parquet", ["en"], 800)
    diach = _subset("diachronic.parquet", ["en"], 400)
    corpus.to_parquet(tmp_path / "c.parquet")
    diach.to_parquet(tmp_path / "d.parquet")
    pd.concat([corpus, corpus.sample(frac=1.0, random_state=1)]).to_parquet(tmp_path / "c2.parquet")
    pd.concat([diach, diach]).to_csv(tmp_path / "d2.csv", index=False)
    small = dict(n_workers=1, n_bootstrap=200, min_count_guard=5, chunk_rows=500, n_uptake_bootstrap=200)
    once, _ = _records(Params(corpus_path=str(tmp_path / "c.parquet"), diachronic_path=str(tmp_path / "d.parquet"),
                              **small))
    twice, issues = _records(Params(corpus_path=str(tmp_path / "c2.parquet"), diachronic_path=str(tmp_path / "d2.csv"),
                                    **small))
    assert twice == once
    counted = {i.check: i.count for i in issues}
    assert counted["corpus.duplicate_document"] == len(corpus)
    assert counted["diachronic.duplicate_document"] == len(diach)


def test_repeated_doc_id_with_different_text_is_kept_and_reported(tmp_path):
    p = tmp_path / "c.csv"
    pd.DataFrame({"doc_id": [1, 1, 2, 3], "language": ["en"] * 4, "source": ["ai", "ai", "human", "human"],
                  "text": ["crucial data", "other words", "river data", "river"]}).to_csv(p, index=False)
    counts = load.count_comparison(Params(corpus_path=str(p), diachronic_path=None, n_workers=1))
    summary, issues = steps.describe_corpus(counts)
    assert summary.n_docs_ai == 2
    assert {i.check: i.count for i in issues} == {"corpus.duplicate_doc_id": 1}


def test_unreadable_years_are_excluded_and_reported(tmp_path):
    """A year of 'twenty-twenty' (or 20.5, 99999, empty) is never a group level: excluded, counted as bad_year."""
    p = tmp_path / "d.csv"
    years = ["2020", "twenty-twenty", "20.5", "99999", "", "2023", "2023.0"]
    pd.DataFrame({"doc_id": range(7), "language": ["en"] * 7, "year": years,
                  "text": ["crucial data"] * 7}).to_csv(p, index=False)
    diach = load.load_diachronic(Params(diachronic_path=str(p), n_workers=1))
    assert sorted(diach.totals["year"]) == [2020, 2023]
    assert int(diach.totals["n_docs"].sum()) == 3
    issues = {i.check: i.count for i in steps.counting_issues(diach.issues, "diachronic")}
    assert issues == {"diachronic.bad_year": 4}


@pytest.mark.parametrize("which", ["corpus", "diachronic", "no_pair"])
def test_empty_inputs_are_one_line_errors(tmp_path, which):
    good = tmp_path / "c.csv"
    pd.DataFrame({"doc_id": [1, 2], "language": ["en", "en"], "source": ["ai", "human"],
                  "text": ["crucial data", "river data"]}).to_csv(good, index=False)
    empty = tmp_path / "empty.csv"
    if which == "diachronic":
        empty.write_text("doc_id,language,year,text\n")
        params = Params(corpus_path=str(good), diachronic_path=str(empty), n_workers=1)
        with pytest.raises(InputError) as err:
            load.load_diachronic(params)
    else:
        if which == "corpus":
            empty.write_text("doc_id,language,source,text\n")
        else:  # only one source in every language
            pd.DataFrame({"doc_id": [1], "language": ["en"], "source": ["ai"], "text": ["x y"]}).to_csv(empty)
        with pytest.raises(InputError) as err:
            steps.describe_corpus(load.count_comparison(Params(corpus_path=str(empty), n_workers=1)))
    assert "\n" not in str(err.value) and "corpus" in str(err.value)


def test_names_from_data_become_safe_keys_and_table_names():
    """A language code with non-ASCII characters and lemmas that are not words get slugs; words stay."""
    from studykit.studies.lexical_prevalence.results import lemma_key

    assert lemma_key("améliorer", slug) == "améliorer" and lemma_key("x-ray", slug) == "x-ray"
    for odd in ("a.b", "<script>", "w" * 100, ""):
        assert lemma_key(odd, slug) == slug(odd)


def test_whole_notebook_on_odd_inputs(tmp_path):
    """The notebook on a CSV corpus with a language 'dé🙂', a '<b>' language, duplicated documents,
    rows without a source and years written as words: it runs, maps the names, reports every problem.

    Unit: one run of the whole notebook.
    """
    corpus = _subset("corpus.parquet", ["en", "de"], 600)
    corpus["language"] = corpus["language"].replace({"de": "dé🙂"})
    extra = pd.DataFrame({"doc_id": ["x1", "x2", "x3"], "pair_id": [None] * 3, "language": ["<b>", "en", ""],
                          "source": ["ai", "robot", "human"], "text": ["crucial", "data", "river"]})
    pd.concat([corpus, corpus.head(50), extra]).to_csv(tmp_path / "corpus.csv", index=False)
    diach = _subset("diachronic.parquet", ["en", "de"], 150)
    diach["language"] = diach["language"].replace({"de": "dé🙂"})
    diach["year"] = diach["year"].astype(object)
    diach.loc[diach.index[:5], "year"] = "twenty-twenty"
    diach.to_csv(tmp_path / "diachronic.csv", index=False)
    res = run_study("lexical_prevalence", profile="workshop", out_dir=tmp_path / "out",
                    overrides={"corpus_path": str(tmp_path / "corpus.csv"),
                               "diachronic_path": str(tmp_path / "diachronic.csv"), "languages": None,
                               "min_count_guard": 5, "n_bootstrap": 100})
    assert res.status == "executed"
    results = json.loads((res.out_dir / "results.json").read_text())
    manifest = json.loads((res.out_dir / "manifest.json").read_text())
    odd = slug("dé🙂")
    assert manifest["names"][odd] == "dé🙂"
    assert (res.out_dir / "tables" / f"lpr_{odd}.csv").is_file()
    assert results[f"top.{odd}"] and results["n_languages"] == 2
    assert results["data_issues.corpus.duplicate_document"] == 50
    assert results["data_issues.corpus.single_source_language"] == 1
    assert results["data_issues.corpus.bad_source"] == 1 and results["data_issues.corpus.missing_language"] == 1
    assert results["data_issues.diachronic.bad_year"] == 5
