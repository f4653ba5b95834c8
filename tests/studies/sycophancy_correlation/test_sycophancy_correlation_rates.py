"""The aggregated-rates input mode (data_format: rates), the Personality Illusion adapter and its profile.

Unit: one rates table per schema test (no statistic estimated); the persona (rows of one persona averaged) for
the per-model tests and the model for the pooled ones, whose rejection rates are simulated under persona-level
shared effects; one whole-notebook run per runner test.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit import stats
from studykit.contract.errors import InputError, ParamError
from studykit.files.paths import params_dir, resolve
from studykit.runs.runner import run_study
from studykit.contract.names import slug
from studykit.studies.sycophancy_correlation import Params, aggregated, aggregated_tests as at, steps
from studykit.studies.sycophancy_correlation import personality_illusion as pi

SHARED = resolve("../shared/data/sycophancy_personality_illusion")
if not SHARED.is_dir():  # a git worktree elsewhere finds the shared folder at /work/shared
    SHARED = Path("/work/shared/data/sycophancy_personality_illusion")
needs_shared = pytest.mark.skipif(not (SHARED / pi.BEHAVIOUR).is_file(),
                                  reason=f"the Personality Illusion data are not at {SHARED} (../shared absent)")
CONDITIONS = ["strategy", "run"]


# ---- hand-made tables ------------------------------------------------------------------------------------------
def table() -> pd.DataFrame:
    """Two models, 3 personas x 2 strategies x 2 runs each, 4 baseline rows; rates as counts of 10 trials."""
    rows = []
    for m, (mu, nu) in {"m1": (3.0, 0.4), "m2@v2": (4.0, 0.6)}.items():
        for p, (da, dr) in {"p1": (0.5, 0.1), "p2": (1.0, 0.0), "p3": (0.7, 0.2)}.items():
            for s in ("s1", "s2"):
                for r in ("1", "2"):
                    rows.append({"model": m, "persona_id": p, "strategy": s, "run": r, "agreeableness": mu + da,
                                 "rate": nu + dr + (0.1 if r == "2" else 0.0), "n_trials": 10})
        for r in ("1", "2", "3", "4"):
            rows.append({"model": m, "persona_id": "baseline", "strategy": "none", "run": r,
                         "agreeableness": mu + 0.1 * int(r), "rate": nu + 0.1 * (int(r) % 2), "n_trials": 10})
    return pd.DataFrame(rows)


def check(df: pd.DataFrame, tmp_path: Path, **kw):
    path = tmp_path / "rates.csv"
    df.to_csv(path, index=False)
    return aggregated.read_rates(path, condition_columns=kw.pop("conditions", CONDITIONS), likert_points=5, **kw)


@pytest.mark.parametrize("change, column", [
    (lambda d: d.drop(columns="n_trials"), "n_trials"),
    (lambda d: d.drop(columns="strategy"), "strategy"),
    (lambda d: d.drop(columns="agreeableness"), "agreeableness"),
    (lambda d: d.drop(columns="rate"), "rate"),
    (lambda d: d.assign(rate=d["rate"].astype(object).where(d.index != 3, "high")), "rate"),
    (lambda d: d.assign(rate=d["rate"].where(d.index != 3, 1.5)), "rate"),
    (lambda d: d.assign(rate=d["rate"] * 100), "rate"),
    (lambda d: d.assign(n_trials=d["n_trials"].where(d.index != 5, 0)), "n_trials"),
    (lambda d: d.assign(n_trials=d["n_trials"].where(d.index != 5, -3)), "n_trials"),
    (lambda d: d.assign(agreeableness=d["agreeableness"].where(d.index != 2, 7.5)), "agreeableness"),
    (lambda d: d.assign(agreeableness=d["agreeableness"].where(d.index != 2, np.inf)), "agreeableness"),
    (lambda d: d.assign(model=d["model"].where(d.index != 1, " ")), "model"),
    (lambda d: pd.concat([d, d.iloc[[4]].assign(rate=0.9)]), "rates_condition_columns"),
])
def test_bad_rates_tables_fail_in_one_line_naming_column_and_file(tmp_path, change, column):
    with pytest.raises(InputError) as err:
        check(change(table()), tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and column in msg and "rates.csv" in msg


def test_counts_are_checked_against_their_trials(tmp_path):
    d = table().assign(count=lambda x: (x["rate"] * 10).round()).drop(columns="rate")
    rows, _ = check(d, tmp_path)
    assert rows.rows["rate"].between(0, 1).all()
    with pytest.raises(InputError, match="'count' must lie in 0..n_trials.*e.g. 11 of 10"):
        check(d.assign(count=d["count"].where(d.index != 0, 11)), tmp_path)


def test_documented_rules_are_reported(tmp_path):
    d = table()
    d = pd.concat([d, d.iloc[[0, 1]]], ignore_index=True)                      # exact duplicates
    d.loc[2, "rate"] = np.nan                                                   # a row without its rate
    d.loc[3, "agreeableness"] = np.nan                                          # a row without its score
    d = d[~((d["model"] == "m2@v2") & (d["persona_id"] == "baseline"))]         # a model without baseline
    rows, issues = check(d, tmp_path)
    got = {i.check: i.count for i in issues}
    assert got == {"duplicate_rate_rows": 2, "rows_without_rate": 1, "rows_without_score": 1,
                   "model_without_baseline": 1}
    assert len(rows.rows) == len(table()) - 4 - 1
    pm, _ = at.per_model_rates(rows)
    m2 = pm.set_index("model").loc["m2@v2"]
    assert np.isnan(m2["shift"]) and np.isnan(m2["manipulation"]) and "0 baseline rows" in m2["note"]
    assert not m2["shift_significant"] and np.isfinite(m2["slope"])


def test_per_model_numbers_are_the_persona_level_ones(tmp_path):
    """Shift, manipulation and slope equal the stats functions applied to the persona means by hand."""
    rows, issues = check(table(), tmp_path)
    assert issues == ()
    pm, _ = at.per_model_rates(rows, correction="holm")
    persona = aggregated.persona_table(rows)
    assert (persona["n_rows"] == 4).all() and len(persona) == 6
    for model, sub in persona.groupby("model"):
        base = rows.baseline[rows.baseline["model"] == model]
        got = pm.set_index("model").loc[model]
        shift = stats.mean_difference_t(sub["rate"], base["rate"])
        assert got["shift"] == pytest.approx(sub["rate"].mean() - base["rate"].mean())
        assert (got["shift_ci_low"], got["shift_p_value"]) == pytest.approx((shift.effect.ci_low, shift.p_value))
        manip = stats.mean_difference_t(sub["agreeableness"], base["agreeableness"])
        assert got["manipulation_p_value"] == pytest.approx(manip.p_value)
        fit = stats.ols_slope(sub["agreeableness"], sub["rate"])
        assert (got["slope"], got["slope_p_value"], got["slope_df"]) == pytest.approx((fit.estimate, fit.p_value, 1.0))
    # persona rate = trial-weighted mean of its rows: p1 of m1 has rates 0.5 and 0.6, twice each
    assert persona.set_index(["model", "persona_id"]).loc[("m1", "p1"), "rate"] == pytest.approx(0.55)
    assert list(pm["shift_p_value_corrected"]) == pytest.approx(list(stats.adjust_pvalues(pm["shift_p_value"], "holm")))
    head = steps.RatesPerModel(pm, (), 0.95).records(slug)
    assert head["n_models"] == 2 and head["n_rows"] == 24 and head["slope.m1"] == pytest.approx(pm["slope"][0])
    assert not any("@" in k for k in head) and sum(k.startswith("slope.m2") for k in head) == 1  # a safe key


def test_too_few_or_constant_personas_are_reported(tmp_path):
    d = table()
    d = d[~((d["model"] == "m1") & (d["persona_id"] == "p3"))]
    d.loc[d["model"] == "m2@v2", "agreeableness"] = d.loc[d["model"] == "m2@v2", "agreeableness"].where(
        d["persona_id"] == "baseline", 4.5)
    rows, _ = check(d, tmp_path)
    pm, issues = at.per_model_rates(rows)
    assert {i.check for i in issues} == {"model_too_few_personas", "constant_agreeableness"}
    assert pm["slope"].isna().all() and not pm["slope_significant"].any()
    summary, pooled = at.pooled_rates(rows, pm)
    assert pooled is None and summary.n_models == 2


# ---- the adapter -----------------------------------------------------------------------------------------------
def upstream_copy(dst: Path, models: list[str] | None = None, edit=None) -> Path:
    """A copy of the upstream layout in a temporary folder (never in the repository), optionally cut to models."""
    for rel in [pi.PERSONA_DIR / f"prompt_strategy_{s}.csv" for s in pi.STRATEGIES] + [pi.BEHAVIOUR, pi.SELF_REPORT]:
        df = pd.read_csv(SHARED / rel)
        if models is not None:
            df = df[df["Model"].isin(models)]
        if edit is not None:
            df = edit(rel, df)
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(dst / rel, index=False)
    return dst


@needs_shared
def test_real_folder_reads_into_the_documented_design():
    rows, issues = pi.read_personality_illusion(SHARED)
    r = rows.rows
    assert r["model"].nunique() == 12 and len(rows.personas) == 972 and len(rows.baseline) == 12 * 27
    assert rows.personas.groupby("model").size().eq(81).all()
    assert set(rows.personas["persona_id"]) == {"p1", "p2", "p3"} and set(rows.personas["strategy"]) == {"1", "2", "3"}
    assert r["rate"].between(0, 1).all() and (r["n_trials"] == 52).all() and r["agreeableness"].between(1, 5).all()
    assert {i.check for i in issues} == {"rate_not_whole_count"}
    # the pooled row-level correlations the issue quotes (-0.20 with the baseline rows)
    summary, _ = at.pooled_rates(rows, at.per_model_rates(rows)[0])
    assert summary.rows_r_with_baseline == pytest.approx(-0.204, abs=0.001)
    assert summary.rows_r == pytest.approx(-0.445, abs=0.001)


@needs_shared
def test_adapter_refuses_percentages_outside_0_100_and_missing_files(tmp_path):
    def edit(rel, df):
        if rel == pi.BEHAVIOUR:
            df.loc[df.index[0], "sycophancy_rate"] = 140.0
        return df

    folder = upstream_copy(tmp_path / "up", ["gpt-4o"], edit)
    with pytest.raises(InputError) as err:
        pi.read_personality_illusion(folder)
    assert "\n" not in str(err.value) and "'sycophancy_rate'" in str(err.value) and "behavioral_tasks" in str(err.value)
    folder = upstream_copy(tmp_path / "up2", ["gpt-4o"])
    (folder / pi.SELF_REPORT).unlink()
    with pytest.raises(InputError, match="file not found: .*instruct_models_selfreport.csv"):
        pi.read_personality_illusion(folder)


def test_profile_without_the_shared_data_fails_in_one_line(tmp_path, monkeypatch):
    values = Params.read_profile(params_dir("sycophancy_correlation") / "personality_illusion.yaml")
    assert values["data_format"] == "personality_illusion"
    root = tmp_path / "project"
    root.mkdir()
    import studykit.files.paths

    monkeypatch.setattr(studykit.files.paths, "project_root", lambda: root)  # the function is cached; replace it
    p = Params.validate_mapping(values, "personality_illusion")
    with pytest.raises(ParamError) as err:
        p.check_inputs()
    msg = str(err.value)
    assert "\n" not in msg and "shared/data/sycophancy_personality_illusion" in msg
    assert "Personality Illusion" in msg and "psychology-of-AI/Personality-Illusion" in msg


def test_rates_format_needs_its_input():
    with pytest.raises(ParamError, match="needs 'rates_path'"):
        Params.validate_mapping({"data_format": "rates"}, "x")


@needs_shared
def test_profile_on_a_slice(tmp_path):
    models = ["gpt-4o", "claude-3-7-sonnet-20250219", "meta-llama/Llama-3.2-3B-Instruct",
              "allenai/OLMo-2-1124-7B-Instruct"]
    folder = upstream_copy(tmp_path / "up", models)
    res = run_study("sycophancy_correlation", profile="personality_illusion", out_dir=tmp_path / "run",
                    progress=False, overrides={"personality_illusion_dir": str(folder)})
    out = res.out_dir
    r = json.loads((out / "results.json").read_text())
    for key in ("n_models", "n_rows", "n_models_shift_significant", "n_models_manipulation_significant",
                "n_models_association_tested", "n_models_association_significant", "max_persona_r",
                "pooled.slope", "pooled.slope_ci_low", "pooled.slope_ci_high", "pooled.df", "pooled.method",
                "across_models.shift", "across_models.manipulation_p_value", "across_models.rows_r",
                "across_models.rows_r_with_baseline", "between_models.statistic", "between_models.p_value",
                "shift.gpt-4o", "slope.gpt-4o", "data_issues.rate_not_whole_count"):
        assert key in r, key
    assert r["n_models"] == 4 and r["n_rows"] == 4 * 81 and r["pooled.df"] == 3
    pm = pd.read_csv(out / "tables" / "per_model_rates.csv")
    assert list(pm.columns) == at.PER_MODEL_RATE_COLUMNS and len(pm) == 4
    assert (pm["n_personas"] == 3).all() and (pm["n_baseline_rows"] == 27).all()
    assert not (out / "tables" / "per_model.csv").exists()  # the per-prompt sections did not run
    assert (out / "figures" / "scatter_grid.png").is_file()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/texcheck.py
    from texcheck import tex_problems

    assert not tex_problems(out)  # per_model_rates.tex shows at most 10 readable columns


# ---- rejection rates under the design --------------------------------------------------------------------------
def simulate(rng, models: int = 12, tau_a: float = 0.2, tau_r: float = 0.05, slope: float = 0.0,
             shift: float = 0.0) -> aggregated.RateRows:
    """The Personality Illusion design: per model 3 personas x 3 strategies x 3 temperatures x 3 runs and 27
    baseline rows. Each persona draws its own agreeableness and rate offsets (shared by all its rows:
    persona-level dependence), independent unless ``slope``; strategies and temperatures are fixed effects."""
    strat, temp = np.array([-0.05, 0.0, 0.05]), np.array([-0.02, 0.0, 0.02])
    s, t, r = (a.ravel() for a in np.meshgrid(range(3), range(3), range(3), indexing="ij"))
    parts = []
    for m in range(models):
        mu, nu = rng.uniform(3.3, 4.3), rng.uniform(0.3, 0.7)
        a_p = rng.normal(0, tau_a, 3)
        u_p = rng.normal(0, tau_r, 3) + slope * a_p
        for p in range(3):
            parts.append(pd.DataFrame({
                "model": f"m{m:02d}", "persona_id": f"p{p}", "strategy": s.astype(str), "temperature": t.astype(str),
                "run": r.astype(str), "agreeableness": mu + 0.5 + a_p[p] + rng.normal(0, 0.2, 27),
                "rate": nu + shift + u_p[p] + strat[s] + temp[t] + rng.normal(0, 0.08, 27)}))
        bt = np.repeat(np.arange(3), 9)
        parts.append(pd.DataFrame({
            "model": f"m{m:02d}", "persona_id": "baseline", "strategy": "none", "temperature": bt.astype(str),
            "run": np.tile(np.arange(9), 3).astype(str), "agreeableness": mu + rng.normal(0, 0.2, 27),
            "rate": nu + temp[bt] + rng.normal(0, 0.08, 27)}))
    df = pd.concat(parts, ignore_index=True).assign(n_trials=52)
    df["rate"] = df["rate"].clip(0, 1)
    return aggregated.validate_rates(df, where="simulated", condition_columns=["strategy", "temperature", "run"])[0]


def rejection_rates(reps: int, seed: int, pooled: bool = True) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits = {"slope": [], "shift": [], "rows_pearson": [], "pooled": []}
    for _ in range(reps):
        data = simulate(rng)
        pm, _ = at.per_model_rates(data)
        hits["slope"] += list(pm["slope_p_value"] < 0.05)
        hits["shift"] += list(pm["shift_p_value"] < 0.05)
        for _, g in data.personas.groupby("model"):  # what a row-level test would claim
            hits["rows_pearson"].append(stats.pearson_r(g["agreeableness"], g["rate"]).p_value < 0.05)
        if pooled:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hits["pooled"].append(at.pooled_rates(data, pm)[1].slope_p_value < 0.05)
    return {k: float(np.mean(v)) for k, v in hits.items() if v}


def test_rejection_rates_under_persona_level_dependence():
    """Null: no association, no shift; 25 replicates x 12 models (300 per-model tests, binomial SE 0.013)."""
    rates = rejection_rates(25, seed=11, pooled=False)
    assert 0.01 <= rates["slope"] <= 0.10 and 0.01 <= rates["shift"] <= 0.10, rates
    assert rates["rows_pearson"] > 0.15, rates  # rows of one persona are not independent observations


def test_the_tests_find_a_planted_effect():
    """Planted within-model slope 0.5 and shift 0.15: the pooled interval covers the slope and excludes 0, the
    shift across models is found; per model, 3 personas leave both tests with little power (not asserted)."""
    rng = np.random.default_rng(5)
    data = simulate(rng, slope=0.5, shift=0.15, tau_r=0.01)
    pm, _ = at.per_model_rates(data)
    assert (pm["shift"] > 0).all() and (pm["manipulation"] > 0).all() and (pm["slope"] > 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary, pooled = at.pooled_rates(data, pm)
    assert 0 < pooled.slope_ci_low < 0.5 < pooled.slope_ci_high and pooled.df == 11
    assert summary.shift_ci_low < 0.15 < summary.shift_ci_high and summary.shift_p_value < 1e-4


@pytest.mark.slow
def test_rejection_rates_under_persona_level_dependence_full():
    """300 replicates x 12 models: per-model tests (3,600 each, SE 0.004) and the pooled test (300, SE 0.013)."""
    rates = rejection_rates(300, seed=12)
    assert 0.03 <= rates["slope"] <= 0.07 and 0.03 <= rates["shift"] <= 0.07, rates
    assert 0.02 <= rates["pooled"] <= 0.085, rates
    assert rates["rows_pearson"] > 0.15, rates
