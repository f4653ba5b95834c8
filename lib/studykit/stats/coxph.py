r"""Exact Cox partial-likelihood fit on frequency-weighted rows (Efron ties), row score residuals, Schoenfeld test.

Units (e.g. lines written by one commit) that share their duration, event, covariates, cluster and stratum
have identical contributions to the partial likelihood, so a table of a few hundred thousand units often
collapses to a few thousand distinct rows ``(duration, event, covariates, cluster, stratum)``.
:func:`aggregate_units` builds those rows with a weight :math:`w_i` = the number
of identical units, and :func:`fit_cox` maximises the partial likelihood of the
*expanded* data computed from the rows alone:

.. math::

    \ell(\beta) = \sum_s \sum_{j} \Big[ \sum_{i \in D_j} w_i x_i^\top\beta
        - \sum_{l=0}^{d_j - 1} \log\big(S_0(t_j) - \tfrac{l}{d_j} A_0(t_j)\big) \Big],

with, within stratum :math:`s` and at distinct event time :math:`t_j`,
:math:`S_0(t_j) = \sum_{T_i \ge t_j} w_i e^{x_i^\top\beta}` (risk set),
:math:`A_0(t_j) = \sum_{i \in D_j} w_i e^{x_i^\top\beta}` (tied events) and
:math:`d_j = \sum_{i \in D_j} w_i` the number of tied events of the expanded
data (Efron 1977). This is exactly Efron's likelihood of the expanded units
(lifelines' and survival's ``weights`` use :math:`d_j` = number of *rows*, a
different likelihood). The sums over :math:`l` are evaluated vectorised over all
events (their total length is the number of events).

Size: one module for the exact fit on aggregated rows; the grouping of units into rows (and of any subset of
them, for the jackknife), the likelihood terms, Newton's method, the residuals and the Schoenfeld test share the
rows' layout.

Score residuals (Lin & Wei 1989; Therneau & Grambsch 2000, sec. 4.6 and 7.2)
use Efron's weighting of the tied events: for pseudo-event :math:`l` of tie set
:math:`j` a tied unit is at risk with weight :math:`1 - l/d_j`; with
:math:`\bar x_{jl} = (S_1 - \tfrac{l}{d_j}A_1)/(S_0 - \tfrac{l}{d_j}A_0)`,

.. math::

    U_i = \delta_i\big(x_i - \tfrac{1}{d_j}\textstyle\sum_l \bar x_{jl}\big)
          - r_i \sum_{t_j \le T_i} \sum_l \omega_{ijl} \frac{x_i - \bar x_{jl}}{S_0 - \tfrac{l}{d_j}A_0},

:math:`\omega_{ijl} = 1 - l/d_j` if unit *i* is one of the events at :math:`t_j`,
1 otherwise. They sum to the score :math:`U(\beta)` (zero at :math:`\hat\beta`).
Identical units have identical residuals, so the residual of an aggregated row
is :math:`w_i U_i` and its sums by cluster are exactly the clusters' score sums
of the expanded data: :meth:`CoxFit.robust_covariance` (the sandwich of
:func:`studykit.stats.clustered.cluster_robust_cov`) gives the expanded data's
:math:`\mathcal I^{-1}(\sum_c U_c U_c^\top)\mathcal I^{-1}`. Without tied
event times these are the Breslow-form residuals of lifelines and of
:func:`studykit.stats.survival.score_residuals`.

References
----------
Efron, B. (1977). The efficiency of Cox's likelihood function for censored data. JASA 72, 557-565.
Lin, D. Y. & Wei, L. J. (1989). The robust inference for the Cox proportional hazards model. JASA 84, 1074-1078.
Therneau, T. M. & Grambsch, P. M. (2000). Modeling Survival Data: Extending the Cox Model. Springer.
Grambsch, P. M. & Therneau, T. M. (1994). Proportional hazards tests and diagnostics based on weighted
residuals. Biometrika 81, 515-526.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.stats.clustered import ClusterCovariance, cluster_robust_cov
from studykit.stats.results import Result

__all__ = ["CoxFit", "aggregate_units", "fit_cox", "fit_cox_rows", "partial_loglik", "schoenfeld_test", "subset_rows"]

WEIGHT = "weight"


def aggregate_units(df: pd.DataFrame, duration_col: str, event_col: str, covariate_cols: Sequence[str],
                    cluster_col: str | None = None, strata_col: str | None = None,
                    weight_col: str = WEIGHT) -> tuple[pd.DataFrame, np.ndarray]:
    """Collapse identical units into weighted rows.

    Units with equal ``(duration, event, covariates, cluster, stratum)`` have
    identical contributions to the partial likelihood (Efron 1977), its derivatives and
    their score residuals, so one row with weight :math:`w` = their number
    carries them exactly.

    Parameters
    ----------
    df : DataFrame
        One row per unit.
    duration_col, event_col : str
    covariate_cols : sequence of str
        Numeric covariates (exact equality defines identical units).
    cluster_col, strata_col : str, optional
    weight_col : str
        Name of the weight column of the result.

    Returns
    -------
    rows : DataFrame
        The distinct rows (sorted by the key columns, so the result does not
        depend on the order of ``df``) with the integer column ``weight_col``.
    mapping : ndarray of int
        For each unit of ``df`` (in its order) the position of its row in ``rows``.

    Examples
    --------
    >>> df = pd.DataFrame({"T": [2, 3, 3, 5, 6, 6, 8, 9], "E": [1, 1, 1, 0, 1, 1, 0, 1], "x": [1, 1, 1, 0, 1, 0, 0, 0]})
    >>> rows, mapping = aggregate_units(df, "T", "E", ["x"])
    >>> rows["weight"].tolist(), mapping.tolist()
    ([1, 2, 1, 1, 1, 1, 1], [0, 1, 1, 2, 4, 3, 5, 6])
    """
    keys = [duration_col, event_col, *covariate_cols]
    keys += [c for c in (cluster_col, strata_col) if c is not None and c not in keys]
    missing = [c for c in keys if c not in df.columns]
    if missing:
        raise InputError(f"aggregate_units: column(s) {', '.join(missing)} not in the table")
    fast = _aggregate_codes(df, keys, weight_col)
    if fast is not None:
        return fast
    grouped = df[keys].groupby(keys, sort=True, dropna=False, observed=True)
    mapping = grouped.ngroup().to_numpy()
    rows = grouped.size().rename(weight_col).reset_index()
    return rows, mapping


def _aggregate_codes(df: pd.DataFrame, keys: list[str], weight_col: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """:func:`aggregate_units` by hashing one combined code per unit and sorting only the distinct rows (several
    times faster than a pandas groupby on millions of units; the same rows in the same order); None when a key
    has missing values, is not a plain numpy column, or the combined code would overflow (the groupby then
    decides)."""
    if len(df) == 0 or len(set(keys)) != len(keys):
        return None
    codes, uniques = [], []
    for c in keys:
        col = df[c]
        if not isinstance(col.dtype, np.dtype) or col.dtype.kind not in "biufO":
            return None
        v = col.to_numpy()
        if col.dtype.kind in "bi" and len(v):
            lo = int(v.min())
            hi = int(v.max())
            if hi - lo < 1 << 20:  # small integer range: the code is the value's offset (sorted order kept)
                k = v.astype(np.int64) - lo
                present = np.zeros(hi - lo + 1, bool)
                present[k] = True
                rank = np.cumsum(present) - 1
                u = (np.flatnonzero(present) + lo).astype(v.dtype)
                codes.append(rank[k])
                uniques.append(u)
                continue
        if col.dtype.kind == "O" and not all(isinstance(x, str) for x in pd.unique(v)):
            return None
        k, u = pd.factorize(v, sort=True)
        if (k < 0).any():
            return None
        codes.append(k.astype(np.int64))
        uniques.append(u)
    sizes = [max(len(u), 1) for u in uniques]
    if float(np.prod([float(s) for s in sizes])) >= 2.0 ** 62:
        return None
    combined = np.zeros(len(df), np.int64)
    for k, s in zip(codes, sizes):
        combined = combined * s + k
    hashed, distinct = pd.factorize(combined)  # hash: groups in order of appearance
    order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(distinct), np.int64)
    rank[order] = np.arange(len(distinct))
    mapping = rank[hashed]
    key = distinct[order]  # the sorted distinct combined codes, decoded into each column's code below
    cols = {}
    for c, s, u in zip(keys[::-1], sizes[::-1], uniques[::-1]):
        cols[c] = pd.Series(u[key % s]).astype(df[c].dtype)
        key = key // s
    rows = pd.DataFrame({c: cols[c] for c in keys})
    rows[weight_col] = np.bincount(mapping, minlength=len(distinct)).astype(np.int64)
    return rows, mapping.astype(np.int64)


def subset_rows(rows: pd.DataFrame, mapping: np.ndarray, keep: np.ndarray,
                weight_col: str = WEIGHT) -> pd.DataFrame:
    """The rows of :func:`aggregate_units` for the units where ``keep`` is true, from the rows of all units.

    ``rows`` and ``mapping`` are :func:`aggregate_units` of every unit; each row's weight loses the units
    left out and rows left without units are dropped. The result equals :func:`aggregate_units` of the kept
    units (the same distinct rows, sorted alike, with the same weights) without grouping them again, so
    refits on many subsets (the delete-one-cluster jackknife) cost a count each.

    Examples
    --------
    >>> df = pd.DataFrame({"T": [2, 3, 3, 5], "E": [1, 1, 1, 0], "x": [1, 1, 1, 0]})
    >>> rows, mapping = aggregate_units(df, "T", "E", ["x"])
    >>> subset_rows(rows, mapping, np.array([True, False, True, False]))["weight"].tolist()
    [1, 1]
    """
    keep = np.asarray(keep, bool)
    if len(keep) != len(mapping):
        raise InputError(f"subset_rows: {len(keep)} flags for {len(mapping)} units")
    left = np.bincount(np.asarray(mapping)[~keep], minlength=len(rows))
    w = rows[weight_col].to_numpy() - left
    sel = w > 0
    out = rows[sel].reset_index(drop=True)
    out[weight_col] = w[sel].astype(rows[weight_col].dtype)
    return out


@dataclass(frozen=True)
class CoxFit(Result):
    r"""A Cox fit (Efron ties) on frequency-weighted rows; arrays are excluded from records.

    Attributes
    ----------
    n_units, n_events, n_rows : int
        Expanded units, their events, and the weighted rows fitted.
    log_likelihood : float
        :math:`\ell(\hat\beta)` of the expanded data.
    converged : bool
    n_iter : int
    note : str
        Why a fit did not converge or may have infinite coefficients (empty otherwise).
    names : tuple of str
    coef : ndarray (p,)
    information : ndarray (p, p)
        Observed information :math:`-\partial^2\ell/\partial\beta^2` at :math:`\hat\beta`.
    covariance : ndarray (p, p)
        Its inverse (model-based covariance; NaN when singular).
    score_residuals : ndarray (n_rows, p)
        Row residuals :math:`w_i U_i` (sum of the units' Efron score residuals), in input order.
    schoenfeld : ndarray (n_rows, p)
        Per-unit Schoenfeld residual :math:`x_i - \bar x(t_i)` of event rows (Efron mean), 0 for censored rows.
    """

    n_units: int
    n_events: int
    n_rows: int
    log_likelihood: float
    converged: bool
    n_iter: int
    note: str = ""
    names: tuple = field(default=(), compare=False, repr=False)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    information: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)
    covariance: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)
    score_residuals: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)
    schoenfeld: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), compare=False, repr=False)

    @property
    def se(self) -> np.ndarray:
        """Model-based standard errors :math:`\\sqrt{\\mathrm{diag}\\,\\mathcal I^{-1}}`."""
        return np.sqrt(np.diag(self.covariance))

    def table(self) -> pd.DataFrame:
        """Coefficients and model-based SEs, one row per term."""
        return pd.DataFrame({"term": list(self.names), "coef": self.coef, "se": self.se})

    def robust_covariance(self, clusters, small_sample: bool = True) -> ClusterCovariance:
        r"""Cluster-robust (sandwich) covariance from the row score residuals (Lin & Wei 1989).

        :math:`V = \mathcal I^{-1}\big(\sum_c U_c U_c^\top\big)\mathcal I^{-1}`, :math:`U_c` the sum of
        the row residuals of cluster *c* (``clusters``: one label per row; every unit of a row must belong to
        the row's cluster, as :func:`aggregate_units` with ``cluster_col`` guarantees); with ``small_sample``
        the CR1 factor :math:`G/(G-1)`. :func:`studykit.stats.clustered.cluster_robust_cov` with the bread
        ``covariance`` and the scores ``score_residuals``.
        """
        clusters = np.asarray(clusters)
        if len(clusters) != self.score_residuals.shape[0]:
            raise InputError(f"robust_covariance: {len(clusters)} cluster labels for "
                             f"{self.score_residuals.shape[0]} rows")
        return cluster_robust_cov(self.covariance, self.score_residuals, clusters, small_sample=small_sample)


@dataclass
class _Stratum:
    """Index structure of one stratum (rows sorted by decreasing time); independent of beta."""

    rows: np.ndarray  # positions in the input, sorted by decreasing duration
    starts: np.ndarray  # first sorted position of each distinct time
    group: np.ndarray  # distinct-time index of each sorted row
    ev: np.ndarray  # indices of the distinct times with an event
    d: np.ndarray  # expanded events at those times (float)
    rep: np.ndarray  # for every expanded event: its event time (index into ev)
    frac: np.ndarray  # for every expanded event: l / d_j, l = 0..d_j-1
    ev_starts: np.ndarray  # first position of each event time in rep/frac
    frac2: np.ndarray  # frac ** 2
    d_int: np.ndarray  # d as integers (rep repeats each event time d_int times)


def _layout(T: np.ndarray, E: np.ndarray, w: np.ndarray, strata: np.ndarray) -> list[_Stratum]:
    out = []
    codes, _ = pd.factorize(strata, sort=True)
    order = np.lexsort((-T, codes))
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds):
        t = T[rows]
        new = np.r_[True, t[1:] != t[:-1]]
        starts = np.flatnonzero(new)
        group = np.cumsum(new) - 1
        d_all = np.add.reduceat(w[rows] * E[rows], starts)
        ev = np.flatnonzero(d_all > 0)
        if len(ev) == 0:
            continue  # a stratum without events has no risk sets: it contributes nothing
        d = d_all[ev]
        di = d.astype(np.int64)
        rep = np.repeat(np.arange(len(ev)), di)
        ev_starts = np.r_[0, np.cumsum(di)[:-1]]
        frac = (np.arange(len(rep)) - ev_starts[rep]) / d[rep]
        out.append(_Stratum(rows, starts, group, ev, d, rep, frac, ev_starts, frac ** 2, di))
    return out


def _rcumsum(a: np.ndarray) -> np.ndarray:
    return np.cumsum(a[::-1], axis=0)[::-1]


def _terms(strata: list[_Stratum], X: np.ndarray, E: np.ndarray, w: np.ndarray, beta: np.ndarray,
           residuals: bool = False):
    """Log-likelihood, score, information (and optionally row score and Schoenfeld residuals) at ``beta``."""
    p = X.shape[1]
    ll, grad, info = 0.0, np.zeros(p), np.zeros((p, p))
    U = np.zeros_like(X) if residuals else None
    sch = np.zeros_like(X) if residuals else None
    for st in strata:
        x, e, wt = X[st.rows], E[st.rows], w[st.rows]
        eta = x @ beta
        shift = eta.max()  # r and the denominators are scaled by exp(-shift); the ratios are unchanged
        r = np.exp(eta - shift)
        wr = wt * r
        S0 = np.cumsum(np.add.reduceat(wr, st.starts))[st.ev]
        S1 = np.cumsum(np.add.reduceat(wr[:, None] * x, st.starts, axis=0), axis=0)[st.ev]
        wrd = wr * e
        A0 = np.add.reduceat(wrd, st.starts)[st.ev]
        A1 = np.add.reduceat(wrd[:, None] * x, st.starts, axis=0)[st.ev]
        den = np.repeat(S0, st.d_int) - st.frac * np.repeat(A0, st.d_int)  # = S0[rep] - frac * A0[rep], copied
        # sequentially instead of gathered
        inv = 1.0 / den
        inv2 = inv * inv

        def per_time(v: np.ndarray) -> np.ndarray:
            return np.add.reduceat(v, st.ev_starts)

        s1, sc = per_time(inv), per_time(st.frac * inv)  # sum_l 1/den_l, sum_l c_l/den_l
        s11, sc1, scc = per_time(inv2), per_time(st.frac * inv2), per_time(st.frac2 * inv2)
        xd = (wt * e) @ x
        ll += float(xd @ beta - per_time(np.log(den)).sum() - st.d.sum() * shift)
        grad += xd - (S1 * s1[:, None] - A1 * sc[:, None]).sum(0)
        n_groups = len(st.starts)
        a_g = np.zeros(n_groups)
        a_g[st.ev] = s1
        b_g = np.zeros(n_groups)
        b_g[st.ev] = sc
        acum = _rcumsum(a_g)[st.group]  # sum of a_j over event times t_j <= T_i
        b_row = b_g[st.group] * e
        q = wr * (acum - b_row)
        info += (x * q[:, None]).T @ x
        info -= (S1 * s11[:, None]).T @ S1 - (S1 * sc1[:, None]).T @ A1 - (A1 * sc1[:, None]).T @ S1 \
            + (A1 * scc[:, None]).T @ A1
        if residuals:
            mbar = np.zeros((n_groups, p))
            mbar[st.ev] = (S1 * s1[:, None] - A1 * sc[:, None]) / st.d[:, None]
            g = np.zeros((n_groups, p))
            g[st.ev] = S1 * s11[:, None] - A1 * sc1[:, None]
            h = np.zeros((n_groups, p))
            h[st.ev] = S1 * sc1[:, None] - A1 * scc[:, None]
            gcum = _rcumsum(g)[st.group]
            diff = e[:, None] * (x - mbar[st.group])
            u = diff - r[:, None] * (x * acum[:, None] - gcum) + (e * r)[:, None] * (x * b_row[:, None]
                                                                                     - h[st.group])
            U[st.rows] = wt[:, None] * u
            sch[st.rows] = diff
    return ll, grad, info, U, sch


def fit_cox(T: np.ndarray, E: np.ndarray, X: np.ndarray, weights: np.ndarray | None = None,
            strata: np.ndarray | None = None, *, names: Sequence[str] | None = None, max_iter: int = 60,
            tol: float = 1e-13, step_tol: float = 1e-10, max_halvings: int = 40, residuals: bool = True) -> CoxFit:
    r"""Newton-Raphson fit of the Cox model with Efron ties on frequency-weighted rows.

    Maximises :math:`\ell(\beta)` of the expanded data (module docstring) from
    :math:`\beta = 0`: step :math:`\mathcal I^{-1} U`, halved until the
    log-likelihood does not decrease; stops when the largest step is below
    ``step_tol`` times :math:`1 + \max_j|\beta_j|` (Newton converges
    quadratically, so the estimate is then exact to machine precision).
    Covariates are centred internally (the partial likelihood is invariant).
    Monotone likelihood (separation: e.g. every event in one group) does not
    raise: the fit stops when the relative change of :math:`\ell` stays below
    ``tol`` for three steps while the coefficients still move, with a large
    :math:`|\hat\beta|` and a note, or after ``max_iter`` with ``converged = False``.

    Parameters
    ----------
    T, E : array (n,)
        Durations and event indicators (1 = event) of the rows.
    X : array (n, p)
    weights : array (n,) of positive integers, optional
        Number of identical units each row stands for (default 1).
    strata : array (n,), optional
        A separate baseline hazard per stratum.
    names : sequence of str, optional
    max_iter, tol, step_tol, max_halvings
        Newton iterations, the relative log-likelihood change of a stall, the step of convergence, and the
        step halvings allowed per iteration.
    residuals : bool
        False: no score or Schoenfeld residuals (empty arrays; e.g. for the jackknife's refits, which need
        the coefficients only); every other field is the same.

    Returns
    -------
    CoxFit
        Equal to lifelines' ``CoxPHFitter`` and statsmodels' ``PHReg(ties="efron")`` on the expanded units
        (Cox 1972; Efron 1977).

    Examples
    --------
    >>> fit = fit_cox([2, 3, 3, 5, 6, 6, 8, 9], [1, 1, 1, 0, 1, 1, 0, 1], [1, 1, 1, 0, 1, 0, 0, 0], names=["x"])
    >>> round(float(fit.coef[0]), 4), round(float(fit.se[0]), 4), fit.n_events, fit.converged
    (2.2208, 1.1482, 6, True)
    """
    T = np.asarray(T, float)
    E = np.asarray(E, float)
    X = np.asarray(X, float).reshape(len(T), -1)
    n, p = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    if len(names) != p:
        raise InputError(f"fit_cox: {len(names)} names for {p} covariates")
    for label, a in (("durations", T), ("covariates", X), ("weights", w)):
        if not np.all(np.isfinite(a)):
            raise InputError(f"fit_cox: {label} contain NaN or infinite values")
    if not np.all(np.isin(E, (0.0, 1.0))):
        raise InputError("fit_cox: events must be 0 or 1")
    if np.any(w <= 0) or np.any(w != np.round(w)):
        raise InputError("fit_cox: weights must be positive integers (numbers of identical units)")
    strata = np.zeros(n, int) if strata is None else np.asarray(strata)
    layout = _layout(T, E, w, strata)
    n_units, n_events = int(w.sum()), int((w * E).sum())
    Xc = X - (w @ X) / w.sum()
    beta = np.zeros(p)
    if n_events == 0:
        nan = np.full((p, p), np.nan)
        return CoxFit(n_units, 0, n, float("nan"), False, 0, "no events", names, np.full(p, np.nan), nan, nan,
                      np.zeros_like(X), np.zeros_like(X))
    ll, grad, info, _, _ = _terms(layout, Xc, E, w, beta)
    converged, note, it, stalls = False, "", 0, 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        for _ in range(max_halvings):
            new = _terms(layout, Xc, E, w, beta + step)
            if np.isfinite(new[0]) and new[0] >= ll - tol * max(1.0, abs(ll)):
                break
            step = step / 2
        else:
            note = "step halving did not increase the log-likelihood"
            break
        change = new[0] - ll
        beta = beta + step
        ll, grad, info = new[0], new[1], new[2]
        if np.max(np.abs(step)) <= step_tol * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
        # monotone likelihood: the coefficients run off while the log-likelihood stops changing
        stalls = stalls + 1 if abs(change) <= tol * max(1.0, abs(ll)) else 0
        if stalls >= 3:
            converged = True
            note = "log-likelihood converged while coefficients still move: some may be infinite (separation)"
            break
    else:
        note = f"no convergence in {max_iter} iterations"
    if residuals:  # ll, grad and info are those of the last accepted step (the same beta): only U and sch are new
        ll, grad, info, U, sch = _terms(layout, Xc, E, w, beta, residuals=True)
    else:
        U = sch = np.zeros((0, p))
    if converged and not note and np.max(np.abs(beta)) > 15:
        note = "a coefficient exceeds 15 in absolute value: it may be infinite (separation)"
    try:
        cov = np.linalg.inv(info)
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
        note = "; ".join(filter(None, [note, "singular information matrix"]))
    return CoxFit(n_units, n_events, n, float(ll), bool(converged), int(it), note, names, beta, info, cov, U, sch)


def partial_loglik(T: np.ndarray, E: np.ndarray, X: np.ndarray, beta: np.ndarray,
                   weights: np.ndarray | None = None, strata: np.ndarray | None = None) -> float:
    r"""Efron partial log-likelihood :math:`\ell(\beta)` of the expanded units at a given ``beta``.

    For profile-likelihood intervals (:math:`\{b: 2(\ell(\hat\beta) - \ell(b)) \le \chi^2_1\}`);
    equals statsmodels ``PHReg(ties="efron").loglike`` on the expanded units (Efron 1977).

    Parameters
    ----------
    T, E, X, weights, strata
        As in :func:`fit_cox`.
    beta : array (p,)

    Examples
    --------
    >>> round(partial_loglik([2, 3, 5, 6], [1, 1, 0, 1], [[1], [1], [0], [0]], [0.0], weights=[1, 2, 1, 1]), 4)
    -4.0943
    """
    T = np.asarray(T, float)
    E = np.asarray(E, float)
    X = np.asarray(X, float).reshape(len(T), -1)
    w = np.ones(len(T)) if weights is None else np.asarray(weights, float)
    strata = np.zeros(len(T), int) if strata is None else np.asarray(strata)
    return _terms(_layout(T, E, w, strata), X, E, w, np.asarray(beta, float).reshape(-1))[0]


def fit_cox_rows(rows: pd.DataFrame, duration_col: str, event_col: str, covariate_cols: Sequence[str],
                 weight_col: str | None = WEIGHT, strata_col: str | None = None, **kwargs) -> CoxFit:
    """:func:`fit_cox` on a DataFrame of rows (e.g. from :func:`aggregate_units`).

    Parameters
    ----------
    rows : DataFrame
    duration_col, event_col, covariate_cols, strata_col
        Its columns (as in :func:`aggregate_units`).
    weight_col : str or None
        The rows' numbers of identical units (None: one unit per row).
    **kwargs
        Passed to :func:`fit_cox` (Efron 1977).

    Examples
    --------
    >>> df = pd.DataFrame({"T": [2, 3, 3, 5, 6, 6, 8, 9], "E": [1, 1, 1, 0, 1, 1, 0, 1], "x": [1, 1, 1, 0, 1, 0, 0, 0]})
    >>> fit = fit_cox_rows(aggregate_units(df, "T", "E", ["x"])[0], "T", "E", ["x"])
    >>> fit.n_rows, fit.n_units, round(float(fit.coef[0]), 4)
    (7, 8, 2.2208)
    """
    missing = [c for c in (duration_col, event_col, *covariate_cols, weight_col, strata_col)
               if c is not None and c not in rows.columns]
    if missing:
        raise InputError(f"fit_cox_rows: column(s) {', '.join(missing)} not in the table")
    return fit_cox(rows[duration_col].to_numpy(float), rows[event_col].to_numpy(float),
                   rows[list(covariate_cols)].to_numpy(float),
                   None if weight_col is None else rows[weight_col].to_numpy(float),
                   None if strata_col is None else rows[strata_col].to_numpy(), names=covariate_cols, **kwargs)


def schoenfeld_test(fit: CoxFit, T: np.ndarray, E: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
    r"""Grambsch-Therneau test of proportional hazards per covariate, on weighted rows, rank time scale.

    With :math:`m` events, scaled Schoenfeld residuals :math:`s^*_k = m\, V s_k` (:math:`V` the
    model-based covariance, :math:`s_k` the Efron Schoenfeld residual of event *k*) and
    :math:`g_k` the rank of event *k*'s time among the events (tied events share their mid-rank),
    the statistic of covariate *j* is

    .. math:: X_j = \frac{\big(\sum_k (g_k - \bar g)\, s^*_{kj}\big)^2}{m\, V_{jj} \sum_k (g_k - \bar g)^2}
              \sim \chi^2_1,

    the approximation of Grambsch & Therneau (1994) that lifelines' ``proportional_hazard_test``
    (``time_transform="rank"``) uses; without tied event times the two are identical (lifelines
    numbers tied events consecutively in its row order instead of giving them the mid-rank).
    All sums run over the expanded units, computed from the rows with their weights.

    Parameters
    ----------
    fit : CoxFit
        The fit of the rows (its Schoenfeld residuals and model-based covariance).
    T, E : array (n,)
        The rows' durations and events.
    weights : array (n,), optional
        The rows' numbers of identical units.

    Returns
    -------
    DataFrame
        One row per covariate: term, statistic, p_value (:math:`\chi^2_1`).

    Examples
    --------
    >>> T, E = [2, 3, 3, 5, 6, 6, 8, 9], [1, 1, 1, 0, 1, 1, 0, 1]
    >>> fit = fit_cox(T, E, [1, 1, 1, 0, 1, 0, 0, 0], names=["x"])
    >>> schoenfeld_test(fit, T, E).round(4).to_dict("records")
    [{'term': 'x', 'statistic': 0.4346, 'p_value': 0.5098}]
    """
    from scipy.stats import chi2

    T = np.asarray(T, float)
    E = np.asarray(E, float)
    w = np.ones(len(T)) if weights is None else np.asarray(weights, float)
    ev = E == 1
    m = float((w * E).sum())
    t, wk, s = T[ev], w[ev], fit.schoenfeld[ev]
    order = np.argsort(t, kind="mergesort")
    t, wk, s = t[order], wk[order], s[order]
    new = np.r_[True, t[1:] != t[:-1]]
    gid = np.cumsum(new) - 1
    per_time = np.bincount(gid, weights=wk)
    first = np.cumsum(per_time) - per_time  # events with an earlier time
    g = (first + (per_time + 1) / 2)[gid]  # mid-rank of the tie set
    gc = g - (wk @ g) / m
    V = fit.covariance
    num = (wk * gc) @ (m * s @ V)
    stat = num ** 2 / (m * np.diag(V) * (wk @ gc ** 2))
    return pd.DataFrame({"term": list(fit.names), "statistic": stat, "p_value": chi2.sf(stat, 1)})
