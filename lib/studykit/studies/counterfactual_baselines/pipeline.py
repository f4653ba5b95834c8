"""The whole analysis in one call (what the notebook runs), and the recovery check on simulated data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import analysis as A
from . import power as P
from studykit.errors import InputError

from .load import CLINICIANS, Issue, StudyData

REFERENCE_MODELS = (CLINICIANS,)


@dataclass(frozen=True)
class StudyResults:
    """Every table of one analysis run, and the data issues it found (in order)."""

    design: A.Design
    rates: pd.DataFrame
    tests: pd.DataFrame
    direction_rows: pd.DataFrame
    direction: pd.DataFrame
    issues: tuple[Issue, ...]

    def records(self) -> dict[str, Any]:
        """The numbers for ``results.json`` (see :func:`analysis.results_for_record`)."""
        rec = A.results_for_record(self.design, self.rates, self.tests, self.direction)
        rec["n_models"] = len([m for m in self.design.models if m not in REFERENCE_MODELS])
        return rec


def analyse(data: StudyData, params: Any) -> StudyResults:
    """Design checks, flip rates, the family of tests (corrected) and the directional regression."""
    design = A.build_design(data.frame, params.pairs, baseline_models=params.baseline_models)
    if str(params.positive_label) not in design.labels:
        raise InputError(f"parameter 'positive_label': '{params.positive_label}' is not an answer label in the "
                         f"data (labels: {', '.join(design.labels)})")
    rates = A.flip_rates(design.answers, design.pairs, confidence=params.confidence)
    tests, t_issues = A.run_tests(design, n_boot=params.n_boot, seed=params.seed, confidence=params.confidence,
                                  eps=params.logit_eps, correction=params.correction, alpha=params.alpha)
    floor = A.p_floor_check(tests, n_boot=params.n_boot, alpha=params.alpha)
    drows = A.directional_frame(design, positive_label=params.positive_label, eps=params.logit_eps)
    direction, d_issues = A.directional_regression(drows, confidence=params.confidence)
    issues = list(data.issues) + list(design.issues) + t_issues + ([floor] if floor else []) + d_issues
    return StudyResults(design, rates, tests, drows, direction, tuple(issues))


def power_table(res: StudyResults, params: Any) -> pd.DataFrame:
    """Power curves at the data's size (:func:`power.power_curves`)."""
    size = P.design_from_tests(res.tests, res.design.answers, params.positive_label)
    return P.power_curves(size["n_items"], size["base_flip"], size["pos_rate"], params.power_effects,
                          reps=params.power_reps, alpha=params.alpha, seed=params.seed)


def sensitivity_table(main: pd.DataFrame, other: pd.DataFrame, label: str = "with_defective") -> pd.DataFrame:
    """Flip-rate rows of two runs side by side (e.g. defective baselines excluded vs included)."""
    keys = ["model", "task", "target"]
    cols = ["n_items", "stat_target", "stat_baseline", "diff", "ci_low", "ci_high", "p_value", "p_adjusted",
            "significant"]
    a = main[main["metric"] == "flip_rate"].set_index(keys)[cols]
    b = other[other["metric"] == "flip_rate"].set_index(keys)[cols]
    return a.join(b, rsuffix=f"_{label}", how="outer").reset_index()


def truth_files(data_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The simulator's truth beside the data file, if it is there (embedded data)."""
    from studykit.paths import resolve

    folder = resolve(data_path).parent
    f, d = folder / "truth_flip_rates.csv", folder / "truth_direction.csv"
    if f.is_file() and d.is_file():
        return pd.read_csv(f), pd.read_csv(d)
    return None


def recovery_table(res: StudyResults, truth_flip: pd.DataFrame, truth_dir: pd.DataFrame) -> pd.DataFrame:
    """Planted vs estimated: flip-rate differences (with the test's verdict) and directional betas.

    Columns: quantity, model, task, target, planted, estimate, ci_low, ci_high, covered,
    planted_effect (bool), significant.
    """
    fr = res.tests[res.tests["metric"] == "flip_rate"]
    t = truth_flip.merge(fr, on=["model", "task", "target"], how="inner")
    rows = [{"quantity": "flip_rate_diff", "model": r.model, "task": r.task, "target": r.target,
             "planted": r.expected_diff, "estimate": r.diff, "ci_low": r.ci_low, "ci_high": r.ci_high,
             "planted_effect": bool(r.has_effect), "significant": bool(r.significant)} for r in t.itertuples()]
    # a target is "detected" if any of its metrics is significant after correction
    anysig = res.tests.groupby(["model", "task", "target"])["significant"].any()
    for row in rows:
        row["detected_any_metric"] = bool(anysig.get((row["model"], row["task"], row["target"]), False))
    d = res.direction
    if d is not None and not d.empty:
        for r in truth_dir.itertuples():
            hit = d[(d["scope"] == r.scope) & ((d["model"] == r.model) | (r.scope == "pooled"))
                    & (d["task"] == r.task) & (d["target"] == r.target)]
            if len(hit):
                h = hit.iloc[0]
                rows.append({"quantity": f"direction_beta_{r.scope}", "model": r.model, "task": r.task,
                             "target": r.target, "planted": r.beta, "estimate": h.beta, "ci_low": h.ci_low,
                             "ci_high": h.ci_high, "planted_effect": bool(r.beta != 0),
                             "significant": bool(h.p_value < 0.05),
                             "detected_any_metric": bool(h.p_value < 0.05)})
    out = pd.DataFrame(rows)
    out["covered"] = (out["ci_low"] <= out["planted"]) & (out["planted"] <= out["ci_high"])
    return out


def recovery_summary(rec: pd.DataFrame) -> dict[str, Any]:
    """Counts for results.json: coverage, planted effects found, false positives among null targets."""
    fr = rec[rec["quantity"] == "flip_rate_diff"]
    planted = fr[fr["planted_effect"]]
    null = fr[~fr["planted_effect"]]
    return {
        "recovery.flip_diff_coverage": float(fr["covered"].mean()) if len(fr) else None,
        "recovery.planted_targets": int(len(planted)),
        "recovery.planted_detected": int(planted["detected_any_metric"].sum()),
        "recovery.null_targets": int(len(null)),
        "recovery.null_false_positives": int(null["detected_any_metric"].sum()),
        "recovery.direction_covered": int(rec[rec["quantity"].str.startswith("direction")]["covered"].sum()),
        "recovery.direction_total": int(rec["quantity"].str.startswith("direction").sum()),
    }




def issues_frame(issues) -> pd.DataFrame:
    """The data issues as a table (for display; the notebook writes them via ``note_data_issue``)."""
    return pd.DataFrame(list(issues), columns=["check", "count", "rule", "detail"])


def headline(res: StudyResults) -> dict[str, Any]:
    """``n_items``, ``n_models``, ``n_tests``, ``n_significant``, ``flip_rate.*``, ``diff.*``, ``direction.*``."""
    return res.records()


def sensitivity_records(other: StudyResults, prefix: str = "sensitivity") -> dict[str, Any]:
    """Flip rates of baselines, flip-rate differences and the significant count of a second run."""
    rec = other.records()
    keep = {k: v for k, v in rec.items() if k.startswith(("diff.", "n_significant", "n_tests"))}
    keep.update({k: v for k, v in rec.items() if k.startswith("flip_rate.") and k.endswith("_baseline")})
    return {f"{prefix}.{k}": v for k, v in keep.items()}


def power_records(power: pd.DataFrame) -> dict[str, Any]:
    """``power.<scenario>.<metric>.d<effect>`` for every simulated point."""
    return {f"power.{r.scenario}.{r.metric}.d{r.effect:g}": float(r.power) for r in power.itertuples()}
