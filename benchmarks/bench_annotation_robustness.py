"""Benchmark of the annotation-robustness hot path.

1. The hypothesis x configuration grid: closed-form GLM Wald tests from grouped counts
   (studykit.stats.two_proportion_logit) against a per-pair statsmodels GLM loop, on the same
   random sample of pairs of the embedded data (and the loop extrapolated to the paper's grid).
2. Counting labels per configuration x group level x class: numpy bincount against pandas groupby.
3. The paper-scale run (13M labels read from Parquet, all tests, error classification and the
   tables of the notebook except the human-subsample mitigation), in a fresh process, with its
   peak resident memory. The paper-scale data is generated into .cache/ first if missing (not timed).

Run: .venv/bin/python benchmarks/bench_annotation_robustness.py [--pairs 300] [--skip-paper]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _glm_loop(cases):
    import statsmodels.api as sm

    out = []
    for xa, na, xb, nb in cases:
        y = np.r_[np.ones(xa), np.zeros(na - xa), np.ones(xb), np.zeros(nb - xb)]
        g = sm.add_constant(np.r_[np.ones(na), np.zeros(nb)])
        fit = sm.GLM(y, g, family=sm.families.Binomial()).fit(tol=1e-12, tol_criterion="params")
        out.append(fit.pvalues[1])
    return np.array(out)


def bench_grid(n_pairs: int) -> list[tuple]:
    from studykit import stats
    from studykit.studies.annotation_robustness import Params, analysis, load

    p = Params()
    (data, hyps), _ = load.load(p)
    t = time.perf_counter()
    grid, _ = analysis.run_grid(data, hyps)
    t_grid = time.perf_counter() - t
    rng = np.random.default_rng(0)
    H, C = grid.shape
    flat = rng.choice(H * C, n_pairs, replace=False)
    hh, cc = np.divmod(flat, C)
    ok = grid.defined[hh, cc]
    hh, cc = hh[ok], cc[ok]
    cases = [(int(grid.x_a[h, c]), int(grid.n_a[h, c]), int(grid.x_b[h, c]), int(grid.n_b[h, c])) for h, c in zip(hh, cc)]
    t = time.perf_counter()
    p_loop = _glm_loop(cases)
    t_loop = time.perf_counter() - t
    arr = np.array(cases).T
    reps = 200
    t = time.perf_counter()
    for _ in range(reps):
        res = stats.two_proportion_logit(*arr)
    t_closed = (time.perf_counter() - t) / reps
    max_rel = float(np.max(np.abs(res.p_value - p_loop) / p_loop))
    per_fit = t_loop / len(cases)
    paper_pairs = 2480 * 504
    return [
        ("grid sample: statsmodels GLM loop", len(cases), t_loop, 1.0),
        ("grid sample: closed form (same pairs)", len(cases), t_closed, t_loop / t_closed),
        (f"embedded grid ({H}x{C}): counts+tests+classification", H * C, t_grid, per_fit * H * C / t_grid),
        ("paper grid: GLM loop extrapolated", paper_pairs, per_fit * paper_pairs, 1.0),
    ], max_rel, per_fit


def bench_counting(data) -> list[tuple]:
    import pandas as pd

    from studykit.studies.annotation_robustness import counts

    col = list(data.groups)[0]
    t = time.perf_counter()
    for _ in range(3):
        c1 = counts.label_counts(data, col)
    t_np = (time.perf_counter() - t) / 3
    codes = data.groups[col][0]
    t = time.perf_counter()
    df = pd.DataFrame({"c": data.ann_config, "l": codes[data.ann_item], "k": data.ann_label})
    g = df.groupby(["c", "l", "k"]).size()
    t_pd = time.perf_counter() - t
    assert int(g.sum()) == int(c1.sum())
    return [(f"count {len(data.ann_label):,} labels: pandas groupby", len(data.ann_label), t_pd, 1.0),
            (f"count {len(data.ann_label):,} labels: numpy bincount", len(data.ann_label), t_np, t_pd / t_np)]


def paper_run() -> None:
    """Child process: the paper-scale analysis, stage times and peak RSS as JSON on stdout."""
    from studykit.studies.annotation_robustness import Params, analysis, load
    from studykit.contract.outputs import open_outputs

    p = Params.load(Path("params/annotation_robustness/paper_scale.yaml"))
    times, cpu = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    (data, hyps), _ = load.load(p)
    times["read + encode 13M labels"] = time.perf_counter() - t0
    cpu["read + encode 13M labels"] = time.process_time() - c0
    t, c = time.perf_counter(), time.process_time()
    grid, _ = analysis.run_grid(data, hyps, alpha=p.alpha, min_group_size=p.min_group_size)
    times["grid: counts, 1.25M tests, classification"] = time.perf_counter() - t
    cpu["grid: counts, 1.25M tests, classification"] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as d:
        out = open_outputs("annotation_robustness", p, d)
        out.save_table(analysis.pairs_frame(grid), "pairs", formats=("parquet",))
        r = analysis.risk_summary(grid)
        for f in ("model", "prompt", "temperature"):
            out.save_table(analysis.risk_by(grid, f, n_boot=p.n_bootstrap, seed=p.seed), f"risk_by_{f}")
        out.save_table(analysis.error_breakdown(grid), "error_types")
        q = analysis.annotation_quality(data, grid)
        out.save_table(q, "configurations")
        for i, tb in enumerate(analysis.risk_vs_gold(grid, n_boot=p.n_bootstrap)):
            out.save_table(tb, f"risk_vs_gold_{i}")
        for i, tb in enumerate(analysis.hacking_feasibility(grid)):
            out.save_table(tb, f"hacking_{i}")
        out.save_table(analysis.exaggeration(grid), "exaggeration")
        out.save_table(analysis.spec_curve(grid, analysis.choose_spec_hypothesis(grid)), "spec_curve")
    times["tables (pairs Parquet, risk, quality, hacking, spec curve)"] = time.perf_counter() - t
    cpu["tables (pairs Parquet, risk, quality, hacking, spec curve)"] = time.process_time() - c
    times["total"] = time.perf_counter() - t0
    cpu["total"] = time.process_time() - c0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rss = ru.ru_maxrss / 1024
    print(json.dumps({"times": times, "cpu": cpu, "rss_mb": rss, "cpu_s": ru.ru_utime + ru.ru_stime, "labels": int(len(data.ann_label)), "shape": list(grid.shape),
                      "risk": r["overall"]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--skip-paper", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        paper_run()
        return
    os.chdir(Path(__file__).resolve().parents[1])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows, max_rel, per_fit = bench_grid(args.pairs)
    from studykit.studies.annotation_robustness import Params, load

    (data, _), _ = load.load(Params())
    rows += bench_counting(data)
    print(f"\n{'step':58s} {'n':>12s} {'seconds':>10s} {'speed-up':>9s}")
    for name, n, sec, ratio in rows:
        print(f"{name:58s} {n:12,d} {sec:10.4f} {ratio:9.0f}x")
    print(f"GLM loop: {per_fit * 1e3:.2f} ms per fit; max relative p-value difference to the closed form: {max_rel:.2e}")
    if args.skip_paper:
        return
    from studykit.studies.annotation_robustness.simulate import ensure_paper_scale

    t = time.perf_counter()
    ensure_paper_scale(0)
    print(f"\npaper-scale data ready ({time.perf_counter() - t:.1f} s, generated once into .cache/)")
    res = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True, check=True)
    info = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"paper scale: {info['labels']:,} labels, grid {info['shape'][0]} hypotheses x {info['shape'][1]} "
          f"configurations, risk {info['risk']:.3f}")
    print(f"{'stage':58s} {'wall s':>10s} {'CPU s':>10s}")
    for k, v in info["times"].items():
        print(f"{k:58s} {v:10.2f} {info['cpu'][k]:10.2f}")
    loop = per_fit * info["shape"][0] * info["shape"][1]
    print(f"{'per-pair GLM loop for the same grid (extrapolated)':58s} {loop:10.0f}  "
          f"(ratio {loop / info['times']['total']:.0f}x)")
    print(f"peak RSS {info['rss_mb']:.0f} MB (target < 2048 MB); total {info['times']['total']:.1f} s wall "
          f"(target < 20 s), {info['cpu_s']:.1f} s CPU of the whole process incl. imports; "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
