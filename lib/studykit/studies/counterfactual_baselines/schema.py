"""Parameters and raw-data columns of the counterfactual_baselines study.

Raw data, long format (CSV / TSV / Parquet / JSONL), one row per
item x variant x model (x task, x repeat when present):

==============  ========  ===========================================================
column          required  meaning
==============  ========  ===========================================================
item_id         yes       the item (prompt / case); the unit of resampling
variant         yes       e.g. ``original``, ``gender_swap``, ``gender_swap_baseline``
variant_kind    yes       ``original``, ``target`` or ``baseline``
model           yes       the model that answered
prediction      yes       its answer or label (blank = missing)
task            no        the question asked (``all`` when absent)
repeat          no        repeated sampling of the same prompt (majority vote)
p_positive      no        the model's probability of the positive answer, in [0, 1]
direction       no        +1 / -1 for a directional edit (e.g. male->female / female->male)
group           no        e.g. the original attribute value
==============  ========  ===========================================================
"""
from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from studykit.contract.params import InputPath, StudyParams

NAME = "counterfactual_baselines"

REQUIRED = ("item_id", "variant", "variant_kind", "model", "prediction")
#: the columns the MedPerturb adapter needs besides the ``<MODEL>_<TASK>`` answer columns
MEDPERTURB_COLUMNS = ("dataset", "dataset_id", "context_id", "original_patient_gender", "clinical_context")
#: the columns the BBQ adapter reads
BBQ_COLUMNS = ("model", "prompt_variant", "example_id", "question_index", "question_polarity",
               "context_condition", "ans0", "ans1", "ans2", "ans0_group", "ans2_group", "context", "pred_index")
OPTIONAL = ("task", "repeat", "p_positive", "direction", "group")
KINDS = ("original", "target", "baseline")
ALL_TASKS = "all"

#: Target -> baseline pairs of the embedded data (written by ``simulate.write_embedded``).
EMBEDDED_PAIRS = {
    "gender_swap": "gender_swap_baseline",
    "age_swap": "age_swap_baseline",
    "tone_change": "tone_change_baseline",
}

#: Target -> baseline pairs of MedPerturb (variants 2-5 -> 6-9).
MEDPERTURB_PAIRS = {
    "gender_swap": "gender_swap_baseline",
    "gender_remove": "gender_remove_baseline",
    "uncertain": "uncertain_baseline",
    "colorful": "colorful_baseline",
}


class Params(StudyParams):
    """Parameters of the counterfactual_baselines study (see ``docs/studies/counterfactual_baselines.md``)."""

    study: ClassVar[str] = NAME

    data_path: str = InputPath("data/counterfactual_baselines/counterfactual.csv",
                               columns={"data_format": {"long": REQUIRED, "medperturb": MEDPERTURB_COLUMNS,
                                                        "bbq": BBQ_COLUMNS}},
                               description="raw data: long format, the MedPerturb wide CSV or the BBQ "
                               "predictions")
    data_format: Literal["long", "medperturb", "bbq"] = Field(
        "long", description="'long' (the schema above), 'medperturb' (the wide MedPerturb CSV, adapted) or 'bbq' "
        "(BBQ gender items answered under several instruction wordings, adapted: gender-swapped partner = target, "
        "other wordings = baselines; see studies/counterfactual_baselines/bbq.py)")
    pairs: dict[str, str] | None = Field(
        None, description="target variant -> its paraphrase baseline variant (None: derived from the data's "
        "variant_kind and variant names, see design.derive_pairs)")
    n_boot: int = Field(10_000, ge=200, le=1_000_000, description="bootstrap / permutation resamples")
    seed: int = Field(20260101, ge=0, description="seed of every resampling and simulation step")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level (after correction)")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence level of intervals")
    correction: Literal["bonferroni", "holm", "hochberg", "fdr_bh", "fdr_by", "none"] = Field(
        "holm", description="multiple-testing correction, applied within the primary and within the secondary "
        "family of tests")
    primary_metric: Literal["flip_rate", "js_divergence", "kl_divergence", "mutual_information", "phi"] = Field(
        "flip_rate", description="the metric whose tests form the primary family; the other metrics form the "
        "secondary family, corrected on its own")
    positive_label: str | dict[str, str] = Field(
        "1", description="prediction value counted as the positive answer: one label for every task, or a "
        "{task: label} mapping; a task without one gets no directional fit on 0/1 answers (reported)")
    baseline_models: list[str] | None = Field(
        None, description="models whose baseline answers are used (None: every model that has them)")
    exclude_defective: bool = Field(True, description="drop baseline rows flagged as defective (MedPerturb)")
    min_length_ratio: float = Field(0.5, gt=0, lt=1, description="MedPerturb: a baseline shorter than this "
                                    "fraction of its original is flagged as defective")
    include_clinicians: bool = Field(True, description="MedPerturb: add the clinicians' reads as a "
                                     "human reference 'CLINICIANS' (three reads = three repeats)")
    logit_eps: float = Field(1e-4, gt=0, lt=0.01, description="probabilities are clipped to [eps, 1-eps] "
                             "before taking logits")
    power_effects: list[float] = Field(default_factory=lambda: [0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2],
                                       description="planted extra flip probabilities of the power simulation")
    power_reps: int = Field(1000, ge=20, le=100_000, description="simulated data sets per power point")
    power_concordance: float | None = Field(
        None, ge=-1, le=1, description="phi of target and baseline flips in the power simulation: null = the "
        "data's (mean over the tested cells), 0 = independent flips")

    @field_validator("pairs")
    @classmethod
    def _pairs_nonempty(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("pairs must map at least one target variant to its baseline")
        base = list(v.values())
        dup = sorted({b for b in base if base.count(b) > 1})
        if dup:
            raise ValueError(f"baseline '{dup[0]}' is paired with more than one target")
        both = sorted(set(v) & set(base))
        if both:
            raise ValueError(f"variant '{both[0]}' is both a target and a baseline")
        return v

    @field_validator("positive_label", mode="before")
    @classmethod
    def _label_as_text(cls, v):
        """``--set positive_label=1`` arrives as an int; labels are compared as text ('1', 'yes')."""
        def text(x):
            if isinstance(x, bool):
                return str(int(x))
            if isinstance(x, float) and x.is_integer():
                return str(int(x))
            return str(x) if isinstance(x, (int, float)) else x

        if isinstance(v, dict):
            return {str(k): text(x) for k, x in v.items()}
        return text(v)

    @field_validator("power_effects")
    @classmethod
    def _effects_in_range(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("power_effects must list at least one effect size")
        bad = [x for x in v if not 0 <= x < 1]
        if bad:
            raise ValueError(f"power_effects must lie in [0, 1), got {bad[0]}")
        return sorted(set(v))
