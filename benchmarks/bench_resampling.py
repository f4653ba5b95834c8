"""Benchmark: studykit.stats bootstrap_ci / permutation_test vs scipy.stats on the same data.

10,000 resamples of 10,000 paired observations.  Every variant runs in a fresh
subprocess; we report wall time of the call and its peak memory: the
process's peak resident set size after the call (``ru_maxrss``) minus its
current resident size just before it (``/proc/self/statm``), data and imports
already loaded.  That is an upper bound on what the call added: if the call
stays below an earlier high-water mark, the difference to that mark is counted.  Run:  ``.venv/bin/python benchmarks/bench_resampling.py``
(``--quick`` for 2,000 resamples).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

N_OBS = 10_000

SETUP = textwrap.dedent("""
    import json, resource, time, warnings
    import numpy as np
    from scipy import stats
    import studykit.stats as sk
    rng = np.random.default_rng(12345)
    x = rng.normal(size={n}); y = 0.6 * x + rng.normal(0.03, 1.0, size={n})
    B = {b}
    def md(a, b, axis=-1):
        return np.mean(a, axis=axis) - np.mean(b, axis=axis)
    def peak_rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    def current_rss_mb():
        import os
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    before = current_rss_mb(); t0 = time.perf_counter()
""")

VARIANTS = {
    "bootstrap: studykit BCa paired (mean_diff, declared)":
        "r = sk.bootstrap_ci((x, y), sk.mean_diff, paired=True, n_resamples=B, method='bca', seed=0); "
        "ci = (r.ci_low, r.ci_high)",
    "bootstrap: studykit BCa paired (generic callable)":
        "r = sk.bootstrap_ci((x, y), md, paired=True, n_resamples=B, method='bca', seed=0); "
        "ci = (r.ci_low, r.ci_high)",
    "bootstrap: scipy BCa paired vectorized":
        "r = stats.bootstrap((x, y), md, paired=True, vectorized=True, n_resamples=B, method='BCa', "
        "rng=np.random.default_rng(0)); ci = (r.confidence_interval.low, r.confidence_interval.high)",
    "permutation: studykit paired (mean_diff, declared)":
        "r = sk.permutation_test(x, y, 'mean_diff', paired=True, n_resamples=B, seed=0); ci = (r.p_value,)",
    "permutation: studykit paired (generic callable)":
        "r = sk.permutation_test(x, y, md, paired=True, n_resamples=B, seed=0); ci = (r.p_value,)",
    "permutation: scipy paired (samples) vectorized":
        "r = stats.permutation_test((x, y), md, permutation_type='samples', vectorized=True, "
        "n_resamples=B, rng=np.random.default_rng(0)); ci = (r.pvalue,)",
}

REPORT = textwrap.dedent("""
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_rss_mb() - before, "result": [float(v) for v in ci]}))
""")


def run(name: str, code: str, n_resamples: int) -> dict:
    script = SETUP.format(n=N_OBS, b=n_resamples) + code + "\n" + REPORT
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n_resamples = 2_000 if "--quick" in sys.argv else 10_000
    results = {}
    for name, code in VARIANTS.items():
        results[name] = run(name, code, n_resamples)
        r = results[name]
        print(f"  ran {name}: {r['seconds']:.2f} s, +{r['peak_mb']:.0f} MB", file=sys.stderr)
    print(f"\n{n_resamples:,} resamples of {N_OBS:,} paired observations "
          "(fresh subprocess each; peak MB = max RSS after the call - RSS before it, an upper bound)\n")
    head = f"{'variant':<56} {'time s':>8} {'peak MB':>9}  {'result':<40}"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        res = ", ".join(f"{v:.6g}" for v in r["result"])
        print(f"{name:<56} {r['seconds']:>8.2f} {r['peak_mb']:>9.0f}  {res:<40}")
    print()
    pairs = [
        ("bootstrap: scipy BCa paired vectorized", "bootstrap: studykit BCa paired (mean_diff, declared)"),
        ("bootstrap: scipy BCa paired vectorized", "bootstrap: studykit BCa paired (generic callable)"),
        ("permutation: scipy paired (samples) vectorized", "permutation: studykit paired (mean_diff, declared)"),
        ("permutation: scipy paired (samples) vectorized", "permutation: studykit paired (generic callable)"),
    ]
    print(f"{'ratio (scipy / studykit; memory denominators floored at 1 MB)':<80} {'speed-up':>9} {'memory':>9}")
    for ref, ours in pairs:
        a, b = results[ref], results[ours]
        mem = a["peak_mb"] / max(b["peak_mb"], 1.0)
        print(f"{ours:<80} {a['seconds'] / b['seconds']:>8.1f}x {mem:>8.1f}x")
    same = results["bootstrap: scipy BCa paired vectorized"]["result"]
    ours = results["bootstrap: studykit BCa paired (mean_diff, declared)"]["result"]
    print(f"\nsame seed, same interval: scipy {same} vs studykit {ours} "
          f"(max abs diff {max(abs(u - v) for u, v in zip(same, ours)):.2e})")


if __name__ == "__main__":
    main()
