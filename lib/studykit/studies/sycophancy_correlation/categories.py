"""Agreeableness-sycophancy correlation per prompt category, and its association with model size."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from studykit import stats
from studykit.contract.issues import DataIssue, examples
from studykit.stats.results import Result
from studykit.studies.sycophancy_correlation.rates import MIN_PERSONAS, Rates


def category_correlations(rates: Rates, *, confidence: float = 0.95,
                          min_personas: int = MIN_PERSONAS) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    r"""Pearson r between agreeableness and the per-category rate, per model x category (vectorised).

    For every cell at once: :math:`r = S_{xy}/\sqrt{S_{xx}S_{yy}}` from centred sums,
    :math:`t = r\sqrt{(n-2)/(1-r^2)}` with a two-sided p on :math:`n-2` df, and the Fisher-z CI
    :math:`\tanh(\operatorname{atanh} r \pm z_{1-\alpha/2}/\sqrt{n-3})` -- the same quantities as
    :func:`studykit.stats.pearson_r` (checked in the tests), without 400+ Python calls.
    Cells with fewer than ``min_personas`` personas or constant values have no r; they
    are kept in the table with ``note`` saying why, and counted in a DataIssue.
    """
    ok = rates.models.loc[rates.models["status"] == "ok", "model"]
    cats = rates.categories[rates.categories["model"].isin(ok)][["model", "category", "agreeableness", "rate"]]
    keys = ["model", "category"]
    g = cats.groupby(keys, sort=True)
    means = g[["agreeableness", "rate"]].transform("mean")
    dx = cats["agreeableness"] - means["agreeableness"]
    dy = cats["rate"] - means["rate"]
    sums = (cats[keys].assign(sxx=dx * dx, syy=dy * dy, sxy=dx * dy, one=1)
            .groupby(keys, sort=True)[["sxx", "syy", "sxy", "one"]].sum())
    mean_rate = g["rate"].mean()
    n = sums["one"].to_numpy()
    sxx, syy, sxy = (sums[c].to_numpy() for c in ("sxx", "syy", "sxy"))
    # constant values: zero centred sum of squares (relative to the scale of the data)
    defined = (n >= min_personas) & (sxx > 1e-24) & (syy > 1e-24)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(defined, sxy / np.sqrt(sxx * syy), np.nan)
        r = np.clip(r, -1.0, 1.0)
        df_ = n - 2
        t = r * np.sqrt(df_ / np.maximum(1 - r * r, 1e-300))
        p = np.where(defined, np.minimum(1.0, 2 * sps.t.sf(np.abs(t), np.maximum(df_, 1))), np.nan)
        z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
        h = sps.norm.ppf(0.5 + confidence / 2) / np.sqrt(np.maximum(n - 3, 1))
        lo, hi = np.where(defined, np.tanh(z - h), np.nan), np.where(defined, np.tanh(z + h), np.nan)
    table = sums.index.to_frame(index=False)
    table["n_personas"] = n.astype(int)
    table["mean_rate"] = mean_rate.to_numpy()
    table["r"], table["r_ci_low"], table["r_ci_high"], table["p_value_two_sided"] = r, lo, hi, p
    table["note"] = np.where(defined, "", f"fewer than {min_personas} personas or constant values: r undefined")
    issues = ()
    if (~defined).any():
        bad = table.loc[~defined, "model"] + "/" + table.loc[~defined, "category"]
        issues = (DataIssue("category_r_undefined", int((~defined).sum()),
                            f"model x category cell with fewer than {min_personas} personas or constant values: "
                            "r left empty (blank in the heatmap)", examples(bad)),)
    return table, issues


@dataclass(frozen=True)
class CategorySummary(Result):
    """``n``: categories in the table; ``share_positive_r``: share of model x category cells with r > 0
    (cells without r count as not positive)."""

    n: int
    share_positive_r: float


def category_summary(table: pd.DataFrame) -> CategorySummary:
    """The two category numbers recorded in ``results.json`` (``categories.*``)."""
    return CategorySummary(int(table["category"].nunique()), float((table["r"] > 0).mean()))


def size_association(per_model: pd.DataFrame, sizes: pd.Series | None) -> pd.DataFrame:
    """Spearman rho (and Pearson r on log10 size) of model size with r, d and slope across models.

    Needs at least 4 models with a size (the Fisher-z CI needs n > 3); otherwise the row
    says why in ``note`` and the statistics are empty.
    """
    if sizes is None:
        return pd.DataFrame(columns=["statistic", "n_models", "spearman_rho", "spearman_p_value", "pearson_r_log10",
                                     "pearson_p_value_log10", "note"])
    df = per_model.assign(size=per_model["model"].map(sizes).astype(float)).dropna(subset=["size"])
    rows = []
    for col in ("pearson_r", "cohens_d", "slope", "mean_shift"):
        sub = df.dropna(subset=[col])
        row = {"statistic": col, "n_models": len(sub), "spearman_rho": np.nan, "spearman_p_value": np.nan,
               "pearson_r_log10": np.nan, "pearson_p_value_log10": np.nan, "note": ""}
        if len(sub) >= 4 and np.ptp(sub["size"]) > 0 and np.ptp(sub[col]) > 0:
            s = stats.spearman_rho(sub["size"], sub[col])
            p = stats.pearson_r(np.log10(sub["size"]), sub[col])
            row.update(spearman_rho=s.estimate,
                       spearman_p_value=s.p_value, pearson_r_log10=p.estimate, pearson_p_value_log10=p.p_value)
        else:
            row["note"] = "fewer than 4 models with a size, or constant values: not computed"
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SizeSummary(Result):
    """Spearman rho (and its p) between model size and the per-model Pearson r (``size.*`` keys)."""

    spearman_rho_r: float
    spearman_p_value_r: float


def size_summary(size: pd.DataFrame) -> SizeSummary | None:
    """The size-vs-r association, or None when it was not computed (fewer than 4 models with a size)."""
    if not len(size) or pd.isna(size["spearman_rho"].iloc[0]):
        return None
    return SizeSummary(float(size["spearman_rho"].iloc[0]), float(size["spearman_p_value"].iloc[0]))
