"""Recovery of the planted truth on simulated data: planted vs estimated flip-rate differences and betas.

The simulator (:mod:`.simulate`) writes its truth beside the data; a planted
target should be detected by the primary family's test after its correction, a
null target should not (up to the nominal error rate), and the confidence
intervals should cover the planted values. "Detected by any metric" (the union
of the primary and the secondary family, each corrected on its own) is kept as a
descriptive column: its family-wise error is up to twice alpha, so the summary's
counts use the primary family and report the union's false positives beside them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from studykit.files.paths import resolve
from studykit.stats.results import Result


def truth_files(data_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The simulator's truth beside the data file (embedded data), or None (real data)."""
    folder = resolve(data_path).parent
    flips, direction = folder / "truth_flip_rates.csv", folder / "truth_direction.csv"
    if flips.is_file() and direction.is_file():
        return pd.read_csv(flips), pd.read_csv(direction)
    return None


def recovery_table(tests: pd.DataFrame, direction: pd.DataFrame, truth_flip: pd.DataFrame,
                   truth_dir: pd.DataFrame) -> pd.DataFrame:
    """Planted vs estimated: flip-rate differences (with the test's verdict) and directional betas.

    ``tests`` is the family table (:class:`.family.Comparisons`), ``direction`` the directional table.
    Columns: quantity, model, task, target, planted, estimate, ci_low, ci_high, planted_effect (bool),
    significant (the primary family's flip-rate test; the directional t test), detected_any_metric
    (descriptive: the union over both families), covered.
    """
    fr = tests[tests["metric"] == "flip_rate"]
    t = truth_flip.merge(fr, on=["model", "task", "target"], how="inner")
    rows = [{"quantity": "flip_rate_diff", "model": r.model, "task": r.task, "target": r.target,
             "planted": r.expected_diff, "estimate": r.diff, "ci_low": r.ci_low, "ci_high": r.ci_high,
             "planted_effect": bool(r.has_effect), "significant": bool(r.significant)} for r in t.itertuples()]
    # a target is "detected" if any of its metrics is significant after correction
    anysig = tests.groupby(["model", "task", "target"])["significant"].any()
    for row in rows:
        row["detected_any_metric"] = bool(anysig.get((row["model"], row["task"], row["target"]), False))
    if direction is not None and not direction.empty:
        for r in truth_dir.itertuples():
            # the pooled row's model is "all" in the truth and may be a single model's name in the fit
            hit = direction[(direction["scope"] == r.scope)
                            & ((direction["model"] == r.model) | (r.scope == "pooled"))
                            & (direction["task"] == r.task) & (direction["target"] == r.target)]
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


@dataclass(frozen=True)
class RecoverySummary(Result):
    """Counts of :func:`recovery_table`: CI coverage, planted effects found, false positives.

    ``flip_diff_coverage`` is the share of flip-rate-difference CIs covering the planted
    difference (None when the truth matches no tested target). ``planted_detected`` and
    ``null_false_positives`` count the flip-rate test of the primary family;
    ``planted_detected_any_metric`` and ``null_false_positives_any_metric`` the union over both
    families (descriptive).
    """

    flip_diff_coverage: float | None
    planted_targets: int
    planted_detected: int
    null_targets: int
    null_false_positives: int
    direction_covered: int
    direction_total: int
    planted_detected_any_metric: int = 0
    null_false_positives_any_metric: int = 0


def recovery_summary(rec: pd.DataFrame) -> RecoverySummary:
    """Summarise :func:`recovery_table` (recorded as ``recovery.*``)."""
    fr = rec[rec["quantity"] == "flip_rate_diff"]
    planted = fr[fr["planted_effect"]]
    null = fr[~fr["planted_effect"]]
    is_dir = rec["quantity"].str.startswith("direction")
    return RecoverySummary(
        flip_diff_coverage=float(fr["covered"].mean()) if len(fr) else None,
        planted_targets=int(len(planted)),
        planted_detected=int(planted["significant"].sum()),
        null_targets=int(len(null)),
        null_false_positives=int(null["significant"].sum()),
        planted_detected_any_metric=int(planted["detected_any_metric"].sum()),
        null_false_positives_any_metric=int(null["detected_any_metric"].sum()),
        direction_covered=int(rec[is_dir]["covered"].sum()),
        direction_total=int(is_dir.sum()),
    )
