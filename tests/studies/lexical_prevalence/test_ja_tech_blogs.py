"""The real-data profile ja_tech_blogs on a slice of the shared Japanese corpus.

Unit: article (documents are the sampled units of every comparison). The slice keeps the real corpus's
layout and metadata for 3 articles per model, 40 human articles, the three registers and 10 control
questions per level; the test runs the whole notebook with the profile on it.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.runs.runner import run_study
from studykit.studies.lexical_prevalence import plots

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from texcheck import tex_problems  # noqa: E402

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "excess_vocabulary_ja"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"the real corpus is not at {SHARED} (../shared absent)")


def _slice(dest: Path) -> Path:
    data = SHARED / "data"
    ai = json.loads((data / "ai_samples" / "metadata.json").read_text(encoding="utf-8"))
    human = json.loads((data / "human_corpus" / "metadata.json").read_text(encoding="utf-8"))
    per_model: dict[str, list] = {}
    for m in ai:
        if m["trial"] == 1 and len(per_model.setdefault(m["model_key"], [])) < 3:
            per_model[m["model_key"]].append(m)
    keep_ai = [m for model in sorted(per_model) for m in per_model[model]]   # 3 themes x 7 models
    by_year: dict[str, list] = {}
    for m in human:
        by_year.setdefault(m["created_at"][:4], []).append(m)
    keep_human = [m for y in sorted(by_year) for m in by_year[y][:10]]  # 10 per year, 2020-2023
    for m in keep_ai + keep_human:
        (dest / m["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED / m["file"], dest / m["file"])
    (dest / "data" / "ai_samples" / "metadata.json").write_text(json.dumps(keep_ai), encoding="utf-8")
    (dest / "data" / "human_corpus" / "metadata.json").write_text(json.dumps(keep_human), encoding="utf-8")
    for sub, per in (("ai_samples_diverse", 2), ("control_corpus", 10)):
        for folder in sorted({p.parent for p in (data / sub).rglob("*.md")}):
            for p in sorted(folder.glob("*.md"))[:per]:
                target = dest / p.relative_to(SHARED)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, target)
    return dest


@needs_shared
def test_profile_runs_on_a_slice_of_the_real_corpus(tmp_path, monkeypatch):
    """Unit: article; the closing .tex check's unit is the .tex files of the run."""
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    corpus = _slice(tmp_path / "ja")
    res = run_study("lexical_prevalence", profile="ja_tech_blogs", out_dir=tmp_path / "run",
                    overrides={"ja_corpus_dir": str(corpus), "min_count_guard": 3, "n_bootstrap": 200,
                               "n_uptake_bootstrap": 100, "excess_min_docs": 5},
                    progress=False)
    r = json.loads((res.out_dir / "results.json").read_text(encoding="utf-8"))
    assert r["n_docs.ai"] == 21 and r["n_docs.human"] == 40
    assert r["ja.n_models"] == 7
    assert {k for k in r if k.startswith("ja.passes.")} >= {"ja.passes.control.beginner",
                                                            "ja.passes.register.business"}
    tables = {p.stem for p in (res.out_dir / "tables").glob("*.csv")}
    assert {"ja_top_words", "ja_top_by_comparison", "ja_model_agreement", "ja_null_passes", "uptake_did"} <= tables
    # no fenced code survives tokenising: the corpus tables hold lemmas of prose only
    top = (res.out_dir / "tables" / "ja_top_words.csv").read_text(encoding="utf-8")
    assert "import" not in top and "def" not in top.split("\n", 1)[1]
    # the paper views name only columns of their tables, and every .tex table of the run fits a page
    for table, view in (("ja_top_words", plots.ja_top_words_tex_columns()),
                        ("ja_top_by_comparison", plots.ja_top_by_comparison_tex_columns())):
        header = pd.read_csv(res.out_dir / "tables" / f"{table}.csv", nrows=0).columns
        assert {c for key in view for c in (key if isinstance(key, tuple) else (key,))} <= set(header), table
    assert not tex_problems(res.out_dir)


def test_missing_corpus_is_one_line_saying_where_the_data_comes_from(tmp_path):
    from studykit.contract.profiles import resolve_params

    with pytest.raises((InputError, ParamError)) as info:
        resolve_params("lexical_prevalence", "ja_tech_blogs", overrides={"ja_corpus_dir": str(tmp_path / "nowhere")})
    msg = str(info.value)
    assert "\n" not in msg and "excess-vocabulary-ja" in msg and "../shared/data/excess_vocabulary_ja" in msg


def test_missing_japanese_extra_is_refused_before_a_kernel_starts(monkeypatch, tmp_path):
    monkeypatch.setattr("studykit.contract.extras.installed", lambda extra: False)
    from studykit.contract.profiles import resolve_params

    with pytest.raises(ParamError, match="'japanese' extra"):
        resolve_params("lexical_prevalence", "ja_tech_blogs", overrides={"ja_corpus_dir": str(tmp_path)})
