"""Figures of the counterfactual_baselines study (matplotlib; they take analysis tables)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from studykit.contract.outputs import TexColumns, ci_label, present_columns

KIND_STYLE = {"target": ("#c0392b", "o"), "baseline": ("#7f8c8d", "s")}
METRIC_STYLE = {"aggregate": ("#2471a3", "s", "--"), "per-sample": ("#c0392b", "o", "-"),
                "regression": ("#1e8449", "^", "-.")}


def flip_rate_dots(rates: pd.DataFrame):
    """Dot plot: flip rate (Wilson CI) of each target and its baseline; one row of panels per model, one
    column per task.

    Each target sits on its own line with its baseline just below it, so the
    comparison the study is about is the vertical pair of dots.
    """
    import matplotlib.pyplot as plt

    models = sorted(rates["model"].unique())
    tasks = sorted(rates["task"].unique())
    pairs = sorted(rates["pair"].unique())
    nrow, ncol = len(models), len(tasks)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.3 * ncol + 1.2, 0.45 * len(pairs) * nrow + 0.9 * nrow + 0.6),
                             sharex=True, sharey=True, squeeze=False)
    ypos = {}
    for j, p in enumerate(pairs):
        ypos[(p, "target")] = 2.2 * j
        ypos[(p, "baseline")] = 2.2 * j + 0.8
    for r_i, model in enumerate(models):
        for c_i, task in enumerate(tasks):
            ax = axes[r_i, c_i]
            sub = rates[(rates["model"] == model) & (rates["task"] == task)]
            ax.set_title(f"{model} / {task}", fontsize=9)
            ax.grid(axis="x", alpha=0.3)
            ax.tick_params(labelsize=8)
            if sub.empty:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="grey")
                continue
            for kind, (color, marker) in KIND_STYLE.items():
                k = sub[sub["variant_kind"] == kind]
                if k.empty:
                    continue
                y = np.array([ypos[(p, kind)] for p in k["pair"]], float)
                x, lo, hi = (k[c].to_numpy(float) for c in ("flip_rate", "ci_low", "ci_high"))
                ax.errorbar(x, y, xerr=np.vstack([x - lo, hi - x]), fmt=marker, color=color, ms=5, capsize=2,
                            lw=1)
    ax0 = axes[0, 0]
    ax0.set_yticks([2.2 * j + 0.4 for j in range(len(pairs))], pairs)
    ax0.set_ylim(2.2 * len(pairs) - 0.8, -0.6)
    for ax in axes[-1]:
        ax.set_xlabel("flip rate vs original")
    handles = [plt.Line2D([], [], color=c, marker=m, ls="", label=k) for k, (c, m) in KIND_STYLE.items()]
    fig.legend(handles=handles, loc="upper center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def test_forest(tests: pd.DataFrame, metric: str = "flip_rate"):
    """Forest plot of target - baseline differences (bootstrap CI) of one metric; filled = significant."""
    import matplotlib.pyplot as plt

    sub = tests[tests["metric"] == metric].reset_index(drop=True)
    longest = max((len(f"{r.model} / {r.task} / {r.target}") for r in sub.itertuples()), default=0)
    fig, ax = plt.subplots(figsize=(max(6.5, 3.8 + 0.06 * longest), 0.28 * len(sub) + 1.2))
    y = np.arange(len(sub))
    for i, r in sub.iterrows():
        color = "#c0392b" if r["significant"] else "#555555"
        d, lo, hi = float(r["diff"]), float(r["ci_low"]), float(r["ci_high"])
        ax.errorbar(d, i, xerr=[[d - lo], [hi - d]], fmt="o",
                    color=color, mfc=color if r["significant"] else "white", ms=5, capsize=2, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{r.model} / {r.task} / {r.target}" for r in sub.itertuples()], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric}: target - baseline (paired bootstrap CI)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def power_plot(power: pd.DataFrame):
    """Power curves (Monte Carlo, Wilson band) of aggregate vs per-sample vs regression metrics."""
    import matplotlib.pyplot as plt

    scen = list(dict.fromkeys(power["scenario"]))
    fig, axes = plt.subplots(1, len(scen), figsize=(4.6 * len(scen), 3.6), sharey=True, squeeze=False)
    for ax, s in zip(axes[0], scen):
        sub = power[power["scenario"] == s]
        for metric, g in sub.groupby("metric", sort=False):
            c, m, ls = METRIC_STYLE.get(metric, ("black", "o", "-"))
            ax.plot(g["effect"], g["power"], marker=m, ls=ls, color=c, label=metric, ms=4)
            ax.fill_between(g["effect"], g["ci_low"], g["ci_high"], color=c, alpha=0.15, lw=0)
        ax.axhline(0.8, color="grey", lw=0.6, ls=":")
        ax.set_title(f"{s.replace('_', ' ')} edit (n = {int(sub['n_items'].iloc[0])} items)", fontsize=9)
        ax.set_xlabel("planted attribute effect (share of items moved)")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("power")
    # one legend for every panel, beside the last one: inside an axes it would cover a power curve
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, -1].legend(handles, labels, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def direction_plot(direction: pd.DataFrame):
    """Directional coefficient beta (cluster-robust CI) per model x task x target, pooled first."""
    import matplotlib.pyplot as plt

    d = direction.reset_index(drop=True)
    labels = [f"{r.scope}: {r.model} / {r.task} / {r.target} ({r.control})" for r in d.itertuples()]
    longest = max((len(t) for t in labels), default=0)
    # the axes keeps about 3.5 in next to its tick labels (7 pt, about 0.06 in a character)
    fig, ax = plt.subplots(figsize=(max(6.0, 3.8 + 0.06 * longest), 0.32 * len(d) + 1.2))
    for i, r in d.iterrows():
        color = "#1e8449" if r["scope"] == "pooled" else "#333333"
        b, lo, hi = float(r["beta"]), float(r["ci_low"]), float(r["ci_high"])
        ax.errorbar(b, i, xerr=[[b - lo], [hi - b]], fmt="D"
                    if r["scope"] == "pooled" else "o", color=color, ms=5, capsize=2, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(d)), labels, fontsize=7)
    ax.invert_yaxis()
    resp = d["response"].iloc[0] if len(d) else ""
    ax.set_xlabel(f"beta: change in {'logit' if resp == 'logit' else 'answer'} per unit of direction")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


# ---- paper views of the tables (``save_table``'s ``tex_columns``; the CSV keeps every column) ----------------

#: readable names of the corrections of :class:`.schema.Params` ``correction``, for a "p (...)" header
CORRECTION_LABEL = {"bonferroni": "Bonferroni", "holm": "Holm", "hochberg": "Hochberg", "fdr_bh": "BH",
                    "fdr_by": "BY", "none": "unadjusted"}



def tests_tex_columns(confidence: float = 0.95, correction: str = "holm") -> TexColumns:
    """The target-vs-baseline tests a paper shows: cell, metric, n, both statistics, difference [CI], adjusted p."""
    return {"model": "Model", "task": "Task", "target": "Target", "metric": "Metric", "n_items": "n",
            "stat_target": "Target value", "stat_baseline": "Baseline value",
            ("diff", "ci_low", "ci_high"): f"Difference {ci_label(confidence)}",
            "p_value_corrected": f"p ({CORRECTION_LABEL.get(correction, correction)})", "significant": "Significant"}


def tests_with_defective_tex_columns(confidence: float = 0.95, correction: str = "holm") -> TexColumns:
    """The flip-rate tests without and with the defective baselines side by side: n, difference [CI], adjusted p."""
    p = f"p ({CORRECTION_LABEL.get(correction, correction)})"
    return {"model": "Model", "task": "Task", "target": "Target", "n_items": "n",
            ("diff", "ci_low", "ci_high"): f"Difference {ci_label(confidence)}", "p_value_corrected": p,
            "n_items_with_defective": "n, with defective",
            ("diff_with_defective", "ci_low_with_defective", "ci_high_with_defective"):
                f"Difference, with defective {ci_label(confidence)}",
            "p_value_corrected_with_defective": f"{p}, with defective"}


def direction_tex_columns(confidence: float = 0.95) -> TexColumns:
    """The directional fits a paper shows: fit, control, items, beta [CI] and p with and without the control."""
    return {"scope": "Fit", "model": "Model", "task": "Task", "target": "Target", "control": "Control",
            "n_clusters": "Items", ("beta", "ci_low", "ci_high"): f"beta {ci_label(confidence)}", "p_value": "p",
            "gamma": "gamma",
            ("beta_no_control", "ci_low_no_control", "ci_high_no_control"): f"beta, no control {ci_label(confidence)}"}


def power_tex_columns(columns=None) -> TexColumns:
    """The power curves a paper shows (of ``columns`` when given: the table of a skipped simulation has fewer)."""
    view: TexColumns = {"scenario": "Scenario", "effect": "Planted effect", "metric": "Metric",
                     ("power", "ci_low", "ci_high"): "Power [95% CI]", "flip_increase": "Flip-rate increase",
                     "n_items": "Items", "reps": "Simulations"}
    return view if columns is None else present_columns(view, columns)


def recovery_tex_columns(confidence: float = 0.95) -> TexColumns:
    """Planted vs estimated a paper shows: quantity, cell, planted value, estimate [CI], verdicts."""
    return {"quantity": "Quantity", "model": "Model", "task": "Task", "target": "Target", "planted": "Planted",
            ("estimate", "ci_low", "ci_high"): f"Estimate {ci_label(confidence)}", "significant": "Significant",
            "detected_any_metric": "Detected (any metric)", "covered": "CI covers planted"}
