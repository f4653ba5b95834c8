"""Figures of the sycophancy-correlation study (matplotlib; each returns a Figure)."""
from __future__ import annotations

import math


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

HIGH, LOW, SIG, NONSIG = "#c0392b", "#2471a3", "#1b2631", "#aab7b8"


def _grid(n: int, ncols: int = 4, size: float = 2.6):
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 0.9), sharex=True, sharey=True,
                             squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def scatter_grid(persona_rates: pd.DataFrame, per_model: pd.DataFrame, ncols: int = 4):
    """One panel per model: persona rate vs agreeableness, OLS line, baseline rate dashed."""
    pm = per_model.set_index("model")
    models = list(pm.index)
    fig, axes = _grid(len(models), ncols)
    for ax, m in zip(axes, models):
        sub = persona_rates[persona_rates["model"] == m]
        row = pm.loc[m]
        ax.scatter(sub["agreeableness"], sub["rate"], s=6, alpha=0.5, color=SIG if row["significant"] else NONSIG,
                   linewidths=0)
        x = np.linspace(sub["agreeableness"].min(), sub["agreeableness"].max(), 2)
        b = row["slope"]
        a0 = sub["rate"].mean() - b * sub["agreeableness"].mean()
        ax.plot(x, a0 + b * x, color=HIGH, lw=1.4)
        if pd.notna(row["baseline_rate"]):
            ax.axhline(row["baseline_rate"], color="0.3", lw=0.8, ls="--")
        star = "*" if row["significant"] else ""
        ax.set_title(f"{m}{star}\nr = {row['pearson_r']:.2f}, b = {b:.3f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes:
        if ax.get_visible() and ax.get_subplotspec().is_last_row():
            ax.set_xlabel("agreeableness", fontsize=8)
        if ax.get_visible() and ax.get_subplotspec().is_first_col():
            ax.set_ylabel("sycophancy rate", fontsize=8)
    fig.suptitle("Persona sycophancy rate vs agreeableness (dashed: assistant baseline; * significant)",
                 fontsize=9)
    fig.subplots_adjust(hspace=0.45, wspace=0.08, top=0.92)  # cheaper than tight_layout on 13+ panels
    return fig


def forest(per_model: pd.DataFrame):
    """Pearson r and Cohen's d (high vs low) per model with their CIs; filled = significant."""
    df = per_model.sort_values("pearson_r").reset_index(drop=True)
    y = np.arange(len(df))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 0.35 * len(df) + 1.4), sharey=True)
    for ax, est, lo, hi, label in ((ax1, "pearson_r", "r_ci_low", "r_ci_high", "Pearson r (Fisher-z CI)"),
                                   (ax2, "cohens_d", "d_ci_low", "d_ci_high", "Cohen's d, high vs low (CI)")):
        for i, row in df.iterrows():
            c = SIG if row["significant"] else NONSIG
            if pd.notna(row[est]):
                ax.plot([row[lo], row[hi]], [i, i], color=c, lw=1.5)
                ax.plot(row[est], i, "o", color=c, mfc=c if row["significant"] else "white", ms=5)
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel(label, fontsize=9)
        ax.tick_params(labelsize=8)
    ax1.set_yticks(y)
    ax1.set_yticklabels(df["model"])
    fig.suptitle("Per-model effects (filled: significant after correction)", fontsize=9)
    fig.tight_layout()
    return fig


def category_heatmap(cat_table: pd.DataFrame, order: list[str] | None = None):
    """Models x categories heatmap of Pearson r (diverging, centred at 0; blank = undefined)."""
    mat = cat_table.pivot(index="model", columns="category", values="r")
    if order is not None:
        mat = mat.reindex([m for m in order if m in mat.index])
    lim = float(np.nanmax(np.abs(mat.to_numpy()))) if np.isfinite(mat.to_numpy()).any() else 1.0
    fig, ax = plt.subplots(figsize=(0.28 * mat.shape[1] + 2.5, 0.32 * mat.shape[0] + 1.5))
    im = ax.imshow(np.ma.masked_invalid(mat.to_numpy(dtype=float)), cmap="RdBu_r", vmin=-lim, vmax=lim,
                   aspect="auto")
    ax.set_xticks(range(mat.shape[1]))
    ax.set_xticklabels(mat.columns, rotation=90, fontsize=6)
    ax.set_yticks(range(mat.shape[0]))
    ax.set_yticklabels(mat.index, fontsize=7)
    fig.colorbar(im, ax=ax, label="Pearson r (agreeableness vs category rate)", shrink=0.8)
    ax.set_title("Agreeableness-sycophancy correlation by prompt category", fontsize=9)
    fig.tight_layout()
    return fig


def violins(groups: pd.DataFrame, order: list[str] | None = None):
    """High vs low agreeableness persona rates per model (median split), as paired violins."""
    models = order or sorted(groups["model"].unique())
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(models) + 1), 3.6))
    for i, m in enumerate(models):
        sub = groups[groups["model"] == m]
        for grp, dx, color in (("low", -0.2, LOW), ("high", 0.2, HIGH)):
            vals = sub.loc[sub["group"] == grp, "rate"].to_numpy()
            if len(vals) >= 2 and np.ptp(vals) > 0:
                parts = ax.violinplot(vals, positions=[i + dx], widths=0.38, showmedians=True, showextrema=False)
                for body in parts["bodies"]:
                    body.set_facecolor(color)
                    body.set_alpha(0.55)
                parts["cmedians"].set_color(color)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("persona sycophancy rate")
    ax.plot([], [], color=LOW, lw=6, alpha=0.55, label="low agreeableness")
    ax.plot([], [], color=HIGH, lw=6, alpha=0.55, label="high agreeableness")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title("Median split: low vs high agreeableness personas", fontsize=9)
    fig.tight_layout()
    return fig


def size_plot(per_model: pd.DataFrame):
    """Per-model Pearson r (with CI) against model size (log scale)."""
    df = per_model.dropna(subset=["model_params_b"]) if "model_params_b" in per_model else per_model.iloc[:0]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for _, row in df.iterrows():
        c = SIG if row["significant"] else NONSIG
        ax.plot([row["model_params_b"]] * 2, [row["r_ci_low"], row["r_ci_high"]], color=c, lw=1)
        ax.plot(row["model_params_b"], row["pearson_r"], "o", color=c, ms=5)
    ax.set_xscale("log")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("model size (billions of parameters, log scale)")
    ax.set_ylabel("Pearson r")
    ax.set_title("Agreeableness-sycophancy correlation vs model size", fontsize=9)
    fig.tight_layout()
    return fig
