"""Figures of the code-survival study (matplotlib; each returns a Figure)."""
from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from studykit.contract.outputs import TexColumns, ci_label, present_columns  # noqa: E402

COLORS = {"agent": "#c0392b", "human": "#2c3e50"}


def _log_ticks(ax, values: list[float]):
    """Log x axis over ``values`` (clipped as the intervals are), spanning at least a factor 16 and ticked
    at 1-2-5, 1-3 or 10 steps as the span widens, labelled plainly (no minor-tick labels that run
    into each other)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    vals = [min(max(float(v), 1e-3), 1e3) for v in values]
    lo, hi = min(vals), max(vals)
    mid = (lo * hi) ** 0.5
    span = max(hi / lo, 16.0)
    lo, hi = min(lo / 1.2, mid / span ** 0.5), max(hi * 1.2, mid * span ** 0.5)
    ax.set_xlim(lo, hi)
    # 1-2-5 steps over two decades, 1-3 over three, powers of ten beyond, so labels never crowd
    steps = (1, 2, 5) if hi / lo <= 1e2 else (1, 3) if hi / lo <= 1e3 else (1,)
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
             for m in steps]
    ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if lo <= t <= hi]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def km_curves(fits: dict[str, Any], title: str, max_days: float | None = None, ci: bool = True):
    """Kaplan-Meier survival curves with confidence bands, one line per group."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    cmap = plt.get_cmap("tab10")
    for i, (label, kmf) in enumerate(fits.items()):
        color = COLORS.get(label, cmap(i % 10))
        kmf.plot_survival_function(ax=ax, ci_show=ci, color=color, label=f"{label} (n={len(kmf.durations):,})")
    ax.set_xlabel("days since the line was written")
    ax.set_ylabel("share of lines not yet modified")
    if max_days:
        ax.set_xlim(0, max_days)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    # outside the axes: with many groups an inside legend covers the curves
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def hr_forest(per_agent: pd.DataFrame, overall: Any, adjusted: Any | None = None):
    """Per-agent hazard ratios vs human lines, with the pooled agent-vs-human HR(s) on top."""
    rows = [("all agents (unadjusted)", overall.hr, overall.ci_low, overall.ci_high)]
    if adjusted is not None:
        rows.append(("all agents (adjusted)", adjusted.hr, adjusted.ci_low, adjusted.ci_high))
    rows += [(f"{r.agent} (n={r.units:,})", r.hr_vs_human, r.ci_low, r.ci_high) for r in per_agent.itertuples()]
    # not estimable HRs (no numbers) keep their row, labelled, without a marker
    rows = [(lab if pd.notna(hr) else f"{lab}: not estimable", hr, lo, hi) for lab, hr, lo, hi in rows]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    for yi, (lab, hr, lo, hi) in zip(y, rows):
        if pd.isna(hr) or pd.isna(lo) or pd.isna(hi):
            continue
        lo, hi = max(float(lo), 1e-3), min(float(hi), 1e3)  # unbounded profile intervals end at the axis edge
        color = COLORS["agent"] if lab.startswith("all agents") else "#555555"
        ax.plot([lo, hi], [yi, yi], color=color, lw=2)
        ax.plot([hr], [yi], "o", color=color)
    ax.axvline(1.0, color="grey", ls="--", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.set_xscale("log")
    _log_ticks(ax, [v for r in rows for v in (r[2], r[3]) if pd.notna(v)] + [1.0])
    ax.set_xlabel("hazard ratio of modification vs human lines (log scale)")
    fig.tight_layout()
    return fig


def intent_bars(long: pd.DataFrame):
    """Share of each intent among the changes that ended agent and human lines."""
    piv = long.pivot(index="intent", columns="author_type", values="share").fillna(0)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(piv) + 1.5), 3.6))
    x = np.arange(len(piv))
    w = 0.38
    for k, g in enumerate([c for c in ("agent", "human") if c in piv.columns]):
        ax.bar(x + (k - 0.5) * w, piv[g].to_numpy(), w, label=g, color=COLORS[g])
    ax.set_xticks(x)
    ax.set_xticklabels(piv.index, rotation=90 if len(piv) > 6 else 0)  # many intents: vertical labels
    ax.set_ylabel("share of ending changes")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def roc_curve_plot(roc: pd.DataFrame, auc: float):
    """Out-of-fold ROC curve of the modification-within-horizon classifier."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    label = f"AUC = {auc:.3f}" if auc is not None and np.isfinite(auc) else "AUC not estimable"
    if {"fpr", "tpr"} <= set(roc.columns) and len(roc):
        ax.plot(roc["fpr"], roc["tpr"], color=COLORS["agent"], label=label)
    else:  # no model (not estimable): the chance line and the reason's short form
        ax.plot([], [], color=COLORS["agent"], label=label)
        ax.text(0.5, 0.6, "not estimable", ha="center", va="center", color="grey", transform=ax.transAxes)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


# Paper views of the wide tables (``save_table``'s ``tex_columns``): the identifying columns, the estimate with
# its CI, the test's p and the sample sizes; diagnostics (SEs, reference df, variance labels, CI methods, notes)
# stay in the CSV and HTML files, which keep every column.


def cox_agent_tex_columns(confidence: float = 0.95) -> TexColumns:
    """The columns of the agent-vs-human Cox table a paper shows, with their headers."""
    return {"role": "Role", "model": "Model", "n_units": "Lines", "n_events": "Events",
            ("hr", "ci_low", "ci_high"): f"HR {ci_label(confidence)}", "p_value": "p", "ph_p_value": "p (PH test)"}


def intent_test_tex_columns(confidence: float = 0.95, present: Any = None) -> TexColumns:
    """The columns of the intent chi-square table a paper shows, with their headers; only those in ``present``
    (the table's columns) when given, since the table has no columns when the test is not estimable."""
    view = {"unit": "Unit", "n": "n", "chi2": "Chi-square", "df": "df", "p_value": "p",
            ("cramers_v", "cramers_v_ci_low", "cramers_v_ci_high"): f"Cramér's V {ci_label(confidence)}",
            "n_lines": "Lines", "line_p_value": "p (lines as independent)"}
    return view if present is None else present_columns(view, present)


def prediction_summary_tex_columns(confidence: float = 0.95) -> TexColumns:
    """The columns of the prediction summary a paper shows, with their headers."""
    return {"features": "Features", "n_units": "Lines", "n_repos": "Repositories", "positive_share": "Modified share",
            "folds": "Folds", ("auc_roc", "auc_ci_low", "auc_ci_high"): f"AUC-ROC {ci_label(confidence)}",
            "timing_n_units": "Lines (timing)", "timing_macro_f1": "Timing macro-F1",
            "timing_majority_macro_f1": "Majority-class macro-F1"}
