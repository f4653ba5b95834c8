r"""Counterfactual targets against matched paraphrase baselines.

Pure functions: DataFrames in, DataFrames (or small frozen dataclasses) out.

Notation. For item :math:`i`, model, task, let :math:`y_i^{o}` be the answer to
the original prompt, :math:`y_i^{t}` the answer under the counterfactual edit
(the *target*) and :math:`y_i^{b}` the answer under its matched paraphrase (the
*baseline*); with repeats, each is the majority answer over repeats.

* flip indicator :math:`f_i^{v} = 1[y_i^{v} \ne y_i^{o}]`, flip rate
  :math:`\bar f^{v} = n^{-1}\sum_i f_i^{v}`;
* the paired difference :math:`\Delta = \bar f^{t} - \bar f^{b}` over the items
  that have all three answers (Yang et al. 2026, "Compared to What?").

References
----------
Yang, Levy, Goldberg, Wallace (2026). Compared to What? Baselines and Metrics for Counterfactual Prompting.
McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions.
Efron, B., & Tibshirani, R. (1993). An Introduction to the Bootstrap, ch. 13 (percentile interval).
Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference. J. Hum. Resour. 50(2).
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Stat. 6(2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from studykit import stats as sst
from studykit.errors import InputError

from .load import Issue, issue

KEYS = ["model", "task", "item_id"]
#: the issue's columns first, in its order, then the extras
TEST_COLUMNS = ["model", "task", "target", "baseline", "metric", "stat_target", "stat_baseline", "diff", "ci_low",
                "ci_high", "p_value", "p_adjusted", "significant", "p_one_sided", "level", "n_items", "test"]
METRICS = ("flip_rate", "js_divergence", "kl_divergence", "mutual_information", "phi")


# =============================================================================================
# 1. answers: repeats -> one answer per item x variant x model x task
# =============================================================================================
def collapse_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Issue]]:
    """One answer per model x task x item x variant: the majority over repeats.

    The answer is the most frequent non-blank prediction over repeats; a tie
    is broken towards the label that sorts first (a documented, reported
    rule). ``p_positive`` is the mean over repeats with a probability.
    ``n_repeats`` counts the non-blank answers. Items whose answers are all
    blank do not appear (they are missing).
    """
    keys = KEYS + ["variant"]
    ok = frame[frame["prediction"].notna()]
    cnt = ok.groupby(keys + ["prediction"], sort=True).size().rename("n").reset_index()
    cnt = cnt.sort_values(keys + ["n", "prediction"], ascending=[True] * len(keys) + [False, True],
                          kind="mergesort")
    top = cnt.drop_duplicates(keys, keep="first").set_index(keys)
    second = cnt[cnt.duplicated(keys, keep="first")].drop_duplicates(keys, keep="first").set_index(keys)
    tie = second["n"].reindex(top.index).eq(top["n"])
    n_rep = ok.groupby(keys)["prediction"].size()
    meta = ok.groupby(keys, sort=True).agg(variant_kind=("variant_kind", "first"))
    out = meta.join(top["prediction"]).join(n_rep.rename("n_repeats"))
    for col in ("direction", "group"):
        if col in frame.columns:
            out[col] = ok.groupby(keys)[col].first()
    issues: list[Issue] = []
    if "p_positive" in frame.columns:
        out["p_positive"] = ok.groupby(keys)["p_positive"].mean()
    if tie.any():
        issues.append(issue("majority_tie", int(tie.sum()),
                            "a tie between answers over repeats is broken towards the label that sorts first"))
    return out.reset_index(), issues


# =============================================================================================
# 2. design checks: pairs, originals, models, item sets
# =============================================================================================
@dataclass(frozen=True)
class Design:
    """Answers ready for analysis and the pairs that will be tested."""

    answers: pd.DataFrame
    pairs: dict[str, str]
    issues: tuple[Issue, ...]
    has_probability: bool
    labels: tuple[str, ...]

    @property
    def n_items(self) -> int:
        return int(self.answers["item_id"].nunique())

    @property
    def models(self) -> list[str]:
        return sorted(self.answers["model"].unique())


def build_design(frame: pd.DataFrame, pairs: Mapping[str, str], *,
                 baseline_models: list[str] | None = None) -> Design:
    """Validate the design of a long frame against ``pairs`` (target -> baseline).

    Errors (:class:`InputError`): a variant named in ``pairs`` that is not in
    the data or has the wrong ``variant_kind``; no original at all; fewer
    than two items; a model named in ``baseline_models`` that is not in the
    data. Reported rules: a target without a baseline in ``pairs`` and a
    baseline with no target (flip rates only, no test); items without an
    original for a model x task (left out of that model x task); baseline
    answers of models outside ``baseline_models`` (not used); models with
    different item sets (each model is analysed on its own items).
    """
    answers, issues = collapse_repeats(frame)
    kinds = frame.drop_duplicates("variant").set_index("variant")["variant_kind"].to_dict()
    for t, b in pairs.items():
        for v, want, role in ((t, "target", "target"), (b, "baseline", "baseline")):
            if v not in kinds:
                raise InputError(f"parameter 'pairs': {role} variant '{v}' is not in the data's 'variant' column")
            if kinds[v] != want:
                raise InputError(f"parameter 'pairs': variant '{v}' is a {role} in pairs but has "
                                 f"variant_kind '{kinds[v]}' in the data")
    originals = sorted(v for v, k in kinds.items() if k == "original")
    if not originals:
        raise InputError("counterfactual data: no row has variant_kind 'original'")
    if len(originals) > 1:
        raise InputError(f"counterfactual data: more than one variant has variant_kind 'original' "
                         f"({', '.join(originals)})")
    if originals[0] != "original":  # the analysis addresses the original by this name
        if "original" in kinds:
            raise InputError("counterfactual data: variant 'original' must have variant_kind 'original'")
        answers["variant"] = answers["variant"].replace({originals[0]: "original"})
    lonely_t = sorted(v for v, k in kinds.items() if k == "target" and v not in pairs)
    if lonely_t:
        issues.append(issue("target_without_baseline", len(lonely_t),
                            "targets with no baseline in 'pairs' get flip rates only, no test",
                            ", ".join(lonely_t)))
    lonely_b = sorted(v for v, k in kinds.items() if k == "baseline" and v not in pairs.values())
    if lonely_b:
        issues.append(issue("baseline_without_target", len(lonely_b),
                            "baselines that no target in 'pairs' uses get flip rates only", ", ".join(lonely_b)))
    if baseline_models is not None:
        unknown = sorted(set(baseline_models) - set(answers["model"]))
        if unknown:
            raise InputError(f"parameter 'baseline_models': model '{unknown[0]}' is not in the data")
        drop = (answers["variant_kind"] == "baseline") & ~answers["model"].isin(baseline_models)
        if drop.any():
            who = sorted(answers.loc[drop, "model"].unique())
            issues.append(issue("baseline_answers_not_used", int(drop.sum()),
                                "baseline answers of models not listed in 'baseline_models' are not used "
                                "(their targets get raw flip rates only)", ", ".join(who)))
            answers = answers[~drop]
    has_orig = answers[answers["variant_kind"] == "original"].set_index(KEYS).index
    idx = answers.set_index(KEYS).index
    no_orig = ~idx.isin(has_orig)
    if no_orig.any():
        lost = answers.loc[no_orig, KEYS].drop_duplicates()
        ex = lost.iloc[0]
        issues.append(issue("item_without_original", len(lost),
                            "model x task x item groups with no (non-blank) original answer are left out",
                            f"e.g. item {ex.item_id} ({ex.model}, {ex.task})"))
        answers = answers[~no_orig]
    if answers["item_id"].nunique() < 2:
        raise InputError(f"counterfactual data: {answers['item_id'].nunique()} usable item(s); "
                         "resampling over items needs at least 2")
    sets = answers.groupby("model")["item_id"].apply(lambda s: frozenset(s))
    if sets.nunique() > 1:
        union = frozenset().union(*sets)
        short = sets[sets.map(len) < len(union)]
        issues.append(issue("models_with_different_items", len(short),
                            "models do not share one item set: each model is analysed on its own items, so "
                            "their flip rates are not paired across models",
                            "; ".join(f"{m}: {len(s)} of {len(union)} items" for m, s in short.items())))
    has_p = "p_positive" in answers.columns and answers["p_positive"].notna().any()
    labels = tuple(sorted(answers["prediction"].astype(str).unique()))
    return Design(answers=answers.reset_index(drop=True), pairs=dict(pairs), issues=tuple(issues),
                  has_probability=bool(has_p), labels=labels)


def wide_answers(answers: pd.DataFrame, value: str = "prediction") -> pd.DataFrame:
    """model x task x item rows, one column per variant (NaN where missing)."""
    return answers.pivot(index=KEYS, columns="variant", values=value).sort_index()


# =============================================================================================
# 3. flip rates
# =============================================================================================
def item_flips(answers: pd.DataFrame) -> pd.DataFrame:
    """Per model x task x item x variant: ``flip`` = 1[answer differs from the original answer]."""
    w = wide_answers(answers)
    if "original" not in w.columns:
        raise InputError("counterfactual data: no answers to the variant 'original'")
    kinds = answers.drop_duplicates("variant").set_index("variant")["variant_kind"]
    rows = []
    for v in w.columns:
        if kinds.get(v) == "original":
            continue
        both = w[v].notna() & w["original"].notna()
        f = (w.loc[both, v] != w.loc[both, "original"]).astype(int)
        rows.append(pd.DataFrame({"variant": v, "variant_kind": kinds[v], "flip": f}).reset_index())
    return pd.concat(rows, ignore_index=True)


def flip_rates(answers: pd.DataFrame, pairs: Mapping[str, str], *, confidence: float = 0.95) -> pd.DataFrame:
    r"""Flip rate of every variant against the original, per model x task, with a Wilson interval.

    :math:`\hat r = k/n`, :math:`k` = items whose answer differs from the
    original answer, :math:`n` = items with both answers. Interval: Wilson
    score (Wilson 1927), exact enough at :math:`k = 0`.
    Columns: model, task, variant, variant_kind, pair (the target a baseline
    belongs to, or the target itself), n_items, flips, flip_rate, ci_low, ci_high.
    """
    from statsmodels.stats.proportion import proportion_confint

    fl = item_flips(answers)
    g = fl.groupby(["model", "task", "variant", "variant_kind"], sort=True)["flip"].agg(["size", "sum"])
    g = g.rename(columns={"size": "n_items", "sum": "flips"}).reset_index()
    g["flip_rate"] = g["flips"] / g["n_items"]
    lo, hi = proportion_confint(g["flips"], g["n_items"], alpha=1 - confidence, method="wilson")
    g["ci_low"], g["ci_high"] = np.asarray(lo, float), np.asarray(hi, float)
    inv = {b: t for t, b in pairs.items()}
    g["pair"] = [v if k == "target" else inv.get(v, v) for v, k in zip(g["variant"], g["variant_kind"])]
    return g[["model", "task", "variant", "variant_kind", "pair", "n_items", "flips", "flip_rate",
              "ci_low", "ci_high"]]


# =============================================================================================
# 4. target vs baseline: the family of tests
# =============================================================================================
def _mean_diff(x, y, axis=-1):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _label_counts(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Counts of each label along the last axis: (..., n) int codes -> (..., n_labels)."""
    return np.stack([(codes == k).sum(axis=-1) for k in range(n_labels)], axis=-1).astype(float)


def mi_from_counts(c_orig: np.ndarray, c_var: np.ndarray) -> np.ndarray:
    r"""Plug-in mutual information (bits) between *variant* (original vs edited) and the answer.

    The table has two rows (the original answers and the edited answers,
    :math:`n` each) and one column per label:
    :math:`I = \sum_{r,l} \frac{c_{rl}}{N}\log_2\frac{c_{rl}N}{n_r c_{\cdot l}}`, :math:`N = 2n`.
    Vectorised over leading axes; equals :func:`studykit.stats.mutual_information`
    on the pooled labels.
    """
    c = np.stack([c_orig, c_var], axis=-2)  # (..., 2, L)
    n_tot = c.sum(axis=(-2, -1), keepdims=True)
    row = c.sum(axis=-1, keepdims=True)
    col = c.sum(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(c > 0, c / n_tot * np.log2(c * n_tot / (row * col)), 0.0)
    return np.clip(term.sum(axis=(-2, -1)), 0.0, None)


def abs_phi_from_counts(pos_orig: np.ndarray, pos_var: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    r""":math:`|\phi|` of the 2x2 table variant (original / edited) x answer (negative / positive).

    With :math:`a` positives among the :math:`n` original answers and :math:`c`
    among the :math:`n` edited ones,
    :math:`\phi = (c - a)/\sqrt{(a + c)(2n - a - c)}`; defined as 0 when every
    answer is the same (no association is possible). Equals
    :func:`studykit.stats.phi` on that table.
    """
    a = np.asarray(pos_orig, float)
    c = np.asarray(pos_var, float)
    den = (a + c) * (2 * np.asarray(n, float) - a - c)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, np.abs(c - a) / np.sqrt(np.where(den > 0, den, 1.0)), 0.0)
    return out


def _aggregate_value(kind: str, c_orig: np.ndarray, c_var: np.ndarray, n_labels: int) -> float:
    """MI (bits) or |phi| between original-vs-edited and the answer, from 1-D label codes."""
    co, cv = _label_counts(c_orig, n_labels), _label_counts(c_var, n_labels)
    if kind == "mutual_information":
        return float(mi_from_counts(co, cv))
    return float(abs_phi_from_counts(co[1], cv[1], len(c_orig)))


def _aggregate_from_counts(kind: str, co: np.ndarray, cv: np.ndarray, n: int) -> np.ndarray:
    if kind == "mutual_information":
        return mi_from_counts(co, cv)
    return abs_phi_from_counts(co[..., 1], cv[..., 1], n)


def aggregate_bootstrap(o: np.ndarray, t: np.ndarray, b: np.ndarray, n_labels: int, kind: str, *,
                        n_boot: int, seed: int, confidence: float) -> dict[str, float]:
    r"""Paired bootstrap over items of an aggregate metric's target-minus-baseline difference.

    Resampling :math:`n` items with replacement is the same as drawing the counts
    of the items' answer patterns :math:`(y^o, y^t, y^b)` from
    :math:`\mathrm{Multinomial}(n, \hat p_{\text{pattern}})`, so the bootstrap runs
    on at most :math:`L^3` pattern counts (vectorised, exact in distribution).
    CI: percentile; p: the bootstrap percentile p-value that matches it,
    two-sided :math:`\min(1, 2\min\{(1+\#\{\theta^*\le 0\}), (1+\#\{\theta^*\ge 0\})\}/(B+1))`
    and one-sided (target > baseline) :math:`(1+\#\{\theta^*\le 0\})/(B+1)`.
    """
    n = len(o)
    L = n_labels
    pat = (o * L + t) * L + b
    ids, counts = np.unique(pat, return_counts=True)
    po, pt, pb = ids // (L * L), (ids // L) % L, ids % L
    onehot = lambda lab: (lab[:, None] == np.arange(L)[None, :]).astype(float)  # noqa: E731
    Mo, Mt, Mb = onehot(po), onehot(pt), onehot(pb)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=n_boot).astype(float)
    c0 = counts.astype(float)
    val = {}
    for name, cnt in (("obs", c0[None, :]), ("boot", draws)):
        co, ct, cb = cnt @ Mo, cnt @ Mt, cnt @ Mb
        val[name] = (_aggregate_from_counts(kind, co, ct, n), _aggregate_from_counts(kind, co, cb, n))
    st, sb = float(val["obs"][0][0]), float(val["obs"][1][0])
    est = st - sb
    theta = val["boot"][0] - val["boot"][1]
    tol = 1e-12
    lo_share = (1 + np.count_nonzero(theta <= tol)) / (n_boot + 1)
    hi_share = (1 + np.count_nonzero(theta >= -tol)) / (n_boot + 1)
    a = (1 - confidence) / 2
    if np.all(theta == theta[0]) and theta[0] == est:
        ci = (est, est)
    else:
        ci = tuple(float(v) for v in np.quantile(theta, [a, 1 - a]))
    return {"stat_target": st, "stat_baseline": sb, "diff": est, "ci_low": ci[0], "ci_high": ci[1],
            "p_value": float(min(1.0, 2 * min(lo_share, hi_share))), "p_one_sided": float(lo_share),
            "note": "target and baseline identical on every item" if np.array_equal(t, b) else ""}


def _seed(seed: int, k: int) -> int:
    return int((seed + 7919 * k) % (2**32 - 1))


def _paired_row(x: np.ndarray, y: np.ndarray, statistic, *, n_boot: int, seed: int,
                confidence: float, randomization: bool = True) -> dict[str, Any]:
    """CI by paired bootstrap over items; p (two-sided) by paired randomization (swap target/baseline per item)."""
    fn = _mean_diff if statistic == "mean_diff" else statistic
    est = float(fn(x[None, :], y[None, :], axis=-1)[0])
    if np.array_equal(x, y):
        return {"diff": est, "ci_low": est, "ci_high": est, "p_value": 1.0, "p_one_sided": 1.0,
                "note": "target and baseline identical on every item"}
    boot = sst.bootstrap_ci((x, y), statistic, n_resamples=n_boot, method="percentile", paired=True,
                            confidence=confidence, seed=seed)
    out = {"diff": est, "ci_low": float(boot.ci_low), "ci_high": float(boot.ci_high), "note": ""}
    if randomization:
        for key, alt in (("p_value", "two-sided"), ("p_one_sided", "greater")):
            out[key] = float(sst.permutation_test(x, y, statistic=statistic, paired=True, n_resamples=n_boot,
                                                  alternative=alt, seed=seed + 1).p_value)
    return out


def _mcnemar_p(ft: np.ndarray, fb: np.ndarray) -> tuple[float, float]:
    """Exact McNemar on the discordant items: two-sided p and one-sided p (target flips more)."""
    from scipy.stats import binomtest

    b = int(((ft == 1) & (fb == 0)).sum())
    c = int(((ft == 0) & (fb == 1)).sum())
    if b + c == 0:
        return 1.0, 1.0
    two = float(sst.mcnemar((b, c), exact=True).p_value)
    one = float(binomtest(b, b + c, 0.5, alternative="greater").pvalue)
    return two, one


def _divergences(po: np.ndarray, pv: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-item JS and KL (bits) between the binary answer distributions [1-p, p]."""
    po = np.clip(po, eps, 1 - eps)
    pv = np.clip(pv, eps, 1 - eps)
    P = np.stack([1 - po, po], axis=-1)
    Q = np.stack([1 - pv, pv], axis=-1)
    return np.asarray(sst.jensen_shannon(P, Q), float), np.asarray(sst.kl_divergence(P, Q), float)


def compare_targets(design: Design, *, n_boot: int = 10_000, seed: int = 0, confidence: float = 0.95,
                    eps: float = 1e-4, min_items: int = 5) -> tuple[pd.DataFrame, list[Issue]]:
    r"""The family of target-vs-baseline tests, per model x task x target (unadjusted p).

    On the items with an original, a target and a baseline answer:

    * ``flip_rate`` (per-sample): :math:`\bar f^t - \bar f^b`; CI by paired
      bootstrap over items (percentile);
      ``p_value``: exact McNemar on the discordant items
      (:math:`f^t_i \ne f^b_i`), ``p_one_sided``: the exact binomial test that
      more discordant items flip under the target (target > baseline).
    * ``js_divergence``, ``kl_divergence`` (per-sample, when probabilities
      exist): mean over items of :math:`JS(\pi^o_i, \pi^v_i)` and
      :math:`KL(\pi^o_i \| \pi^v_i)`, :math:`\pi = (1-p, p)` clipped to
      :math:`[\epsilon, 1-\epsilon]`; paired bootstrap CI; p by the paired
      randomization test that swaps target and baseline within items, two-sided
      and one-sided (target > baseline). Its p has a floor of
      :math:`1/(B+1)` per side (:func:`p_floor_check`).
    * ``mutual_information``, ``phi`` (aggregate): association between
      *original vs edited* and the answer over the pooled answers
      (:math:`I` in bits, :math:`|\phi|` for two labels), target minus
      baseline; CI and p (two- and one-sided) from one paired bootstrap over
      items (:func:`aggregate_bootstrap`). A randomization test is not used
      here: swapping target and baseline tests exchangeability, which is
      rejected when the two shift the answers in opposite directions by the
      same amount, i.e. it is not a test of equal association.

    Cells with fewer than ``min_items`` complete items are not tested (reported).
    """
    ans = design.answers
    w = wide_answers(ans)
    wp = wide_answers(ans, "p_positive") if design.has_probability else None
    labels = list(design.labels)
    code = {lab: k for k, lab in enumerate(labels)}
    L = max(len(labels), 2)
    rows, issues, skipped = [], [], []
    k = 0
    for (model, task), block in w.groupby(level=["model", "task"], sort=True):
        for target, baseline in sorted(design.pairs.items()):
            if target not in block.columns or baseline not in block.columns:
                continue
            sub = block[["original", target, baseline]].dropna()
            if block[target].notna().sum() == 0 or block[baseline].notna().sum() == 0:
                continue
            n = len(sub)
            if n < min_items:
                skipped.append(f"{model}/{task}/{target} ({n} items)")
                continue
            o, t, b = (sub[c].to_numpy() for c in ("original", target, baseline))
            ft, fb = (t != o).astype(float), (b != o).astype(float)
            base = {"model": model, "task": task, "target": target, "baseline": baseline, "n_items": n}
            k += 1
            r = _paired_row(ft, fb, "mean_diff", n_boot=n_boot, seed=_seed(seed, k), confidence=confidence,
                            randomization=False)
            p2, p1 = _mcnemar_p(ft, fb)
            rows.append({**base, "metric": "flip_rate", "level": "per-sample", "stat_target": ft.mean(),
                         "stat_baseline": fb.mean(), **r, "p_value": p2, "p_one_sided": p1,
                         "test": "paired bootstrap CI; exact McNemar p (one-sided: exact binomial)"})
            if wp is not None:
                subp = wp.loc[sub.index, ["original", target, baseline]]
                okp = subp.notna().all(axis=1).to_numpy()
                if okp.sum() >= min_items:
                    po, pt, pb = (subp[c].to_numpy()[okp] for c in ("original", target, baseline))
                    js_t, kl_t = _divergences(po, pt, eps)
                    js_b, kl_b = _divergences(po, pb, eps)
                    for metric, xt, xb in (("js_divergence", js_t, js_b), ("kl_divergence", kl_t, kl_b)):
                        k += 1
                        r = _paired_row(xt, xb, "mean_diff", n_boot=n_boot, seed=_seed(seed, k),
                                        confidence=confidence)
                        rows.append({**base, "n_items": int(okp.sum()), "metric": metric, "level": "per-sample",
                                     "stat_target": xt.mean(), "stat_baseline": xb.mean(), **r,
                                     "test": "paired bootstrap CI; paired randomization p"})
            co, ct, cb = (np.array([code[v] for v in arr]) for arr in (o, t, b))
            aggs = ["mutual_information"] + (["phi"] if len(labels) == 2 else [])
            for metric in aggs:
                k += 1
                r = aggregate_bootstrap(co, ct, cb, L, metric, n_boot=n_boot, seed=_seed(seed, k),
                                        confidence=confidence)
                if r["note"]:
                    r.update(p_value=1.0, p_one_sided=1.0)
                rows.append({**base, "metric": metric, "level": "aggregate", **r,
                             "test": "paired bootstrap CI and percentile p (multinomial over answer patterns)"})
    if skipped:
        issues.append(issue("too_few_items_for_test", len(skipped),
                            f"model x task x target cells with fewer than {min_items} items having an original, "
                            "target and baseline answer are not tested (flip rates still shown)",
                            "; ".join(skipped)))
    if len(labels) > 2:
        issues.append(issue("phi_not_defined", 1, "more than two answer labels: phi is not computed "
                            "(mutual information is)", ", ".join(labels)))
    tab = pd.DataFrame(rows)
    if tab.empty:
        raise InputError("counterfactual data: no model x task has answers to a target and its baseline "
                         "(check 'pairs' and 'baseline_models')")
    notes = tab.pop("note")
    if (notes != "").any():
        issues.append(issue("identical_target_and_baseline", int((notes != "").sum()),
                            "tests where target and baseline agree on every item: difference 0, CI [0, 0], p = 1"))
    return tab, issues


def p_floor_check(tests: pd.DataFrame, *, n_boot: int, alpha: float) -> Issue | None:
    """A reported caveat when Monte Carlo p-values at their floor still miss significance after correction.

    A two-sided randomization or bootstrap p is at least :math:`2/(B+1)`. Rows whose raw
    p sits at that floor (nothing in the resampled null was as extreme) but whose
    corrected p is not below :math:`\\alpha` could not have been significant with this
    ``n_boot``, whatever the data: the check counts them (exact McNemar rows are exempt).
    Takes the table after :func:`adjust_family`.
    """
    floor = 2.0 / (n_boot + 1)
    resampled = ~tests["test"].str.contains("McNemar")
    at_floor = resampled & (tests["p_value"] <= floor * (1 + 1e-9)) & ~tests["significant"]
    if at_floor.any():
        return issue("p_value_floor", int(at_floor.sum()),
                     f"resampling p-values at their floor 2/(n_boot+1) = {floor:.2g} stay above alpha = "
                     f"{alpha:g} after the correction over {len(tests)} tests: these rows are limited by "
                     "n_boot, not by the data (raise n_boot, or use correction: fdr_bh)")
    return None


def adjust_family(tests: pd.DataFrame, *, correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """Add ``p_adjusted`` (over the whole family) and ``significant`` = p_adjusted < alpha."""
    out = tests.copy()
    p = out["p_value"].to_numpy(float)
    out["p_adjusted"] = p if correction == "none" else sst.adjust_pvalues(p, method=correction)
    out["significant"] = out["p_adjusted"] < alpha
    cols = [c for c in TEST_COLUMNS if c in out.columns]
    return out[cols].sort_values(["model", "task", "target", "metric"], kind="mergesort").reset_index(drop=True)


def run_tests(design: Design, *, n_boot: int, seed: int, confidence: float, eps: float, correction: str,
              alpha: float) -> tuple[pd.DataFrame, list[Issue]]:
    """:func:`compare_targets` then :func:`adjust_family`."""
    tab, issues = compare_targets(design, n_boot=n_boot, seed=seed, confidence=confidence, eps=eps)
    return adjust_family(tab, correction=correction, alpha=alpha), issues


# =============================================================================================
# 5. directional effects
# =============================================================================================
def _score(answers: pd.DataFrame, positive_label: str, eps: float, use_logit: bool) -> pd.Series:
    if use_logit:
        p = answers["p_positive"].clip(eps, 1 - eps)
        return np.log(p / (1 - p))
    return (answers["prediction"].astype(str) == str(positive_label)).astype(float)


def directional_frame(design: Design, *, positive_label: str = "1", eps: float = 1e-4) -> pd.DataFrame:
    r"""Rows for the directional regression: one per model x task x item x directional target.

    Score :math:`s` = logit of ``p_positive`` (clipped to :math:`[\epsilon, 1-\epsilon]`) when
    probabilities exist, else the 0/1 indicator of ``positive_label``.
    Columns: model, task, item_id, target, direction, d_target = :math:`s^t - s^o`,
    d_baseline = :math:`s^b - s^o` (NaN when the model has no baseline answer), response.
    """
    ans = design.answers
    if "direction" not in ans.columns:
        return pd.DataFrame()
    use_logit = design.has_probability
    a = ans.assign(score=_score(ans, positive_label, eps, use_logit))
    if use_logit:
        a = a[a["p_positive"].notna()]
    s = wide_answers(a, "score")
    dirs = wide_answers(a[a["direction"].notna()], "direction")
    rows = []
    for target in sorted(dirs.columns):
        d = dirs[target].dropna()
        if target not in s.columns:
            continue
        idx = d.index.intersection(s.index[s["original"].notna() & s[target].notna()])
        part = pd.DataFrame({"target": target, "direction": d.loc[idx],
                             "d_target": (s.loc[idx, target] - s.loc[idx, "original"])}, index=idx)
        b = design.pairs.get(target)
        part["d_baseline"] = (s.loc[idx, b] - s.loc[idx, "original"]) if b in s.columns else np.nan
        rows.append(part.reset_index())
    if not rows:
        return pd.DataFrame()
    out = pd.concat(rows, ignore_index=True)
    out["response"] = "logit" if use_logit else "answer"
    return out


def _ols_cluster(y: np.ndarray, X: pd.DataFrame, groups: np.ndarray, confidence: float):
    import statsmodels.api as sm

    _, g = np.unique(groups, return_inverse=True)
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    ci = fit.conf_int(alpha=1 - confidence)
    return fit, ci


def directional_regression(frame: pd.DataFrame, *, confidence: float = 0.95) -> tuple[pd.DataFrame, list[Issue]]:
    r"""OLS of the change under the edit on its direction, the baseline change as control.

    .. math:: s^t_i - s^o_i = \alpha_{c} + \beta\, d_i + \gamma\,(s^b_i - s^o_i) + \varepsilon_i

    with :math:`d_i = \pm 1`, :math:`\alpha_c` one intercept per model x task
    x target cell in the pooled fit, standard errors clustered by item
    (CR1, statsmodels ``cov_type="cluster"``; t reference with G-1 df).
    :math:`\beta` is half the difference between the two directions' mean
    changes (e.g. male->female minus female->male, halved); the intercept
    absorbs a shift common to both directions. Cells whose model has no
    baseline answers are fitted without the control (``control`` column).
    A constant control (e.g. the baseline never flips) is dropped.

    Returns rows ``scope`` (pooled / cell), model, task, target, control,
    response, n_obs, n_clusters, beta, se, ci_low, ci_high, p_value, gamma.
    """
    issues: list[Issue] = []
    if frame.empty:
        return pd.DataFrame(), issues
    rows = []
    skipped = []
    has_b = frame.groupby(["model", "task", "target"])["d_baseline"].transform(lambda v: v.notna().any())
    lost = has_b & frame["d_baseline"].isna()
    if lost.any():
        issues.append(issue("direction_rows_without_baseline", int(lost.sum()),
                            "in cells that have baselines, items whose baseline answer is missing are left out "
                            "of the directional fit (the control would be undefined)"))
        frame = frame[~lost]

    def fit_one(df: pd.DataFrame, scope: str, model: str, task: str, target: str):
        use_ctrl = df["d_baseline"].notna().all() and df["d_baseline"].nunique() > 1
        X = pd.DataFrame({"direction": df["direction"].to_numpy(float)})
        cells = df["model"] + "|" + df["task"] + "|" + df["target"]
        if cells.nunique() > 1:
            dummies = pd.get_dummies(cells, drop_first=False, dtype=float).to_numpy()
            X = pd.concat([X, pd.DataFrame(dummies, columns=[f"cell{j}" for j in range(dummies.shape[1])])],
                          axis=1)
        else:
            X.insert(0, "const", 1.0)
        if use_ctrl:
            X["d_baseline"] = df["d_baseline"].to_numpy(float)
        n_cl = df["item_id"].nunique()
        if df["direction"].nunique() < 2 or n_cl < 3:
            skipped.append(f"{scope} {model}/{task}/{target}")
            return
        fit, ci = _ols_cluster(df["d_target"].to_numpy(float), X, df["item_id"].to_numpy(), confidence)
        rows.append({"scope": scope, "model": model, "task": task, "target": target,
                     "control": "baseline change" if use_ctrl else "none",
                     "response": df["response"].iloc[0], "n_obs": len(df), "n_clusters": n_cl,
                     "beta": float(fit.params["direction"]), "se": float(fit.bse["direction"]),
                     "ci_low": float(ci.loc["direction", 0]), "ci_high": float(ci.loc["direction", 1]),
                     "p_value": float(fit.pvalues["direction"]),
                     "gamma": float(fit.params["d_baseline"]) if use_ctrl else np.nan})

    for (model, task, target), df in frame.groupby(["model", "task", "target"], sort=True):
        fit_one(df.reset_index(drop=True), "cell", model, task, target)
    with_ctrl = frame[frame["d_baseline"].notna()]
    pooled = with_ctrl if len(with_ctrl) else frame
    fit_one(pooled.reset_index(drop=True), "pooled", "all" if pooled["model"].nunique() > 1 else
            pooled["model"].iloc[0], "all" if pooled["task"].nunique() > 1 else pooled["task"].iloc[0],
            "all" if pooled["target"].nunique() > 1 else pooled["target"].iloc[0])
    if skipped:
        issues.append(issue("direction_not_estimable", len(skipped),
                            "directional fits need both directions and at least 3 items: not fitted",
                            "; ".join(skipped)))
    tab = pd.DataFrame(rows)
    if not tab.empty:
        tab = tab.sort_values(["scope", "model", "task", "target"], key=lambda s: s.map(
            lambda v: (0, v) if v == "pooled" else (1, v)) if s.name == "scope" else s,
            kind="mergesort").reset_index(drop=True)
    return tab, issues


# =============================================================================================
# 6. records
# =============================================================================================
def _key(s: str) -> str:
    return "".join(ch if (ch.isalnum() or ch in "_-+") else "_" for ch in str(s))


def results_for_record(design: Design, rates: pd.DataFrame, tests: pd.DataFrame,
                       direction: pd.DataFrame | None) -> dict[str, Any]:
    """The numbers the issue asks for, under their dotted names (no NaN)."""
    out: dict[str, Any] = {
        "n_items": design.n_items,
        "n_models": len(design.models),
        "n_tests": int(len(tests)),
        "n_significant": int(tests["significant"].sum()),
    }
    for r in rates.itertuples():
        out[f"flip_rate.{_key(r.model)}.{_key(r.task)}.{_key(r.variant)}"] = float(r.flip_rate)
    fr = tests[tests["metric"] == "flip_rate"]
    for r in fr.itertuples():
        out[f"diff.{_key(r.model)}.{_key(r.task)}.{_key(r.target)}"] = float(r.diff)
    if direction is not None and not direction.empty:
        pooled = direction[direction["scope"] == "pooled"]
        if len(pooled):
            p = pooled.iloc[0]
            out.update({"direction.beta": float(p.beta), "direction.ci_low": float(p.ci_low),
                        "direction.ci_high": float(p.ci_high), "direction.p": float(p.p_value),
                        "direction.n_obs": int(p.n_obs)})
    return out
