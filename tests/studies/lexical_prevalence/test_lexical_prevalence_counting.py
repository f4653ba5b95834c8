"""Streaming counts: hand-made corpora, formats, schedules, bad input, Dask.

Unit: a document (row of a corpus file); the counts are documents per lemma and source or year.
"""
import json
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.studies.lexical_prevalence import Params, load
from studykit.studies.lexical_prevalence.counting import CountConfig, count_batch, count_corpus

ROOT = Path(__file__).resolve().parents[3]
EMBEDDED = ROOT / "data" / "lexical_prevalence" / "corpus.parquet"


def _docs(counts, lang, source):
    d = counts.docs
    return dict(d[(d.language == lang) & (d.source == source)][["lemma", "docs"]].itertuples(index=False))


def test_window_counts_first_k_content_tokens_by_hand():
    batch = {"language": ["en", "en", "en"], "source": ["ai", "ai", "human"],
             "text": ["The crucial crucial point emphasizes data.", "Data, data and more data!", "A crucial idea."]}
    r = count_batch(batch, CountConfig(window=2))
    ai = r["docs"][("en", "ai")]
    # doc 1 content lemmas: crucial crucial point emphasize data -> window 2 = {crucial}; doc 2: {data}
    assert ai == {"crucial": 1, "data": 1}
    assert r["docs"][("en", "human")] == {"crucial": 1, "idea": 1}
    assert r["n_docs"][("en", "ai")] == 2
    full = count_batch(batch, CountConfig(mode="full", group_col="source"))
    assert full["tokens"][("en", "ai")]["data"] == 4 and full["docs"][("en", "ai")]["data"] == 2


def _small_corpus(tmp_path):
    rows = []
    words = ["crucial", "emphasize", "data", "river", "delve", "apple", "stone", "music"]
    for i in range(300):
        src = "ai" if i % 2 else "human"
        lang = "en" if i % 3 else "de"
        toks = [words[(i * 7 + k * 3) % len(words)] for k in range(6 + i % 5)]
        if src == "ai" and i % 4 == 1:
            toks.insert(1, "delves")
        rows.append({"doc_id": f"d{i}", "language": lang, "source": src, "text": " ".join(toks) + "."})
    return pd.DataFrame(rows)


def test_formats_chunking_and_processes_give_identical_counts(tmp_path):
    df = _small_corpus(tmp_path)
    pq, csv, js = tmp_path / "c.parquet", tmp_path / "c.csv", tmp_path / "c.jsonl"
    df.to_parquet(pq, index=False)
    df.to_csv(csv, index=False)
    df.to_json(js, orient="records", lines=True, force_ascii=False)
    cfg = CountConfig()
    ref = count_corpus(pq, cfg, n_workers=1, chunk_rows=1000)
    assert _docs(ref, "en", "ai")["delve"] > 0
    for path, workers, chunk in ((csv, 1, 37), (js, 1, 50), (pq, 2, 64)):
        got = count_corpus(path, cfg, n_workers=workers, chunk_rows=chunk)
        pd.testing.assert_frame_equal(got.docs, ref.docs)
        pd.testing.assert_frame_equal(got.totals, ref.totals)


def test_bad_rows_are_counted_not_crashing(tmp_path):
    p = tmp_path / "bad.jsonl"
    lines = [
        {"doc_id": 1, "language": "en", "source": "ai", "text": "crucial data"},
        {"doc_id": 2, "language": "en", "source": "robot", "text": "crucial data"},
        {"doc_id": 3, "language": "", "source": "ai", "text": "crucial data"},
        {"doc_id": 4, "language": "en", "source": "human", "text": "   ...  "},
        {"doc_id": 5, "language": "zz", "source": "human", "text": "Wortes Wort"},
        {"doc_id": 6, "language": "en", "source": "HUMAN", "text": "river data"},
    ]
    with open(p, "wb") as fh:
        for rec in lines:
            fh.write((json.dumps(rec) + "\n").encode())
        fh.write(b'{"doc_id": 7, "language": "en", "source": "ai", "text": "caf\xe9 crucial"}\n')  # latin-1 byte
        fh.write(b"not json\n")
    c = count_corpus(p, CountConfig(), n_workers=1)
    issues = {(r.check, r.language): r.count for r in c.issues.itertuples(index=False)}
    assert issues[("bad_source", "en")] == 1
    assert issues[("missing_language", "")] == 1
    assert issues[("empty_text", "en")] == 1
    assert issues[("undecodable_bytes", "en")] == 1
    assert issues[("no_lemmatizer", "zz")] == 1
    assert issues[("bad_json_line", "")] == 1
    tot = c.totals.set_index(["language", "source"])["n_docs"]
    assert tot[("en", "ai")] == 2 and tot[("en", "human")] == 1 and tot[("zz", "human")] == 1
    assert _docs(c, "zz", "human") == {"wortes": 1, "wort": 1}  # lowercased forms, never mixed into en


def test_schema_errors_are_one_line(tmp_path):
    p = tmp_path / "x.csv"
    pd.DataFrame({"doc_id": [1], "language": ["en"], "text": ["a"]}).to_csv(p, index=False)
    with pytest.raises(InputError, match="missing column 'source'"):
        load.count_comparison(Params(corpus_path=str(p), diachronic_path=None))
    pd.DataFrame({"doc_id": [1], "language": ["en"], "source": ["ai"]}).to_csv(p, index=False)
    with pytest.raises(InputError, match="missing column 'text'"):
        load.count_comparison(Params(corpus_path=str(p), diachronic_path=None))
    pd.DataFrame({"doc_id": [1], "language": ["en"], "source": ["ai"], "text": ["crucial"]}).to_csv(p, index=False)
    with pytest.raises(InputError, match="language 'fr'"):
        load.count_comparison(Params(corpus_path=str(p), diachronic_path=None, languages=["fr"], n_workers=1))
    with pytest.raises(InputError, match="needs columns 'tokens' and 'upos'"):
        load.count_comparison(Params(corpus_path=str(p), diachronic_path=None, content_filter="upos"))
    with pytest.raises(ParamError, match="overlap"):
        Params.validate_mapping({"pre_years": [2021], "post_years": [2021]})


def test_pretokenised_input_with_upos_filter(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"doc_id": [1, 2], "language": ["en", "en"], "source": ["ai", "human"],
                  "tokens": ["the emphasize strong point", "a point"], "upos": ["DET VERB ADJ NOUN", "DET NOUN"]}
                 ).to_parquet(p, index=False)
    c = load.count_comparison(Params(corpus_path=str(p), diachronic_path=None, content_filter="upos", n_workers=1))
    assert _docs(c, "en", "ai") == {"emphasize": 1, "strong": 1, "point": 1}


def test_yearly_counts_input_and_its_errors(tmp_path):
    p = tmp_path / "y.csv"
    df = pd.DataFrame({"language": "en", "lemma": ["delve", "delve"], "year": [2020, 2021],
                       "docs_with_lemma": [3, 9], "n_docs": [100, 100]})
    df.to_csv(p, index=False)
    d = load.read_yearly_counts(p)
    assert d.unit == "documents" and list(d.totals["n_docs"]) == [100, 100]
    df.assign(docs_with_lemma=[3, 200]).to_csv(p, index=False)
    with pytest.raises(InputError, match="exceeds n_docs"):
        load.read_yearly_counts(p)
    df.assign(n_docs=[100, -1]).to_csv(p, index=False)
    with pytest.raises(InputError, match="column 'n_docs'"):
        load.read_yearly_counts(p)


def test_dask_cluster_counts_equal_local_counts():
    distributed = pytest.importorskip("distributed")
    cfg = CountConfig(languages=("en", "de"))
    local = count_corpus(EMBEDDED, cfg, n_workers=1, chunk_rows=4000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        remote = count_corpus(EMBEDDED, cfg, chunk_rows=4000, dask_scheduler=cl.scheduler_address)
    pd.testing.assert_frame_equal(remote.docs, local.docs)
    pd.testing.assert_frame_equal(remote.totals, local.totals)
    assert remote.n_tokens == local.n_tokens


def test_single_source_language_and_issues_are_reported_through_outputs(tmp_path):
    import studykit as sk
    from studykit.studies.lexical_prevalence import steps

    p = tmp_path / "c.csv"
    pd.DataFrame({"doc_id": [1, 2, 3, 4], "language": ["en", "en", "de", "en"], "source": ["ai", "human", "ai", "x"],
                  "text": ["crucial data", "river data", "betont", "data"]}).to_csv(p, index=False)
    params = Params(corpus_path=str(p), diachronic_path=None, n_workers=1)
    counts = load.count_comparison(params)
    out = sk.open_outputs("lexical_prevalence", params, tmp_path / "out")
    corpus, issues = steps.describe_corpus(counts)
    out.note_issues(issues)
    out.record_many(corpus.records(out.name))
    assert corpus.languages == ("en",)
    assert out.results["data_issues.corpus.single_source_language"] == 1
    assert out.results["data_issues.corpus.bad_source"] == 1
    assert out.results["n_docs.ai"] == 1 and out.results["n_languages"] == 1
    out.close()
    issues = pd.read_csv(tmp_path / "out" / "tables" / "data_issues.csv")
    assert "de" in issues.loc[issues["check"] == "corpus.single_source_language", "detail"].iloc[0]
