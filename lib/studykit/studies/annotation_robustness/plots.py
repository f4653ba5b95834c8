"""Figures of the annotation-robustness study (matplotlib; one function per figure, returning it), and the
columns its paper tables show (``tex_columns`` of ``Outputs.save_table``: the .tex file shows these under
readable headers, the CSV and HTML keep every column)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from studykit.contract.outputs import TexColumns, ci_label  # noqa: E402

ERROR_COLORS = {"type_I": "#d95f02", "type_II": "#7570b3", "type_S": "#e7298a", "correct": "#cccccc"}
CONCLUSION_COLORS = {"a_larger": "#1b9e77", "b_larger": "#d95f02", "none": "#999999"}


def risk_by_model(table: pd.DataFrame, overall: float | None = None):
    """Bar chart of the LLM-hacking risk by model with its item-bootstrap CIs (drawn as intervals: they need
    not contain the observed share)."""
    t = table.sort_values("risk")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.5))
    y = np.arange(len(t))
    r, lo, hi = (t[c].to_numpy(dtype=float) for c in ("risk", "ci_low", "ci_high"))
    ax.barh(y, r, color="#4c72b0")
    ax.hlines(y, lo, hi, color="k", lw=1)
    ax.plot(np.r_[lo, hi], np.r_[y, y], "|", color="k", ms=8)
    ax.set_yticks(y, t["model"])
    if overall is not None:
        ax.axvline(overall, color="k", ls="--", lw=1, label=f"all configurations ({overall:.2f})")
        ax.legend(loc="lower right", frameon=False)
    ax.set_xlabel("share of (hypothesis, configuration) pairs with a wrong conclusion")
    ax.set_title("LLM-hacking risk by model (95% item-bootstrap CI)")
    fig.tight_layout()
    return fig


def error_types(breakdown: pd.DataFrame, by: str = "model"):
    """Stacked bars: share of Type I, Type II and Type S errors by ``by``."""
    t = breakdown.copy()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.5))
    y = np.arange(len(t))
    left = np.zeros(len(t))
    for e in ("type_I", "type_II", "type_S"):
        ax.barh(y, t[e], left=left, color=ERROR_COLORS[e], label=e.replace("_", " "))
        left += t[e].to_numpy()
    ax.set_yticks(y, t[by].astype(str))
    ax.invert_yaxis()
    ax.set_xlabel("share of pairs")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: bars fill the axes
    ax.set_title("Error types by " + by)
    fig.tight_layout()
    return fig


def risk_vs_accuracy(quality: pd.DataFrame, rho: float | None = None):
    """Scatter of each configuration's risk against its accuracy, coloured by model."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    models = sorted(quality["model"].unique())
    cmap = plt.get_cmap("tab20" if len(models) > 10 else "tab10")
    for i, m in enumerate(models):
        q = quality[quality["model"] == m]
        ax.scatter(q["accuracy"], q["risk"], s=22, color=cmap(i % cmap.N), label=m, alpha=0.85)
    ax.set_xlabel("annotation accuracy against gold")
    ax.set_ylabel("LLM-hacking risk of the configuration")
    title = "Better annotators reduce, but do not remove, the risk"
    if rho is not None:
        title += f"\n(Spearman rho = {rho:.2f})"
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    if len(models) <= 20:
        ax.legend(fontsize=7, frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def risk_vs_gold(by_effect: pd.DataFrame, by_p: pd.DataFrame, alpha: float):
    """Two panels: risk against |gold effect| and against the gold p-value (log scale, alpha marked)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    x = by_effect["abs_gold_effect_median"].to_numpy(dtype=float)
    r, lo, hi = (by_effect[c].to_numpy(dtype=float) for c in ("risk", "ci_low", "ci_high"))
    ax.errorbar(x, r, yerr=[r - lo, hi - r], marker="o", capsize=3)
    ax.set_xlabel("|gold effect| (p_a - p_b), bin median")
    ax.set_ylabel("risk (share of configurations wrong)")
    ax.set_title("Risk against the gold effect size")
    ax.set_ylim(bottom=0)
    ax = axes[1]
    x = by_p["gold_p_value_median"].clip(lower=1e-16).to_numpy(dtype=float)
    r, lo, hi = (by_p[c].to_numpy(dtype=float) for c in ("risk", "ci_low", "ci_high"))
    ax.errorbar(x, r, yerr=[r - lo, hi - r], marker="o", capsize=3)
    ax.axvline(alpha, color="k", ls="--", lw=1, label=f"alpha = {alpha:g}")
    ax.set_xscale("log")
    ax.set_xlabel("gold p-value, bin median (log scale)")
    ax.set_title("Risk is highest near the threshold")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def spec_curve(curve: pd.DataFrame, title: str = ""):
    """Specification curve: every configuration's estimate and CI, sorted, with the gold estimate."""
    gold = curve[curve["rank"] == 0].iloc[0]
    c = curve[curve["rank"] > 0]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    for concl, color in CONCLUSION_COLORS.items():
        m = (c["conclusion"] == concl).to_numpy()
        if not m.any():
            continue
        x = c["rank"].to_numpy()[m]
        e = c["effect"].to_numpy(dtype=float)[m]
        lo, hi = c["ci_low"].to_numpy(dtype=float)[m], c["ci_high"].to_numpy(dtype=float)[m]
        ax.errorbar(x, e, yerr=[e - lo, hi - e], fmt="o", ms=3, color=color, elinewidth=0.8, label=concl)
    ax.axhspan(float(gold["ci_low"]), float(gold["ci_high"]), color="k", alpha=0.08, label="gold 95% CI")
    ax.axhline(float(gold["effect"]), color="k", lw=1.2, label=f"gold ({gold['conclusion']})")
    ax.axhline(0, color="grey", lw=0.6, ls=":")
    ax.set_ylabel("p_a - p_b")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside the estimates
    ax.set_title(title or "Specification curve")
    models = sorted(c["model"].unique())
    idx = {m: i for i, m in enumerate(models)}
    ax2.scatter(c["rank"], [idx[m] for m in c["model"]], s=6, c=[CONCLUSION_COLORS[x] for x in c["conclusion"]])
    ax2.set_yticks(range(len(models)), models, fontsize=7 if len(models) <= 20 else 5)
    ax2.set_xlabel("configurations, sorted by estimate")
    fig.tight_layout()
    return fig


def hacking_curve(curve: pd.DataFrame):
    """Chance that at least one of k random configurations gives the wanted conclusion."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for goal, g in curve.groupby("goal", sort=False):
        ax.plot(g["k_configurations"], g["prob_success"], marker=".", label=goal)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("configurations tried (k)")
    ax.set_ylabel("share of eligible hypotheses flipped")
    ax.set_title("How few configurations suffice to hack a conclusion")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def mitigation(summary: pd.DataFrame):
    """Type I and Type II rates by method and human sample size."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    styles = {"human_only": "o-", "ppi": "s-", "llm_only": "--"}
    for (method, labels), g in summary.groupby(["method", "human_labels"], sort=False):
        name = method if labels in ("none", "gold") else f"{method} ({labels})"
        ls = styles.get(method, "o-") if labels != "human_single" else styles.get(method, "o-").replace("-", ":")
        for ax, col in zip(axes, ("type_I_rate", "type_II_rate")):
            ax.errorbar(g["n_human"].to_numpy(dtype=float), g[col].to_numpy(dtype=float),
                        yerr=g[f"{col}_sd"].fillna(0).to_numpy(dtype=float), fmt=ls, capsize=2, label=name, ms=4)
    axes[0].set_title("Type I rate (gold null, significant)")
    axes[1].set_title("Type II rate (gold effect, not significant)")
    sizes = sorted(summary["n_human"].dropna().unique())
    for ax in axes:
        ax.set_xscale("log")
        if sizes:  # ticks at the sample sizes run, plainly labelled (log minor labels run into each other)
            ax.set_xticks(sizes, [f"{v:g}" for v in sizes])
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("human-labelled items n")
        ax.set_ylim(bottom=0)
    axes[0].set_ylabel("rate (mean ± sd over subsamples)")
    axes[1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


# ---- paper tables: the columns the .tex files show ------------------------------------------------------

CONFIGURATIONS_TEX_COLUMNS: TexColumns = {
    "model": "Model", "prompt": "Prompt", "temperature": "Temperature", "seed": "Seed", "accuracy": "Accuracy",
    "macro_f1": "Macro-F1", "risk": "Risk", "type_I": "Type I", "type_II": "Type II", "type_S": "Type S"}
"""Columns of the per-configuration table a paper shows (config id, valid-label count and coverage stay in the CSV)."""

HYPOTHESES_TEX_COLUMNS: TexColumns = {
    "hypothesis_id": "Hypothesis", "label_value": "Label", "group_column": "Covariate", "group_a": "Group a",
    "group_b": "Group b", "gold_n_a": "n a", "gold_n_b": "n b", "gold_effect": "Difference (gold)",
    "gold_p_value": "p (gold)", "gold_conclusion": "Gold conclusion"}
"""Columns of the hypotheses table a paper shows (label counts, log odds ratio and its se stay in the CSV)."""

HACKING_PER_HYPOTHESIS_TEX_COLUMNS: TexColumns = {
    "hypothesis_id": "Hypothesis", "gold_effect": "Difference (gold)", "gold_p_value": "p (gold)",
    "gold_conclusion": "Gold conclusion", "n_configurations": "Configurations", "n_false_positive": "Falsely significant",
    "n_hide": "Hidden", "n_reverse": "Reversed"}
"""Columns of the per-hypothesis hacking table a paper shows (the hypothesis parts are in the hypotheses table)."""

REAL_TEX_COLUMNS: dict[str, TexColumns] = {
    "source_flips": {
        "label_value": "Label", "group_a": "Source a", "group_b": "Source b", "gold_effect": "Difference (gold)",
        "gold_p_value": "p (gold)", "gold_conclusion": "Gold conclusion", "n_configurations": "Configurations",
        "share_wrong": "Share wrong", "n_type_S": "Reversed", "models_flipping": "Models flipping"}}
"""Columns the .tex files of the wide real-data findings show, by finding (the others show every column)."""


def spec_curve_tex_columns(confidence: float = 0.95) -> TexColumns:
    """Columns of the specification-curve table a paper shows, the effect merged with its CI."""
    return {"rank": "Rank", "model": "Model", "prompt": "Prompt", "temperature": "Temperature", "seed": "Seed",
            ("effect", "ci_low", "ci_high"): f"Difference {ci_label(confidence)}", "p_value": "p",
            "conclusion": "Conclusion", "error": "Error"}


def mitigation_tex_columns(alpha: float = 0.05) -> TexColumns:
    """Columns of the mitigation table a paper shows: the mean rates (their sd over subsamples stay in the CSV)."""
    return {"method": "Method", "human_labels": "Human labels", "n_human": "n human", "type_I_rate": "Type I rate",
            "type_II_rate": "Type II rate", "type_S_rate": "Type S rate", "risk": "Risk",
            "rmse_effect": "RMSE of effect", "ci_coverage": f"Coverage of {1 - alpha:.0%} CI"}


def risk_tex_columns(factor: str) -> TexColumns:
    """Columns of a risk-by-factor table a paper shows: the risk, its item-bootstrap CI and the error shares
    (the CI over hypotheses and the counts stay in the CSV)."""
    return {factor: factor.capitalize(), "n_pairs": "Pairs", "risk": "Risk", "ci_low": "95% CI low",
            "ci_high": "95% CI high", "type_I": "Type I", "type_II": "Type II", "type_S": "Type S"}
