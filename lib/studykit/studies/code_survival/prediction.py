"""Prediction of modification-prone lines (and of when they are modified) from text and process features.

References
----------
Rahman & Shihab (2026) for the design (TF-IDF features, logistic regression,
AUC-ROC and timing macro-F1); Hanley & McNeil (1982) AUC as the Mann-Whitney
statistic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from studykit.stats.results import Result
from studykit.studies.code_survival.survival import horizon_labels

AGENT = "agent"
#: Feature sets: ``text`` = what the line's text alone says; ``text+process`` adds the path and the process.
FEATURE_SETS = ("text", "text+process")


@dataclass(frozen=True)
class PredictionResult(Result):
    """Out-of-fold prediction of modification within a horizon, and of its timing bin.

    ``features`` names the feature set (:data:`FEATURE_SETS`); ``ci_method``
    how the AUC interval was resampled. The DataFrame fields (folds, ROC
    points, timing confusion matrix) are saved as tables, not recorded.
    """

    features: str
    auc_roc: float | None
    auc_ci_low: float | None
    auc_ci_high: float | None
    n_units: int
    n_repos: int
    positive_share: float | None
    folds: int
    timing_macro_f1: float | None
    timing_majority_macro_f1: float | None
    timing_n_units: int
    timing_classes: tuple[str, ...]
    ci_method: str = ""
    auc_ci_low_units: float | None = None
    auc_ci_high_units: float | None = None
    note: str = ""
    fold_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    roc: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    timing_confusion: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def _path_tokens(p: str) -> str:
    import re

    return " ".join(t for t in re.split(r"[/._\-]+", p.lower()) if t) + " ext" + (
        p.rsplit(".", 1)[-1].lower() if "." in p.rsplit("/", 1)[-1] else "none")


def _features(train: pd.DataFrame, test: pd.DataFrame, max_features: int, process: bool = True):
    """TF-IDF of line text (code tokens) and the text's shape, fit on ``train``.

    ``process=True`` adds TF-IDF of path tokens and the process features (agent
    flag, commit size, files in the commit); the text-only set keeps what the
    line's text alone says: its tokens, length, indentation and blankness.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

    tv = TfidfVectorizer(token_pattern=r"[A-Za-z_][A-Za-z0-9_]*|[^\sA-Za-z0-9_]", lowercase=True,
                         max_features=max_features, sublinear_tf=True, min_df=2, dtype=np.float64)
    pv = TfidfVectorizer(token_pattern=r"\S+", max_features=max(50, max_features // 10), min_df=2,
                         dtype=np.float64)

    def proc(d: pd.DataFrame) -> np.ndarray:
        text = d["text"].astype(str)
        shape = [np.log1p(text.str.len().to_numpy(float)),
                 np.log1p((text.str.len() - text.str.lstrip().str.len()).to_numpy(float)),
                 (text.str.strip() == "").to_numpy(float)]
        if not process:
            return np.column_stack(shape)
        return np.column_stack([
            (d["author_type"] == AGENT).to_numpy(float),
            np.log1p(d["commit_lines_added"].to_numpy(float) + d["commit_lines_deleted"].to_numpy(float)),
            np.log1p(d["commit_files"].to_numpy(float)),
            *shape,
        ])

    sc = StandardScaler()
    tr_txt = train["text"].astype(str)
    te_txt = test["text"].astype(str)
    try:
        a_tr = tv.fit_transform(tr_txt)
        a_te = tv.transform(te_txt)
    except ValueError:  # empty vocabulary
        a_tr, a_te = sparse.csr_matrix((len(train), 0)), sparse.csr_matrix((len(test), 0))
    try:
        if not process:
            raise ValueError("text only: no path features")
        b_tr = pv.fit_transform(train["path"].map(_path_tokens))
        b_te = pv.transform(test["path"].map(_path_tokens))
    except ValueError:
        b_tr, b_te = sparse.csr_matrix((len(train), 0)), sparse.csr_matrix((len(test), 0))
    c_tr = sc.fit_transform(proc(train))
    c_te = sc.transform(proc(test))
    return (sparse.hstack([a_tr, b_tr, sparse.csr_matrix(c_tr)]).tocsr(),
            sparse.hstack([a_te, b_te, sparse.csr_matrix(c_te)]).tocsr())


def _auc_stat(y: np.ndarray, s: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectorised AUC = Mann-Whitney U / (n1 n0) along ``axis`` (average ranks for ties)."""
    from scipy.stats import rankdata

    y = np.asarray(y, float)
    r = rankdata(s, axis=axis)
    n1 = y.sum(axis=axis)
    n0 = y.shape[axis] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((r * y).sum(axis=axis) - n1 * (n1 + 1) / 2) / (n1 * n0)


def auc_by_level(n_levels: int, chunk_elements: int = 1 << 22):
    r"""The statistic of :func:`_auc_stat` on score *levels* (``np.unique(score, return_inverse=True)[1]``), by
    counting instead of sorting: the bootstrap of the AUC over units in seconds instead of minutes.

    Ranks depend on the scores only through their order and ties, so the levels give the same ranks; with
    :math:`c_l` units and :math:`p_l` positives at level *l* and :math:`b_l` units below it, the positives' rank
    sum is :math:`R = \sum_l p_l (b_l + (c_l + 1)/2)`, computed in integers. :func:`_auc_stat`'s float sum of
    average ranks is exact too (half-integers far below :math:`2^{53}`), and both end with the same float
    operations, so the two give the same bits.
    """

    def stat(y: np.ndarray, level: np.ndarray, axis: int = -1) -> np.ndarray:
        y2 = np.atleast_2d(np.asarray(y, float))
        l2 = np.atleast_2d(np.asarray(level)).astype(np.int64)
        rows, n = y2.shape
        out = np.empty(rows)
        step = max(1, chunk_elements // max(n_levels, 1))
        for a in range(0, rows, step):
            yy, ll = y2[a:a + step], l2[a:a + step]
            b = len(yy)
            flat = (np.arange(b, dtype=np.int64)[:, None] * n_levels + ll).ravel()
            cnt = np.bincount(flat, minlength=b * n_levels).reshape(b, n_levels)
            pos = np.bincount(flat, weights=yy.ravel(), minlength=b * n_levels).reshape(b, n_levels)
            below = np.cumsum(cnt, axis=1) - cnt
            rank_sum = (pos.astype(np.int64) * (2 * below + cnt + 1)).sum(axis=1) / 2
            n1 = yy.sum(axis=-1)
            n0 = yy.shape[-1] - n1
            with np.errstate(invalid="ignore", divide="ignore"):
                out[a:a + b] = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)
        return out[0] if np.ndim(y) == 1 else out

    return stat


def cluster_bootstrap_auc(y: np.ndarray, score: np.ndarray, labels: np.ndarray, n_resamples: int,
                          confidence: float, seed: int, batch: int = 64) -> tuple[float, float, int]:
    """Percentile cluster-bootstrap interval of the AUC: whole clusters are resampled.

    Replicate *b* gives unit *i* the weight :math:`w_{bi}` = times its cluster
    was drawn; the weighted AUC is
    :math:`\\sum_{i: y_i = 1} w_i \\big(W^-_{<s_i} + \\tfrac12 W^-_{=s_i}\\big) / (W^+ W^-)`,
    with :math:`W^-_{<s}` the negatives' weight below score *s*. Returns
    (low, high, replicates used); replicates without both classes are skipped.
    """
    from studykit.stats.resampling import cluster_bootstrap_weights

    codes, counts = cluster_bootstrap_weights(labels, n_resamples, seed)
    levels, lvl = np.unique(score, return_inverse=True)
    pos, neg = y == 1, y == 0
    stats = []
    for start in range(0, n_resamples, batch):
        w = counts[start:start + batch][:, codes]  # replicate x unit weights
        b, n_lv = w.shape[0], len(levels)
        flat = (np.arange(b, dtype=np.int64)[:, None] * n_lv + lvl[neg][None, :]).ravel()
        # counts of drawn clusters: integer-valued sums, exact in any order
        neg_at = np.bincount(flat, weights=w[:, neg].ravel(), minlength=b * n_lv).reshape(b, n_lv)
        below = np.cumsum(neg_at, axis=1) - neg_at
        wp = w[:, pos]
        num = (wp * (below[:, lvl[pos]] + 0.5 * neg_at[:, lvl[pos]])).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats.append(num / (wp.sum(axis=1) * w[:, neg].sum(axis=1)))
    auc = np.concatenate(stats)
    ok = np.isfinite(auc)
    lo, hi = np.quantile(auc[ok], [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi), int(ok.sum())


def predict_modification(df: pd.DataFrame, horizon_days: float, *, bins_days: Sequence[float] = (7, 30),
                         folds: int = 5, max_features: int = 5000, max_units: int = 60000,
                         n_bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0,
                         features: str = "text+process", clusters: np.ndarray | None = None) -> PredictionResult:
    """Will a unit be modified within the horizon? And when (time bin)?

    Eligible units (:func:`horizon_labels`), at most ``max_units`` sampled with
    ``seed``. Logistic regression (balanced class weights) on TF-IDF of the
    line text and of the path tokens plus process features
    (``features="text+process"``) or on the text alone (``"text"``), with
    out-of-fold predictions from ``GroupKFold`` by repository (no repository
    is in both training and test folds). AUC-ROC of the pooled out-of-fold
    scores with a percentile bootstrap CI: over ``clusters`` (one label per
    row of ``df``; :func:`cluster_bootstrap_auc`) when given, else over units
    (:func:`studykit.stats.bootstrap_ci`). Timing: among units modified within
    the horizon, a multinomial model of the bin
    :math:`[0, b_1), [b_1, b_2), \\dots, [b_k, h]`; macro-F1 next to the macro-F1
    of always predicting the majority bin.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    from studykit.stats import bootstrap_ci

    if features not in FEATURE_SETS:
        raise ValueError(f"features must be one of {FEATURE_SETS}")
    process = features == "text+process"
    d, note = _eligible_units(df, horizon_days, clusters, max_units, seed)
    n_repos = int(d["repo"].nunique())
    groups = d["repo"].to_numpy()
    if n_repos < 2:  # one repository: folds grouped by the commit that wrote the line instead
        groups = d["commit"].astype(str).to_numpy()
        note.append("one repository: folds grouped by commit")
    n_groups = len(np.unique(groups))
    if d["y"].nunique() < 2 or n_groups < 2:
        reason = (f"not estimable: {len(d)} eligible units, of which {int(d['y'].sum())} modified within "
                  f"{horizon_days:g} days; the model needs both outcomes and two or more fold groups")
        return PredictionResult(features, None, None, None, int(len(d)), n_repos,
                                float(d["y"].mean()) if len(d) else None, 0, None, None, 0, (),
                                note="; ".join([*note, reason]))
    k = min(folds, n_groups)
    score, fold_rows = _out_of_fold_scores(d, groups, k, max_features, process, seed)
    y = d["y"].to_numpy()
    auc = float(roc_auc_score(y, score))
    _, level = np.unique(score, return_inverse=True)
    bs = bootstrap_ci((y.astype(float), level.astype(float)), auc_by_level(int(level.max()) + 1),
                      n_resamples=n_bootstrap, method="percentile",
                      paired=True, confidence=confidence, seed=seed, batch_size=max(1, int(2e7 // len(y))))
    ci_low, ci_high, ci_method = float(bs.ci_low), float(bs.ci_high), "percentile bootstrap over units"
    if clusters is not None:
        ci_low, ci_high, used = cluster_bootstrap_auc(y, score, d["cluster"].to_numpy(), n_bootstrap, confidence,
                                                      seed)
        ci_method = f"percentile cluster bootstrap ({d['cluster'].nunique()} clusters, {used} resamples)"
    fpr, tpr, _ = roc_curve(y, score)
    sel = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 400)).astype(int))
    roc = pd.DataFrame({"fpr": fpr[sel], "tpr": tpr[sel]})
    timing = _timing(d, horizon_days, bins_days, folds, max_features, process, seed, n_repos)
    return PredictionResult(features, auc, ci_low, ci_high, int(len(d)), n_repos, float(y.mean()), k,
                            timing.macro_f1, timing.majority_f1, timing.n_modified, timing.classes, ci_method,
                            float(bs.ci_low), float(bs.ci_high), "; ".join([*note, *timing.notes]),
                            pd.DataFrame(fold_rows), roc, timing.confusion)


def _eligible_units(df: pd.DataFrame, horizon_days: float, clusters: np.ndarray | None, max_units: int,
                    seed: int) -> tuple[pd.DataFrame, list[str]]:
    """The units eligible at the horizon with their label ``y`` (and ``cluster``), at most ``max_units`` drawn
    with ``seed`` (in their original order), and the note saying so."""
    eligible, modified = horizon_labels(df, horizon_days)
    pick = np.flatnonzero(eligible.to_numpy())
    note = []
    if len(pick) > max_units:
        # the draw of ``df[eligible].sample(n=max_units, random_state=seed)`` (it depends on the number of rows
        # and the seed only), made on the positions, so that only the sampled units are copied
        pick = pd.Series(pick, index=df.index[pick]).sample(n=max_units, random_state=seed).sort_index().to_numpy()
        note.append(f"random sample of {max_units} eligible units")
    d = df.iloc[pick].copy()
    if clusters is not None:
        d["cluster"] = np.asarray(clusters)[pick]
    d["y"] = modified.to_numpy()[pick].astype(int)
    return d, note


def _out_of_fold_scores(d: pd.DataFrame, groups: np.ndarray, k: int, max_features: int, process: bool,
                        seed: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Out-of-fold predicted probabilities of modification (``GroupKFold`` by ``groups``, balanced logistic
    regression) and one row per fold; a fold whose training part has one outcome predicts its mean."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    score = np.full(len(d), np.nan)
    fold_rows = []
    for f, (tr, te) in enumerate(GroupKFold(n_splits=k).split(d, d["y"], groups)):
        A, B = _features(d.iloc[tr], d.iloc[te], max_features, process)
        ytr = d["y"].to_numpy()[tr]
        if len(np.unique(ytr)) < 2:
            score[te] = ytr.mean()
            continue
        # tol 1e-10 (scikit-learn's default 1e-4 stops where a last-bit change of one feature, as another
        # CPU's log gives, moved the coefficients by 1e-5 and the AUC by up to 2e-5; at 1e-10 by 1e-7 and 0)
        clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", solver="liblinear", tol=1e-10,
                                 random_state=seed)
        clf.fit(A, ytr)
        score[te] = clf.predict_proba(B)[:, 1]
        yte = d["y"].to_numpy()[te]
        fold_rows.append({"fold": f + 1, "test_repos": int(len(np.unique(groups[te]))), "test_units": int(len(te)),
                          "positive_share": float(yte.mean()),
                          "auc_roc": float(roc_auc_score(yte, score[te])) if len(np.unique(yte)) == 2 else None})
    return score, fold_rows


@dataclass(frozen=True)
class _Timing:
    """The timing model's outcome: bin names, macro-F1 (and of the majority bin), confusion table, notes."""

    classes: tuple[str, ...]
    n_modified: int
    macro_f1: float | None = None
    majority_f1: float | None = None
    confusion: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)
    notes: tuple[str, ...] = ()


def _timing(d: pd.DataFrame, horizon_days: float, bins_days: Sequence[float], folds: int, max_features: int,
            process: bool, seed: int, n_repos: int) -> _Timing:
    """Among units modified within the horizon, a multinomial model of the time bin
    :math:`[0, b_1), \\dots, [b_k, h]` with folds by repository; macro-F1 beside always predicting the majority."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.model_selection import GroupKFold

    edges = [0.0, *[b for b in bins_days if b < horizon_days], float(horizon_days)]
    names = tuple(f"[{a:g}, {b:g})" if i < len(edges) - 2 else f"[{a:g}, {b:g}]"
                  for i, (a, b) in enumerate(zip(edges[:-1], edges[1:])))
    m = d[d["y"] == 1].copy()
    if not (len(m) and m["repo"].nunique() >= 2 and n_repos >= 2):
        return _Timing(names, int(len(m)), notes=("timing: too few modified units or repositories",))
    cls = np.clip(np.searchsorted(edges, m["duration_days"].to_numpy(), side="right") - 1, 0, len(names) - 1)
    if len(np.unique(cls)) < 2:
        return _Timing(names, int(len(m)), notes=("timing: all modifications fall in one bin",))
    pred = np.zeros(len(m), dtype=int)
    kk = min(folds, int(m["repo"].nunique()))
    for tr, te in GroupKFold(n_splits=kk).split(m, cls, m["repo"].to_numpy()):
        if len(np.unique(cls[tr])) < 2:
            pred[te] = cls[tr][0]
            continue
        A, B = _features(m.iloc[tr], m.iloc[te], max_features, process)
        clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced", random_state=seed)
        clf.fit(A, cls[tr])
        pred[te] = clf.predict(B)
    labels = list(range(len(names)))
    tf1 = float(f1_score(cls, pred, average="macro", labels=labels, zero_division=0))
    maj = np.bincount(cls, minlength=len(names)).argmax()
    tmaj = float(f1_score(cls, np.full_like(cls, maj), average="macro", labels=labels, zero_division=0))
    conf = pd.DataFrame(confusion_matrix(cls, pred, labels=labels), columns=[f"pred {n}" for n in names])
    conf.insert(0, "true", list(names))
    return _Timing(names, int(len(m)), tf1, tmaj, conf)


def prediction_table(*preds: PredictionResult) -> pd.DataFrame:
    """The prediction summaries, one row per feature set, with the timing classes written out."""
    rows = []
    for pred in preds:
        row = pred.summary()
        row.insert(list(row.columns).index("ci_method"), "timing_classes", str(pred.timing_classes))
        rows.append(row)
    return pd.concat(rows, ignore_index=True)
