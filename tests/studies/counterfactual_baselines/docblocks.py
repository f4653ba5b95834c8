"""The generated blocks of docs/studies/counterfactual_baselines.md, rendered from a run folder.

Unit: one run folder (results.json and tables) of the profile a block names; read by tests/docnumbers.py
(``BLOCKS``: block name -> profile and renderer; ``run_folder``: where a profile's run comes from). Most blocks
are a phrase inside a sentence or a table cell; the doc reads as prose and each phrase is rebuilt from the run.
Regenerate: ``python tests/docnumbers.py counterfactual_baselines default=RUN medperturb=RUN``.
"""
from __future__ import annotations

import sys
from functools import lru_cache, partial
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from docnumbers import Block, real_data_run  # noqa: E402

from studykit.files.paths import resolve  # noqa: E402
from studykit.runs.resultsfile import read_results  # noqa: E402

MEDPERTURB = resolve("../shared/data/medperturb/data_with_baselines.csv")
if not MEDPERTURB.is_file():  # a git worktree elsewhere finds the shared folder at /work/shared
    MEDPERTURB = Path("/work/shared/data/medperturb/data_with_baselines.csv")


@lru_cache(maxsize=4)
def _outputs(out: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """A run folder's results.json and tables, read once for all the blocks that render it (read only)."""
    res = read_results(out)
    return res, {p.stem: pd.read_csv(p) for p in (out / "tables").glob("*.csv")}


def _f3(v: float) -> str:
    return f"{v:.3f}"


def _ci(beta: float, lo: float, hi: float) -> str:
    return f"{_f3(beta)} [{_f3(lo)}, {_f3(hi)}]"


def _direction(res: dict, suffix: str = "") -> str:
    return _ci(res[f"direction.beta{suffix}"], res[f"direction.ci_low{suffix}"], res[f"direction.ci_high{suffix}"])


# ---- default profile ----------------------------------------------------------------------------------------
def pooled_sentence(out: Path) -> str:
    res, _ = _outputs(out)
    return f"pooled 0.30 -> {_direction(res)} (without the baseline control {_direction(res, '_no_control')})"


def pooled_cell(out: Path) -> str:
    res, _ = _outputs(out)
    return f"pooled {_direction(res)} with, {_direction(res, '_no_control')} without (planted 0.30)"


def models_sentence(out: Path) -> str:
    _, t = _outputs(out)
    d = t["direction"].set_index(["scope", "model"])
    return "; ".join(f"{m} {planted} -> {_ci(d.loc[('cell', m)].beta, d.loc[('cell', m)].ci_low, d.loc[('cell', m)].ci_high)}"
                     for m, planted in (("model_a", "0.6"), ("model_b", "0.3"), ("model_c", "0")))


def families_sentence(out: Path) -> str:
    res, _ = _outputs(out)
    n_sig, n_tests, p_sig, p_tests = (res["n_significant"], res["n_tests"], res["primary.n_significant"],
                                      res["primary.n_tests"])
    return (f"{n_sig} of {n_tests} tests are significant: {p_sig} of the {p_tests} flip-rate tests of the primary "
            f"family and {n_sig - p_sig} of the {n_tests - p_tests} secondary ones")


def families_cell(out: Path) -> str:
    res, t = _outputs(out)
    n_sig, n_tests, p_sig, p_tests = (res["n_significant"], res["n_tests"], res["primary.n_significant"],
                                      res["primary.n_tests"])
    tests = t["tests"]
    fr = tests[(tests["metric"] == "flip_rate") & tests["significant"]].set_index("task")
    return (f"{p_sig} of {p_tests} in the primary family (p_adj {fr.loc['triage', 'p_value_corrected']:.2g} triage, "
            f"{fr.loc['referral', 'p_value_corrected']:.2g} referral); secondary {n_sig - p_sig} of {n_tests - p_tests}")


def aggregate_cell(out: Path) -> str:
    _, t = _outputs(out)
    agg = t["tests"][t["tests"]["metric"].isin(["mutual_information", "phi"])]
    return f"{int((agg['p_value'] < 0.05).sum())} of {len(agg)}"


def recovery_row(model: str, task: str, target: str, out: Path) -> str:
    _, t = _outputs(out)
    rec = t["recovery"]
    r = rec[(rec["quantity"] == "flip_rate_diff") & (rec["model"] == model) & (rec["task"] == task)
            & (rec["target"] == target)].iloc[0]
    return f"{_f3(r.planted)} | {_ci(r.estimate, r.ci_low, r.ci_high)}"


def recovery_nulls(out: Path) -> str:
    res, _ = _outputs(out)
    assert res["recovery.null_false_positives"] == res["recovery.null_false_positives_any_metric"] == 0, (
        "the doc says no null target is detected")
    return f"{res['recovery.null_targets']} null targets"


def recovery_detected(out: Path) -> str:
    res, _ = _outputs(out)
    return f"`recovery.planted_detected` = {res['recovery.planted_detected']} of {res['recovery.planted_targets']}"


def power_balanced(out: Path) -> str:
    res, _ = _outputs(out)
    pw = {k: _f3(v) for k, v in res.items() if k.startswith("power.")}
    return (f"moving 10% of the items, aggregate {pw['power.balanced.aggregate.d0.1']}, per-sample "
            f"{pw['power.balanced.per-sample.d0.1']}, regression {pw['power.balanced.regression.d0.1']} "
            f"(20%: {pw['power.balanced.aggregate.d0.2']}, {pw['power.balanced.per-sample.d0.2']}, "
            f"{pw['power.balanced.regression.d0.2']})")


def power_one_sided(out: Path) -> str:
    res, _ = _outputs(out)
    return (f"(20%: aggregate {_f3(res['power.one_sided.aggregate.d0.2'])}, per-sample "
            f"{_f3(res['power.one_sided.per-sample.d0.2'])})")


def power_size(out: Path) -> str:
    _, t = _outputs(out)
    size = t["power"].iloc[0]
    return (f"{int(size.n_items)} items, baseline flip rate {size.base_flip:.3f}, concordance of target and baseline "
            f"flips {size.concordance:.3f}")


# ---- medperturb profile -------------------------------------------------------------------------------------
def mp_flagged(out: Path) -> str:
    res, _ = _outputs(out)
    return f"{res['defective.n_flagged']} of {res['defective.n_baseline_rows']} baseline rows flagged"


def mp_unused(out: Path) -> str:
    res, _ = _outputs(out)
    return f"{res['data_issues.baseline_answers_not_used']:,} unused answers"


def mp_gender_swap(out: Path) -> str:
    res, t = _outputs(out)
    target = t["flip_rates"].set_index(["model", "task", "variant"]).loc[("LLAMA3", "MANAGE", "gender_swap")]
    r = t["tests"].set_index(["model", "task", "target", "metric"]).loc[("LLAMA3", "MANAGE", "gender_swap", "flip_rate")]
    return (f"gender swap {target.flip_rate:.1%} ({int(target.flips)}/{int(target.n_items)}) vs "
            f"{res['flip_rate.LLAMA3.MANAGE.gender_swap_baseline']:.1%} for its baseline with the defective rows "
            f"excluded ({res['sensitivity.flip_rate.LLAMA3.MANAGE.gender_swap_baseline']:.1%} with them); on the "
            f"{int(r.n_items)} items with both answers, {r.stat_target:.1%} vs {r.stat_baseline:.1%}, a difference "
            f"of {100 * r['diff']:.1f} points [{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}] (McNemar p = "
            f"{r.p_value:.2f})")


def mp_tests(out: Path) -> str:
    res, _ = _outputs(out)
    return f"{res['n_tests']} tests (LLAMA3 x 3 tasks x 4 targets x flip rate, MI, phi"


def mp_primary(out: Path) -> str:
    res, _ = _outputs(out)
    return (f"Primary family: {res['primary.n_significant']} of {res['primary.n_tests']} flip-rate differences "
            f"significant after Holm ({res['sensitivity.primary.n_significant']} of "
            f"{res['sensitivity.primary.n_tests']} with the defective baselines kept")


def _secondary(res: dict) -> tuple[int, int]:
    return res["n_significant"] - res["primary.n_significant"], res["n_tests"] - res["primary.n_tests"]


def mp_secondary(out: Path) -> str:
    res, _ = _outputs(out)
    return "Secondary family: {} of {} MI/phi tests significant".format(*_secondary(res))


def mp_families_cell(out: Path) -> str:
    res, _ = _outputs(out)
    s_sig, s_tests = _secondary(res)
    return (f"primary {res['primary.n_significant']} of {res['primary.n_tests']} flip-rate tests; secondary "
            f"{s_sig} of {s_tests} MI/phi tests")


def mp_direction(out: Path) -> str:
    res, _ = _outputs(out)
    return f"is {_direction(res)} with the baseline control and {_direction(res, '_no_control')} without it"


BLOCKS = {
    "pooled": Block("default", pooled_sentence),
    "pooled_cell": Block("default", pooled_cell),
    "models": Block("default", models_sentence),
    "families": Block("default", families_sentence),
    "families_cell": Block("default", families_cell),
    "aggregate_cell": Block("default", aggregate_cell),
    **{f"recovery_{m}_{task}": Block("default", partial(recovery_row, m, task, target))
       for m, task, target in (("model_b", "triage", "gender_swap"), ("model_b", "referral", "gender_swap"),
                               ("model_c", "triage", "tone_change"), ("model_c", "referral", "tone_change"))},
    "recovery_nulls": Block("default", recovery_nulls),
    "recovery_detected": Block("default", recovery_detected),
    "power_balanced": Block("default", power_balanced),
    "power_one_sided": Block("default", power_one_sided),
    "power_size": Block("default", power_size),
    "medperturb_flagged": Block("medperturb", mp_flagged),
    "medperturb_unused": Block("medperturb", mp_unused),
    "medperturb_gender_swap": Block("medperturb", mp_gender_swap),
    "medperturb_tests": Block("medperturb", mp_tests),
    "medperturb_primary": Block("medperturb", mp_primary),
    "medperturb_secondary": Block("medperturb", mp_secondary),
    "medperturb_families_cell": Block("medperturb", mp_families_cell),
    "medperturb_direction": Block("medperturb", mp_direction),
}


run_folder = real_data_run("counterfactual_baselines", "medperturb", MEDPERTURB,
                           {"data_path": str(MEDPERTURB)})
