"""Confidence intervals of the risk shares by resampling items: every hypothesis is tested on the same items.

The risk of a model (prompt, temperature) is the share of its (hypothesis, configuration) pairs whose
conclusion differs from gold's. All hypotheses are tested on the same items, and a hypothesis' gold test
and its configurations' tests on the same items too, so their outcomes are dependent: an item sample that
happens to have, say, more left-party economy items moves many tests at once. A bootstrap over
hypotheses (:func:`.analysis.risk_by`, kept as ``ci_low_hypotheses`` / ``ci_high_hypotheses``) treats the
hypotheses as independent units; its interval is too narrow when their outcomes move together.

Rule (the item bootstrap, :func:`studykit.stats.unit_bootstrap`): a replicate draws every item
:math:`w_i` times (items resampled with replacement; :math:`\\sum_i w_i = n`), recomputes the gold
test of every evaluated hypothesis and the test of every configuration from the weighted counts
:math:`x = \\sum_i w_i 1[\\text{item } i \\text{ in group } a, \\text{label} = k]` (a sparse
item x cell matrix times the weights, so no resampled table is built), classifies every pair as in
:func:`.analysis.run_grid`, and recomputes each level's risk share; the interval is the percentile
interval of the replicates. The set of hypotheses is the one evaluated on the data (not re-selected in a
replicate); a test whose logit MLE does not exist in a replicate (a share of 0 or 1 in a group; also
for gold) concludes ``none``, the rule of the undefined LLM tests. The interval is for the risk that
this design (these hypotheses and configurations, this many items) has over samples of items.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, special

from studykit import stats

from .analysis import Grid
from .encoding import AnnotationData

FACTORS = ("model", "prompt", "temperature")
# elements of the (replicates x hypotheses x configurations) arrays tested at once (memory of the temporaries)
_CHUNK_ELEMENTS = 2_000_000
# one joint block of level patterns when its cells are at most this share of the annotation rows
JOINT_CELLS_PER_ROW = 0.5


def _cell_matrix(cells: np.ndarray, items: np.ndarray, n_cells: int, n_items: int) -> sparse.csr_matrix:
    """Sparse (cell x item) count matrix (float32: sums up to 2**24 are exact; built in linear time)."""
    return sparse.csr_matrix((np.ones(cells.size, dtype=np.float32), (cells, items.astype(np.int32))),
                             shape=(n_cells, n_items))


class _Counts:
    """Weighted label counts of every hypothesis' two groups, for many weight vectors at once.

    A block is a sparse (configuration, pattern, label) x item matrix (one entry per annotation row) and a
    (pattern, gold) x item matrix; a column's counts are the block's summed over the patterns of each level
    (a small dense product). When few patterns of levels over the used group columns occur (fewer cells
    than half the annotation rows), one joint block serves every column; otherwise each column is its own
    block (its levels are the patterns).
    """

    def __init__(self, data: AnnotationData, grid: Grid):
        self.K = K = len(data.classes)
        self.C = C = data.n_configs
        self.N = data.n_items
        h = grid.hypotheses
        cols = list(data.groups)
        used = sorted(set(h["col_idx"]))
        codes = np.stack([data.groups[cols[j]][0] for j in used], axis=1)
        patterns, pattern = np.unique(codes, axis=0, return_inverse=True)
        if len(patterns) * C * K <= JOINT_CELLS_PER_ROW * data.ann_item.size:
            groupings = [(patterns, pattern.ravel(), list(enumerate(used)))]
        else:
            groupings = []
            for pos, j in enumerate(used):
                L1 = len(data.groups[cols[j]][1]) + 1
                groupings.append((np.arange(L1)[:, None], codes[:, pos].astype(np.int64), [(0, j)]))
        col_idx = h["col_idx"].to_numpy()
        keep = np.flatnonzero(data.gold >= 0)
        self.blocks = []
        for pats, pat, members in groupings:
            P = len(pats)
            key = (data.ann_config.astype(np.int64) * P + pat[data.ann_item]) * K + data.ann_label
            llm = _cell_matrix(key, data.ann_item, C * P * K, self.N)
            gold = _cell_matrix(pat[keep].astype(np.int64) * K + data.gold[keep], keep, P * K, self.N)
            per_col = []
            for pos, j in members:
                L1 = len(data.groups[cols[j]][1]) + 1
                onehot = np.zeros((P, L1))
                onehot[np.arange(P), pats[:, pos]] = 1.0
                m = np.flatnonzero(col_idx == j)
                per_col.append((onehot, m, h["a"].to_numpy()[m], h["b"].to_numpy()[m], h["k"].to_numpy()[m]))
            self.blocks.append((P, llm, gold, per_col))
        self.H = len(h)

    def cells(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per block, the weighted counts under item weights ``w`` (b, N): configurations (C, P, K, b), gold (P, K, b)."""
        b = w.shape[0]
        wt = np.ascontiguousarray(w.T, dtype=np.float32)  # (N, b)
        return [(np.asarray(llm @ wt, dtype=np.float64).reshape(self.C, P, self.K, b),
                 np.asarray(gold @ wt, dtype=np.float64).reshape(P, self.K, b)) for P, llm, gold, _ in self.blocks]

    def conclusions(self, cells, draws: slice, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Signed conclusions (:func:`_signed_conclusion`) of gold (b, H) and of every configuration (b, H, C)
        for the replicates ``draws`` of ``cells``."""
        b = len(range(*draws.indices(cells[0][0].shape[-1])))
        g = np.zeros((b, self.H), dtype=np.int8)
        s = np.zeros((b, self.H, self.C), dtype=np.int8)
        for (llm, gold), (_, _, _, per_col) in zip(cells, self.blocks):
            llm, gold = llm[..., draws], gold[..., draws]
            for onehot, m, a, bb, k in per_col:
                cnt = np.moveaxis(llm, 1, 3) @ onehot  # (C, K, b, L1)
                l, v, ok = _logit_pieces(cnt, cnt.sum(axis=1, keepdims=True))
                # [:, k, :, a] -> (|m|, C, b)
                sc = _signed_conclusion(l[:, k, :, a], v[:, k, :, a], ok[:, k, :, a], l[:, k, :, bb], v[:, k, :, bb],
                                        ok[:, k, :, bb], alpha)
                s[:, m, :] = sc.transpose(2, 0, 1)
                gcnt = np.moveaxis(gold, 0, 2) @ onehot  # (K, b, L1)
                l, v, ok = _logit_pieces(gcnt, gcnt.sum(axis=0, keepdims=True))
                g[:, m] = _signed_conclusion(l[k, :, a], v[k, :, a], ok[k, :, a], l[k, :, bb], v[k, :, bb],
                                             ok[k, :, bb], alpha).T
        return g, s


def _logit_pieces(x: np.ndarray, n: np.ndarray):
    """Per cell: :math:`\\log x - \\log(n - x)`, :math:`1/x + 1/(n - x)` and whether :math:`0 < x < n`."""
    f = n - x
    ok = (x > 0) & (f > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x) - np.log(f), 1 / x + 1 / f, ok


def _signed_conclusion(l_a, v_a, ok_a, l_b, v_b, ok_b, alpha: float) -> np.ndarray:
    """+1 (a larger, significant), -1 (b larger, significant) or 0 (none; also an undefined test).

    The decision of :func:`.analysis.logit_tests` (closed-form logit Wald test,
    :func:`studykit.stats.two_proportion_logit`: :math:`\\hat\\beta = l_a - l_b`, :math:`SE^2 = v_a + v_b`,
    significant when :math:`2\\Phi(-|\\hat\\beta| / SE) < \\alpha`, i.e. :math:`\\hat\\beta^2 > z^2_{1-\\alpha/2}
    SE^2`; undefined where a share is 0 or 1 or a group is empty), from per-cell pieces so that it runs for
    every pair in every replicate; it equals the grid's conclusions on the data (a test checks it).
    """
    z2 = special.ndtri(alpha / 2) ** 2
    with np.errstate(invalid="ignore"):
        lor = l_a - l_b
        sig = ok_a & ok_b & (lor * lor > z2 * (v_a + v_b))
    return np.where(sig, np.sign(lor), 0).astype(np.int8)


def _wrong_chunks(counts: _Counts, w: np.ndarray, alpha: float, chunk: int):
    """Wrong conclusions under item weights ``w`` (b, N), ``chunk`` replicates at a time: arrays (chunk, H, C)."""
    cells = counts.cells(w)
    for start in range(0, w.shape[0], chunk):
        g, s = counts.conclusions(cells, slice(start, start + chunk), alpha)
        yield s != g[:, :, None]


def wrong_pairs(counts: _Counts, w: np.ndarray, alpha: float) -> np.ndarray:
    """Wrong conclusions (b, H, C) under item weights ``w`` (b, N): the rule of
    :func:`studykit.stats.classify_conclusion` (Type I, II or S) with the undefined-test rule."""
    return np.concatenate(list(_wrong_chunks(counts, w, alpha, w.shape[0])))


def _level_codes(grid: Grid, factor: str) -> tuple[np.ndarray, np.ndarray]:
    return np.unique(grid.configs[factor].to_numpy(), return_inverse=True)


def risk_replicates(data: AnnotationData, grid: Grid, factors=FACTORS, *, n_boot: int = 200, seed: int = 0,
                    batch_size: int = 50) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Item-bootstrap replicates of the risk share overall (key ``"all"``) and by each factor's levels.

    Returns ``{factor: (levels, replicates)}`` with replicates of shape (n_boot, n_levels).
    """
    counts = _Counts(data, grid)
    H, C = grid.shape
    onehots, sizes, names = [np.ones((C, 1))], [np.array([C * H], dtype=float)], ["all"]
    levels = {"all": np.array(["all"], dtype=object)}
    for f in factors:
        lv, codes = _level_codes(grid, f)
        oh = np.zeros((C, len(lv)))
        oh[np.arange(C), codes] = 1.0
        onehots.append(oh)
        sizes.append(oh.sum(axis=0) * H)
        names.append(f)
        levels[f] = lv
    design = np.concatenate(onehots, axis=1)
    denom = np.concatenate(sizes)
    chunk = max(1, _CHUNK_ELEMENTS // max(H * C, 1))

    def statistic(w: np.ndarray) -> np.ndarray:
        return np.concatenate([(wrong.sum(axis=1) @ design) / denom
                               for wrong in _wrong_chunks(counts, w, grid.alpha, chunk)])

    reps = stats.unit_bootstrap(statistic, np.zeros(data.n_items, dtype=np.int8), n_resamples=n_boot,
                                seed=np.random.default_rng([seed, 7]), batch_size=batch_size)
    result, start = {}, 0
    for name, oh in zip(names, onehots):
        result[name] = (levels[name], reps[:, start:start + oh.shape[1]])
        start += oh.shape[1]
    return result


def percentile_ci(replicates: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of replicates (n_boot, k), per column (:func:`studykit.stats.replicate_test`)."""
    r = stats.replicate_test(replicates.mean(axis=0), replicates, confidence=confidence)
    return r["ci_low"], r["ci_high"]


def with_item_ci(table: pd.DataFrame, factor: str, replicates: dict, confidence: float = 0.95) -> pd.DataFrame:
    """A :func:`.analysis.risk_by` table with the item-bootstrap interval as ``ci_low``/``ci_high``; the
    hypothesis-bootstrap interval is kept as ``ci_low_hypotheses``/``ci_high_hypotheses``."""
    lv, reps = replicates[factor]
    lo, hi = percentile_ci(reps, confidence)
    out = table.rename(columns={"ci_low": "ci_low_hypotheses", "ci_high": "ci_high_hypotheses"})
    pos = pd.Index(lv).get_indexer(out[factor].to_numpy())
    at = out.columns.get_loc("risk") + 1
    out.insert(at, "ci_low", lo[pos])
    out.insert(at + 1, "ci_high", hi[pos])
    out.insert(at + 2, "n_item_bootstrap", reps.shape[0])
    return out
