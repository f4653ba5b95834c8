"""Benchmark: aggregating the paper-scale responses (13 x 276 x 4,950 = 17.8M rows) to rates.

Compares, on the same simulated data (generated into .cache/ on first use):

* studykit      -- ``load.aggregate_responses`` (DuckDB over Parquet, 2 threads): what the notebook runs
* duckdb-csv    -- the same function on a CSV copy of the data
* polars        -- polars lazy scan of the Parquet file, streaming group-by
* pandas        -- ``pandas.read_csv`` of the CSV copy + stance map + groupby (the obvious alternative)

Each contender runs in a fresh subprocess; the table shows wall time and the
subprocess's peak resident memory, and the ratio of pandas to each. With
``--notebook`` it also times the whole paper-scale notebook through the runner
(cold cache disabled by ``force``) and reports the kernel's peak memory.

Usage: .venv/bin/python benchmarks/bench_sycophancy_correlation.py [--repeat 3] [--notebook]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

CHILD = r'''
import json, resource, sys, time
kind, parquet, csv = sys.argv[1], sys.argv[2], sys.argv[3]
import numpy as np, pandas as pd
if kind in ("studykit", "duckdb-csv"):
    from studykit.studies.sycophancy_correlation import load
elif kind == "polars":
    import polars as pl
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if kind == "studykit":
    cells = load.aggregate_responses(parquet)[0].cells
elif kind == "duckdb-csv":
    cells = load.aggregate_responses(csv)[0].cells
elif kind == "polars":
    m = {"AGREE": 1.0, "PARTIALLY AGREE": 0.5, "PARTIALLY DISAGREE": 0.5, "DISAGREE": 0.0}
    cells = (pl.scan_parquet(parquet)
             .group_by(["model", "persona_id", "category", "stance"]).agg(pl.len().alias("rows"))
             .with_columns(pl.col("stance").replace_strict(m, default=None, return_dtype=pl.Float64).alias("v"))
             .group_by(["model", "persona_id", "category"])
             .agg(pl.col("rows").filter(pl.col("v").is_not_null()).sum().alias("n"),
                  (pl.col("rows") * pl.col("v")).sum().alias("total"))
             .collect(engine="streaming").to_pandas())
else:
    df = pd.read_csv(csv, dtype=str)
    df["s"] = df["stance"].str.strip().str.upper().map(
        {"AGREE": 1.0, "PARTIALLY AGREE": 0.5, "PARTIALLY DISAGREE": 0.5, "DISAGREE": 0.0})
    cells = df.groupby(["model", "persona_id", "category"])["s"].agg(n="count", total="sum").reset_index()
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": dt, "peak_mb": rss / 1024, "import_mb": rss0 / 1024, "cells": int(len(cells)),
                  "total": float(cells["total"].sum())}))
'''


def ensure_data() -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT / "lib"))
    from studykit.studies.sycophancy_correlation import Params, load

    params = Params(simulate="paper_scale").prepare()
    parquet = Path(params.responses_path)
    csv = parquet.with_name("responses_benchmark_copy.csv")
    if not csv.is_file():
        t = time.perf_counter()
        con = load.connect()
        tmp = csv.with_suffix(".tmp.csv")
        con.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{tmp}' (HEADER, DELIMITER ',')")
        con.close()
        tmp.replace(csv)
        print(f"wrote CSV copy {csv} ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s")
    return parquet, csv


def run(kind: str, parquet: Path, csv: Path) -> dict:
    res = subprocess.run([PY, "-c", CHILD, kind, str(parquet), str(csv)], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1])


def notebook_run() -> dict:
    """Run the paper-scale notebook in a fresh process; peak RSS is that of its largest descendant (the kernel)."""
    code = ("import json, pathlib, resource, sys, time; from studykit.runs.runner import run_study; "
            "t = time.perf_counter(); "
            "run_study('sycophancy_correlation', profile='paper_scale', out_dir=pathlib.Path(sys.argv[1]), force=True); "
            "print(json.dumps({'wall': time.perf_counter() - t, "
            "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, "
            "'self_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    out = Path("/tmp") / "bench_sycophancy_paper_scale"
    res = subprocess.run([PY, "-c", code, str(out)], cwd=ROOT, check=True, capture_output=True, text=True)
    info = json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1])
    nb = json.loads((out / "notebook.ipynb").read_text())
    info["cells"] = sum((c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in nb["cells"])
    info["slowest"] = sorted(((c.get("metadata", {}).get("papermill", {}).get("duration") or 0,
                               "".join(c["source"]).splitlines()[0][:50]) for c in nb["cells"]
                              if c["cell_type"] == "code"), reverse=True)[:4]
    return info


def print_aggregation(parquet: Path, csv: Path, repeat: int, skip_pandas: bool) -> None:
    kinds = ["studykit", "polars", "duckdb-csv"] + ([] if skip_pandas else ["pandas"])
    results = {}
    for kind in kinds:
        runs = [run(kind, parquet, csv) for _ in range(1 if kind == "pandas" else repeat)]  # pandas: ~1 min
        best = min(runs, key=lambda r: r["seconds"])
        results[kind] = {**best, "median_s": sorted(r["seconds"] for r in runs)[len(runs) // 2]}
    ref = results.get("pandas")
    totals = {round(r["total"], 3) for r in results.values()}
    print(f"\nAggregation of {parquet.parent.name}/responses.parquet "
          f"({parquet.stat().st_size / 1e6:.0f} MB Parquet; CSV copy {csv.stat().st_size / 1e6:.0f} MB), "
          f"best of {repeat} (pandas: 1 run); same result in every row: {len(totals) == 1}")
    print(f"{'contender':<12} {'input':<8} {'best s':>8} {'median s':>9} {'peak MB':>8} {'import MB':>9} "
          f"{'x faster':>9} {'x less mem':>10}")
    for kind, r in results.items():
        src = "csv" if kind in ("pandas", "duckdb-csv") else "parquet"
        speed = f"{ref['seconds'] / r['seconds']:.1f}" if ref else "-"
        mem = f"{ref['peak_mb'] / r['peak_mb']:.1f}" if ref else "-"
        print(f"{kind:<12} {src:<8} {r['seconds']:>8.2f} {r['median_s']:>9.2f} {r['peak_mb']:>8.0f} "
              f"{r['import_mb']:>9.0f} {speed:>9} {mem:>10}")
    print("ratios: pandas time (memory) / contender time (memory); peak MB is the whole process")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender (best is reported)")
    ap.add_argument("--notebook", action="store_true", help="also time the whole paper-scale notebook")
    ap.add_argument("--skip-pandas", action="store_true", help="leave out the (slow, memory-hungry) pandas run")
    ap.add_argument("--notebook-only", action="store_true", help="only time the paper-scale notebook")
    args = ap.parse_args()
    if args.notebook_only:
        args.notebook = True
    import os

    parquet, csv = ensure_data()
    if not args.notebook_only:
        print_aggregation(parquet, csv, args.repeat, args.skip_pandas)
    if args.notebook:
        nb = notebook_run()
        print(f"\npaper_scale notebook via runner (cache warm): {nb['wall']:.1f} s wall, cells {nb['cells']:.1f} s; "
              f"peak RSS: kernel {nb['peak_mb']:.0f} MB, runner {nb['self_mb']:.0f} MB")
        for sec, src in nb["slowest"]:
            print(f"  {sec:6.2f} s  {src}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other jobs on the machine inflate every time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
