"""Figures of the sycophancy-correlation study (matplotlib; each returns a Figure), and the columns its
wide tables (per-model, pooled, trait-truthfulness gap) show in a paper."""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from studykit.contract.outputs import ci_label
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

HIGH, LOW, SIG, NONSIG = "#c0392b", "#2471a3", "#1b2631", "#aab7b8"


def _grid(n: int, ncols: int = 4, size: float = 2.6):
    """Panels in a grid of at most ``ncols`` columns; constrained layout keeps the suptitle, panel titles and
    tick labels apart; the lowest panel of each column shows its x tick labels even when the last row is
    only partly filled."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    size = max(size, 5.2 / ncols)  # a single panel still leaves room for the suptitle
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 0.9 + 0.5), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.set_visible(False)
    for col in range(ncols):
        shown = [ax for ax in axes[:, col] if ax.get_visible()]
        if shown:
            shown[-1].tick_params(labelbottom=True)
            shown[-1].set_xlabel(" ")  # placeholder, the caller names the axis
    return fig, flat


def _sig_legend(ax, **kw):
    """Legend naming the two colours used for significant and not significant models."""
    handles = [Line2D([], [], color=SIG, marker="o", ls="-", lw=1, ms=5, label="significant (corrected)"),
               Line2D([], [], color=NONSIG, marker="o", ls="-", lw=1, ms=5, label="not significant")]
    ax.legend(handles=handles, fontsize=7, frameon=False, **kw)


def _log_ticks(ax, lo: float, hi: float):
    """Log x axis spanning at least a factor 16 around [lo, hi], ticked at 1-2-5, 1-3 or 10 steps as the
    span widens, labelled plainly (no minor-tick labels that run into each other)."""
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo > 0 and hi > 0):
        return
    mid = math.sqrt(lo * hi)
    span = max(hi / lo, 16.0)
    lo, hi = min(lo / 1.3, mid / math.sqrt(span)), max(hi * 1.3, mid * math.sqrt(span))
    ax.set_xlim(lo, hi)
    # 1-2-5 steps over two decades, 1-3 over three, powers of ten beyond, so labels never crowd
    steps = (1, 2, 5) if hi / lo <= 1e2 else (1, 3) if hi / lo <= 1e3 else (1,)
    ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
             for m in steps]
    ticks = [t for t in ticks if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


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
        if ax.get_visible() and ax.get_xlabel():  # the lowest panel of each column
            ax.set_xlabel("agreeableness", fontsize=8)
        if ax.get_visible() and ax.get_subplotspec().is_first_col():
            ax.set_ylabel("sycophancy rate", fontsize=8)
    width = fig.get_figwidth()
    fig.suptitle(textwrap.fill("Persona sycophancy rate vs agreeableness (dashed: assistant baseline; "
                               "* and dark points: significant)", width=int(width * 13)), fontsize=9)
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
    fig, ax = plt.subplots(figsize=(max(5.0, 0.28 * mat.shape[1] + 2.5), max(3.2, 0.32 * mat.shape[0] + 1.5)))
    im = ax.imshow(np.ma.masked_invalid(mat.to_numpy(dtype=float)), cmap="RdBu_r", vmin=-lim, vmax=lim,
                   aspect="auto")
    ax.set_xticks(range(mat.shape[1]))
    ax.set_xticklabels(mat.columns, rotation=90, fontsize=6)
    ax.set_yticks(range(mat.shape[0]))
    ax.set_yticklabels(mat.index, fontsize=7)
    fig.colorbar(im, ax=ax, label="Pearson r", shrink=0.8)
    ax.set_title("Pearson r of agreeableness vs sycophancy rate,\nby prompt category (blank: undefined)",
                 fontsize=9)
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
    # vertical labels: long model names at 45 degrees run into their neighbours' label boxes
    ax.set_xticklabels(models, rotation=90 if len(models) > 3 else 0, fontsize=7)
    ax.set_ylabel("persona sycophancy rate")
    handles = [Line2D([], [], color=c, lw=6, alpha=0.55, label=f"{g} agreeableness")
               for g, c in (("low", LOW), ("high", HIGH))]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Median split: low vs high agreeableness personas", fontsize=9)
    fig.tight_layout()
    return fig


def size_plot(per_model: pd.DataFrame):
    """Per-model Pearson r (with CI) against model size (log scale)."""
    df = per_model.dropna(subset=["model_params_b"]) if "model_params_b" in per_model else per_model.iloc[:0]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))  # room for the legend beside the axes
    for _, row in df.iterrows():
        c = SIG if row["significant"] else NONSIG
        ax.plot([row["model_params_b"]] * 2, [row["r_ci_low"], row["r_ci_high"]], color=c, lw=1)
        ax.plot(row["model_params_b"], row["pearson_r"], "o", color=c, ms=5)
    ax.set_xscale("log")
    if len(df):
        _log_ticks(ax, df["model_params_b"].min(), df["model_params_b"].max())
    ax.axhline(0, color="0.5", lw=0.8)
    _sig_legend(ax, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xlabel("model size (billions of parameters, log scale)")
    ax.set_ylabel("Pearson r")
    ax.set_title("Agreeableness-sycophancy correlation vs model size", fontsize=9)
    fig.tight_layout()
    return fig


def per_model_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the per-model table a paper shows, with their headers (for ``save_table``'s
    ``tex_columns``; the CSV keeps every column). The slope is the crossed-design one (the same estimate as
    the persona-averaged slope when every cell is answered) with its two-way clustered interval."""
    ci = ci_label(confidence)
    return {"model": "Model", "n_personas": "Personas", ("pearson_r", "r_ci_low", "r_ci_high"): f"r {ci}",
            "spearman_rho": "Spearman rho", ("cohens_d", "d_ci_low", "d_ci_high"): f"Cohen's d {ci}",
            ("slope_crossed", "slope_crossed_ci_low", "slope_crossed_ci_high"): f"Slope, crossed {ci}",
            ("mean_shift", "shift_ci_low", "shift_ci_high"): f"Shift vs baseline {ci}",
            "p_value_corrected": "p (adjusted)", "significant": "Significant",
            "significant_crossed": "Significant (crossed)"}


def pooled_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the pooled-slope table a paper shows (the SE and ``converged``, implied by the method,
    stay in the CSV)."""
    return {"method": "Method", "n_models": "Models", "n_obs": "Observations",
            ("slope", "slope_ci_low", "slope_ci_high"): f"Slope {ci_label(confidence)}", "slope_p_value": "p",
            "slope_sd_between": "SD of slopes between models", "attempt": "Fitting attempt"}


def trait_truthfulness_gap_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the trait-truthfulness-gap table a paper shows, gaps merged with their paired CIs
    (low/high A: the personas below/above the model's median agreeableness)."""
    ci = ci_label(confidence)
    return {"model": "Model", "baseline_rate": "Baseline rate", "rate_low": "Rate, low A",
            "rate_high": "Rate, high A", "mean_shift": "Mean shift",
            ("gap_low", "gap_low_ci_low", "gap_low_ci_high"): f"Gap, low A {ci}",
            ("gap_high", "gap_high_ci_low", "gap_high_ci_high"): f"Gap, high A {ci}",
            "gap_high_p_value": "p (gap, high A)", "zone": "Zone"}


def per_model_rates_tex_columns(confidence: float = 0.95) -> dict[str | tuple[str, str, str], str]:
    """The columns of the aggregated-rates per-model table a paper shows (``data_format: rates``): the shift and
    the manipulation check against the baseline, and the persona-level association, each with its corrected p."""
    ci = ci_label(confidence)
    return {"model": "Model", "n_personas": "Personas",
            ("shift", "shift_ci_low", "shift_ci_high"): f"Shift vs baseline {ci}", "shift_p_value_corrected": "p shift",
            ("manipulation", "manipulation_ci_low", "manipulation_ci_high"): f"Agreeableness vs baseline {ci}",
            "manipulation_p_value_corrected": "p agreeableness", "persona_r": "r (personas)",
            ("slope", "slope_ci_low", "slope_ci_high"): f"Slope {ci}", "slope_p_value_corrected": "p slope",
            "rows_r": "r (rows, descriptive)"}
