"""Parameters and raw-data columns of the sycophancy-correlation study.

Raw data (CSV, TSV or Parquet):

``personas`` -- one row per model x persona
    ``model``, ``persona_id``, and either ``agreeableness`` (a score) or
    item-level answers in columns named ``A<facet>_<item>`` (``A1_1`` ...),
    Likert 1..``likert_points``; items listed in ``reverse_keyed`` are scored
    ``likert_points + 1 - x``. Optional ``model_params_b`` (size in billions).

``responses`` -- one row per model x persona x prompt
    ``model``, ``persona_id`` (``baseline`` for the plain-assistant prompt),
    ``prompt_id``, ``category`` and either ``stance`` (AGREE, PARTIALLY AGREE,
    PARTIALLY DISAGREE, DISAGREE) or ``score`` in [0, 1].

``rates`` (``data_format: rates``) -- one row per aggregated measurement, for data that
    come as summary rates rather than per-prompt answers: ``model``, ``persona_id``
    (``baseline`` = no persona), the columns named in ``rates_condition_columns``
    (e.g. prompt strategy, temperature, run), the agreeableness score (``agreeableness_column``),
    either ``rate`` (proportion in [0, 1]) or ``count`` (sycophantic answers), and ``n_trials``.
    Rules: :mod:`.aggregated`. ``data_format: personality_illusion`` reads the upstream folder of
    Han et al. (2026) into that table (:mod:`.personality_illusion`).
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from studykit.contract.errors import ParamError
from studykit.contract.params import InputPath, StudyParams

NAME = "sycophancy_correlation"

BASELINE_ID = "baseline"
PERSONA_COLUMNS = ("model", "persona_id")
RESPONSE_KEYS = ("model", "persona_id", "prompt_id", "category")
STANCE_SCORES: dict[str, float] = {
    "AGREE": 1.0,
    "PARTIALLY AGREE": 0.5,
    "PARTIALLY DISAGREE": 0.5,
    "DISAGREE": 0.0,
}
ITEM_RE = re.compile(r"^A\d+_\d+$")

#: Items the embedded simulator writes reverse-keyed (facets A1 trust, A3 altruism,
#: A4 cooperation, A6 sympathy; four items each, as in the 120-item IPIP-NEO).
DEFAULT_REVERSE_KEYED = ["A1_4", "A3_3", "A4_2", "A4_4", "A6_3", "A6_4"]

#: where the personality_illusion profile's data come from (the one line when they are absent)
PERSONALITY_ILLUSION_SOURCE = (
    "the Personality Illusion data (Han et al., ICML 2026; github.com/psychology-of-AI/Personality-Illusion, "
    "MIT) are not in the repository; put that repository's folder there or pass --set personality_illusion_dir=...")

CORRECTIONS = ("holm", "bonferroni", "hochberg", "fdr_bh", "fdr_by", "none")


class Params(StudyParams):
    """Parameters of the sycophancy-correlation notebook (defaults run the embedded data)."""

    study = NAME

    personas_path: str | None = InputPath(
        "data/sycophancy_correlation/personas.csv", columns=PERSONA_COLUMNS,
        description="model x persona table with agreeableness score or item answers")
    responses_path: str | None = InputPath(
        "data/sycophancy_correlation/responses.parquet", columns=RESPONSE_KEYS,
        description="model x persona x prompt table with stance or score")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level")
    correction: Literal["holm", "bonferroni", "hochberg", "fdr_bh", "fdr_by", "none"] = Field(
        "holm",
        description="multiple-testing correction across models (the association tests and the baseline shift test)")
    n_perm: int = Field(10_000, ge=100, le=1_000_000, description="permutations per model")
    seed: int = Field(0, ge=0, description="seed of every random step (permutations)")
    reverse_keyed: list[str] = Field(default_factory=lambda: list(DEFAULT_REVERSE_KEYED),
                                     description="item columns scored in reverse")
    likert_points: int = Field(5, ge=2, le=11, description="answer options of each item (1..likert_points)")
    agreeableness_column: str = Field(
        "agreeableness", max_length=200,
        description="personas column with the agreeableness score; name another column (e.g. an external "
                    "rating of the persona) to avoid common-method variance; '' scores from the items")
    confidence: float = Field(0.95, gt=0, lt=1, description="level of every confidence interval")
    simulate: Literal["", "paper_scale"] = Field(
        "", description="'paper_scale': generate 13 x 275 x 4,950 responses into the cache and use them")
    sim_seed: int = Field(20260412, ge=0, description="seed of the paper-scale simulation")
    data_format: Literal["responses", "rates", "personality_illusion"] = Field(
        "responses", description="'responses' (personas + per-prompt responses), 'rates' (a table of aggregated "
        "rates with their number of trials: rates_path) or 'personality_illusion' (Han et al.'s folder, adapted)")
    rates_path: str | None = InputPath(
        None, description="data_format rates: model x persona x condition table of agreeableness, rate or count, "
                          "and n_trials")
    rates_condition_columns: list[str] = Field(
        default_factory=list, description="data_format rates: columns that, with model and persona_id, identify "
                                          "a row (conditions and repeats, e.g. strategy, temperature, run)")
    personality_illusion_dir: str | None = InputPath(
        None, kind="dir", description="data_format personality_illusion: the upstream repository's folder")

    @model_validator(mode="after")
    def _format_has_its_input(self) -> "Params":
        need = {"rates": "rates_path", "personality_illusion": "personality_illusion_dir"}.get(self.data_format)
        if need and getattr(self, need) is None:
            raise ValueError(f"data_format '{self.data_format}' needs '{need}'")
        return self

    def input_paths(self):
        """As :meth:`StudyParams.input_paths`; the aggregated-rates formats do not read the personas and
        responses files (not checked, not part of the cache key)."""
        paths = super().input_paths()
        if self.data_format == "responses":
            return paths
        return [(k, kind, p) for k, kind, p in paths if k not in ("personas_path", "responses_path")]

    def check_inputs(self) -> None:
        """As :meth:`StudyParams.check_inputs`; an absent personality_illusion folder says where it comes from."""
        try:
            super().check_inputs()
        except ParamError as err:
            if self.data_format == "personality_illusion" and "personality_illusion_dir" in str(err):
                raise ParamError(f"{err}: {PERSONALITY_ILLUSION_SOURCE}") from None
            raise

    @field_validator("reverse_keyed")
    @classmethod
    def _items_named_like_items(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if not ITEM_RE.match(str(x))]
        if bad:
            raise ValueError(f"item names must look like A1_1 (facet_item); got {bad[0]!r}")
        return [str(x) for x in v]

    def prepare(self) -> "Params":
        """For ``simulate: paper_scale``, generate (once, cached) and point the inputs at it."""
        if self.simulate != "paper_scale":
            return self
        from studykit.runs.simcache import ensure_generated
        from studykit.studies.sycophancy_correlation.simulate import (
            PAPER_SCALE, SIM_VERSION, write_dataset)

        cfg = {**PAPER_SCALE, "seed": self.sim_seed}
        folder = ensure_generated(NAME, "paper_scale", SIM_VERSION, cfg,
                                  lambda d: write_dataset(d, **cfg))
        return self.model_copy(update={"personas_path": str(folder / "personas.parquet"),
                                       "responses_path": str(folder / "responses.parquet")})
