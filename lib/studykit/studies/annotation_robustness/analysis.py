"""The hypothesis x configuration grid, error classification and the LLM-hacking summaries.

Test (as in Baumann et al. 2025): for hypothesis *h* = (class *k*, column *g*, levels *a*, *b*),
:math:`y_i = 1[\\text{label}_i = k]` and a binomial GLM
:math:`\\operatorname{logit} P(y_i = 1) = \\alpha + \\beta\\,1[g_i = a]` on the items of the two
groups. With one binary regressor the MLE is closed form,
:math:`\\hat\\beta = \\operatorname{logit}\\hat p_a - \\operatorname{logit}\\hat p_b`,
:math:`\\widehat{SE} = (1/x_a + 1/(n_a - x_a) + 1/x_b + 1/(n_b - x_b))^{1/2}`, so the whole grid
is computed from counts (:mod:`.counts`) with :func:`studykit.stats.two_proportion_logit`.
The conclusion is ``a_larger`` / ``b_larger`` when the two-sided Wald p-value is below
``alpha`` and ``none`` otherwise; the effect is :math:`\\hat p_a - \\hat p_b`.

Errors of a configuration against gold (:func:`studykit.stats.classify_conclusion`): Type I
(gold none, LLM significant), Type II (gold significant, LLM none), Type S (both significant,
opposite signs); Type M is the exaggeration ratio :math:`|\\hat\\Delta_{LLM}| / |\\hat\\Delta_{gold}|`
of pairs that are both significant with the same sign (Gelman & Carlin 2014).

Rule for undefined LLM tests: when a configuration's share is 0 or 1 in a group (or it
labelled no item of a group) the logit MLE does not exist; an iterated GLM fit reports a
huge coefficient with a huger standard error (p close to 1), so the conclusion is ``none``;
``p_value`` is left empty, ``wald_defined`` is False, and the count is reported.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln

from studykit import stats
from studykit.contract.errors import InputError, ParamError
from studykit.contract.issues import DataIssue, Issues

from .counts import confusion_counts, hypothesis_counts, label_counts
from .hypotheses import resolve_hypotheses
from .load import AnnotationData
from .columns import CONCLUSIONS, ERROR_TYPES

NONE = CONCLUSIONS.index("none")


@dataclass(frozen=True, eq=False)
class Grid:
    """Every (hypothesis, configuration) test; arrays have shape (H, C).

    ``conclusion`` holds codes into :data:`CONCLUSIONS`, ``error`` codes into
    :data:`ERROR_TYPES`. ``hypotheses`` (H rows) carries the gold test; ``configs`` (C rows)
    the configuration keys.
    """

    hypotheses: pd.DataFrame
    skipped: pd.DataFrame
    configs: pd.DataFrame
    alpha: float
    x_a: np.ndarray
    n_a: np.ndarray
    x_b: np.ndarray
    n_b: np.ndarray
    effect: np.ndarray
    p_value: np.ndarray
    defined: np.ndarray
    conclusion: np.ndarray
    error: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.effect.shape

    @property
    def wrong(self) -> np.ndarray:
        return self.error != ERROR_TYPES.index("correct")

    @property
    def gold_significant(self) -> np.ndarray:
        return self.hypotheses["gold_conclusion"].to_numpy() != "none"


def _codes(values: np.ndarray, categories) -> np.ndarray:
    return pd.Categorical(np.asarray(values).ravel(), categories=list(categories)).codes.astype(np.int8)


def logit_tests(x_a, n_a, x_b, n_b, alpha: float):
    """Closed-form GLM Wald tests with the undefined-test rule; returns (result, defined, p_for_decision).

    Cells with ``n == 0`` are passed to the stats helper with ``n = 1`` and marked undefined.
    """
    empty = (np.asarray(n_a) == 0) | (np.asarray(n_b) == 0)
    res = stats.two_proportion_logit(np.asarray(x_a), np.maximum(n_a, 1), np.asarray(x_b), np.maximum(n_b, 1))
    defined = np.asarray(res.valid, dtype=bool) & ~empty
    p = np.where(defined, res.p_value, np.nan)
    p_decision = np.where(defined, p, 1.0)
    return res, defined, p, p_decision


def run_grid(data: AnnotationData, hypotheses: pd.DataFrame | None, *, alpha: float = 0.05,
             min_group_size: int = 30) -> tuple[Grid, Issues]:
    """Test every hypothesis with gold and with every configuration; classify the errors.

    Returns ``(grid, issues)``; the issues are those of :func:`grid_issues`.
    """
    evaluated, skipped = resolve_hypotheses(data, hypotheses, min_group_size)
    if evaluated.empty:
        why = "; ".join(f"{n} {r}" for r, n in skipped["reason"].value_counts().items()) if len(skipped) else \
            "every group column has fewer than two levels"
        raise InputError(f"no hypothesis can be tested ({why}); check group_columns and min_group_size")
    g = stats.two_proportion_logit(evaluated["gold_x_a"].to_numpy(), evaluated["gold_n_a"].to_numpy(),
                                   evaluated["gold_x_b"].to_numpy(), evaluated["gold_n_b"].to_numpy())
    h = evaluated.copy()
    h["gold_effect"] = np.asarray(g.diff, dtype=float)
    h["gold_log_odds_ratio"] = np.asarray(g.log_odds_ratio, dtype=float)
    h["gold_se"] = np.asarray(g.se, dtype=float)
    h["gold_p_value"] = np.asarray(g.p_value, dtype=float)
    h["gold_conclusion"] = np.asarray(stats.conclusion_label(h["gold_effect"].to_numpy(),
                                                             h["gold_p_value"].to_numpy(), alpha=alpha), dtype=object)
    cols = list(data.groups)
    used = sorted(set(h["col_idx"]))
    per_col = {cols[j]: label_counts(data, cols[j]) for j in used}
    xa, na, xb, nb = hypothesis_counts(per_col, cols, h)
    res, defined, p, p_dec = logit_tests(xa.ravel(), na.ravel(), xb.ravel(), nb.ravel(), alpha)
    H, C = xa.shape
    effect = np.where((na.ravel() > 0) & (nb.ravel() > 0), res.diff, np.nan)
    concl = stats.conclusion_label(np.nan_to_num(effect), p_dec, alpha=alpha)
    ref_e = np.repeat(h["gold_effect"].to_numpy(), C)
    ref_p = np.repeat(h["gold_p_value"].to_numpy(), C)
    err = stats.classify_conclusion(np.nan_to_num(effect), p_dec, ref_e, ref_p, alpha=alpha)
    grid = Grid(hypotheses=h, skipped=skipped, configs=data.configs, alpha=alpha,
                x_a=xa, n_a=na, x_b=xb, n_b=nb,
                effect=effect.reshape(H, C), p_value=p.reshape(H, C), defined=defined.reshape(H, C),
                conclusion=_codes(concl, CONCLUSIONS).reshape(H, C), error=_codes(err, ERROR_TYPES).reshape(H, C))
    return grid, grid_issues(grid)


def pairs_frame(grid: Grid) -> pd.DataFrame:
    """The per-pair table (one row per hypothesis x configuration, hypothesis-major)."""
    H, C = grid.shape
    h, c = grid.hypotheses, grid.configs
    hi = np.repeat(np.arange(H), C)
    ci = np.tile(np.arange(C), H)
    cat = pd.Categorical.from_codes
    return pd.DataFrame({
        "hypothesis_id": cat(hi, categories=pd.Index(h["hypothesis_id"].astype(str)), validate=False)
        if h["hypothesis_id"].is_unique else h["hypothesis_id"].to_numpy()[hi],
        "model": pd.Categorical(c["model"].to_numpy())[ci],
        "prompt": pd.Categorical(c["prompt"].to_numpy())[ci],
        "temperature": c["temperature"].to_numpy()[ci],
        "seed": c["seed"].to_numpy()[ci],
        "effect": grid.effect.ravel(),
        "p_value": grid.p_value.ravel(),
        "conclusion": cat(grid.conclusion.ravel(), categories=list(CONCLUSIONS)),
        "gold_effect": h["gold_effect"].to_numpy()[hi],
        "gold_p_value": h["gold_p_value"].to_numpy()[hi],
        "gold_conclusion": pd.Categorical(h["gold_conclusion"].to_numpy(), categories=list(CONCLUSIONS))[hi],
        "error": cat(grid.error.ravel(), categories=list(ERROR_TYPES)),
        "wald_defined": grid.defined.ravel(),
    })


# ---- risk --------------------------------------------------------------------------------------------
def risk_summary(grid: Grid) -> dict[str, float]:
    """Shares of all evaluated pairs: overall risk, type_I, type_II, type_S, correct (they sum to 1)."""
    counts = np.bincount(grid.error.ravel(), minlength=len(ERROR_TYPES))
    total = counts.sum()
    out = {e: counts[i] / total for i, e in enumerate(ERROR_TYPES)}
    out["overall"] = 1.0 - out["correct"]
    out["n_pairs"] = int(total)
    return out


def exaggeration(grid: Grid, by: str | None = "model") -> pd.DataFrame:
    """Exaggeration ratios of the both-significant-same-sign pairs (Type M): median, quartiles, share > 1."""
    ok = (grid.error == ERROR_TYPES.index("correct")) & (grid.conclusion != NONE) & grid.gold_significant[:, None]
    ratio = np.asarray(stats.exaggeration_ratio(np.nan_to_num(grid.effect),
                                                grid.hypotheses["gold_effect"].to_numpy()[:, None]), dtype=float)
    rows = []
    groups = [("all", np.ones(grid.shape[1], dtype=bool))]
    if by is not None:
        for lv in sorted(grid.configs[by].unique()):
            groups.append((lv, (grid.configs[by] == lv).to_numpy()))
    for name, cm in groups:
        r = ratio[:, cm][ok[:, cm]]
        rows.append({by or "group": name, "n_pairs": int(r.size),
                     "median": float(np.median(r)) if r.size else np.nan,
                     "q25": float(np.quantile(r, 0.25)) if r.size else np.nan,
                     "q75": float(np.quantile(r, 0.75)) if r.size else np.nan,
                     "share_exaggerated": float((r > 1).mean()) if r.size else np.nan})
    return pd.DataFrame(rows)


def _mean_ci(values: np.ndarray, n_boot: int, seed: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean over hypotheses with a percentile bootstrap CI (:func:`studykit.stats.bootstrap_ci`)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return np.nan, np.nan, np.nan
    if v.size < 2 or np.ptp(v) == 0:
        return float(v.mean()), float(v.mean()), float(v.mean())
    b = stats.bootstrap_ci((v,), "mean", n_resamples=n_boot, method="percentile", confidence=confidence,
                           seed=seed)
    if not (np.isfinite(b.ci_low) and np.isfinite(b.ci_high)):
        return float(v.mean()), float(v.mean()), float(v.mean())
    return float(v.mean()), float(b.ci_low), float(b.ci_high)


def risk_by(grid: Grid, factor: str, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Risk by a configuration factor (model, prompt, temperature, seed).

    ``risk`` is the share of that level's pairs with a wrong conclusion; ``ci_low``/``ci_high``
    is a 95% percentile bootstrap CI over hypotheses (each hypothesis' share of wrong
    conclusions among the level's configurations is one unit, so correlated configurations
    of one hypothesis are not counted as independent). Shares by error type are over pairs.
    """
    levels, codes = np.unique(grid.configs[factor].to_numpy(), return_inverse=True)
    onehot = np.zeros((grid.shape[1], len(levels)))
    onehot[np.arange(grid.shape[1]), codes] = 1.0
    n_conf = onehot.sum(axis=0)
    per_hyp = (grid.wrong.astype(float) @ onehot) / n_conf  # (H, levels)
    rows = []
    for j, lv in enumerate(levels):
        cm = codes == j
        e = grid.error[:, cm].ravel()
        cnt = np.bincount(e, minlength=len(ERROR_TYPES)) / max(e.size, 1)
        mean, lo, hi = _mean_ci(per_hyp[:, j], n_boot, seed + j)
        rows.append({factor: lv, "n_configurations": int(n_conf[j]), "n_pairs": int(e.size), "risk": mean,
                     "ci_low": lo, "ci_high": hi,
                     **{e_: float(cnt[i]) for i, e_ in enumerate(ERROR_TYPES) if e_ != "correct"}})
    return pd.DataFrame(rows)


def error_breakdown(grid: Grid, by: str = "model") -> pd.DataFrame:
    """Share of each error type (of all pairs) overall and by ``by``; the shares of a row sum to 1."""
    rows = []
    levels = ["all"] + sorted(grid.configs[by].unique())
    for lv in levels:
        cm = np.ones(grid.shape[1], dtype=bool) if lv == "all" else (grid.configs[by] == lv).to_numpy()
        e = grid.error[:, cm].ravel()
        cnt = np.bincount(e, minlength=len(ERROR_TYPES))
        rows.append({by: lv, "n_pairs": int(e.size), **{t: cnt[i] / e.size for i, t in enumerate(ERROR_TYPES)}})
    return pd.DataFrame(rows)


# ---- annotation quality --------------------------------------------------------------------------------
def annotation_quality(data: AnnotationData, grid: Grid) -> pd.DataFrame:
    """Accuracy and macro-F1 of every configuration against gold, with its risk.

    accuracy :math:`= \\sum_k TP_k / n`; macro-F1 :math:`= \\frac{1}{|K'|}\\sum_{k \\in K'}
    2TP_k / (2TP_k + FP_k + FN_k)` over the classes K' present in gold or labels (as
    ``sklearn.metrics.f1_score(average="macro")``), on the items the configuration labels.
    """
    conf = confusion_counts(data)  # (C, label, gold)
    tp = np.einsum("ckk->ck", conf).astype(float)
    pred = conf.sum(axis=2)
    true = conf.sum(axis=1)
    n = conf.sum(axis=(1, 2))
    denom = pred + true
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)
        macro = np.nanmean(np.where(denom > 0, f1, np.nan), axis=1)
        acc = tp.sum(axis=1) / n
    out = data.configs[["config_id", "model", "prompt", "temperature", "seed", "n_valid", "coverage"]].copy()
    out["accuracy"] = acc
    out["macro_f1"] = macro
    cnt = np.stack([(grid.error == i).mean(axis=0) for i in range(len(ERROR_TYPES))], axis=1)
    out["risk"] = 1.0 - cnt[:, 0]
    for i, e in enumerate(ERROR_TYPES[1:], start=1):
        out[e] = cnt[:, i]
    return out


def spearman_accuracy_risk(quality: pd.DataFrame):
    """Spearman's rho of accuracy and risk over configurations (:func:`studykit.stats.spearman_rho`).

    Returns None when it is undefined: fewer than 4 configurations (the Fisher-z CI of
    the stats helper needs 4) or accuracy or risk equal in every configuration.
    """
    acc, risk = quality["accuracy"].to_numpy(dtype=float), quality["risk"].to_numpy(dtype=float)
    if len(quality) < 4 or np.ptp(acc) == 0 or np.ptp(risk) == 0:
        return None
    return stats.spearman_rho(acc, risk)


def accuracy_by_model(quality: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy, macro-F1 and risk over each model's configurations."""
    return (quality.groupby("model", sort=True)
            .agg(n_configurations=("config_id", "size"), accuracy=("accuracy", "mean"),
                 macro_f1=("macro_f1", "mean"), risk=("risk", "mean"))
            .reset_index())


# ---- risk against the gold result ------------------------------------------------------------------------
P_EDGES = (0.0, 1e-8, 1e-5, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0)


def _binned(per_hyp_risk: np.ndarray, values: np.ndarray, edges, n_boot: int, seed: int, name: str
            ) -> pd.DataFrame:
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = idx == b
        if not m.any():
            continue
        mean, lo, hi = _mean_ci(per_hyp_risk[m], n_boot, seed + b)
        rows.append({f"{name}_low": edges[b], f"{name}_high": edges[b + 1], f"{name}_median": float(np.median(values[m])),
                     "n_hypotheses": int(m.sum()), "risk": mean, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def risk_vs_gold(grid: Grid, *, n_bins: int = 8, n_boot: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk against |gold effect| (quantile bins) and against the gold p-value (fixed bins around alpha).

    Each hypothesis' risk is its share of configurations with a wrong conclusion; CIs are
    bootstrap over the hypotheses in a bin.
    """
    per_hyp = grid.wrong.mean(axis=1)
    eff = np.abs(grid.hypotheses["gold_effect"].to_numpy())
    q = np.unique(np.quantile(eff, np.linspace(0, 1, n_bins + 1)))
    if q.size < 2:  # one distinct effect (e.g. one hypothesis): one bin holding it
        q = np.array([q[0], q[0]])
    q[-1] = np.nextafter(q[-1], np.inf)
    by_effect = _binned(per_hyp, eff, q, n_boot, seed, "abs_gold_effect")
    p = grid.hypotheses["gold_p_value"].to_numpy()
    edges = np.array(sorted(set(P_EDGES) | {grid.alpha}))
    edges[-1] = np.nextafter(1.0, np.inf)
    by_p = _binned(per_hyp, p, edges, n_boot, seed + 100, "gold_p_value")
    by_p["gold_p_value_high"] = by_p["gold_p_value_high"].clip(upper=1.0)
    return by_effect, by_p


def risk_near_threshold(by_p: pd.DataFrame, alpha: float) -> float | None:
    """Risk of the hypotheses whose gold p-value lies within a factor 5 of ``alpha``: the mean of the
    :func:`risk_vs_gold` p-value bins inside ``[alpha / 5, 5 alpha]``, weighted by their hypotheses;
    None when no bin lies there."""
    near = (by_p["gold_p_value_low"] >= alpha / 5) & (by_p["gold_p_value_high"] <= min(1.0, alpha * 5))
    if not near.any():
        return None
    return float(np.average(by_p.loc[near, "risk"], weights=by_p.loc[near, "n_hypotheses"]))


# ---- intentional hacking ------------------------------------------------------------------------------------
def hacking_per_hypothesis(grid: Grid) -> pd.DataFrame:
    """For each hypothesis, how many configurations make a gold null significant, hide a gold
    effect, or reverse its sign."""
    gs = grid.gold_significant
    sig = grid.conclusion != NONE
    type_s = grid.error == ERROR_TYPES.index("type_S")
    out = grid.hypotheses[["hypothesis_id", "label_value", "group_column", "group_a", "group_b", "gold_effect",
                           "gold_p_value", "gold_conclusion"]].copy()
    out["n_configurations"] = grid.shape[1]
    out["n_false_positive"] = np.where(~gs, sig.sum(axis=1), 0)
    out["n_hide"] = np.where(gs, (~sig).sum(axis=1), 0)
    out["n_reverse"] = np.where(gs, type_s.sum(axis=1), 0)
    return out


def _log_binomial(n, r):
    """:math:`\\log \\binom{n}{r}` through the log-gamma function."""
    return gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)


def _p_at_least_one(m: np.ndarray, C: int, k: int) -> np.ndarray:
    """P(at least one of k configurations drawn without replacement among C is one of m) = 1 - C(C-m,k)/C(C,k)."""
    m = np.asarray(m)
    out = np.ones(m.shape)
    ok = C - m >= k
    out[ok] = 1.0 - np.exp(_log_binomial(C - m[ok], k) - _log_binomial(C, k))
    return out


GOALS = (("false_positive_possible", "n_false_positive", "make a gold null significant", False),
         ("true_effect_hideable", "n_hide", "hide a gold effect (not significant)", True),
         ("sign_reversible", "n_reverse", "reverse a gold effect's sign (significant)", True))


def hacking_feasibility(grid: Grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shares of hypotheses some configuration can flip, and the curve over the number tried.

    Shares are over the eligible hypotheses (gold null for a false positive; gold
    significant for hiding or reversing). The curve gives, for k configurations tried at
    random, the mean over eligible hypotheses of :math:`1 - \\binom{C-m_h}{k} / \\binom{C}{k}`,
    the chance that at least one of them gives the wanted conclusion (m_h configurations do).
    """
    per = hacking_per_hypothesis(grid)
    gs = grid.gold_significant
    C = grid.shape[1]
    rows, curve = [], []
    ks = np.unique(np.concatenate([np.arange(1, min(C, 20) + 1), np.unique(np.geomspace(1, C, 30).astype(int))]))
    for key, col, goal, needs_sig in GOALS:
        elig = gs if needs_sig else ~gs
        m = per.loc[elig, col].to_numpy()
        n_el = int(elig.sum())
        probs = np.array([_p_at_least_one(m, C, int(k)).mean() if n_el else np.nan for k in ks])
        k50 = int(ks[np.argmax(probs >= 0.5)]) if n_el and (probs >= 0.5).any() else None
        k90 = int(ks[np.argmax(probs >= 0.9)]) if n_el and (probs >= 0.9).any() else None
        rows.append({"goal": goal, "key": key, "n_eligible_hypotheses": n_el,
                     "share_possible": float((m > 0).mean()) if n_el else np.nan,
                     "median_share_of_configurations": float(np.median(m / C)) if n_el else np.nan,
                     "prob_one_random_configuration": float(probs[0]) if n_el else np.nan,
                     "k_for_50pct": k50, "k_for_90pct": k90})
        curve.append(pd.DataFrame({"goal": goal, "key": key, "k_configurations": ks, "prob_success": probs}))
    return pd.DataFrame(rows), pd.concat(curve, ignore_index=True)


# ---- specification curve --------------------------------------------------------------------------------------
def choose_spec_hypothesis(grid: Grid, requested: str | None = None) -> int:
    """Index of the hypothesis for the specification curve.

    ``requested`` names a hypothesis_id; None picks the one whose configurations' conclusions
    are most divided (highest entropy of the a_larger / b_larger / none shares; ties: first id).
    """
    ids = grid.hypotheses["hypothesis_id"].astype(str).to_numpy()
    if requested is not None:
        hit = np.flatnonzero(ids == str(requested))
        if not hit.size:
            skipped = set(grid.skipped["hypothesis_id"].astype(str)) if len(grid.skipped) else set()
            why = " (it was skipped)" if requested in skipped else ""
            raise ParamError(f"parameter 'spec_curve_hypothesis': unknown hypothesis '{requested}'{why}")
        return int(hit[0])
    shares = np.stack([(grid.conclusion == i).mean(axis=1) for i in range(len(CONCLUSIONS))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(shares > 0, shares * np.log(shares), 0.0), axis=1)
    order = np.lexsort((ids, -np.round(ent, 12)))
    return int(order[0])


def spec_curve(grid: Grid, h: int, *, confidence: float = 0.95) -> pd.DataFrame:
    """Every configuration's estimate of hypothesis ``h`` with its CI, sorted by estimate.

    The CI is Newcombe's hybrid Wilson interval for :math:`p_a - p_b`
    (:func:`studykit.stats.risk_difference`).
    """
    c = grid.configs
    rows = []
    for j in range(grid.shape[1]):
        xa, na, xb, nb = (int(grid.x_a[h, j]), int(grid.n_a[h, j]), int(grid.x_b[h, j]), int(grid.n_b[h, j]))
        if na > 0 and nb > 0:
            rd = stats.risk_difference(xa, na, xb, nb, confidence=confidence)
            lo, hi = rd.ci_low, rd.ci_high
        else:
            lo = hi = np.nan
        rows.append((c["model"].iat[j], c["prompt"].iat[j], float(c["temperature"].iat[j]), c["seed"].iat[j],
                     grid.effect[h, j], lo, hi, grid.p_value[h, j], CONCLUSIONS[grid.conclusion[h, j]],
                     ERROR_TYPES[grid.error[h, j]]))
    out = pd.DataFrame(rows, columns=["model", "prompt", "temperature", "seed", "effect", "ci_low", "ci_high",
                                      "p_value", "conclusion", "error"])
    out = out.sort_values(["effect", "model", "prompt", "temperature", "seed"], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    hyp = grid.hypotheses.iloc[h]
    rd = stats.risk_difference(int(hyp.gold_x_a), int(hyp.gold_n_a), int(hyp.gold_x_b), int(hyp.gold_n_b),
                               confidence=confidence)
    gold = pd.DataFrame([{"rank": 0, "model": "gold (human)", "prompt": "", "temperature": np.nan, "seed": np.nan,
                          "effect": hyp.gold_effect, "ci_low": rd.ci_low, "ci_high": rd.ci_high,
                          "p_value": hyp.gold_p_value, "conclusion": hyp.gold_conclusion, "error": "reference"}])
    return pd.concat([gold, out], ignore_index=True)


def grid_issues(grid: Grid) -> Issues:
    """Problems found while testing (skipped hypotheses by reason, undefined LLM tests), as data issues."""
    found = []
    if len(grid.skipped):
        for reason, n in grid.skipped["reason"].value_counts().sort_index().items():
            found.append(DataIssue("hypotheses_skipped", int(n),
                                   "hypotheses are skipped and counted in n_hypotheses_skipped", reason))
    n_undefined = int((~grid.defined).sum())
    if n_undefined:
        found.append(DataIssue("llm_test_undefined", n_undefined,
                               "a configuration's share is 0 or 1 in a group: the logit MLE does not exist; "
                               "conclusion none (what an iterated GLM reports), p_value empty",
                               f"{n_undefined / grid.error.size:.4f} of pairs"))
    return tuple(found)
