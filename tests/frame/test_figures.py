"""Every figure of every study holds up with 1, 3 and 13 groups: no overlapping text, no text outside
the figure, readable tick labels, no legend over data (tests/figcheck.py).

Unit: one figure built from small synthetic tables shaped like the study's analysis tables (the columns
each plot function reads), with 1, 3 or 13 groups (models, agents, languages).
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from figcheck import problems  # noqa: E402
from texcheck import tex_header, tex_problems  # noqa: E402

from studykit.studies.annotation_robustness import plots as ar  # noqa: E402
from studykit.studies.code_survival import plots as cs  # noqa: E402
from studykit.studies.counterfactual_baselines import plots as cb  # noqa: E402
from studykit.studies.lexical_prevalence import plots as lp  # noqa: E402
from studykit.studies.sycophancy_correlation import plots as sc  # noqa: E402

GROUPS = (1, 3, 13)
_MODELS = ["llama-3.1-70b-instruct", "qwen2.5-7b-instruct", "mistral-small-24b", "gemma-2-9b-it",
           "phi-3.5-mini-instruct", "olmo-2-13b", "deepseek-v3", "gpt-4o-mini-2024-07-18", "claude-3-haiku",
           "yi-1.5-34b-chat", "command-r-plus", "granite-3.1-8b", "falcon3-10b-instruct"]
_LANGS = ["de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "sv", "zh"]


def names(n: int) -> list[str]:
    return _MODELS[:n]


def check(fig) -> None:
    found = problems(fig)
    plt.close(fig)
    assert not found, "\n".join(found)


# ---- sycophancy_correlation ------------------------------------------------------------------------------
def _syc(n: int):
    rng = np.random.default_rng(n)
    models = names(n)
    pr = pd.DataFrame([{"model": m, "agreeableness": a, "rate": float(np.clip(0.4 + 0.1 * a + rng.normal(0, .1), 0, 1))}
                       for m in models for a in rng.uniform(-2, 2, 40)])
    r = rng.uniform(-0.3, 0.5, n)
    pm = pd.DataFrame({"model": models, "model_params_b": np.geomspace(0.5, 400, n), "n_personas": 40,
                       "pearson_r": r, "r_ci_low": r - 0.15, "r_ci_high": r + 0.15, "cohens_d": 2 * r,
                       "d_ci_low": 2 * r - 0.3, "d_ci_high": 2 * r + 0.3, "slope": r / 10,
                       "baseline_rate": 0.45, "significant": r > 0.1})
    groups = pr.assign(group=np.where(pr["agreeableness"] > 0, "high", "low"))
    cats = pd.DataFrame([{"model": m, "category": f"category_{k:02d}", "r": rng.uniform(-.5, .5)}
                         for m in models for k in range(12)])
    return pr, pm, groups, cats


SYC = {
    "scatter_grid": lambda pr, pm, g, c: sc.scatter_grid(pr, pm),
    "forest": lambda pr, pm, g, c: sc.forest(pm),
    "violins": lambda pr, pm, g, c: sc.violins(g, list(pm.sort_values("pearson_r")["model"])),
    "category_heatmap": lambda pr, pm, g, c: sc.category_heatmap(c, list(pm["model"])[::-1]),
    "size_plot": lambda pr, pm, g, c: sc.size_plot(pm),
}


@pytest.mark.parametrize("n", GROUPS)
@pytest.mark.parametrize("fig_name", SYC)
def test_sycophancy_figures(fig_name, n):
    """Unit: one sycophancy figure with n models."""
    check(SYC[fig_name](*_syc(n)))


def test_size_plot_explains_its_colours():
    """Unit: the size figure; its two colours (significant or not) are named in a legend."""
    fig = sc.size_plot(_syc(3)[1])
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert any("not significant" in t for t in texts) and any(t.startswith("significant") for t in texts)


# ---- annotation_robustness -------------------------------------------------------------------------------
def _ar(n: int):
    rng = np.random.default_rng(n)
    models = names(n)
    risk = rng.uniform(0.05, 0.4, n)
    by_model = pd.DataFrame({"model": models, "risk": risk, "ci_low": risk - 0.03, "ci_high": risk + 0.03})
    e = rng.dirichlet([1, 1, 1, 6], n)
    breakdown = pd.DataFrame({"model": models, "type_I": e[:, 0], "type_II": e[:, 1], "type_S": e[:, 2]})
    quality = pd.DataFrame([{"model": m, "accuracy": rng.uniform(.6, .95), "risk": rng.uniform(0, .4)}
                            for m in models for _ in range(6)])
    bins = np.arange(5)
    by_effect = pd.DataFrame({"abs_gold_effect_median": 0.02 + 0.05 * bins, "risk": 0.4 - 0.07 * bins,
                              "ci_low": 0.35 - 0.07 * bins, "ci_high": 0.45 - 0.07 * bins})
    by_p = pd.DataFrame({"gold_p_value_median": 10.0 ** -bins, "risk": 0.1 + 0.05 * bins,
                         "ci_low": 0.05 + 0.05 * bins, "ci_high": 0.15 + 0.05 * bins})
    k = np.array([1, 2, 5, 10, 20, 50])
    curve = pd.concat([pd.DataFrame({"goal": g, "k_configurations": k, "prob_success": 1 - (1 - p) ** k})
                       for g, p in (("significant effect", .1), ("no effect", .05), ("reversed", .01))])
    rows = [{"rank": 0, "effect": 0.05, "ci_low": 0.01, "ci_high": 0.09, "conclusion": "a_larger", "model": "gold"}]
    for i, (m, eff) in enumerate(sorted(((m, rng.normal(0.04, 0.05)) for m in models for _ in range(8)),
                                        key=lambda t: t[1])):
        concl = "a_larger" if eff > 0.05 else "b_larger" if eff < -0.03 else "none"
        rows.append({"rank": i + 1, "effect": eff, "ci_low": eff - .04, "ci_high": eff + .04,
                     "conclusion": concl, "model": m})
    spec = pd.DataFrame(rows)
    mit = pd.DataFrame([{"method": meth, "human_labels": lab, "n_human": nh, "type_I_rate": rng.uniform(0, .2),
                         "type_I_rate_sd": .02, "type_II_rate": rng.uniform(0, .6), "type_II_rate_sd": .05}
                        for meth, lab in (("human_only", "gold"), ("ppi", "gold"), ("ppi", "human_single"),
                                          ("llm_only", "none"))
                        for nh in (50, 100, 200, 400)])
    return by_model, breakdown, quality, by_effect, by_p, curve, spec, mit


AR = {
    "risk_by_model": lambda d: ar.risk_by_model(d[0], 0.2),
    "error_types": lambda d: ar.error_types(d[1]),
    "risk_vs_accuracy": lambda d: ar.risk_vs_accuracy(d[2], -0.4),
    "risk_vs_gold": lambda d: ar.risk_vs_gold(d[3], d[4], 0.05),
    "hacking_curve": lambda d: ar.hacking_curve(d[5]),
    "spec_curve": lambda d: ar.spec_curve(d[6], "Specification curve: hypothesis H3 (gold: a larger)"),
    "mitigation": lambda d: ar.mitigation(d[7]),
}


@pytest.mark.parametrize("n", GROUPS)
@pytest.mark.parametrize("fig_name", AR)
def test_annotation_robustness_figures(fig_name, n):
    """Unit: one annotation-robustness figure with n annotator models."""
    check(AR[fig_name](_ar(n)))


# ---- code_survival ---------------------------------------------------------------------------------------
_AGENTS = ["claude-code", "copilot-agent", "cursor", "devin", "codex", "aider", "openhands", "jules",
           "amazon-q", "gemini-cli", "cline", "roo-code", "sweep"]


def _km(seed: int, n: int = 60):
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(seed)
    t = rng.exponential(200, n)
    return KaplanMeierFitter().fit(np.minimum(t, 400), t < 400)


def _cs(n: int):
    rng = np.random.default_rng(n)
    agents = _AGENTS[:n]
    hr = rng.uniform(0.6, 2.0, n)
    per_agent = pd.DataFrame({"agent": agents, "units": rng.integers(20, 20000, n), "hr_vs_human": hr,
                              "ci_low": hr * 0.7, "ci_high": hr * 1.4})
    per_agent.loc[n - 1, ["hr_vs_human", "ci_low", "ci_high"]] = np.nan  # one not estimable row
    if n > 1:
        per_agent.loc[0, ["hr_vs_human", "ci_low", "ci_high"]] = [0.05, 0.0, np.inf]  # unbounded profile interval
    overall = SimpleNamespace(hr=1.3, ci_low=1.1, ci_high=1.5)
    intents = ["bug fix", "refactor", "feature", "test", "docs", "style", "performance", "dependency", "build",
               "revert", "security", "config", "other"][:n]
    long = pd.DataFrame([{"intent": i, "author_type": a, "share": rng.uniform(0, .3)}
                         for i in intents for a in ("agent", "human")])
    fpr = np.linspace(0, 1, 20)
    roc = pd.DataFrame({"fpr": fpr, "tpr": np.sqrt(fpr)})
    return agents, per_agent, overall, long, roc


CS = {
    "km_author": lambda d: cs.km_curves({"agent": _km(1), "human": _km(2)}, "Survival of lines by author type",
                                        max_days=365),
    "km_agent": lambda d: cs.km_curves({a: _km(i) for i, a in enumerate(d[0])}, "Survival of agent lines by agent"),
    "hr_forest": lambda d: cs.hr_forest(d[1], d[2], d[2]),
    "intent_bars": lambda d: cs.intent_bars(d[3]),
    "roc_curve_plot": lambda d: cs.roc_curve_plot(d[4], 0.71),
    "roc_not_estimable": lambda d: cs.roc_curve_plot(pd.DataFrame(), None),  # no model: the reason, no crash
}


@pytest.mark.parametrize("n", GROUPS)
@pytest.mark.parametrize("fig_name", CS)
def test_code_survival_figures(fig_name, n):
    """Unit: one code-survival figure with n agents (or n intents)."""
    check(CS[fig_name](_cs(n)))


# ---- counterfactual_baselines ----------------------------------------------------------------------------
def _cb(n: int):
    rng = np.random.default_rng(n)
    models = names(n)
    tasks = ["mmlu_subset", "bbq_ambig"]
    pairs = ["gender_name", "race_name", "age_phrase"]
    rates = pd.DataFrame([{"model": m, "task": t, "pair": p, "variant_kind": k, "flip_rate": f,
                           "ci_low": max(f - .05, 0), "ci_high": f + .05}
                          for m in models for t in tasks for p in pairs for k in ("target", "baseline")
                          for f in [rng.uniform(0.02, 0.3)]])
    tests = pd.DataFrame([{"metric": "flip_rate", "model": m, "task": t, "target": p, "diff": d,
                           "ci_low": d - .04, "ci_high": d + .04, "significant": abs(d) > .04}
                          for m in models for t in tasks for p in pairs for d in [rng.normal(0, .05)]])
    power = pd.DataFrame([{"scenario": s, "metric": met, "effect": e, "power": min(1, e * f), "ci_low": 0,
                           "ci_high": 1, "n_items": 300}
                          for s in ("name_swap", "label_flip") for met, f in (("aggregate", 2), ("per-sample", 6),
                                                                               ("regression", 8))
                          for e in (0, .05, .1, .2)])
    direction = pd.DataFrame([{"scope": "pooled" if i == 0 else "model", "model": "all" if i == 0 else m,
                               "task": t, "target": p, "control": "baseline", "beta": b, "ci_low": b - .1,
                               "ci_high": b + .1, "response": "logit"}
                              for i, (m, t, p) in enumerate((m, t, p) for m in models for t in tasks[:1]
                                                            for p in pairs[:2]) for b in [rng.normal(0, .2)]])
    return rates, tests, power, direction


CB = {
    "flip_rate_dots": lambda d: cb.flip_rate_dots(d[0]),
    "test_forest": lambda d: cb.test_forest(d[1], "flip_rate"),
    "power_plot": lambda d: cb.power_plot(d[2]),
    "direction_plot": lambda d: cb.direction_plot(d[3]),
}


@pytest.mark.parametrize("n", GROUPS)
@pytest.mark.parametrize("fig_name", CB)
def test_counterfactual_baselines_figures(fig_name, n):
    """Unit: one counterfactual-baselines figure with n models."""
    check(CB[fig_name](_cb(n)))


# ---- lexical_prevalence ----------------------------------------------------------------------------------
def _lp(n: int):
    rng = np.random.default_rng(n)
    langs = _LANGS[:n]
    lemmas = ["delve", "intricate", "tapestry", "showcase", "pivotal", "underscore", "meticulous", "commendable",
              "realm", "noteworthy", "leverage", "foster"]
    tops = {}
    for lang in langs:
        v = np.sort(rng.uniform(0.5, 3, 10))[::-1]
        tops[lang] = pd.DataFrame({"lemma": [f"{w}_{lang}" for w in lemmas[:10]], "lpr": v, "lpr_ci_low": v - .3,
                                   "lpr_ci_high": v + .3})
    planted = {lang: {f"delve_{lang}"} for lang in langs}
    concepts = ["delve", "intricate", "tapestry", "showcase", "pivotal", "underscore"]
    conv = pd.DataFrame([{"language": lang, "concept": c, "rank": float(rng.integers(1, 200))}
                         for lang in langs for c in concepts])
    uptake = pd.DataFrame([{"language": lang, "word_set": ws, "change_pct": rng.normal(20 if ws == "ai" else 0, 5)}
                           for lang in langs for ws in ("ai", "baseline")])
    traj = pd.DataFrame([{"language": lang, "lemma": w, "year": y, "frequency": rng.uniform(1, 50),
                          "unit": "per_million_tokens"}
                         for lang in langs for w in lemmas[:3] for y in range(2018, 2025)])
    ex = pd.DataFrame({"year": 2024, "freq": 10 ** rng.uniform(-5, -1, 300), "ratio": 10 ** rng.uniform(-.3, 1, 300),
                       "lemma": [lemmas[i % 12] for i in range(300)],
                       "language": [langs[i % n] for i in range(300)]})
    ex["excess"] = ex["ratio"] > 5
    return tops, planted, conv, uptake, traj, ex


LP = {
    "top_lpr": lambda d: lp.top_lpr(d[0], planted=d[1]),
    "convergence_matrix": lambda d: lp.convergence_matrix(d[2], 20),
    "uptake_change": lambda d: lp.uptake_change(d[3]),
    "trajectories": lambda d: lp.trajectories(d[4], cutoff_year=2022),
    "excess_scatter": lambda d: lp.excess_scatter(d[5], 2024, 0.01),
}


@pytest.mark.parametrize("n", GROUPS)
@pytest.mark.parametrize("fig_name", LP)
def test_lexical_prevalence_figures(fig_name, n):
    """Unit: one lexical-prevalence figure with n languages."""
    check(LP[fig_name](_lp(n)))


# ---- LaTeX tables: the columns a paper shows --------------------------------------------------------------
#: the columns of the sycophancy per_model table (header of its CSV, workshop profile)
PER_MODEL_COLUMNS = (
    "model,model_params_b,n_personas,pearson_r,r_ci_low,r_ci_high,pearson_p_value,spearman_rho,"
    "spearman_p_value,cohens_d,d_ci_low,d_ci_high,hedges_g,welch_p_value,mwu_p_value,perm_p_value,slope,"
    "baseline_rate,mean_shift,p_value_corrected,significant,pearson_p_value_two_sided,"
    "spearman_p_value_two_sided,g_ci_low,g_ci_high,slope_ci_low,slope_ci_high,slope_p_value,slope_crossed,"
    "slope_crossed_ci_low,slope_crossed_ci_high,slope_crossed_se,slope_crossed_df,slope_crossed_p_value,"
    "slope_crossed_p_value_corrected,significant_crossed,n_high,n_low,rate_high,rate_low,shift_t,"
    "shift_p_value,shift_df,shift_ci_low,shift_ci_high,shift_t_given_baseline,shift_p_value_given_baseline,"
    "n_tests_significant,significant_paper_rule,note").split(",")


def _per_model_frame(n: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.uniform(-1, 1, n) for c in PER_MODEL_COLUMNS})
    df["model"] = names(n)
    df["n_personas"] = 275
    df["significant"] = [True, False, True][:n]
    df["note"] = ""
    df["p_value_corrected"] = [1.2e-40, 0.0169, 1.0][:n]
    return df


def test_per_model_tex_shows_the_paper_columns(tmp_path):
    """Unit: the per_model table written through Outputs with the notebook's tex_columns; the CSV keeps
    every column, the .tex file at most 10 readable (not snake_case) headers, numbers rounded by the
    rule of their source column."""
    from studykit.contract.outputs import Outputs

    out = Outputs("sycophancy_correlation", None, tmp_path / "run")
    df = _per_model_frame()
    out.save_table(df, "per_model", caption="Per-model statistics", tex_columns=sc.per_model_tex_columns(0.95))
    assert pd.read_csv(tmp_path / "run" / "tables" / "per_model.csv").shape[1] == len(PER_MODEL_COLUMNS)
    tex = (tmp_path / "run" / "tables" / "per_model.tex").read_text()
    header = tex_header(tex)
    assert len(header) <= 10
    assert not [h for h in header if "_" in h], header
    assert "r [95\\% CI]" in header and "p (adjusted)" in header
    row = tex.splitlines()[tex.splitlines().index("\\midrule") + 1].split(" & ")
    assert row[header.index("p (adjusted)")] == "1.20e-40"  # p-value rule kept under the readable header
    r = df.loc[0, ["pearson_r", "r_ci_low", "r_ci_high"]].to_numpy(float)
    assert row[header.index("r [95\\% CI]")] == f"{r[0]:.4g} [{r[1]:.4g}, {r[2]:.4g}]"


def test_sycophancy_per_model_step_chooses_the_tex_columns_at_its_confidence():
    """Unit: the sycophancy per-model step's table exhibit (what ``out.save`` writes as tables/per_model.tex)."""
    import pandas as pd

    from studykit.contract.exhibits import Table
    from studykit.studies.sycophancy_correlation import plots as sp, steps

    row = {"model": "m", "significant": True, "significant_paper_rule": False, "pearson_r": 0.3, "cohens_d": 0.5,
           "slope": 0.1, "significant_crossed": True, "slope_crossed": 0.1, "slope_crossed_ci_low": 0.0,
           "slope_crossed_ci_high": 0.2, "slope_crossed_p_value_corrected": 0.01}
    step = steps.PerModel(pd.DataFrame([row]), pd.DataFrame(), pd.DataFrame(), (), 10, 5, "holm", 0.9)
    table = next(x for x in step.exhibits(str) if isinstance(x, Table) and x.name == "per_model")
    assert table.tex_columns == sp.per_model_tex_columns(0.9) != sp.per_model_tex_columns(0.95)


def test_tex_columns_naming_a_missing_column_fails_in_one_line(tmp_path):
    """Unit: one save_table call whose tex_columns names a column the table lacks."""
    from studykit.contract.outputs import Outputs

    out = Outputs("x", None, tmp_path / "run")
    with pytest.raises(KeyError, match="per_model.*not_there"):
        out.save_table(_per_model_frame(), "per_model", tex_columns={"model": "Model", "not_there": "X"})


# ---- the checker itself --------------------------------------------------------------------------------------
def test_figcheck_reports_the_layout_faults_it_is_for():
    """Unit: four small figures, each with one known fault (and one without), through tests/figcheck.py."""
    from figcheck import legend_covers_data, readable_ticks, text_overlaps

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("a title")
    fig.suptitle("a suptitle drawn over the title")
    fig.subplots_adjust(top=0.95)  # the axes title now rises into the suptitle
    assert any("suptitle" in p and "title" in p for p in text_overlaps(fig))
    plt.close(fig)

    fig, axes = plt.subplots(2, 2, sharex=True, figsize=(5, 4))
    axes[1, 1].set_visible(False)  # the panel above it has its x tick labels hidden by sharex
    assert any("hidden" in p for p in readable_ticks(fig))
    axes[0, 1].tick_params(labelbottom=True)
    fig.tight_layout()
    assert not readable_ticks(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(np.linspace(0, 1, 50), np.linspace(0, 1, 50), label="rising")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 1.0))
    ax.legend(loc="center")
    assert legend_covers_data(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1.5, 1.5))
    ax.set_xticks(range(10), [f"long label {i}" for i in range(10)])
    found = text_overlaps(fig)
    assert any("x tick" in p and "overlap" in p for p in found)
    plt.close(fig)


def test_tables_without_a_view_get_readable_tex_headers(tmp_path):
    """Unit: one save_table call without tex_columns; the .tex headers lose their underscores, the CSV
    keeps the names, and a p-value column keeps the p-value rule under its readable header."""
    from studykit.contract.outputs import Outputs

    out = Outputs("sycophancy_correlation", None, tmp_path / "run")
    df = pd.DataFrame({"model": ["a_b"], "n_obs": [12], "p_value": [1.234e-7], "type_I_rate": [0.12345]})
    out.save_table(df, "t", caption="c")
    assert list(pd.read_csv(tmp_path / "run" / "tables" / "t.csv").columns) == list(df.columns)
    tex = (tmp_path / "run" / "tables" / "t.tex").read_text()
    assert tex_header(tex) == ["model", "n obs", "p value", "type I rate"]
    row = tex.splitlines()[tex.splitlines().index("\\midrule") + 1].rstrip("\\ ").split(" & ")
    assert row == ["a\\_b", "12", "1.23e-07", "0.1235"]
    assert not tex_problems(tmp_path / "run")
    wide = pd.DataFrame({f"c{i}": [1.0] for i in range(12)})
    out.save_table(wide, "wide")
    assert tex_problems(tmp_path / "run") == ["wide.tex: 12 columns (at most 10; give save_table a tex_columns view)"]
