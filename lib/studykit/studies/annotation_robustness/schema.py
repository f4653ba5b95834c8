"""Parameters of the annotation-robustness ("LLM hacking") study.

The raw-data columns are described in :mod:`.columns`. :meth:`Params.prepare` is the
one place that calls the data generators (the paper-scale simulation, the real
sentiment data); the generators themselves never import the parameters.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from studykit.contract.params import InputPath, StudyParams

from .columns import ANNOTATION_COLUMNS, HYPOTHESIS_COLUMNS, ITEM_COLUMNS

NAME = "annotation_robustness"


class Params(StudyParams):
    """Parameters of the annotation-robustness study (defaults run the embedded data)."""

    study = NAME

    items_path: str | None = InputPath("data/annotation_robustness/items.csv", columns=ITEM_COLUMNS,
                                       description="items: item_id, gold, covariates")
    annotations_path: str | None = InputPath("data/annotation_robustness/annotations.parquet",
                                             columns=ANNOTATION_COLUMNS, description="one row per item x configuration")
    hypotheses_path: str | None = InputPath(None, columns=HYPOTHESIS_COLUMNS,
                                            description="optional explicit hypotheses")
    group_columns: list[str] = Field(["party", "year", "platform"], min_length=1,
                                     description="covariates whose level pairs define hypotheses")
    alpha: float = Field(0.05, gt=0, lt=1, description="two-sided significance level")
    min_group_size: int = Field(30, ge=2, description="hypotheses with a smaller gold group are skipped")
    seed: int = Field(0, ge=0, description="seed of every random step (subsamples, bootstrap)")
    human_sample_sizes: list[int] = Field([100, 200, 400, 800], min_length=1,
                                          description="sizes of the human-labelled subsample (mitigation)")
    mitigation_replicates: int = Field(20, ge=1, le=10_000, description="random subsamples per size")
    n_bootstrap: int = Field(2000, ge=100, description="bootstrap resamples for CIs over hypotheses")
    n_item_bootstrap: int = Field(200, ge=20, le=10_000,
                                  description="item-bootstrap resamples for the CIs of the risk shares "
                                              "(items resampled, every test recomputed)")
    spec_curve_hypothesis: str | None = Field(None, description="hypothesis for the specification curve "
                                              "(None: the one whose configurations disagree most)")
    pairs_formats: list[Literal["csv", "parquet"]] = Field(["csv"], min_length=1,
                                                           description="formats of tables/pairs")
    simulated: Literal["none", "paper_scale"] = Field(
        "none", description="paper_scale: generate 13M simulated labels (cached) and analyse them")
    # real-data profile: inputs built from the Hutto & Gilbert corpus by sentiment_inputs.py
    dataset: Literal["files", "sentiment_real"] = Field(
        "files", description="files: read items/annotations paths; sentiment_real: build them from the "
                             "Hutto & Gilbert (2014) human-rated sentences and offline sentiment annotators")
    sentiment_max_items: int | None = Field(None, ge=200, description="sentiment_real: subsample of items")
    sentiment_embeddings: Literal["auto", "on", "off"] = Field(
        "auto", description="sentiment_real: embedding-based annotators (auto: when installed)")

    @field_validator("human_sample_sizes")
    @classmethod
    def _positive_sizes(cls, v: list[int]) -> list[int]:
        if any(n < 4 for n in v):
            raise ValueError("every human sample size must be at least 4")
        return sorted(set(v))

    @field_validator("group_columns")
    @classmethod
    def _unique_columns(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("group_columns must not repeat a column")
        return v

    def prepare(self) -> "Params":
        """Fill in generated inputs: the real sentiment data or the paper-scale simulation."""
        if self.dataset == "sentiment_real":
            from .sentiment_inputs import build_inputs

            return self.model_copy(update=build_inputs(self))
        if self.simulated == "paper_scale":
            from .simulate import ensure_paper_scale

            return self.model_copy(update=ensure_paper_scale(self.seed))
        return self
