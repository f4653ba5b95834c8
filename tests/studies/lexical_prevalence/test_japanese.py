"""Japanese tokenising (MeCab + UniDic via fugashi), Markdown stripping, and the ja corpus reader.

Unit: a sentence or an article; the analyses of known sentences are UniDic's (checked by hand
against the dictionary's entries), the corpus tests use a small folder of the real corpus's layout.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.errors import InputError
from studykit.studies.lexical_prevalence import ja_comparisons, ja_corpus
from studykit.studies.lexical_prevalence.japanese import analyse, strip_markdown


@pytest.mark.parametrize("sentence, expected", [
    # (lemma, UPOS) pairs of UniDic's analysis; UniDic's lemma of a place name is its reading
    ("様々なタスクを実行できます。",
     [("様々", "ADJ"), ("だ", "AUX"), ("タスク", "NOUN"), ("を", "ADP"), ("実行", "NOUN"), ("出来る", "AUX"),
      ("ます", "AUX"), ("。", "PUNCT")]),
    ("重要な役割を果たしています",
     [("重要", "ADJ"), ("だ", "AUX"), ("役割", "NOUN"), ("を", "ADP"), ("果たす", "VERB"), ("て", "ADP"),
      ("居る", "AUX"), ("ます", "AUX")]),
    ("東京で3つのテストを書いた",
     [("トウキョウ", "PROPN"), ("で", "ADP"), ("3", "NUM"), ("つ", "PART"), ("の", "ADP"), ("テスト", "NOUN"),
      ("を", "ADP"), ("書く", "VERB"), ("た", "AUX")]),
])
def test_known_analyses(sentence, expected):
    a = analyse(sentence, clean=False)
    assert list(zip(a.lemmas, a.upos)) == expected


def test_loanword_gloss_split_and_unknown_words_keep_their_surface():
    a = analyse("Dockerのコンテナとタスク", clean=False)
    assert "docker" in a.lemmas           # unknown to the dictionary: lowercased surface
    assert "タスク" in a.lemmas and ("タスク", "task") in a.glosses
    assert all(" " not in lemma for lemma in a.lemmas)


def test_strip_markdown_removes_code_urls_and_markup_but_keeps_prose():
    md = ("# 見出し\n\n本文です。`inline_code()` を使う。\n\n```python\nimport os\nprint('x')\n```\n"
          "- 項目 [リンク文](https://example.com/a) と https://example.org/b\n"
          "![図の説明](img.png)<br>\n> 引用\n~~~\n未閉じ\n")
    text = strip_markdown(md)
    for gone in ("import", "print", "inline_code", "https", "example", "img.png", "<br>", "```", "未閉じ", "#"):
        assert gone not in text
    for kept in ("見出し", "本文です", "リンク文", "図の説明", "引用", "項目"):
        assert kept in text


def _write_corpus(root: Path) -> None:
    """A miniature corpus with the real layout: 2 models x 2 articles, 3 human articles, registers, control."""
    data = root / "data"
    ai_meta, human_meta = [], []
    for model in ("model-a", "model-b"):
        for trial in (1, 2):
            rel = f"data/ai_samples/{model}/theme-x_{trial}.md"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(f"# 記事\n重要な役割を果たす。効率的に向上する。{model}\n```\ncode()\n```\n",
                                    encoding="utf-8")
            ai_meta.append({"model_key": model, "theme_slug": "theme-x", "trial": trial, "file": rel})
    for i, year in enumerate((2021, 2022, 2023)):
        rel = f"data/human_corpus/qiita/theme-x/h{i}.md"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("テストを書いた。動かない。", encoding="utf-8")
        human_meta.append({"source": "qiita", "theme_slug": "theme-x", "created_at": f"{year}-05-01T00:00:00+09:00",
                           "file": rel})
    (data / "ai_samples" / "metadata.json").write_text(json.dumps(ai_meta), encoding="utf-8")
    (data / "human_corpus" / "metadata.json").write_text(json.dumps(human_meta), encoding="utf-8")
    for reg in ("business",):
        p = data / "ai_samples_diverse" / reg / "model-a" / "t1.md"
        p.parent.mkdir(parents=True)
        p.write_text("ご提案いたします。", encoding="utf-8")
    for level in ("beginner", "expert"):
        p = data / "control_corpus" / level / "q1.md"
        p.parent.mkdir(parents=True)
        p.write_text("質問です。", encoding="utf-8")


def test_reader_and_tokeniser_on_a_miniature_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    _write_corpus(tmp_path / "ja")
    docs = ja_corpus.read_documents(tmp_path / "ja")
    assert docs.groupby("subset").size().to_dict() == {"ai_register": 1, "ai_tech": 4, "control": 2,
                                                       "human_tech": 3}
    assert sorted(docs["year"].dropna().astype(int)) == [2021, 2022, 2023]
    folder = ja_corpus.ensure_tokenised(tmp_path / "ja", n_workers=1)
    table = pd.read_parquet(folder / "documents.parquet")
    assert (table["tokens"].str.split().str.len() == table["upos"].str.split().str.len()).all()
    assert not table["tokens"].str.contains("code").any()          # fenced code removed
    assert set(pd.read_parquet(folder / "corpus.parquet")["source"]) == {"ai", "human"}
    comp = pd.read_parquet(folder / "comparisons.parquet")
    assert set(comp["language"]) == {"model.model-a", "model.model-b", "register.business", "control.beginner",
                                     "control.expert"}
    # the second call reuses the cache (same key, same folder, nothing rewritten)
    stamp = (folder / "documents.parquet").stat().st_mtime_ns
    assert ja_corpus.ensure_tokenised(tmp_path / "ja", n_workers=1) == folder
    assert (folder / "documents.parquet").stat().st_mtime_ns == stamp


def test_tokenising_does_not_depend_on_the_number_of_workers(tmp_path):
    _write_corpus(tmp_path / "ja")
    docs = ja_corpus.read_documents(tmp_path / "ja")
    one, g1 = ja_corpus.tokenise(tmp_path / "ja", docs, n_workers=1)
    two, g2 = ja_corpus.tokenise(tmp_path / "ja", docs, n_workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert g1 == g2


def test_missing_corpus_and_missing_article_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="excess_vocabulary_ja"):
        ja_corpus.read_documents(tmp_path / "nowhere")
    _write_corpus(tmp_path / "ja")
    (tmp_path / "ja" / "data" / "ai_samples" / "model-a" / "theme-x_1.md").unlink()
    with pytest.raises(InputError, match="theme-x_1.md"):
        ja_corpus.read_documents(tmp_path / "ja")


@pytest.mark.parametrize("encoding, named", [("shift_jis", "SHIFT-JIS"), ("euc_jp", "EUC-JP")])
def test_an_article_in_another_encoding_is_refused_in_one_line(tmp_path, monkeypatch, encoding, named):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    _write_corpus(tmp_path / "ja")
    bad = tmp_path / "ja" / "data" / "human_corpus" / "qiita" / "theme-x" / "h1.md"
    bad.write_bytes("テストを書いた。動かない。".encode(encoding))
    with pytest.raises(InputError) as err:
        ja_corpus.ensure_tokenised(tmp_path / "ja", n_workers=2)
    msg = str(err.value)
    assert "\n" not in msg and str(bad) in msg and "not UTF-8" in msg and named in msg
    assert not (tmp_path / "cache" / "lexical_prevalence" / "ja_tech_blogs").exists() or not any(
        (tmp_path / "cache" / "lexical_prevalence" / "ja_tech_blogs").iterdir())
    # neighbours: UTF-8 with a byte-order mark and an empty article are fine
    bad.write_bytes(b"\xef\xbb\xbf" + "テストを書いた。".encode("utf-8"))
    (tmp_path / "ja" / "data" / "human_corpus" / "qiita" / "theme-x" / "h2.md").write_bytes(b"")
    folder = ja_corpus.ensure_tokenised(tmp_path / "ja", n_workers=1)
    assert (folder / "documents.parquet").is_file()


def test_model_agreement_counts_models_sharing_a_top_word():
    tops = pd.DataFrame({"comparison": ["model.a", "model.a", "model.b", "register.x"],
                         "lemma": ["重要", "効率", "重要", "重要"]})
    agree = ja_comparisons.model_agreement(tops)
    assert agree.iloc[0].to_dict() == {"lemma": "重要", "n_models": 2, "models": "a,b"}
    assert agree.set_index("lemma").at["効率", "n_models"] == 1


SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "excess_vocabulary_ja"


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the real corpus is not at {SHARED} (../shared absent)")
def test_real_corpus_layout_is_read_whole():
    """Unit: article. The shared copy has the counts its README states."""
    docs = ja_corpus.read_documents(SHARED)
    assert docs.groupby("subset").size().to_dict() == {"ai_register": 270, "ai_tech": 350, "control": 200,
                                                       "human_tech": 700}
    assert docs[docs["subset"] == "ai_tech"]["model"].nunique() == 7
    assert docs["year"].dropna().between(2020, 2023).all()
