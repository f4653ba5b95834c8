r"""Directional effects: does the edit move the answer one way for one direction and the other way back?

.. math:: s^t_i - s^o_i = \alpha_{c} + \beta\, d_i + \gamma\,(s^b_i - s^o_i) + \varepsilon_i

with :math:`d_i = \pm 1` the direction of the edit (e.g. male->female = +1),
:math:`s` the logit of ``p_positive`` or the 0/1 positive answer (notation of
:mod:`.design`).

References
----------
Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference. J. Hum. Resour. 50(2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from studykit.contract.issues import DataIssue
from studykit.stats.clustered import ols_clustered
from studykit.stats.results import Result

from .design import Design, wide_answers


def _score(answers: pd.DataFrame, positive: dict[str, str | None], eps: float, use_logit: bool) -> pd.Series:
    """Logit of ``p_positive`` (clipped), or 1[answer = the task's positive label] (NaN: no positive label)."""
    if use_logit:
        p = answers["p_positive"].clip(eps, 1 - eps)
        return np.log(p / (1 - p))
    label = answers["task"].map(positive)
    score = (answers["prediction"].astype(str) == label.astype(str)).astype(float)
    return score.where(label.notna())


def directional_frame(design: Design, *, eps: float = 1e-4) -> tuple[pd.DataFrame, tuple[DataIssue, ...]]:
    r"""Rows for the directional regression: one per model x task x item x directional target.

    Score :math:`s` = logit of ``p_positive`` (clipped to :math:`[\epsilon, 1-\epsilon]`) when
    probabilities exist, else the 0/1 indicator of the task's positive label
    (``design.positive_labels``); directional rows of a task without a positive label are
    left out (reported: the direction of a change needs to know which answer is "up").
    Columns: model, task, item_id, target, direction, d_target = :math:`s^t - s^o`,
    d_baseline = :math:`s^b - s^o` (NaN when the model has no baseline answer), response.
    """
    ans = design.answers
    issues: list[DataIssue] = []
    if "direction" not in ans.columns:
        return pd.DataFrame(), ()
    use_logit = design.has_probability
    a = ans.assign(score=_score(ans, design.positive_labels, eps, use_logit))
    if use_logit:
        a = a[a["p_positive"].notna()]
    else:
        no_label = a["score"].isna()
        directional_tasks = sorted(a.loc[a["direction"].notna() & no_label, "task"].unique())
        if directional_tasks:
            issues.append(DataIssue(
                "direction_without_positive_label", len(directional_tasks),
                "without probabilities the directional regression scores 1[answer = positive label]; tasks "
                "whose answers do not include positive_label (set it per task: {task: label}) are not fitted",
                "; ".join(f"{t}: labels {', '.join(design.task_labels[t])}" for t in directional_tasks)))
        a = a[~no_label]
    s = wide_answers(a, "score")
    dirs = wide_answers(a[a["direction"].notna()], "direction")
    rows = []
    for target in sorted(dirs.columns):
        d = dirs[target].dropna()
        if target not in s.columns:
            continue
        idx = d.index.intersection(s.index[s["original"].notna() & s[target].notna()])
        part = pd.DataFrame({"target": target, "direction": d.loc[idx],
                             "d_target": (s.loc[idx, target] - s.loc[idx, "original"])}, index=idx)
        b = design.pairs.get(target)
        part["d_baseline"] = (s.loc[idx, b] - s.loc[idx, "original"]) if b in s.columns else np.nan
        rows.append(part.reset_index())
    if not rows:
        return pd.DataFrame(), tuple(issues)
    out = pd.concat(rows, ignore_index=True)
    out["response"] = "logit" if use_logit else "answer"
    return out, tuple(issues)


def directional_regression(frame: pd.DataFrame, *, confidence: float = 0.95) -> tuple[pd.DataFrame, list[DataIssue]]:
    r"""OLS of the change under the edit on its direction, the baseline change as control.

    .. math:: s^t_i - s^o_i = \alpha_{c} + \beta\, d_i + \gamma\,(s^b_i - s^o_i) + \varepsilon_i

    with :math:`d_i = \pm 1`, :math:`\alpha_c` one intercept per model x task
    x target cell in the pooled fit, standard errors clustered by item
    (CR1, :func:`studykit.stats.clustered.ols_clustered`; t reference with G-1 df).
    :math:`\beta` is half the difference between the two directions' mean
    changes (e.g. male->female minus female->male, halved); the intercept
    absorbs a shift common to both directions. Cells whose model has no
    baseline answers are fitted without the control (``control`` column).
    A constant control (e.g. the baseline never flips) is dropped.

    The control :math:`s^b_i - s^o_i` shares :math:`s^o_i` with the outcome, so
    each row also holds the fit without it (``*_no_control``): with a balanced
    direction both estimate the same :math:`\beta`, the control only removes
    rewording noise common to target and baseline.

    Returns rows ``scope`` (pooled / cell), model, task, target, control,
    response, n_obs, n_clusters, beta, se, ci_low, ci_high, p_value, gamma,
    beta_no_control, se_no_control, ci_low_no_control, ci_high_no_control,
    p_value_no_control.
    """
    if frame.empty:
        return pd.DataFrame(), []
    frame, issues = _without_rows_missing_baseline(frame)
    notes = _FitNotes()
    rows = []
    for (model, task, target), df in frame.groupby(["model", "task", "target"], sort=True):
        rows.append(_fit_direction(df.reset_index(drop=True), "cell", model, task, target, confidence, notes))
    with_ctrl = frame[frame["d_baseline"].notna()]
    pooled = with_ctrl if len(with_ctrl) else frame
    rows.append(_fit_direction(pooled.reset_index(drop=True), "pooled", "all" if pooled["model"].nunique() > 1 else
                               pooled["model"].iloc[0], "all" if pooled["task"].nunique() > 1 else pooled["task"].iloc[0],
                               "all" if pooled["target"].nunique() > 1 else pooled["target"].iloc[0], confidence, notes))
    issues += notes.issues()
    tab = pd.DataFrame([r for r in rows if r is not None])
    if not tab.empty:
        tab = tab.sort_values(["scope", "model", "task", "target"], key=lambda s: s.map(
            lambda v: (0, v) if v == "pooled" else (1, v)) if s.name == "scope" else s,
            kind="mergesort").reset_index(drop=True)
    return tab, issues


def _without_rows_missing_baseline(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Rows of cells that have baselines but lack their own baseline answer are left out (and reported)."""
    issues: list[DataIssue] = []
    has_b = frame.groupby(["model", "task", "target"])["d_baseline"].transform(lambda v: v.notna().any())
    lost = has_b & frame["d_baseline"].isna()
    if lost.any():
        issues.append(DataIssue("direction_rows_without_baseline", int(lost.sum()),
                                "in cells that have baselines, items whose baseline answer is missing are left out "
                                "of the directional fit (the control would be undefined)"))
        frame = frame[~lost]
    return frame, issues


@dataclass
class _FitNotes:
    """The fits not estimable (``skipped``), failed, or fitted without their constant control."""

    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    constant_control: list[str] = field(default_factory=list)

    def issues(self) -> list[DataIssue]:
        """One data issue per kind of note, in the order skipped, constant control, failed."""
        issues = []
        if self.skipped:
            issues.append(DataIssue("direction_not_estimable", len(self.skipped),
                                    "directional fits need both directions and at least 3 items: not fitted",
                                    "; ".join(self.skipped)))
        if self.constant_control:
            issues.append(DataIssue("direction_control_constant", len(self.constant_control),
                                    "the baseline's change is the same for every item: the control is dropped from "
                                    "these fits (column control = none)", "; ".join(self.constant_control)))
        if self.failed:
            issues.append(DataIssue("direction_fit_failed", len(self.failed),
                                    "directional fits whose coefficient or standard error is not finite are "
                                    "reported as not estimable (no row in the table)", "; ".join(self.failed)))
        return issues


def _direction_design(df: pd.DataFrame, use_ctrl: bool) -> pd.DataFrame:
    """Design matrix: direction, one intercept per model x task x target cell (or a constant), the control."""
    X = pd.DataFrame({"direction": df["direction"].to_numpy(float)})
    cells = df["model"] + "|" + df["task"] + "|" + df["target"]
    if cells.nunique() > 1:
        dummies = pd.get_dummies(cells, drop_first=False, dtype=float).to_numpy()
        X = pd.concat([X, pd.DataFrame(dummies, columns=[f"cell{j}" for j in range(dummies.shape[1])])],
                      axis=1)
    else:
        X.insert(0, "const", 1.0)
    if use_ctrl:
        X["d_baseline"] = df["d_baseline"].to_numpy(float)
    return X


def _fit_direction(df: pd.DataFrame, scope: str, model: str, task: str, target: str, confidence: float,
                   notes: _FitNotes) -> dict | None:
    """One row of :func:`directional_regression`, or None (noted) when not estimable or the fit fails."""
    name = f"{scope} {model}/{task}/{target}"
    use_ctrl = df["d_baseline"].notna().all() and df["d_baseline"].nunique() > 1
    if df["d_baseline"].notna().all() and not use_ctrl:
        # a constant control (e.g. the baseline never changes the answer) is collinear with the intercept
        notes.constant_control.append(name)
    X = _direction_design(df, use_ctrl)
    n_cl = df["item_id"].nunique()
    if df["direction"].nunique() < 2 or n_cl < 3:
        notes.skipped.append(name)
        return None
    y, items = df["d_target"].to_numpy(float), df["item_id"].to_numpy()
    fits = {}
    # with the control (when there is one) and without it: the control shares the original's score
    # s^o with the outcome, so the table shows both
    for label, design_matrix in (("with", X), ("without", X.drop(columns=["d_baseline"], errors="ignore"))):
        try:
            fit = ols_clustered(y, design_matrix, items, confidence=confidence)
            est = list(fit.term("direction").values())
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            notes.failed.append(f"{name} ({type(exc).__name__}: {exc})")
            return None
        if not np.isfinite(est).all() or not est[1] > 0:
            # e.g. every item changes by the same amount: no residual variance, no standard error
            notes.failed.append(f"{name} (no finite standard error)")
            return None
        fits[label] = (fit, [float(v) for v in est])
    fit, (beta, se, lo, hi, p) = fits["with"]
    _, (beta0, se0, lo0, hi0, p0) = fits["without"]
    return {"scope": scope, "model": model, "task": task, "target": target,
            "control": "baseline change" if use_ctrl else "none",
            "response": df["response"].iloc[0], "n_obs": len(df), "n_clusters": n_cl,
            "beta": beta, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p,
            "gamma": fit.term("d_baseline")["coef"] if use_ctrl else np.nan,
            "beta_no_control": beta0, "se_no_control": se0, "ci_low_no_control": lo0,
            "ci_high_no_control": hi0, "p_value_no_control": p0}


@dataclass(frozen=True)
class PooledDirection(Result):
    """The pooled directional coefficient: :math:`\\beta` with its cluster-robust CI, p and observations,
    with the baseline control and without it (``*_no_control``)."""

    beta: float
    ci_low: float
    ci_high: float
    p_value: float
    n_obs: int
    beta_no_control: float
    ci_low_no_control: float
    ci_high_no_control: float
    p_value_no_control: float


@dataclass(frozen=True, eq=False)
class DirectionalEffects(Result):
    """The directional regression: its input rows, the fitted table and the pooled coefficient.

    Attributes
    ----------
    rows : DataFrame
        :func:`directional_frame` (empty when the data have no ``direction``).
    table : DataFrame
        :func:`directional_regression` (pooled row first; empty when nothing could be fitted).
    pooled : PooledDirection or None
        The pooled row, None when it could not be fitted.
    """

    rows: pd.DataFrame
    table: pd.DataFrame
    pooled: PooledDirection | None

    _nested = ("pooled",)

    def records(self, name: Callable[[Any], str]) -> dict[str, float | int]:
        """``direction.beta``, ``.ci_low``, ``.ci_high``, ``.p_value``, ``.n_obs`` (nothing when not fitted; no name
        from data, so ``name`` is not used)."""
        return self.pooled.as_record("direction") if self.pooled is not None else {}


def directional_effects(design: Design, *, eps: float = 1e-4,
                        confidence: float = 0.95) -> tuple[DirectionalEffects, tuple[DataIssue, ...]]:
    """:func:`directional_frame` then :func:`directional_regression`: the result and its data issues."""
    rows, frame_issues = directional_frame(design, eps=eps)
    table, issues = directional_regression(rows, confidence=confidence)
    issues = list(frame_issues) + list(issues)
    pooled = None
    if not table.empty and (table["scope"] == "pooled").any():
        p = table[table["scope"] == "pooled"].iloc[0]
        pooled = PooledDirection(beta=float(p.beta), ci_low=float(p.ci_low), ci_high=float(p.ci_high),
                                 p_value=float(p.p_value), n_obs=int(p.n_obs), beta_no_control=float(p.beta_no_control),
                                 ci_low_no_control=float(p.ci_low_no_control),
                                 ci_high_no_control=float(p.ci_high_no_control),
                                 p_value_no_control=float(p.p_value_no_control))
    return DirectionalEffects(rows=rows, table=table, pooled=pooled), tuple(issues)
