"""Raw-data columns and the codes of conclusions and errors of the annotation-robustness study.

Raw data (CSV, TSV, Parquet or JSONL; see ``docs/studies/annotation_robustness.md``):

items
    ``item_id``, ``gold`` (the human label), covariate columns named in ``group_columns``;
    optional ``text`` and ``human_single`` (the label of one randomly chosen human rater,
    a noisy human annotator used by the mitigation analysis), and ``gold_without_single`` (the gold
    label of the other raters, when ``gold`` is a mean over raters that include that one: then the
    comparisons of ``human_single`` use it as their reference, so the rater is not compared with itself).
annotations
    one row per item x configuration: ``item_id``, ``model``, ``prompt``, ``temperature``,
    ``label``; optional ``seed``, ``confidence``. A configuration is the distinct
    (model, prompt, temperature, seed).
hypotheses (optional)
    ``hypothesis_id``, ``label_value``, ``group_column``, ``group_a``, ``group_b``. When absent,
    every class against the rest x every pair of levels of every ``group_columns`` column.

This module imports nothing from the study, so every other module (parameters, loader,
simulator, analysis) can depend on it without an import cycle.
"""
from __future__ import annotations

ITEM_COLUMNS = ("item_id", "gold")
ANNOTATION_COLUMNS = ("item_id", "model", "prompt", "temperature", "label")
OPTIONAL_ANNOTATION_COLUMNS = ("seed", "confidence")
HYPOTHESIS_COLUMNS = ("hypothesis_id", "label_value", "group_column", "group_a", "group_b")
CONFIG_COLUMNS = ("model", "prompt", "temperature", "seed")
ERROR_TYPES = ("correct", "type_I", "type_II", "type_S")
CONCLUSIONS = ("a_larger", "b_larger", "none")
PAIR_COLUMNS = ("hypothesis_id", "model", "prompt", "temperature", "seed", "effect", "p_value", "conclusion",
                "gold_effect", "gold_p_value", "gold_conclusion", "error")

# Largest temperature accepted: sampling temperatures of LLM APIs lie in [0, 2]; a few
# local samplers accept more, so the bound is generous but finite.
MAX_TEMPERATURE = 100.0
