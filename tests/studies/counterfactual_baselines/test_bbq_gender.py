"""The BBQ adapter (data_format: bbq) and the bbq_gender profile: hand-made frames, a slice of the real file,
the profile on a slice through the runner, and the doc's numbers against the committed profile's run.

Unit: one input table per adapter test (no statistic estimated); one whole-notebook run per runner test, whose
tests resample gender-swap pairs (an item = one BBQ example and its swapped partner).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studykit.contract.errors import InputError, ParamError
from studykit.files.paths import params_dir, project_root, resolve
from studykit.runs.runner import run_study
from studykit.studies.counterfactual_baselines import Params, bbq, load as L
from studykit.studies.counterfactual_baselines.design import build_design

BBQ = resolve("../shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz")
if not BBQ.is_file():  # a git worktree elsewhere finds the shared folder at /work/shared
    BBQ = Path("/work/shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz")
needs_bbq = pytest.mark.skipif(not BBQ.is_file(), reason=f"BBQ predictions not available ({BBQ})")
DOC = project_root() / "docs" / "studies" / "counterfactual_baselines.md"

# ---- hand-made frame ------------------------------------------------------------------------------------------
ITEMS = [
    # example_id, question_index, context, ans0, ans1, ans2, ans0_group, ans2_group
    (0, 1, "A man and a woman were late.", "The man", "Unknown", "The woman", "man", "woman"),
    (1, 1, "A woman and a man were late.", "The woman", "The man", "Can't be determined", "woman", "unknown"),
    (2, 2, "A trans woman and a woman were late. The woman was first.", "The woman", "The trans woman",
     "Not known", "nonTrans", "unknown"),
    (3, 2, "A woman and a trans woman were late. The trans woman was first.", "The trans woman", "Unknown",
     "The woman", "trans", "nonTrans"),
    (4, 3, "A boy and a girl met.", "Not known", "The girl", "The boy", "unknown", "boy"),
]
#: model -> wording -> chosen option per example 0..4
PRED = {"m1": {"1_lower": [0, 1, 1, 2, 0], "2_lower": [1, 1, 1, 2, 0]},
        "m2": {"1_lower": [2, 2, 0, 0, 1], "2_lower": [2, 2, 0, 0, 1]}}


def raw_frame() -> pd.DataFrame:
    rows = []
    for model, by_w in PRED.items():
        for wording, preds in by_w.items():
            for (ex, qi, ctx, a0, a1, a2, g0, g2), p in zip(ITEMS, preds):
                rows.append({"model": model, "prompt_variant": wording, "example_id": ex, "question_index": qi,
                             "question_polarity": "neg", "context_condition": "ambig", "ans0": a0, "ans1": a1,
                             "ans2": a2, "ans0_group": g0, "ans2_group": g2, "context": ctx, "pred_index": p,
                             "label": 1})
    return pd.DataFrame(rows)


def test_roles_pairs_and_the_example_without_partner():
    roles, issues = bbq.example_roles(raw_frame().drop_duplicates("example_id"))
    r = roles.set_index("example_id")
    assert list(r.loc[0, ["role0", "role1", "role2"]]) == ["first", "unknown", "second"]
    assert list(r.loc[1, ["role0", "role1", "role2"]]) == ["first", "second", "unknown"]
    # 'trans woman' is found before 'woman' (which it contains)
    assert (r.loc[2, "first"], r.loc[2, "second"]) == ("trans woman", "woman")
    assert list(r.loc[2, ["role0", "role1", "role2"]]) == ["second", "first", "unknown"]
    assert r.loc[3, "template"] == "A {A} and a {B} were late. The {B} was first."
    assert [i.count for i in issues if i.check == "bbq_person_not_in_context"] == [0]
    pairs, p_issues = bbq.pair_examples(roles)
    assert pairs.values.tolist() == [[0, 1], [2, 3]]
    (issue,) = p_issues
    assert issue.check == "bbq_examples_without_partner" and issue.count == 1
    assert "5 examples: 4 with exactly one partner (2 pairs), 1 with none" in issue.detail


def test_adapter_long_frame_roles_and_flips():
    sd, issues = L.adapt_bbq(raw_frame())
    f = sd.frame.set_index(["item_id", "model", "variant"])
    assert sd.source == "bbq" and set(f.index.get_level_values("item_id")) == {"0-1", "2-3"}
    # m1 picks the man in both examples of pair 0-1: a change of role; under 2_lower it says 'unknown'
    assert f.loc[("0-1", "m1", "original"), "prediction"] == "first"
    assert f.loc[("0-1", "m1", "gender_swap"), "prediction"] == "second"
    assert f.loc[("0-1", "m1", "paraphrase_2_lower"), "prediction"] == "unknown"
    # m2 answers 'C' twice: the unknown option of example 1, the second person of example 0
    assert f.loc[("0-1", "m2", "original"), "prediction"] == "second"
    assert f.loc[("0-1", "m2", "gender_swap"), "prediction"] == "unknown"
    assert set(sd.frame["variant_kind"]) == {"original", "target", "baseline"}
    assert f.loc[("2-3", "m1", "original"), "group"] == "trans woman"
    assert {i.check for i in issues} >= {"bbq_examples_without_partner", "blank_prediction"}
    design, _ = build_design(sd.frame, {"gender_swap": "paraphrase_2_lower"}, positive_label="unknown")
    assert design.n_items == 2 and design.n_models == 2


def test_adapter_errors_are_one_line():
    raw = raw_frame()
    with pytest.raises(InputError, match="missing column 'ans2_group'"):
        L.adapt_bbq(raw.drop(columns="ans2_group"))
    bad = raw.copy()
    bad.loc[3, "pred_index"] = 5
    with pytest.raises(InputError, match="'pred_index' must be 0, 1 or 2"):
        L.adapt_bbq(bad)
    with pytest.raises(InputError, match="reference wording '3_upper'"):
        L.adapt_bbq(raw, reference="3_upper")
    clash = raw.copy()
    clash.loc[0, "context"] = "Something else."
    with pytest.raises(InputError, match="example 0 has different item columns"):
        L.adapt_bbq(clash)


def test_blank_answer_and_missing_row_are_reported():
    raw = raw_frame()
    raw.loc[0, "pred_index"] = np.nan
    raw = raw.drop(index=raw.index[(raw["model"] == "m2") & (raw["prompt_variant"] == "2_lower")
                                   & (raw["example_id"] == 2)])
    sd, issues = L.adapt_bbq(raw)
    got = {i.check: i.count for i in issues}
    assert got["blank_prediction"] == 1 and got["bbq_answer_missing"] == 1


def test_profile_without_the_shared_data_fails_in_one_line(tmp_path, monkeypatch):
    values = Params.read_profile(params_dir("counterfactual_baselines") / "bbq_gender.yaml")
    assert values["data_format"] == "bbq" and values["pairs"] == {"gender_swap": "paraphrase_2_lower"}
    root = tmp_path / "project"
    root.mkdir()
    import studykit.files.paths

    monkeypatch.setattr(studykit.files.paths, "project_root", lambda: root)  # the function is cached; replace it
    p = Params.validate_mapping(values, "bbq_gender")
    with pytest.raises(ParamError) as err:
        p.check_inputs()
    msg = str(err.value)
    assert "\n" not in msg and "shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz" in msg


# ---- the real file -----------------------------------------------------------------------------------------
def _slice(n_templates: int = 9) -> pd.DataFrame:
    raw = pd.read_csv(BBQ)
    return raw[raw["question_index"] <= n_templates]


@needs_bbq
def test_real_slice_pairs_are_swapped_contexts():
    raw = _slice()
    sd, issues = L.adapt_bbq(raw)
    items = raw.drop_duplicates("example_id").set_index("example_id")
    roles = bbq.example_roles(items.reset_index())[0].set_index("example_id")
    pair_ids = [tuple(map(int, i.split("-"))) for i in sorted(sd.frame["item_id"].unique())]
    assert len(pair_ids) > 10
    for a, b in pair_ids:  # swapping the two persons' words in one context gives the other's
        x, y = roles.loc[a, "first"], roles.loc[a, "second"]
        swapped = re.sub(rf"\b({re.escape(x)}|{re.escape(y)})\b",
                         lambda m: y if m.group(0).lower() == x else x, items.loc[a, "context"], flags=re.I)
        assert swapped.lower() == items.loc[b, "context"].lower()
        assert items.loc[a, ["question_polarity", "context_condition"]].tolist() == \
            items.loc[b, ["question_polarity", "context_condition"]].tolist()
    n_out = {i.check: i.count for i in issues}["bbq_examples_without_partner"]
    assert 2 * len(pair_ids) + n_out == raw["example_id"].nunique()
    assert set(sd.frame["prediction"]) == set(bbq.ROLES)
    assert sd.frame.groupby(["model", "variant"]).size().nunique() == 1  # every model answered every variant


@needs_bbq
def test_real_accuracy_is_near_chance():
    acc = bbq.accuracy(pd.read_csv(BBQ, usecols=["model", "prompt_variant", "pred_index", "label"]))
    assert len(acc) == 6 and (acc["n"] == 9 * 672).all()
    assert acc["min_wording"].min() >= 0.24 and acc["max_wording"].max() <= 0.37  # README: 0.25-0.37


@needs_bbq
def test_profile_on_a_slice(tmp_path):
    raw = _slice()
    raw = raw[raw["model"].isin(["facebook-opt-1.3b", "tiiuae-falcon-7b"])
              & raw["prompt_variant"].isin(["1_lower", "2_lower", "no_taskinst"])]
    path = tmp_path / "bbq_slice.csv"
    raw.to_csv(path, index=False)
    res = run_study("counterfactual_baselines", profile="bbq_gender", out_dir=tmp_path / "run", progress=False,
                    overrides={"data_path": str(path), "n_boot": 200, "power_reps": 20,
                               "power_effects": [0.0, 0.2]})
    out = res.out_dir
    r = json.loads((out / "results.json").read_text())
    n_pairs = L.adapt_bbq(raw)[0].frame["item_id"].nunique()
    assert r["n_models"] == 2 and r["n_items"] == n_pairs and r["primary.n_tests"] == 2
    tests = pd.read_csv(out / "tables" / "tests.csv")
    fr = tests[tests["metric"] == "flip_rate"]
    assert set(fr["baseline"]) == {"paraphrase_2_lower"} and (fr["n_items"] == n_pairs).all()
    assert r["data_issues.baseline_without_target"] == 1  # paraphrase_no_taskinst: flip rates only
    assert "flip_rate.tiiuae-falcon-7b.all.paraphrase_no_taskinst" in r


# ---- the doc's numbers ------------------------------------------------------------------------------------------
def _doc_text() -> str:
    return re.sub(r"\s+", " ", DOC.read_text(encoding="utf-8"))


def bbq_claims(res: dict, t: dict[str, pd.DataFrame]) -> list[str]:
    """Sentences and table rows of the doc's BBQ section, rebuilt from the profile's outputs and the raw file."""
    issues = t["data_issues"].set_index("check")
    detail = issues.loc["bbq_examples_without_partner", "detail"]
    m = re.match(r"(\d+) examples: (\d+) with exactly one partner \((\d+) pairs\), (\d+) with none", detail)
    claims = [f"{m.group(1)} distinct examples", f"{m.group(2)} have exactly one partner ({m.group(3)} pairs)",
              f"{m.group(4)} have none", f"{res['primary.n_significant']} of {res['primary.n_tests']} flip-rate"]
    raw = pd.read_csv(BBQ)
    acc = bbq.accuracy(raw).set_index("model")
    diag = bbq.letter_diagnostics(raw).set_index("model")
    tests = t["tests"].set_index(["model", "metric"])
    rates = t["flip_rates"].set_index(["model", "variant"])["flip_rate"]
    for model in sorted(acc.index):
        a, d, ft = acc.loc[model], diag.loc[model], tests.loc[(model, "flip_rate")]
        others = rates.loc[model].drop(index="gender_swap")
        claims.append(
            f"| {model} | {a.accuracy:.3f} ({a.min_wording:.3f}-{a.max_wording:.3f}) | {d.top_letter_share:.2f} | "
            f"{ft.stat_target:.3f} | {ft.stat_baseline:.3f} ({others.min():.3f}-{others.max():.3f}) | "
            f"{100 * ft['diff']:.1f} [{100 * ft.ci_low:.1f}, {100 * ft.ci_high:.1f}] | {ft.p_value_corrected:.2g} | "
            f"{d.same_letter_target:.2f} | {d.flip_target_same_order:.2f} vs {d.flip_baseline_same_order:.2f} |")
    claims.append(f"{int(diag['n_same_order'].iloc[0])} of the {int(diag['n_pairs'].iloc[0])} pairs")
    claims.append(f"{len(raw):,} rows")
    sec = tests[tests.index.get_level_values("metric") == "mutual_information"]
    claims.append(f"mutual information: {int(sec['significant'].sum())} of {len(sec)}")
    size = t["power"].iloc[0]
    pw = {k: v for k, v in res.items() if k.startswith("power.")}
    claims.append(f"({int(size.n_items)} pairs, mean baseline flip rate {size.base_flip:.3f})")
    claims.append(f"one-sided edits adding 10 or 20 points of flips are found with power "
                  f"{pw['power.one_sided.per-sample.d0.1']:.3f} and {pw['power.one_sided.per-sample.d0.2']:.3f}")
    return claims


@needs_bbq
def test_doc_numbers_match_the_bbq_gender_profile(bbq_gender_run):
    res = json.loads((bbq_gender_run / "results.json").read_text())
    tables = {p.stem: pd.read_csv(p) for p in (bbq_gender_run / "tables").glob("*.csv")}
    text = _doc_text()
    missing = [c for c in bbq_claims(res, tables) if c not in text]
    assert not missing, "docs/studies/counterfactual_baselines.md is stale; expected:\n" + "\n".join(missing)
