"""The generated blocks of docs/studies/sycophancy_correlation.md, rendered from a run folder.

Unit: one run folder (results.json and tables) of the profile a block names; read by tests/docnumbers.py
(``BLOCKS``: block name -> profile and renderer; ``run_folder``: where a profile's run comes from).
Regenerate: ``python tests/docnumbers.py sycophancy_correlation workshop=RUN personality_illusion=RUN``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from docnumbers import Block, real_data_run  # noqa: E402

from studykit.files.paths import resolve  # noqa: E402
from studykit.studies.sycophancy_correlation import personality_illusion as pi  # noqa: E402
from studykit.runs.resultsfile import read_results  # noqa: E402

SHARED = resolve("../shared/data/sycophancy_personality_illusion")
if not SHARED.is_dir():  # a git worktree elsewhere finds the shared folder at /work/shared
    SHARED = Path("/work/shared/data/sycophancy_personality_illusion")


def render_results(out: Path) -> str:
    """The doc's results block from a run folder (results.json and tables)."""
    res = read_results(out)
    rec = pd.read_csv(out / "tables" / "recovery.csv")
    lines = [
        f"{res['n_models_significant']} of {res['n_models']} models significant under Holm (also "
        f"{res['n_models_significant_paper_rule']} under the paper's 3-of-6 rule); max r = {res['max_pearson_r']:.3f}, "
        f"max d = {res['max_cohens_d']:.2f}. Pooled mixed-model slope {res['pooled.slope']:.4f} "
        f"[{res['pooled.slope_ci_low']:.4f}, {res['pooled.slope_ci_high']:.4f}] per agreeableness point (planted mean "
        f"{res['recovery.true_pooled_slope']:.4f}), fitted by `{res['pooled.method']}`; between-model slope SD "
        f"{res['pooled.slope_sd_between']:.3f}. Cronbach's alpha {res['reliability.alpha_all_models']:.3f}.",
        "",
        "| model | planted slope | estimated slope [95% CI] | covered | r | significant |",
        "|---|---|---|---|---|---|",
    ]
    for r in rec.itertuples():
        lines.append(f"| {r.model} | {r.true_slope:.3f} | {r.slope:.4f} [{r.slope_ci_low:.4f}, {r.slope_ci_high:.4f}] "
                     f"| {'yes' if r.covered else 'no'} | {r.pearson_r:.3f} | {'yes' if r.significant else 'no'} |")
    lines += ["", f"{res['recovery.n_covered']} of {res['recovery.n_models']} CIs cover the planted slope; "
              f"{res['recovery.n_planted_null_significant']} planted nulls are called significant.", ""]
    return "\n".join(lines)


def render_shift(out: Path) -> str:
    """The doc's before/after block of the shift test and the zones."""
    res = read_results(out)
    pm = pd.read_csv(out / "tables" / "per_model.csv")
    gap = pd.read_csv(out / "tables" / "trait_truthfulness_gap.csv").set_index("model")
    n_old_deceptive = int((gap["gap_high"] > 0).sum())
    lines = [
        f"Before (one-sample t of the persona rates against the baseline rate as a constant, now "
        f"`shift_p_value_given_baseline`): p from {res['baseline_shift.shift_p_value_given_baseline_max']:.1e} to "
        f"{res['baseline_shift.shift_p_value_given_baseline_min']:.1e}, {int((pm['shift_p_value_given_baseline'] < 0.05).sum())} "
        f"of {len(pm)} models significant. After (paired over "
        f"prompts, df = {int(pm['shift_df'].max())}): p from {res['baseline_shift.shift_p_value_min']:.1e} to "
        f"{res['baseline_shift.shift_p_value_max']:.2f}; {res['baseline_shift.n_shift_tested'] - res['baseline_shift.n_shift_significant']} "
        f"of {res['baseline_shift.n_shift_tested']} models not significant at alpha 0.05 "
        f"({res['baseline_shift.n_shift_significant']} significant); after the Holm correction across the models "
        f"(`shift_p_value_corrected`, issue 21.5) {res['baseline_shift.n_shift_significant_adjusted']} significant. The "
        f"zones are per-model 95% intervals, descriptive, not corrected across models. Zones: before (point estimate "
        f"G_high > 0) {n_old_deceptive} deceptive; after (paired CI) {res['baseline_shift.n_deceptive']} deceptive, "
        f"{res['baseline_shift.n_truthful']} truthful, {res['baseline_shift.n_undetermined']} undetermined.",
        "",
        "| model | mean shift [95% CI] | p paired | p paired, Holm | p given baseline (before) | G_high [95% CI] | zone |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in pm.itertuples():
        g = gap.loc[r.model]
        lines.append(f"| {r.model} | {r.mean_shift:.3f} [{r.shift_ci_low:.3f}, {r.shift_ci_high:.3f}] | {r.shift_p_value:.1e} "
                     f"| {r.shift_p_value_corrected:.1e} | {r.shift_p_value_given_baseline:.1e} | {g.gap_high:.3f} [{g.gap_high_ci_low:.3f}, "
                     f"{g.gap_high_ci_high:.3f}] | {g.zone} |")
    return "\n".join(lines) + "\n"


def render_crossed(out: Path) -> str:
    """The doc's before/after block of the crossed-design slope and the pooled interval (workshop run, 95%)."""
    from scipy import stats as sps

    res = read_results(out)
    pm = pd.read_csv(out / "tables" / "per_model.csv")
    width = ((pm["slope_crossed_ci_high"] - pm["slope_crossed_ci_low"]) / (pm["slope_ci_high"] - pm["slope_ci_low"]))
    b, se, df = res["pooled.slope"], res["pooled.slope_se"], res["pooled.df"]
    z = sps.norm.ppf(0.975)
    lines = [
        f"Per model: {res['n_models_significant']} of {res['n_models']} models significant with the persona-averaged "
        f"test (one-sided Pearson, Holm; conditional on the {res['n_prompts']} prompts), "
        f"{res['n_models_significant_crossed']} with the crossed-design test (two-way clustered by persona and prompt, "
        f"t on {int(pm['slope_crossed_df'].min())} df, Holm). The crossed interval is {width.min():.2f} to "
        f"{width.max():.2f} times as wide as the persona-averaged one (median {width.median():.2f}). Pooled "
        f"mixed-model slope {b:.4f}: before (normal reference) [{b - z * se:.4f}, {b + z * se:.4f}], after "
        f"(t on {int(df)} df) [{res['pooled.slope_ci_low']:.4f}, {res['pooled.slope_ci_high']:.4f}], p "
        f"{res['pooled.slope_p_value']:.1e}.",
        "",
        "| model | slope | persona-averaged 95% CI | p | crossed 95% CI | p crossed | p crossed (Holm) | "
        "significant: persona-averaged / crossed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in pm.itertuples():
        yes = {True: "yes", False: "no"}
        lines.append(f"| {r.model} | {r.slope:.4f} | [{r.slope_ci_low:.4f}, {r.slope_ci_high:.4f}] | {r.slope_p_value:.1e} "
                     f"| [{r.slope_crossed_ci_low:.4f}, {r.slope_crossed_ci_high:.4f}] | {r.slope_crossed_p_value:.1e} "
                     f"| {r.slope_crossed_p_value_corrected:.1e} | {yes[bool(r.significant)]} / "
                     f"{yes[bool(r.significant_crossed)]} |")
    return "\n".join(lines) + "\n"


def _ci(v, lo, hi, f=".3f") -> str:
    return "-" if pd.isna(v) else f"{v:{f}} [{lo:{f}}, {hi:{f}}]"


def _p(v) -> str:
    return "-" if pd.isna(v) else f"{v:.3g}"


def render_personality_illusion(out: Path) -> str:
    """The doc's block of the personality_illusion profile from its run folder (results.json and tables)."""
    r = read_results(out)
    pm = pd.read_csv(out / "tables" / "per_model_rates.csv")
    up = int((pm["shift_significant"] & (pm["shift"] > 0)).sum())
    down = int((pm["shift_significant"] & (pm["shift"] < 0)).sum())
    lines = [
        f"{r['n_models']} models, {r['n_rows']} rows under a persona ({r['n_personas_max']} personas x 3 strategies "
        f"x 3 temperatures x 3 runs per model) and {int(pm['n_baseline_rows'].sum())} rows without one. "
        f"**Manipulation check:** self-reported agreeableness was higher under the persona in "
        f"{r['across_models.n_models_manipulation_up']} of {r['n_models']} models "
        f"({r['n_models_manipulation_significant_up']} significant, Holm), by "
        f"{_ci(r['across_models.manipulation'], r['across_models.manipulation_ci_low'], r['across_models.manipulation_ci_high'], '.2f')} "
        f"points on the 1-5 scale (mean over models, t on {int(r['across_models.df'])} df, p "
        f"{_p(r['across_models.manipulation_p_value'])}). **Shift:** the persona changed the sycophancy rate significantly "
        f"in {r['n_models_shift_significant']} of {r['n_models']} models ({up} up, {down} down, Holm); mean over "
        f"models {_ci(r['across_models.shift'], r['across_models.shift_ci_low'], r['across_models.shift_ci_high'])}, "
        f"p {_p(r['across_models.shift_p_value'])}. **Association** (persona = unit, t on 1 df): testable in "
        f"{r['n_models_association_tested']} of {r['n_models']} models, significant in "
        f"{r['n_models_association_significant']} ({r['n_models_association_significant_positive']} positive, Holm); "
        f"persona-level r from {r['min_persona_r']:.2f} to {r['max_persona_r']:.2f}, positive in "
        f"{r['n_models_persona_r_positive']}. **Pooled** within-model slope (`{r['pooled.method']}`, agreeableness "
        f"centred within model, {r['pooled.n_models']} models, t on {int(r['pooled.df'])} df): "
        f"{_ci(r['pooled.slope'], r['pooled.slope_ci_low'], r['pooled.slope_ci_high'])} rate per agreeableness "
        f"point, p {_p(r['pooled.slope_p_value'])}. **Between models** (one point per model): r = "
        f"{_ci(r['between_models.statistic'], r['between_models.effect_ci_low'], r['between_models.effect_ci_high'], '.2f')}, "
        f"p {_p(r['between_models.p_value'])}. **Row-level r** (descriptive): {r['across_models.rows_r']:.3f} over "
        f"the persona rows of all models, {r['across_models.rows_r_with_baseline']:.3f} with the baseline rows, "
        f"{r['across_models.rows_r_within_model']:.3f} after removing each model's means.",
        "",
        "| model | rate without persona | shift [95% CI] | p (Holm) | agreeableness: persona - none [95% CI] | "
        "p (Holm) | range of persona means | r (personas) | slope [95% CI] | p (Holm) | r (rows) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in pm.itertuples():
        lines.append(
            f"| {x.model} | {x.baseline_rate:.3f} | {_ci(x.shift, x.shift_ci_low, x.shift_ci_high)} | "
            f"{_p(x.shift_p_value_corrected)} | {_ci(x.manipulation, x.manipulation_ci_low, x.manipulation_ci_high, '.2f')} | "
            f"{_p(x.manipulation_p_value_corrected)} | {x.agreeableness_range:.3f} | "
            f"{'-' if pd.isna(x.persona_r) else f'{x.persona_r:.2f}'} | "
            f"{_ci(x.slope, x.slope_ci_low, x.slope_ci_high, '.2f')} | {_p(x.slope_p_value_corrected)} | "
            f"{'-' if pd.isna(x.rows_r) else f'{x.rows_r:.2f}'} |")
    return "\n".join(lines) + "\n"


BLOCKS = {
    "results": Block("workshop", render_results),
    "shift": Block("workshop", render_shift),
    "crossed": Block("workshop", render_crossed),
    "personality_illusion": Block("personality_illusion", render_personality_illusion),
}


run_folder = real_data_run("sycophancy_correlation", "personality_illusion", SHARED / pi.BEHAVIOUR,
                           {"personality_illusion_dir": str(SHARED)})
