"""The crossed-design slope (persona x prompt clustered) and its validity when the slope varies by prompt.

Unit: the model. Each replicate is one null model (true mean slope 0) whose personas answer
the same prompts, with a prompt-varying agreeableness slope v_j ~ N(0, sd^2) shared by every
persona; the persona-averaged slope test and the crossed-design test
(:func:`crossed.crossed_slopes`, two-way clustered by persona and prompt) are run on each
model, and rejections are counted over replicate models.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit import stats
from studykit.studies.sycophancy_correlation import crossed
from studykit.studies.sycophancy_correlation.rates import Rates
from studykit.studies.sycophancy_correlation.responses import ResponseCells, ResponseRows
from studykit.studies.sycophancy_correlation.simulate import draw_stances

SCORES = np.array([1.0, 0.5, 0.5, 0.0])  # the simulator's stance codes: AGREE, PARTIALLY (A/D), DISAGREE


def _null_models(reps: int, n_personas: int, n_prompts: int, seed: int, slope_sd: float,
                 persona_sd: float = 0.04, slope: float = 0.0) -> tuple[ResponseCells, Rates]:
    """``reps`` models ("m0000", ...) of ``n_personas`` x ``n_prompts`` responses, as the study's loader returns them.

    Agreeableness A_p spread evenly over [1.2, 4.8] (the simulator's range); stance probability
    0.4 + u_mp + delta_mj + (slope + v_mj)(A_p - 3), u ~ N(0, persona_sd^2), delta ~ N(0, 0.06^2),
    v ~ N(0, slope_sd^2); stances drawn by the simulator's stance model (expected score = probability).
    """
    rng = np.random.default_rng(seed)
    a = np.linspace(1.2, 4.8, n_personas)
    u = rng.normal(0, persona_sd, (reps, n_personas, 1))
    delta = rng.normal(0, 0.06, (reps, 1, n_prompts))
    v = rng.normal(0, slope_sd, (reps, 1, n_prompts))
    p = np.clip(0.4 + u + delta + (slope + v) * (a - 3)[None, :, None], 0.0, 1.0)
    codes = draw_stances(p, rng)  # (reps, personas, prompts)
    models = [f"m{r:04d}" for r in range(reps)]
    persona_ids = [f"p{i:03d}" for i in range(n_personas)]
    pairs = pd.DataFrame({"model": np.repeat(models, n_personas), "persona_id": np.tile(persona_ids, reps)},
                         dtype=object)
    pair = np.repeat(np.arange(reps * n_personas, dtype=np.int32), n_prompts)
    prompt = np.tile(np.arange(n_prompts, dtype=np.int16), reps * n_personas)
    rows = ResponseRows(pair, prompt, codes.ravel(), pairs, np.array([f"q{j:03d}" for j in range(n_prompts)],
                                                                        dtype=object), SCORES)
    rate = SCORES[codes].mean(axis=2).ravel()
    personas = pairs.assign(agreeableness=np.tile(a, reps), n=n_prompts, rate=rate)
    status = pd.DataFrame({"model": models, "n_personas": n_personas, "has_baseline": False, "status": "ok"})
    rates = Rates(personas, pd.DataFrame(columns=["model", "n_baseline", "baseline_rate"]),
                  pd.DataFrame(), status)
    cells = ResponseCells(pd.DataFrame(), len(pair), n_prompts, "stance", "", rows)
    return cells, rates


def _p_values(reps: int, seed: int, slope_sd: float, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values of the persona-averaged OLS slope and of the crossed-design slope, per model."""
    cells, rates = _null_models(reps, seed=seed, slope_sd=slope_sd, **kw)
    fits = crossed.crossed_slopes(cells, rates)
    averaged = np.array([stats.ols_slope(s["agreeableness"], s["rate"]).p_value
                         for _, s in rates.personas.groupby("model", sort=True)])
    return averaged, fits["slope_crossed_p_value_two_sided"].to_numpy(dtype=float)


def test_crossed_slope_equals_the_persona_averaged_slope_and_adds_the_prompt_variance():
    """Every cell answered: the same estimate as the persona rates' OLS slope; the interval is wider when the
    slope varies by prompt, and the df are min(personas, prompts) - 1."""
    cells, rates = _null_models(3, n_personas=50, n_prompts=30, seed=4, slope_sd=0.05)
    fits = crossed.crossed_slopes(cells, rates)
    for (_, s), f in zip(rates.personas.groupby("model", sort=True), fits.itertuples()):
        ols = stats.ols_slope(s["agreeableness"], s["rate"])
        assert f.slope_crossed == pytest.approx(ols.estimate, rel=1e-9, abs=1e-12)
        assert f.slope_crossed_df == 29 and f.n_cells == 1500
        assert f.n_personas_crossed == 50 and f.n_prompts_crossed == 30
    assert (fits["slope_crossed_ci_high"] - fits["slope_crossed_ci_low"]).min() > 0


def test_crossed_columns_are_corrected_across_models():
    """The per-model family's correction applies to the crossed p-values as to the Pearson p-values."""
    cells, rates = _null_models(4, n_personas=40, n_prompts=20, seed=9, slope_sd=0.0, slope=0.03)
    fits = crossed.crossed_slopes(cells, rates)
    table = pd.DataFrame({"model": fits["model"], "note": ""})
    holm = crossed.add_crossed_columns(table, fits, alpha=0.05, correction="holm")
    none = crossed.add_crossed_columns(table, fits, alpha=0.05, correction="none")
    p = fits["slope_crossed_p_value"].to_numpy()
    assert np.allclose(holm["slope_crossed_p_value_corrected"], stats.adjust_pvalues(p, method="holm"))
    assert np.allclose(none["slope_crossed_p_value_corrected"], p)
    assert (holm["significant_crossed"] == (holm["slope_crossed_p_value_corrected"] < 0.05)).all()
    rec = crossed.headline(holm, name=str)
    assert rec["n_models_significant_crossed"] == int(holm["significant_crossed"].sum())
    assert set(rec) >= {"slope_crossed.m0000", "slope_crossed_ci_low.m0003", "significant_crossed.m0002"}


def test_rejection_rates_under_prompt_varying_slopes_fast():
    """300 null models, 200 personas x 40 prompts, prompt-slope SD 0.035: the persona-averaged slope test
    rejects far above 0.05, the crossed-design test near it (two-sided, alpha 0.05; 300 replicates give a
    binomial SE of 0.013 at 0.05, band 0.02-0.09)."""
    averaged, crossed_p = _p_values(300, seed=21, slope_sd=0.035, n_personas=200, n_prompts=40, persona_sd=0.02)
    assert (averaged < 0.05).mean() > 0.12, (averaged < 0.05).mean()
    assert 0.02 <= (crossed_p < 0.05).mean() <= 0.09, (crossed_p < 0.05).mean()


@pytest.mark.slow
@pytest.mark.parametrize("slope_sd, averaged_above", [(0.0, None), (0.02, 0.07), (0.035, 0.12)])
def test_rejection_rates_under_prompt_varying_slopes_slow(slope_sd, averaged_above):
    """2,000 null models at the embedded data's size (275 personas x 99 prompts, persona SD 0.04), in batches:
    the crossed-design test within 0.05 +- 0.015 (binomial SE 0.005) at prompt-slope SD 0, 0.02 and 0.035;
    the persona-averaged test near 0.05 without prompt-varying slopes and above it with them."""
    averaged, crossed_p = [], []
    for batch in range(8):
        a, c = _p_values(250, seed=1000 * (1 + batch) + int(slope_sd * 1000), slope_sd=slope_sd,
                         n_personas=275, n_prompts=99)
        averaged.append(a)
        crossed_p.append(c)
    averaged, crossed_p = np.concatenate(averaged), np.concatenate(crossed_p)
    rate_crossed, rate_averaged = (crossed_p < 0.05).mean(), (averaged < 0.05).mean()
    print(f"slope SD {slope_sd}: persona-averaged {rate_averaged:.4f}, crossed {rate_crossed:.4f} (2000 models)")
    assert abs(rate_crossed - 0.05) < 0.015, rate_crossed
    if averaged_above is None:
        assert abs(rate_averaged - 0.05) < 0.015, rate_averaged
    else:
        assert rate_averaged > averaged_above, rate_averaged
