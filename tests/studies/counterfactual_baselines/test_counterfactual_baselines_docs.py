"""The study's documentation cannot go stale: quoted numbers against the committed profiles' outputs,
parameter defaults against the schema.

Unit: one run of a committed profile (default, medperturb) whose results.json and tables the doc quotes;
the parameter check reads the schema only.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from studykit.paths import project_root
from studykit.studies.counterfactual_baselines import Params

DOC = project_root() / "docs" / "studies" / "counterfactual_baselines.md"


def _doc_text() -> str:
    """The doc with every run of white space (line breaks included) as one space."""
    return re.sub(r"\s+", " ", DOC.read_text(encoding="utf-8"))


def _outputs(out: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    res = json.loads((out / "results.json").read_text())
    tables = {p.stem: pd.read_csv(p) for p in (out / "tables").glob("*.csv")}
    return res, tables


def _f3(v: float) -> str:
    return f"{v:.3f}"


def _ci(beta: float, lo: float, hi: float) -> str:
    return f"{_f3(beta)} [{_f3(lo)}, {_f3(hi)}]"


def default_claims(res: dict, t: dict[str, pd.DataFrame]) -> list[str]:
    """Sentences of the doc about the default profile, rebuilt from its outputs."""
    claims = []
    with_ctrl = _ci(res["direction.beta"], res["direction.ci_low"], res["direction.ci_high"])
    without = _ci(res["direction.beta_no_control"], res["direction.ci_low_no_control"],
                  res["direction.ci_high_no_control"])
    claims.append(f"pooled 0.30 -> {with_ctrl} (without the baseline control {without})")
    claims.append(f"pooled {with_ctrl} with, {without} without (planted 0.30)")
    d = t["direction"].set_index(["scope", "model"])
    for model, planted in (("model_a", "0.6"), ("model_b", "0.3"), ("model_c", "0")):
        r = d.loc[("cell", model)]
        claims.append(f"{model} {planted} -> {_ci(r.beta, r.ci_low, r.ci_high)}")
    n_sig, n_tests = res["n_significant"], res["n_tests"]
    p_sig, p_tests = res["primary.n_significant"], res["primary.n_tests"]
    claims.append(f"{n_sig} of {n_tests} tests are significant: {p_sig} of the {p_tests} flip-rate tests of the "
                  f"primary family and {n_sig - p_sig} of the {n_tests - p_tests} secondary ones")
    tests = t["tests"]
    fr = tests[(tests["metric"] == "flip_rate") & tests["significant"]].set_index("task")
    claims.append(f"{p_sig} of {p_tests} in the primary family (p_adj {fr.loc['triage', 'p_adjusted']:.2g} triage, "
                  f"{fr.loc['referral', 'p_adjusted']:.2g} referral); secondary {n_sig - p_sig} of "
                  f"{n_tests - p_tests}")
    agg = tests[tests["metric"].isin(["mutual_information", "phi"])]
    claims.append(f"| {int((agg['p_value'] < 0.05).sum())} of {len(agg)} |")
    rec = t["recovery"]
    for r in rec[(rec["quantity"] == "flip_rate_diff") & rec["planted_effect"]].itertuples():
        claims.append(f"| {r.model} {r.task} {r.target} | {_f3(r.planted)} | {_ci(r.estimate, r.ci_low, r.ci_high)} |")
    # the primary family (flip rate) finds the planted extra flips; the tone change's one-way shift shows in the
    # secondary metrics only, so "any metric" finds all four (issue 21.5: the union is descriptive)
    assert res["recovery.planted_detected_any_metric"] == res["recovery.planted_targets"] == 4
    assert res["recovery.planted_detected"] >= 2
    assert res["recovery.null_false_positives"] == res["recovery.null_false_positives_any_metric"] == 0
    claims.append(f"| {res['recovery.null_targets']} null targets | 0 | all CIs cover 0 | none |")
    claims.append(f"`recovery.planted_detected` = {res['recovery.planted_detected']} of "
                  f"{res['recovery.planted_targets']}")
    pw = {k: v for k, v in res.items() if k.startswith("power.")}
    claims.append(f"moving 10% of the items, aggregate {_f3(pw['power.balanced.aggregate.d0.1'])}, per-sample "
                  f"{_f3(pw['power.balanced.per-sample.d0.1'])}, regression {_f3(pw['power.balanced.regression.d0.1'])} "
                  f"(20%: {_f3(pw['power.balanced.aggregate.d0.2'])}, {_f3(pw['power.balanced.per-sample.d0.2'])}, "
                  f"{_f3(pw['power.balanced.regression.d0.2'])})")
    claims.append(f"(20%: aggregate {_f3(pw['power.one_sided.aggregate.d0.2'])}, per-sample "
                  f"{_f3(pw['power.one_sided.per-sample.d0.2'])})")
    size = t["power"].iloc[0]
    claims.append(f"({int(size.n_items)} items, baseline flip rate {size.base_flip:.3f}, concordance of target and "
                  f"baseline flips {size.concordance:.3f};")
    return claims


def medperturb_claims(res: dict, t: dict[str, pd.DataFrame]) -> list[str]:
    """Sentences of the doc about the medperturb profile, rebuilt from its outputs."""
    claims = [f"{res['defective.n_flagged']} of {res['defective.n_baseline_rows']} baseline rows flagged",
              f"reports the {res['data_issues.baseline_answers_not_used']:,} unused answers"]
    rates = t["flip_rates"].set_index(["model", "task", "variant"])
    target = rates.loc[("LLAMA3", "MANAGE", "gender_swap")]
    base = res["flip_rate.LLAMA3.MANAGE.gender_swap_baseline"]
    claims.append(f"gender swap {target.flip_rate:.1%} ({int(target.flips)}/{int(target.n_items)}) vs {base:.1%} "
                  f"for its baseline with the defective rows excluded "
                  f"({res['sensitivity.flip_rate.LLAMA3.MANAGE.gender_swap_baseline']:.1%} with them)")
    tests = t["tests"].set_index(["model", "task", "target", "metric"])
    r = tests.loc[("LLAMA3", "MANAGE", "gender_swap", "flip_rate")]
    claims.append(f"on the {int(r.n_items)} items with both answers, {r.stat_target:.1%} vs {r.stat_baseline:.1%}, "
                  f"a difference of {100 * r['diff']:.1f} points [{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}] "
                  f"(McNemar p = {r.p_value:.2f})")
    p_sig, p_tests = res["primary.n_significant"], res["primary.n_tests"]
    s_sig, s_tests = res["n_significant"] - p_sig, res["n_tests"] - p_tests
    claims.append(f"{res['n_tests']} tests (LLAMA3 x 3 tasks x 4 targets x flip rate, MI, phi")
    claims.append(f"Primary family: {p_sig} of {p_tests} flip-rate differences significant after Holm "
                  f"({res['sensitivity.primary.n_significant']} of {res['sensitivity.primary.n_tests']} with the "
                  "defective baselines kept")
    claims.append(f"Secondary family: {s_sig} of {s_tests} MI/phi tests significant")
    claims.append(f"primary {p_sig} of {p_tests} flip-rate tests; secondary {s_sig} of {s_tests} MI/phi tests")
    claims.append(f"is {_ci(res['direction.beta'], res['direction.ci_low'], res['direction.ci_high'])} with the "
                  f"baseline control and {_ci(res['direction.beta_no_control'], res['direction.ci_low_no_control'], res['direction.ci_high_no_control'])} without it")
    return claims


def test_doc_numbers_match_the_default_profile(default_run):
    res, tables = _outputs(default_run)
    text = _doc_text()
    missing = [c for c in default_claims(res, tables) if c not in text]
    assert not missing, "docs/studies/counterfactual_baselines.md is stale; expected:\n" + "\n".join(missing)


def test_doc_numbers_match_the_medperturb_profile(medperturb_run):
    res, tables = _outputs(medperturb_run)
    text = _doc_text()
    missing = [c for c in medperturb_claims(res, tables) if c not in text]
    assert not missing, "docs/studies/counterfactual_baselines.md is stale; expected:\n" + "\n".join(missing)


def _shown(value) -> str:
    """A default as the doc's parameter table writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def test_parameter_table_matches_the_schema():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### Parameters"):text.index("### Profiles")]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", section, re.M)
    table = {key: default.strip() for key, default in rows}
    assert set(table) == set(Params.model_fields), (sorted(set(Params.model_fields) - set(table)),
                                                    sorted(set(table) - set(Params.model_fields)))
    defaults = Params().model_dump()
    wrong = {k: (table[k], _shown(v)) for k, v in defaults.items() if table[k] != _shown(v)}
    assert not wrong, f"doc default != schema default: {wrong}"
