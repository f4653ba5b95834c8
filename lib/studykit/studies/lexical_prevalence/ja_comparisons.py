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

from pathlib import Path

import pandas as pd

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
