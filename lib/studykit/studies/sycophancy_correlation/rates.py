"""Sycophancy rates per persona, baseline and category, and which models can be analysed.

Notation: for model :math:`m` and persona :math:`p`, :math:`A_{mp}` is the persona's
agreeableness score and :math:`R_{mp} = \\frac{1}{n_{mp}}\\sum_j s_{mpj}` its sycophancy
rate (mean stance score over prompts); :math:`B_m` is the model's baseline
(plain-assistant) rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studykit.contract.issues import DataIssue, examples
from studykit.studies.sycophancy_correlation.load import PersonaData, ResponseCells
from studykit.studies.sycophancy_correlation.schema import BASELINE_ID

MIN_PERSONAS = 4  # Pearson with a Fisher-z CI needs n > 3; a median split needs 2 + 2


@dataclass(frozen=True)
class Rates:
    """Sycophancy rates.

    ``personas``: model, persona_id, agreeableness, n, rate (scored personas with responses);
    ``baseline``: model, n_baseline, baseline_rate (models with baseline rows);
    ``categories``: model, persona_id, category, n, rate (persona x category cells);
    ``models``: model, n_personas, has_baseline, status ("ok" or the exclusion reason).
    """

    personas: pd.DataFrame
    baseline: pd.DataFrame
    categories: pd.DataFrame
    models: pd.DataFrame

    def analysable(self) -> pd.DataFrame:
        """Persona rows of the models whose status is ``ok``."""
        ok = self.models.loc[self.models["status"] == "ok", "model"]
        return self.personas[self.personas["model"].isin(ok)].reset_index(drop=True)


def compute_rates(cells: ResponseCells | pd.DataFrame, personas: PersonaData | pd.DataFrame,
                  *, min_personas: int = MIN_PERSONAS) -> tuple[Rates, tuple[DataIssue, ...]]:
    """Persona, baseline and persona x category rates, and each model's eligibility.

    :math:`R_{mp} = \\sum_k T_{mpk} / \\sum_k n_{mpk}` over categories ``k`` (``T`` the
    summed scores, ``n`` the scored responses). Rules (each reported as a DataIssue):

    * responses of a persona without an agreeableness score: not used;
    * a scored persona with no scored response: left out;
    * a model with no baseline rows: baseline rate, shift and the paired shift test are
      not computed for it (reported empty with a note); the correlation tests run;
    * a model with fewer than ``min_personas`` usable personas, constant agreeableness, or
      constant rates: left out of every per-model test and of the pooled model (its
      correlation is undefined).

    Returns ``(Rates, issues)``.
    """
    cell_df = cells.cells if isinstance(cells, ResponseCells) else cells
    scores = personas.scores if isinstance(personas, PersonaData) else personas
    issues: list[DataIssue] = []
    cell_df = cell_df[cell_df["n"] > 0]
    cats = cell_df.assign(rate=cell_df["total"] / cell_df["n"])
    is_base = cats["persona_id"] == BASELINE_ID
    base = (cats[is_base].groupby("model", sort=True)[["n", "total"]].sum().reset_index()
            .rename(columns={"n": "n_baseline"}))
    base["baseline_rate"] = base["total"] / base["n_baseline"]
    base = base[["model", "n_baseline", "baseline_rate"]]
    per = cats[~is_base].groupby(["model", "persona_id"], sort=True)[["n", "total"]].sum().reset_index()
    per["rate"] = per["total"] / per["n"]
    merged = per.merge(scores, on=["model", "persona_id"], how="outer", indicator=True)
    no_score = merged[merged["_merge"] == "left_only"]
    if len(no_score):
        ex = no_score["model"] + "/" + no_score["persona_id"]
        issues.append(DataIssue(
            "responses_without_persona_score", len(no_score),
            "model x persona pairs with responses but no agreeableness score: their responses are not used",
            f"{int(no_score['n'].sum())} scored responses in these pairs; e.g. {examples(ex)}"))
    no_resp = merged[merged["_merge"] == "right_only"]
    if len(no_resp):
        ex = no_resp["model"] + "/" + no_resp["persona_id"]
        issues.append(DataIssue("personas_without_responses", len(no_resp),
                                "scored persona with no scored response: left out", examples(ex)))
    both = (merged[merged["_merge"] == "both"][["model", "persona_id", "agreeableness", "n", "rate"]]
            .sort_values(["model", "persona_id"]).reset_index(drop=True))
    both["n"] = both["n"].astype(np.int64)
    cats_p = cats[~is_base].merge(both[["model", "persona_id", "agreeableness"]], on=["model", "persona_id"])
    cats_p = cats_p[["model", "persona_id", "category", "agreeableness", "n", "rate"]]
    all_models = sorted(set(cell_df["model"]) | set(scores["model"]))
    rows = []
    for m in all_models:
        sub = both[both["model"] == m]
        n = len(sub)
        status = "ok"
        if n < min_personas:
            status = f"fewer than {min_personas} personas with a score and responses ({n})"
        elif sub["agreeableness"].nunique() < 2:
            status = "constant agreeableness: correlation undefined"
        elif sub["rate"].nunique() < 2:
            status = "constant sycophancy rate: correlation undefined"
        rows.append({"model": m, "n_personas": n, "has_baseline": bool((base["model"] == m).any()),
                     "status": status})
    models = pd.DataFrame(rows, columns=["model", "n_personas", "has_baseline", "status"])
    # One issue per exclusion reason; the status text starts with the reason's prefix.
    for check, prefix, rule in (
        ("model_too_few_personas", "fewer than", f"model with fewer than {min_personas} usable personas: left "
                                                 "out of the per-model tests and the pooled model"),
        ("constant_agreeableness", "constant agreeableness", "all personas of the model have the same score: "
                                                            "left out of the per-model tests and the pooled model"),
        ("constant_rate", "constant sycophancy", "all personas of the model have the same rate: left out of "
                                                 "the per-model tests and the pooled model"),
    ):
        bad = models[models["status"].str.startswith(prefix)]
        if len(bad):
            issues.append(DataIssue(check, len(bad), rule, examples(bad["model"])))
    nob = models[~models["has_baseline"]]
    if len(nob):
        issues.append(DataIssue(
            "model_without_baseline", len(nob),
            f"no '{BASELINE_ID}' rows: baseline rate, shift and the paired shift test are left empty for the "
            "model (noted in per_model.note); its correlation tests still run", examples(nob["model"])))
    rates = Rates(both, base, cats_p.sort_values(["model", "persona_id", "category"]).reset_index(drop=True),
                  models)
    return rates, tuple(issues)
