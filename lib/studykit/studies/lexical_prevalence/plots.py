"""Figures of the lexical_prevalence study (matplotlib; each function returns a Figure)."""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from studykit.contract.outputs import ci_label


def _grid(n: int, ncols: int = 4, w: float = 3.4, h: float = 3.0):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def top_lpr(tops: dict[str, pd.DataFrame], *, show: int = 10, max_languages: int = 12, planted=None):
    """Top lemmas per language: LPR with bootstrap CI (planted lemmas filled, when given)."""
    langs = sorted(tops)[:max_languages]
    fig, axes = _grid(len(langs), ncols=4, w=3.3, h=0.28 * show + 1.2)
    for ax, lang in zip(axes, langs):
        t = tops[lang].head(show).iloc[::-1]
        y = np.arange(len(t))
        is_planted = t["lemma"].isin(planted.get(lang, set())) if planted else pd.Series(False, index=t.index)
        ax.errorbar(t["lpr"], y, xerr=[t["lpr"] - t["lpr_ci_low"], t["lpr_ci_high"] - t["lpr"]],
                    fmt="none", ecolor="0.6", lw=1)
        ax.scatter(t["lpr"], y, c=np.where(is_planted, "C3", "C0"), zorder=3, s=18)
        ax.set_yticks(y, t["lemma"], fontsize=8)
        ax.set_title(lang)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.set_xlabel("LPR (95% CI)")
    title = "Top AI-overused lemmas per language" + (" (red: planted)" if planted else "")
    fig.suptitle(textwrap.fill(title, width=int(fig.get_figwidth() * 9)))
    fig.tight_layout()
    return fig


def convergence_matrix(conv: pd.DataFrame, top_n: int):
    """Language x concept heat map: rank of the concept's lemma (annotated), dark when in the top-N."""
    langs = sorted(conv["language"].unique())
    concepts = list(dict.fromkeys(conv["concept"]))
    m = np.full((len(langs), len(concepts)), np.nan)
    for r in conv.itertuples(index=False):
        if not (isinstance(r.rank, float) and math.isnan(r.rank)):
            m[langs.index(r.language), concepts.index(r.concept)] = r.rank
    score = np.where(np.isnan(m), 0.0, np.where(m <= top_n, 1.0 - (m - 1) / (2 * top_n), 0.15))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.0 + 0.9 * len(concepts)), max(2.6, 1.6 + 0.4 * len(langs))))
    ax.imshow(score, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(len(langs)):
        for j in range(len(concepts)):
            if not np.isnan(m[i, j]):
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=7,
                        color="white" if score[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(concepts)), concepts, rotation=45, ha="right")
    ax.set_yticks(range(len(langs)), langs)
    ax.set_title(textwrap.fill(f"Rank of each concept's lemma (dark: in top {top_n})",
                               width=int(fig.get_figwidth() * 9)))
    fig.tight_layout()
    return fig


def uptake_change(table: pd.DataFrame):
    """The paper's Figure 2 layout: % change pre -> post per language, AI words vs baseline words."""
    ai = table[table["word_set"] == "ai"].set_index("language")["change_pct"]
    base = table[table["word_set"] == "baseline"].set_index("language")["change_pct"]
    order = ai.sort_values(ascending=True).index.tolist()
    y = np.arange(len(order))
    fig, ax = plt.subplots(figsize=(7.5, max(2.0, 0.8 + 0.3 * len(order))))
    ax.barh(y + 0.2, ai.reindex(order), height=0.4, color="C3", label="AI-associated (top-N)")
    ax.barh(y - 0.2, base.reindex(order), height=0.4, color="0.6", label="baseline (matched, LPR~0)")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, order)
    ax.set_xlabel("change in share of tokens, pre -> post period (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)  # outside the bars
    fig.tight_layout()
    return fig


def trajectories(traj: pd.DataFrame, cutoff_year: float | None = None, max_languages: int = 12):
    """Yearly frequency of chosen lemmas, one panel per language."""
    langs = sorted(traj["language"].unique())[:max_languages]
    fig, axes = _grid(len(langs), ncols=4, w=3.4, h=2.8)
    unit = traj["unit"].iloc[0] if len(traj) else ""
    for ax, lang in zip(axes, langs):
        d = traj[traj["language"] == lang]
        for lem, g in d.groupby("lemma", sort=True):
            ax.plot(g["year"], g["frequency"], marker="o", ms=3, label=lem)
        if cutoff_year is not None:
            ax.axvline(cutoff_year + 0.5, color="0.7", ls="--", lw=0.8)
        ax.set_title(lang)
        ax.set_ylabel(unit.replace("_", " "), fontsize=8)
        # under the panel (below its tick labels): inside, the legend would cover a trajectory
        ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3)
    fig.tight_layout()
    return fig


def excess_scatter(ex: pd.DataFrame, year: int, gap_threshold: float = 0.01, label: int = 8):
    """Frequency p vs excess ratio r in one year (all languages), excess words highlighted,
    with Kobak et al.'s ratio threshold curve."""
    d = ex[ex["year"] == year]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter(d["freq"], d["ratio"], s=5, color="0.7", label="words")
    e = d[d["excess"]]
    ax.scatter(e["freq"], e["ratio"], s=14, color="C3", label="excess words")
    if len(d):
        ps = np.logspace(np.log10(d["freq"].min()), 0, 100)
        ax.plot(ps, 10 ** (-(math.log10(2) / 4) * np.log10(ps)), "k--", lw=0.8, label="ratio threshold")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"frequency p in {year} (share of documents)")
    ax.set_ylabel("excess ratio r = p / q")
    ax.set_title(f"Excess vocabulary in {year} (Kobak et al. rule; gap > {gap_threshold})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _place_labels(ax, [(f"{r.lemma} ({r.language})", r.freq, r.ratio)
                       for r in e.sort_values("ratio", ascending=False).head(label).itertuples(index=False)])
    return fig


_OFFSETS = [(dx * k, dy * k) for k in (1, 2.5, 4.5) for dx, dy in
            ((4, 4), (4, -10), (-4, 4), (-4, -10), (0, 10), (0, -14), (12, 0), (-12, 0))]


def _place_labels(ax, labels: list[tuple[str, float, float]]):
    """Annotate points without labels running into each other, the legend or the axes edge.

    Greedy: each label (in the given order) takes the first offset, in points, whose text box stays
    inside the axes and clear of the labels already placed and of the legend; a label with no free
    place is left out, and the axes says how many were left out.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    taken = []
    leg = ax.get_legend()
    if leg is not None:
        taken.append(leg.get_window_extent(renderer))
    skipped = 0
    for text, x, y in labels:
        for dx, dy in _OFFSETS:
            far = abs(dx) > 6 or abs(dy) > 12
            a = ax.annotate(text, (x, y), fontsize=7, xytext=(dx, dy), textcoords="offset points",
                            ha="left" if dx >= 0 else "right",
                            arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5} if far else None)
            b = a.get_window_extent(renderer)
            if (inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0 and b.y1 <= inside.y1
                    and not any(b.overlaps(t) for t in taken)):
                taken.append(b)
                break
            a.remove()
        else:
            skipped += 1
    if skipped:
        ax.text(0.99, 0.01, f"{skipped} label(s) left out for space", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=6, color="0.4")


# --------------------------------------------------------------------------- paper views of the wide tables
# Column -> header maps for ``save_table``'s ``tex_columns``: the .tex file shows these columns (an LPR or
# DiD estimate merged with its CI), the CSV and HTML keep every column.

_LPR_COUNTS = {"c_ai": "AI count", "n_ai": "AI n", "c_human": "Human count", "n_human": "Human n"}


def _lpr_ci(confidence: float) -> dict[tuple[str, str, str], str]:
    """The LPR with its bootstrap CI, merged into one column."""
    return {("lpr", "lpr_ci_low", "lpr_ci_high"): f"LPR {ci_label(confidence)}"}


def top_lemmas_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the top-lemmas table a paper shows (prevalences follow from the counts)."""
    return {"language": "Language", "rank": "Rank", "lemma": "Lemma", **_LPR_COUNTS, "las": "LAS",
            **_lpr_ci(confidence)}


def ja_top_words_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the pooled Japanese top-words table a paper shows."""
    return {"rank": "Rank", "lemma": "Lemma", "gloss": "Gloss", **_LPR_COUNTS, **_lpr_ci(confidence),
            "n_models": "Models"}


def ja_top_by_comparison_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the per-comparison Japanese top-lemmas table a paper shows."""
    return {"comparison": "Comparison", "rank": "Rank", "lemma": "Lemma", "gloss": "Gloss",
            **_LPR_COUNTS, **_lpr_ci(confidence)}


#: The columns of the uptake table a paper shows (token counts, exposures and the lemma lists stay in the CSV).
UPTAKE_TEX_COLUMNS: dict[str, str] = {
    "language": "Language", "word_set": "Word set", "n_lemmas": "Lemmas", "share_pre": "Share pre",
    "share_post": "Share post", "change_pct": "Change (%)", "chi2": "Chi-square", "p_value": "p",
    "cramers_v": "Cramer's V"}


def uptake_did_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the difference-in-differences table a paper shows (method, SE and notes stay in the CSV)."""
    return {"language": "Language", "n_docs_pre": "Docs pre", "n_docs_post": "Docs post",
            "change_ai_pct": "AI change (%)", "change_baseline_pct": "Baseline change (%)",
            ("did_log", "did_ci_low", "did_ci_high"): f"DiD (log) {ci_label(confidence)}", "did_p_value": "p",
            "did_p_value_corrected": "p (Holm)", "significant_increase": "Increase"}


#: The columns of the excess-words table a paper shows (the projection's inputs and lower bounds stay in the CSV).
EXCESS_WORDS_TEX_COLUMNS: dict[str, str] = {
    "language": "Language", "year": "Year", "lemma": "Lemma", "docs": "Docs", "freq": "Frequency p",
    "freq_expected": "Expected q", "delta": "Gap p - q", "ratio": "Ratio p/q", "noise_robust": "Noise-robust"}
