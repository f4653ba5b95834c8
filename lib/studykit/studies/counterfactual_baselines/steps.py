"""The analysis steps the notebook calls, one per section, each returning ``(result, issues)`` or a table.

Each step takes the validated parameters (:class:`.schema.Params`) and the
results of earlier steps, and is pure; :mod:`.saves` wraps each as a result that declares its exhibits,
which the notebook writes with one call (``out.save(step)``). Names taken
from data become result keys only in those results' ``records(name)``, with
the ``name`` that ``Outputs.save`` passes (``out.name``, which records the
mapping in ``manifest.json``).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from studykit.contract.issues import DataIssue

from . import flips
from . import power as power_sim
from .design import Design, build_design
from .direction import DirectionalEffects, directional_effects
from .family import Comparisons, run_tests
from .load import StudyData, load
from .recovery import RecoverySummary, recovery_summary, recovery_table, truth_files

Issues = tuple[DataIssue, ...]


def read_data(params: Any) -> tuple[StudyData, Issues]:
    """Section 1: read ``params.data_path`` (long format or MedPerturb) and validate it."""
    return load(params)


def check_design(data: StudyData, params: Any) -> tuple[Design, Issues]:
    """Section 1: one answer per item x variant x model x task, checked against ``params.pairs``
    (derived from the data when None) and with a positive label per task."""
    return build_design(data.frame, params.pairs, baseline_models=params.baseline_models,
                        positive_label=params.positive_label)


def flip_rates(design: Design, params: Any) -> pd.DataFrame:
    """Section 2: flip rate of every variant against the original, with a Wilson CI."""
    return flips.flip_rates(design.answers, design.pairs, confidence=params.confidence)


def compare(design: Design, params: Any) -> tuple[Comparisons, Issues]:
    """Section 3: the target-vs-baseline tests, corrected by ``params.correction`` within the primary family
    (``params.primary_metric``) and within the secondary family (every other metric)."""
    return run_tests(design, n_boot=params.n_boot, seed=params.seed, confidence=params.confidence,
                     eps=params.logit_eps, correction=params.correction, alpha=params.alpha,
                     primary_metric=params.primary_metric)


def sensitivity_with_defective(params: Any, main: Comparisons) -> tuple[pd.DataFrame, Comparisons, pd.DataFrame]:
    """Section 3b (MedPerturb): the flip-rate tests again with the defective baselines kept.

    Returns the main and the sensitivity rows side by side (suffix ``_with_defective``), and the
    second run's family of tests and flip rates (its records, ``sensitivity.*``, are
    :meth:`.saves.Sensitivity.records`). The issues of the second run are those of the
    main run (the defective rows are reported there), so they are not returned again.
    """
    other_params = params.model_copy(update={"exclude_defective": False})
    data, _ = load(other_params)
    design, _ = check_design(data, other_params)
    family, _ = compare(design, other_params)
    rates = flip_rates(design, other_params)
    keys = ["model", "task", "target"]
    cols = ["n_items", "stat_target", "stat_baseline", "diff", "ci_low", "ci_high", "p_value", "p_value_corrected",
            "significant"]
    a = main.table[main.table["metric"] == "flip_rate"].set_index(keys)[cols]
    b = family.table[family.table["metric"] == "flip_rate"].set_index(keys)[cols]
    table = a.join(b, rsuffix="_with_defective", how="outer").reset_index()
    return table, family, rates


def directional(design: Design, params: Any) -> tuple[DirectionalEffects, Issues]:
    """Section 4: the directional regression (cluster-robust by item)."""
    return directional_effects(design, eps=params.logit_eps, confidence=params.confidence)


def power_curves(design: Design, family: Comparisons, params: Any) -> tuple[pd.DataFrame, Issues]:
    """Section 5: simulated power at the data's size (:func:`.power.power_curves`) and its issues."""
    if family.n_tests == 0:
        return pd.DataFrame(columns=["scenario", "effect", "metric", "power", "ci_low", "ci_high"]), (
            DataIssue("power_not_simulated", 1, "no target-vs-baseline test was run, so the power simulation "
                      "has no data size to start from: skipped"),)
    size = power_sim.design_from_tests(family.table, design.answers, design.positive_labels)
    issues: Issues = ()
    if size["pos_rate_source"] != "data":
        issues = (DataIssue("power_without_positive_label", 1,
                            "no tested task has positive_label among its answers: the power simulation uses "
                            "a positive rate of 0.5 for the original answers"),)
    concordance = params.power_concordance
    if concordance is None:
        concordance = size["concordance"]
        if size["concordance_n_tests"] == 0:
            issues += (DataIssue("power_concordance_not_observed", 1,
                                 "target and baseline flips have no defined concordance in any tested cell (one "
                                 "of them never flips): the power simulation assumes independent flips"),)
    table = power_sim.power_curves(size["n_items"], size["base_flip"], size["pos_rate"], params.power_effects,
                                   reps=params.power_reps, alpha=params.alpha, seed=params.seed,
                                   concordance=concordance)
    return table, issues


def recovery(family: Comparisons, direction: DirectionalEffects,
             params: Any) -> tuple[pd.DataFrame, RecoverySummary] | None:
    """Section 6: planted vs estimated when the simulator's truth lies beside the data, else None."""
    truth = truth_files(params.data_path)
    if truth is None:
        return None
    table = recovery_table(family.table, direction.table, *truth)
    return table, recovery_summary(table)


def issues_frame(issues: Issues) -> pd.DataFrame:
    """The data issues as a table, for display (the notebook saves them with ``out.note_issues``)."""
    return pd.DataFrame([i.as_dict() for i in issues], columns=["check", "count", "rule", "detail"])
