r"""Further comparisons on the real Japanese corpus: per model, per register, and a human-vs-human null.

Every comparison is the study's own LPR analysis (:func:`.analysis.lemma_table`,
:func:`.analysis.top_table`: window prevalence, Jeffreys smoothing, count
guard, bootstrap CI) applied to another pair of document sets, counted by the
same engine (:func:`.counting.count_corpus`) from
``comparisons.parquet`` (:func:`.ja_corpus.comparison_corpus`), where the
``language`` column holds the comparison's label.

Agreement between models
    For each lemma in the top-N of at least one model, the number of the
    models whose own top-N list (that model's articles against all human
    articles) contains it.
Human-vs-human null
    With :math:`L^*` the smallest guarded LPR in the pooled AI-vs-human top-N,
    a comparison *passes* a lemma when the guard holds and
    :math:`LPR^g \ge L^*`. The control comparisons (beginner against expert
    questions, and the reverse) contain no AI text at all, so the number of
    lemmas they pass is what topic and register differences alone produce at
    the same thresholds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from studykit.stats.results import Result

from . import analysis
from .counting import CorpusCounts, count_corpus


def count_comparisons(path: str | Path, config, *, n_workers: int = 1) -> CorpusCounts:
    """Count ``comparisons.parquet`` with the same :class:`~.counting.CountConfig` as the main corpus."""
    return count_corpus(path, config, n_workers=n_workers, desc="comparisons")


def comparison_tops(counts: CorpusCounts, *, min_count_guard: int, top_n: int, n_resamples: int,
                    confidence: float, seed: int) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(full lemma table per label, long top-N table with bootstrap CIs over every label).

    The long table has columns comparison, rank, lemma, c_ai, n_ai, c_human,
    n_human, lpr, lpr_ci_low, lpr_ci_high (ranks 1..N within a comparison).
    """
    labels = sorted(counts.totals["language"].unique())
    tables: dict[str, pd.DataFrame] = {}
    rows = []
    for label in labels:
        table = analysis.lemma_table(counts, label, min_count_guard)
        tables[label] = table
        top = analysis.top_table(table, top_n, n_resamples=n_resamples, confidence=confidence,
                                 seed=analysis.language_seed(seed, label, 1))
        rows.append(top.assign(comparison=label))
    cols = ["comparison", "rank", "lemma", "c_ai", "n_ai", "c_human", "n_human", "lpr", "lpr_ci_low",
            "lpr_ci_high"]
    long = pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
    return tables, long


def model_agreement(tops: pd.DataFrame, prefix: str = "model.") -> pd.DataFrame:
    """lemma, n_models, models: how many models' top-N lists contain each lemma (most shared first)."""
    sub = tops[tops["comparison"].str.startswith(prefix)]
    grouped = sub.groupby("lemma")["comparison"].agg(lambda s: sorted(x[len(prefix):] for x in s))
    out = pd.DataFrame({"lemma": grouped.index, "n_models": grouped.map(len).to_numpy(),
                        "models": grouped.map(",".join).to_numpy()})
    return out.sort_values(["n_models", "lemma"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def passes_at_cutoff(tables: dict[str, pd.DataFrame], cutoff: float) -> pd.DataFrame:
    """comparison, n_ai_docs, n_human_docs, n_guard_ok, n_pass: lemmas with the guard and LPR^g >= cutoff."""
    rows = []
    for label in sorted(tables):
        t = tables[label]
        rows.append({"comparison": label, "n_ai_docs": int(t["n_ai"].iloc[0]) if len(t) else 0,
                     "n_human_docs": int(t["n_human"].iloc[0]) if len(t) else 0,
                     "n_guard_ok": int(t["guard_ok"].sum()),
                     "n_pass": int((t["guard_ok"] & (t["lpr_guarded"] >= cutoff)).sum())})
    return pd.DataFrame(rows, columns=["comparison", "n_ai_docs", "n_human_docs", "n_guard_ok", "n_pass"])


def with_glosses(table: pd.DataFrame, glosses: dict[str, str]) -> pd.DataFrame:
    """``table`` with a ``gloss`` column after ``lemma``: UniDic's English source of loanwords, else ''."""
    out = table.copy()
    out.insert(out.columns.get_loc("lemma") + 1, "gloss", out["lemma"].map(lambda x: glosses.get(x, "")))
    return out


def glossary() -> dict[str, str]:
    """Hand-written English glosses of frequent Japanese lemmas (``ja_glossary.json``; for reading only)."""
    import json

    data = json.loads(Path(__file__).with_name("ja_glossary.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@dataclass(frozen=True)
class JaComparisons(Result):
    """The further comparisons of the Japanese corpus (see the module docstring).

    ``words``: the pooled top-N (AI against human articles) with glosses and the
    number of models whose own top-N holds each word; ``tops``: top-N per comparison with CIs and glosses; ``agreement``: lemma,
    n_models, models; ``passes``: lemmas passing the pooled AI-word cut-off per
    comparison; ``cutoff``: that cut-off (the smallest guarded LPR in the pooled
    top-N); ``n_models``: models compared. Recorded as ``ja.cutoff``,
    ``ja.n_models``, ``ja.top_shared_by_all_models`` (lemmas in every model's
    top-N), ``ja.passes.<comparison>``.
    """

    words: pd.DataFrame = field(repr=False)
    tops: pd.DataFrame = field(repr=False)
    agreement: pd.DataFrame = field(repr=False)
    passes: pd.DataFrame = field(repr=False)
    cutoff: float
    n_models: int

    def records(self, name: Callable[[object], str]) -> dict[str, object]:
        shared = self.agreement[self.agreement["n_models"] == self.n_models]["lemma"]
        out: dict[str, object] = {"ja.cutoff": self.cutoff, "ja.n_models": self.n_models,
                                  "ja.top_shared_by_all_models": ",".join(shared)}
        for row in self.passes.itertuples(index=False):
            out[f"ja.passes.{name(row.comparison)}"] = int(row.n_pass)
        return out


def compare(params, config, pooled_top: pd.DataFrame) -> tuple[JaComparisons | None, tuple]:
    """Count ``params.comparisons_path`` and run every comparison; (result, data issues), (None, ()) without it.

    Glosses: UniDic's loanword glosses (``glosses.json`` beside the comparisons
    file, written by :func:`.ja_corpus.ensure_tokenised`) over :func:`glossary`.
    """
    import json
    from studykit.contract.issues import DataIssue

    if not params.comparisons_path:
        return None, ()
    from studykit.files.paths import resolve

    import dataclasses

    # every comparison label is counted (the main corpus's language filter does not apply to labels)
    config = dataclasses.replace(config, languages=None)
    counts = count_comparisons(resolve(params.comparisons_path), config, n_workers=1)
    tables, tops = comparison_tops(counts, min_count_guard=params.min_count_guard, top_n=params.top_n,
                                   n_resamples=params.n_bootstrap, confidence=params.confidence, seed=params.seed)
    gloss_file = resolve(params.comparisons_path).with_name("glosses.json")
    loanwords = json.loads(gloss_file.read_text(encoding="utf-8")) if gloss_file.is_file() else {}
    names = {**glossary(), **loanwords}
    cutoff = float(pooled_top["lpr_guarded"].min()) if len(pooled_top) else float("inf")
    agreement = model_agreement(tops)
    n_models = sum(label.startswith("model.") for label in tables)
    issues = []
    empty = counts.issues[counts.issues["check"] == "empty_text"] if len(counts.issues) else counts.issues
    if len(empty):
        issues.append(DataIssue("ja_comparisons.empty_text", int(empty["count"].sum()),
                                "articles with no words left after removing code and markup are not counted",
                                ", ".join(sorted(set(empty["language"])))))
    shared = agreement.set_index("lemma")["n_models"]
    words = with_glosses(pooled_top[["rank", "lemma", "c_ai", "n_ai", "c_human", "n_human", "lpr", "lpr_ci_low",
                                     "lpr_ci_high"]], names)
    words["n_models"] = words["lemma"].map(shared).fillna(0).astype(int)
    return JaComparisons(words.reset_index(drop=True), with_glosses(tops, names), agreement,
                         passes_at_cutoff(tables, cutoff), cutoff, n_models), tuple(issues)
