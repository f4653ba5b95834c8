"""The speed-ups of the code_survival analysis give the same numbers as the code they replaced (kept here as the
reference): the AUC bootstrap by score levels, the cluster bootstrap's counts, the eligible-unit sample, the Cox
design matrix, the jackknife's refits from one aggregation, and the per-distinct-value text checks of
``prepare_events``.

Unit: a line unit (one row of a line-events table); the AUC bootstrap resamples units (or whole clusters of units,
as labelled), the jackknife leaves out whole repositories.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studykit.stats import bootstrap_ci
from studykit.studies.code_survival import cox as cx
from studykit.studies.code_survival import load, prediction
from studykit.studies.code_survival.survival import horizon_labels


def _scores(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = (rng.random(n) < rng.uniform(0.1, 0.8)).astype(float)
    y[0], y[-1] = 1.0, 0.0
    s = rng.normal(size=n).round(int(rng.integers(0, 3)))  # rounded: many tied scores
    return y, s


@pytest.mark.parametrize("seed", range(6))
def test_auc_by_level_has_the_bits_of_the_rank_statistic(seed):
    rng = np.random.default_rng(seed)
    y, s = _scores(rng, int(rng.integers(10, 2000)))
    _, level = np.unique(s, return_inverse=True)
    stat = prediction.auc_by_level(int(level.max()) + 1, chunk_elements=int(rng.integers(1, 4000)))
    assert stat(y, level.astype(float)) == prediction._auc_stat(y, s)
    idx = rng.integers(0, len(y), (37, len(y)))
    assert np.array_equal(stat(y[idx], level[idx].astype(float)), prediction._auc_stat(y[idx], s[idx]),
                          equal_nan=True)
    kw = dict(n_resamples=120, method="percentile", paired=True, seed=seed, batch_size=17)
    a = bootstrap_ci((y, s), prediction._auc_stat, **kw)
    b = bootstrap_ci((y, level.astype(float)), stat, **kw)
    assert (a.estimate, a.ci_low, a.ci_high) == (b.estimate, b.ci_low, b.ci_high)


def _cluster_bootstrap_auc_add_at(y, score, labels, n_resamples, confidence, seed, batch=64):
    """The cluster bootstrap of the AUC as written with np.add.at (the reference)."""
    from studykit.stats.resampling import cluster_bootstrap_weights

    codes, counts = cluster_bootstrap_weights(labels, n_resamples, seed)
    levels, lvl = np.unique(score, return_inverse=True)
    pos, neg = y == 1, y == 0
    stats = []
    for start in range(0, n_resamples, batch):
        w = counts[start:start + batch][:, codes]
        neg_at = np.zeros((w.shape[0], len(levels)))
        np.add.at(neg_at.T, lvl[neg], w[:, neg].T)
        below = np.cumsum(neg_at, axis=1) - neg_at
        wp = w[:, pos]
        num = (wp * (below[:, lvl[pos]] + 0.5 * neg_at[:, lvl[pos]])).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats.append(num / (wp.sum(axis=1) * w[:, neg].sum(axis=1)))
    auc = np.concatenate(stats)
    ok = np.isfinite(auc)
    lo, hi = np.quantile(auc[ok], [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi), int(ok.sum())


@pytest.mark.parametrize("seed", range(4))
def test_cluster_bootstrap_auc_equals_the_add_at_version(seed):
    rng = np.random.default_rng(50 + seed)
    y, s = _scores(rng, 800)
    labels = rng.integers(0, 12, len(y))
    assert prediction.cluster_bootstrap_auc(y, s, labels, 200, 0.95, seed) == \
        _cluster_bootstrap_auc_add_at(y, s, labels, 200, 0.95, seed)


def _events(rng: np.random.Generator, n: int) -> pd.DataFrame:
    born = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    until = pd.Timestamp("2025-03-01", tz="UTC")
    dur = rng.exponential(60, n)
    return pd.DataFrame({
        "repo": rng.choice([f"r{k}" for k in range(12)], n), "commit": rng.integers(0, 80, n).astype(str),
        "author_type": rng.choice(["agent", "human"], n), "agent": "", "born_at": born, "observed_until": until,
        "duration_days": dur, "event": (rng.random(n) < 0.6).astype(int), "text": rng.choice(["a", "b = 1", ""], n),
        "file_ext": rng.choice([".py", ".ts", ".md", "", ".go", ".rs", ".c", ".h", ".x"], n),
        "commit_lines_added": rng.integers(0, 50, n), "commit_lines_deleted": rng.integers(0, 9, n)})


@pytest.mark.parametrize("max_units", [50, 400, 10**6])
def test_eligible_sample_equals_sampling_the_eligible_frame(max_units):
    rng = np.random.default_rng(max_units)
    df = _events(rng, 1500)
    labels = df["repo"].to_numpy()
    got, note = prediction._eligible_units(df, 90.0, labels, max_units, 20260)
    eligible, modified = horizon_labels(df, 90.0)
    want = df[eligible].copy()
    want["cluster"] = labels[eligible.to_numpy()]
    want["y"] = modified[eligible].astype(int).to_numpy()
    if len(want) > max_units:
        want = want.sample(n=max_units, random_state=20260).sort_index()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert bool(note) == (int(eligible.sum()) > max_units)


def _design_by_comparisons(df, adjusted, max_ext=6, min_ext_units=30):
    """design_matrix as written with one comparison per file type (the reference)."""
    X = pd.DataFrame({"duration_days": df["duration_days"].to_numpy(float), "event": df["event"].to_numpy(int),
                      "agent": (df["author_type"] == "agent").to_numpy(int), "repo": df["repo"].astype(str).to_numpy()})
    if adjusted:
        ext = df["file_ext"].fillna("").astype(str)
        counts = ext.value_counts()
        keep = [e for e in counts.index[:max_ext] if counts[e] >= min_ext_units]
        ext = ext.where(ext.isin(keep), "other")
        levels = sorted(ext.unique(), key=lambda e: (-int((ext == e).sum()), e))
        for e in levels[1:]:
            X[f"ext[{e}]"] = (ext == e).to_numpy(int)
        X["log_commit_size"] = np.log1p(df["commit_lines_added"].to_numpy(float)
                                        + df["commit_lines_deleted"].to_numpy(float))
    covariates = [c for c in X.columns if c not in ("duration_days", "event", "agent", "repo")]
    constant = [c for c in covariates if X[c].nunique() < 2]
    X = X.drop(columns=constant)
    X.attrs["dropped_constant"] = constant
    return X


@pytest.mark.parametrize("seed", range(5))
def test_design_matrix_equals_the_comparison_version(seed):
    rng = np.random.default_rng(seed)
    df = _events(rng, int(rng.integers(5, 900)))
    if seed == 1:
        df["commit_lines_added"] = 3  # a constant covariate is dropped
        df["commit_lines_deleted"] = 0
    if seed == 2:
        df.loc[df.index[:4], "file_ext"] = None  # missing file types count as ""
        df.loc[df.index[4:9], "file_ext"] = "other"  # a real extension named like the pool
    for min_units in (1, 30, 200):
        got = cx.design_matrix(df, adjusted=True, min_ext_units=min_units)
        want = _design_by_comparisons(df, True, min_ext_units=min_units)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got.attrs == want.attrs


def test_jackknife_refits_equal_fitting_each_subset():
    rng = np.random.default_rng(11)
    df = _events(rng, 2000)
    for strata in (False, True):
        X = cx.design_matrix(df, adjusted=True)
        refit = cx._Refit(X, strata)
        for g in ("r0", "r5", "r11"):
            keep = (df["repo"] != g).to_numpy()
            want, _ = cx._fit_cox(X[keep], strata)
            got = refit(keep)
            assert np.array_equal(got.coef, want.coef) and np.array_equal(got.covariance, want.covariance)


def test_text_checks_per_distinct_value_equal_the_elementwise_ones():
    s = pd.Series([" a", "a", None, "", "  ", "b ", np.nan, "b ", "é\t"], dtype=object)
    assert load._blank(s).tolist() == load._blank_values(s).tolist()
    strip = lambda v: v.astype(str).str.strip()  # noqa: E731
    ok = s.dropna()
    assert load._per_distinct(ok, strip).tolist() == strip(ok).tolist()
    mixed = pd.Series([1, "1", 1.0, " x"], dtype=object)  # not all text: the elementwise map decides
    assert load._per_distinct(mixed, strip).tolist() == ["1", "1", "1.0", "x"]
    assert load._as_text(pd.Series(["a", None, 3], dtype=object)).tolist() == ["a", "", "3"]
    text = pd.Series(["a", "b"], dtype=object)
    assert load._as_text(text) is text


def test_prepare_events_still_drops_exact_duplicates_and_refuses_conflicting_ids():
    rng = np.random.default_rng(2)
    df = _events(rng, 30).drop(columns=["duration_days"])
    df["unit_id"] = [f"u{i}" for i in range(len(df))]
    df["ended_at"] = df["born_at"] + pd.Timedelta(days=3)
    df["end_intent"], df["path"] = "", "a.py"
    twice = pd.concat([df, df.iloc[:3]], ignore_index=True)
    out, issues = load.prepare_events(twice, now=pd.Timestamp("2026-01-01", tz="UTC"))
    assert len(out) == len(df) and [i.count for i in issues if i.check == "duplicate_rows"] == [3]
    clash = twice.copy()
    clash.loc[len(df), "text"] = "changed"
    with pytest.raises(Exception, match="not unique within a repository"):
        load.prepare_events(clash, now=pd.Timestamp("2026-01-01", tz="UTC"))


def test_iso_times_equal_strftime():
    times = pd.Series(pd.to_datetime(["1969-12-31 23:59:59.7", "2024-02-29 12:00:00.999999999", None,
                                      "1980-01-01", "2262-04-11", "2025-07-01T10:00:00+02:00"],
                                     utc=True, format="ISO8601"))
    got = load.iso_utc_seconds(times)
    pd.testing.assert_series_equal(got, times.dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna(""), check_exact=True)
    assert got.tolist()[-1] == "2025-07-01T08:00:00Z"
    df = pd.DataFrame({"born_at": times, "x": range(len(times))})
    table, _ = load.events_for_output(df)
    assert table["born_at"].tolist() == got.tolist() and df["born_at"].dtype != object  # the input is untouched
