"""One field vocabulary across results: every key of ``results.json`` and every table column of every committed
reference file follows the rule of CONTRIBUTING.md ("Field names").

Unit: one name (a segment of a dotted ``results.json`` key, or a table column) of one reference file
(``reference/<study>/<profile>.json``, which lists every key and every table's columns of that profile's run).
"""
from __future__ import annotations

import json
import re

import pytest

from studykit.runs.check import reference_path
from studykit.files.paths import project_root
from studykit.contract.registry import names

#: words the vocabulary replaces: a p-value is ``p_value`` (never ``p``, ``pval``), an interval ``ci_low``/``ci_high``
#: (never ``lower``/``upper``/``lo``/``hi``), the reason for a missing number ``note`` (never ``notes``)
BANNED_WORDS = {"pval": "p_value", "pvalue": "p_value", "pvals": "p_value", "pvalues": "p_value", "padj": "p_value",
                "lower": "ci_low", "upper": "ci_high", "lo": "ci_low", "hi": "ci_high", "lcl": "ci_low",
                "ucl": "ci_high", "notes": "note"}
#: words that name a multiple-testing correction: a corrected p-value is ``<stem>_p_value_corrected`` whatever the
#: method (the method is the study's ``correction`` parameter or said in the doc)
CORRECTION_WORDS = {"adjusted", "adj", "holm", "bh", "fdr", "bonferroni", "hochberg"}

#: names from data that happen to contain a banned word, per study (a data name is not a field name)
DATA_NAMES = {
    # BBQ's prompt wordings (1_lower ... 4_upper: lower- and upper-case templates) name the paraphrase baselines
    "counterfactual_baselines": re.compile(r"^paraphrase_\d+_(lower|upper)$"),
}


def problems(name: str) -> list[str]:
    """Why ``name`` (one key segment or one column) breaks the vocabulary; empty when it follows it."""
    words = name.lower().split("_")
    out = [f"'{w}' (use {BANNED_WORDS[w]})" for w in words if w in BANNED_WORDS]
    for i, w in enumerate(words):
        if w != "p":
            continue
        if i + 1 >= len(words) or words[i + 1] != "value":
            out.append("'p' alone (a p-value is p_value; another quantity gets its own word, e.g. freq)")
        elif i + 2 < len(words) and words[i + 2] in CORRECTION_WORDS:
            out.append(f"'p_value_{words[i + 2]}' (a corrected p-value is p_value_corrected)")
    return out


def test_the_rule_catches_each_way_out_and_passes_the_vocabulary():
    for bad in ("p", "did_p", "shift_p_min", "pval", "flip_lower", "rate_upper", "r_lo", "r_hi", "notes", "p_adjusted",
                "p_holm", "did_p_documents_holm", "p_value_holm", "slope_p_value_adjusted", "ci_lcl"):
        assert problems(bad), bad
    for good in ("p_value", "ci_low", "ci_high", "estimate", "n", "note", "did_p_value_corrected_documents",
                 "p_value_corrected_one_sided", "p_value_no_control", "hr_by_agent_p_value_corrected", "freq_prev",
                 "spearman_p_value_r", "n_low", "rate_high", "adjusted_p_value", "stratified_adjusted_ci_low"):
        assert not problems(good), good


def _reference_files():
    root = project_root() / "reference"
    out = []
    for study in names():
        for path in sorted((root / study).glob("*.json")) if (root / study).is_dir() else []:
            out.append(pytest.param(study, path.stem, id=f"{study}-{path.stem}"))
    return out


@pytest.mark.parametrize("study,profile", _reference_files())
def test_reference_keys_and_columns_follow_the_vocabulary(study, profile):
    ref = json.loads(reference_path(study, profile).read_text(encoding="utf-8"))
    data = DATA_NAMES.get(study)
    bad = []
    for key in ref["results"]:
        for seg in key.split("."):
            if (why := problems(seg)) and not (data and data.match(seg)):
                bad.append(f"results key {key}: segment {seg}: {', '.join(why)}")
    for table, shape in ref["tables"].items():
        for col in shape["columns"]:
            if why := problems(col):
                bad.append(f"table {table}: column {col}: {', '.join(why)}")
    assert not bad, f"{len(bad)} names outside the vocabulary (CONTRIBUTING.md, 'Field names'):\n" + "\n".join(bad[:40])


def test_every_committed_study_is_checked():
    """The four converted studies have reference files the test above reads (a study without one is unchecked)."""
    checked = {s for s in names() if list((project_root() / "reference" / s).glob("*.json"))}
    assert {"code_survival", "counterfactual_baselines", "lexical_prevalence", "sycophancy_correlation"} <= checked
