"""The item bootstrap of the risk shares: exact weighted recomputation, and its coverage where hypotheses share items.

Unit: an item (text). The exactness tests use the embedded data set and one resample of its items; the
coverage test draws one sample of items per replicate from a fixed simulated population (every
hypothesis tested on the same items), and the interval is for the expected risk share over such samples.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.studies.annotation_robustness import Params, analysis, item_bootstrap, load
from studykit.studies.annotation_robustness.encoding import AnnotationData


@pytest.fixture(scope="module")
def embedded():
    p = Params()
    (data, hyps), _ = load.load(p)
    grid, _ = analysis.run_grid(data, hyps, alpha=p.alpha, min_group_size=p.min_group_size)
    return data, grid


def _resampled(data: AnnotationData, idx: np.ndarray) -> AnnotationData:
    """The data set of the drawn items, a repeated item being a separate item (its annotation rows repeated)."""
    order = np.argsort(data.ann_item, kind="stable")
    starts = np.searchsorted(data.ann_item[order], np.arange(data.n_items + 1))
    rows = np.concatenate([order[starts[i]:starts[i + 1]] for i in idx])
    new_item = np.repeat(np.arange(idx.size, dtype=np.int32), np.diff(starts)[idx])
    return AnnotationData(items=data.items.iloc[idx].reset_index(drop=True), classes=data.classes,
                          gold=data.gold[idx], human=None, groups={k: (v[0][idx], v[1]) for k, v in data.groups.items()},
                          configs=data.configs, ann_item=new_item, ann_config=data.ann_config[rows],
                          ann_label=data.ann_label[rows])


@pytest.mark.parametrize("joint", [0.5, 0.0])
def test_weighted_conclusions_equal_the_grid_on_the_resampled_items(embedded, monkeypatch, joint):
    """With unit weights the recomputed wrong pairs are the grid's; with the weights of one resample they are
    the grid of the resampled data set built item by item (joint pattern block and one block per column)."""
    data, grid = embedded
    monkeypatch.setattr(item_bootstrap, "JOINT_CELLS_PER_ROW", joint)
    counts = item_bootstrap._Counts(data, grid)
    assert len(counts.blocks) == (1 if joint else len(data.groups))
    assert (item_bootstrap.wrong_pairs(counts, np.ones((1, data.n_items)), grid.alpha)[0] == grid.wrong).all()
    idx = np.random.default_rng(3).integers(0, data.n_items, data.n_items)
    hyps = grid.hypotheses[["hypothesis_id", "label_value", "group_column", "group_a", "group_b"]]
    regrid, _ = analysis.run_grid(_resampled(data, idx), hyps, alpha=grid.alpha, min_group_size=2)
    assert regrid.shape == grid.shape
    w = np.bincount(idx, minlength=data.n_items)[None, :].astype(float)
    wrong = item_bootstrap.wrong_pairs(counts, w, grid.alpha)[0]
    assert (wrong == regrid.wrong).all()
    assert (wrong != grid.wrong).any()  # the resample changes some conclusions


def test_replicates_do_not_depend_on_the_batch_size_and_tables_keep_both_intervals(embedded):
    data, grid = embedded
    a = item_bootstrap.risk_replicates(data, grid, ("model",), n_boot=30, seed=2, batch_size=7)
    b = item_bootstrap.risk_replicates(data, grid, ("model",), n_boot=30, seed=2, batch_size=30)
    assert np.array_equal(a["model"][1], b["model"][1]) and np.array_equal(a["all"][1], b["all"][1])
    # the overall share is the configurations' shares weighted by their pairs
    lv, reps = a["model"]
    n = grid.configs["model"].value_counts().reindex(lv).to_numpy()
    assert np.allclose(reps @ n / n.sum(), a["all"][1][:, 0])
    t = item_bootstrap.with_item_ci(analysis.risk_by(grid, "model", n_boot=100), "model", a)
    assert {"ci_low", "ci_high", "ci_low_hypotheses", "ci_high_hypotheses"} <= set(t.columns)
    lo, hi = item_bootstrap.percentile_ci(reps)
    assert np.allclose(t["ci_low"], lo) and np.allclose(t["ci_high"], hi) and (t["n_item_bootstrap"] == 30).all()


# ---- coverage where hypotheses share items -------------------------------------------------------------
def _population(M: int, seed: int, n_cols: int = 6, C: int = 8):
    """Items with a binary gold label whose share differs by a base group (0.40 vs 0.46); six group columns
    are copies of the base group with 20% of items flipped, so the hypotheses test nearly the same split of
    the same items; configurations label correctly with probability 0.80..0.90."""
    rng = np.random.default_rng(seed)
    base = rng.random(M) < 0.5
    gold = (rng.random(M) < np.where(base, 0.46, 0.40)).astype(np.int8)
    groups = {f"g{j}": ((base ^ (rng.random(M) < 0.2)).astype(np.int32), ("x", "y")) for j in range(n_cols)}
    conf = np.tile(np.arange(C, dtype=np.int32), M)
    item = np.repeat(np.arange(M, dtype=np.int32), C)
    ok = rng.random(M * C) < np.linspace(0.80, 0.90, C)[conf]
    label = np.where(ok, gold[item], 1 - gold[item]).astype(np.int8)
    configs = pd.DataFrame({"config_id": np.arange(C), "model": [f"m{c % 2}" for c in range(C)], "prompt": "p",
                            "temperature": 0.0, "seed": np.arange(C), "n_rows": M, "n_valid": M, "coverage": 1.0})
    return AnnotationData(items=pd.DataFrame({"item_id": np.arange(M)}), classes=("neg", "pos"), gold=gold,
                          human=None, groups=groups, configs=configs, ann_item=item, ann_config=conf,
                          ann_label=label)


def test_item_bootstrap_covers_the_expected_risk_where_the_hypothesis_bootstrap_does_not():
    """200 samples of 400 items: the item-bootstrap 95% interval covers the expected risk share at about the
    nominal rate; the bootstrap over hypotheses, which treats the hypotheses as independent, far less often."""
    pop = _population(20000, seed=1)
    pgrid, _ = analysis.run_grid(pop, None, min_group_size=2)
    hyps = pgrid.hypotheses[["hypothesis_id", "label_value", "group_column", "group_a", "group_b"]]
    counts = item_bootstrap._Counts(pop, pgrid)
    rng = np.random.default_rng(5)
    n, reps = 400, 200
    # the estimand: the mean risk share over samples of n items (multinomial weights on the population)
    w = np.stack([np.bincount(rng.integers(0, pop.n_items, n), minlength=pop.n_items) for _ in range(2000)])
    truth = np.concatenate([item_bootstrap.wrong_pairs(counts, w[i:i + 200].astype(float), 0.05).mean(axis=(1, 2))
                            for i in range(0, len(w), 200)]).mean()
    hit_items = hit_hyps = 0
    widths = {"items": [], "hypotheses": []}
    for r in range(reps):
        sample = _resampled(pop, rng.integers(0, pop.n_items, n))
        grid, _ = analysis.run_grid(sample, hyps, min_group_size=2)
        _, lo, hi = analysis._mean_ci(grid.wrong.mean(axis=1), 500, r)
        hit_hyps += lo <= truth <= hi
        widths["hypotheses"].append(hi - lo)
        lo_i, hi_i = item_bootstrap.percentile_ci(
            item_bootstrap.risk_replicates(sample, grid, (), n_boot=200, seed=r)["all"][1])
        hit_items += lo_i[0] <= truth <= hi_i[0]
        widths["items"].append(hi_i[0] - lo_i[0])
    cov_items, cov_hyps = hit_items / reps, hit_hyps / reps
    # Monte Carlo sd of a coverage near 0.95 over 200 replicates: 0.015
    assert 0.90 <= cov_items <= 0.99, cov_items
    print(f"coverage: item bootstrap {cov_items:.3f}, hypothesis bootstrap {cov_hyps:.3f}, truth {truth:.4f}, "
          f"mean widths {np.mean(widths['items']):.3f}, {np.mean(widths['hypotheses']):.3f}")
    assert cov_hyps <= 0.70, cov_hyps
