"""The same bytes on any CPU: embedded data, tables and results.json under other SIMD code paths and threads.

numpy picks its SIMD code paths (exp, log, tanh, sums ...) at start-up from the CPU;
``NPY_DISABLE_CPU_FEATURES`` switches the optional ones off, which is what running on an older
CPU does. OpenBLAS and OpenMP split work by ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS``. Under such an environment every study's embedded data must regenerate to
the committed bytes, and a study run must write the same ``tables/*.csv`` and ``results.json``
bytes as a run in the machine's own environment (``studykit.files.floats`` is the rule that makes
this hold). The kernel that papermill starts inherits the environment; each run's manifest
(``environment.numerics``, written inside the kernel) shows that it did.

The default suite runs every study's ``workshop`` profile (the same code as ``default`` on
smaller data) with all optional SIMD paths off and two BLAS/OpenMP threads at once; the slow
set runs every ``default`` profile under each change separately (and with only the AVX512
family off where the CPU has it). ``OPENBLAS_CORETYPE`` is left as the machine sets it.

Unit: one regeneration of every study's embedded data, or one ``studykit run`` of a profile, in a
subprocess whose environment chooses numpy's CPU features and the BLAS/OpenMP threads.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from studykit.files import paths
from studykit.contract.registry import names

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PROBE = """
import json
try:
    from numpy._core import _multiarray_umath as m
except ImportError:  # numpy 1.x
    from numpy.core import _multiarray_umath as m
print(json.dumps([f for f in m.__cpu_dispatch__ if m.__cpu_features__.get(f)]))
"""


def _env(disable: tuple[str, ...] = (), threads: int | None = None) -> dict[str, str]:
    """The test process's environment with numpy's CPU features and the thread counts chosen
    (``threads`` None: unset, so kernels start with studykit's one thread)."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS and k != "NPY_DISABLE_CPU_FEATURES"}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disable)
    if threads is not None:
        env.update({k: str(threads) for k in THREAD_VARS})
    return env


@lru_cache(maxsize=None)
def _enabled_dispatch(disable: tuple[str, ...] = ()) -> tuple[str, ...]:
    """numpy's optional SIMD paths in use in a fresh process with ``disable`` switched off."""
    res = subprocess.run([sys.executable, "-c", PROBE], env=_env(disable), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return tuple(json.loads(res.stdout))


def _features(family=lambda feature: True) -> tuple[str, ...]:
    """numpy's optional SIMD paths of ``family`` that this CPU uses (numpy refuses to switch off its
    baseline, which is never in the dispatch list), checked to be off when disabled."""
    on = tuple(f for f in _enabled_dispatch() if family(f))
    left = set(_enabled_dispatch(on)) & set(on) if on else set()
    assert not left, f"NPY_DISABLE_CPU_FEATURES={' '.join(on)} left {sorted(left)} on"
    return on


def _avx512(feature: str) -> bool:
    """The AVX512 family: numpy 2.4 groups it as X86_V4 (+ AVX512_ICL, AVX512_SPR); older numpy
    names AVX512F, AVX512_SKX, ..."""
    return feature.startswith("AVX512") or feature == "X86_V4"


def _blas_threads(threads: int) -> int:
    """The threads OpenBLAS uses when asked for ``threads`` (it never uses more than the CPUs)."""
    return min(threads, os.cpu_count() or 1)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _run(args: list[str], env: dict[str, str], outputs: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studykit", *args], env={**env, "STUDYKIT_OUTPUTS": str(outputs)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(proc: subprocess.Popen, what: str, timeout: int = 3600) -> None:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{out[-1500:]}\n{err[-3000:]}"


def _run_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every byte-identical output of a run folder (tables as CSV, LaTeX and HTML; results.json)."""
    files = sorted(folder.glob("tables/*")) + [folder / "results.json"]
    assert files[-1].is_file(), f"no results.json in {folder}"
    return {p.relative_to(folder).as_posix(): _sha(p) for p in files}


def _numerics(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())["environment"]["numerics"]


def _assert_kernel_saw(folder: Path, disabled: tuple[str, ...], threads: int) -> None:
    """The run's kernel used the SIMD paths and BLAS threads the test chose (from its manifest)."""
    num = _numerics(folder)
    on = set(num["simd_dispatched"])
    assert not on & set(disabled), f"{folder}: kernel still used {sorted(on & set(disabled))}: {num}"
    assert set(_enabled_dispatch(disabled)) == on, f"{folder}: kernel SIMD paths {sorted(on)}: {num}"
    blas = [p["threads"] for p in num.get("thread_pools", []) if p["api"] in ("openblas", "mkl", "blis")]
    want = _blas_threads(threads)
    assert blas and all(t == want for t in blas), f"{folder}: BLAS threads {blas}, expected {want}: {num}"


def _compare_runs(base: Path, other: Path, label: str) -> None:
    a, b = _run_hashes(base), _run_hashes(other)
    assert a.keys() == b.keys(), f"{label}: different outputs {sorted(set(a) ^ set(b))}"
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"{label}: not byte-identical: {differ}"


def _committed_problems(regenerated: Path) -> list[str]:
    """Files of the regenerated embedded data that differ from the committed ones (by SHA256SUMS)."""
    problems = []
    for study in names():
        committed = paths.data_dir(study) / "SHA256SUMS"
        new = regenerated / study / "SHA256SUMS"
        if new.read_text() != committed.read_text():
            old = dict(line.split()[::-1] for line in committed.read_text().splitlines())
            got = dict(line.split()[::-1] for line in new.read_text().splitlines())
            problems += [f"{study}/{n}" for n in sorted(set(old) | set(got)) if old.get(n) != got.get(n)]
        for line in new.read_text().splitlines():
            digest, name = line.split()
            if _sha(regenerated / study / name) != digest:
                problems.append(f"{study}/{name} (does not match its own SHA256SUMS)")
    return problems


def test_embedded_data_and_workshop_runs_are_the_same_bytes_without_simd_and_with_two_threads(tmp_path, study_run):
    """The machine's own side is the session's shared workshop runs (the same ``studykit run`` every other
    test reads; executed once per session), so only the alternative environment is run here."""
    off = _features()
    if not off:
        pytest.skip("numpy uses none of its optional SIMD paths on this CPU (baseline only)")
    alt = _env(off, threads=2)
    label = f"NPY_DISABLE_CPU_FEATURES={' '.join(off)}, 2 BLAS/OpenMP threads"
    sim = _run(["simulate", "all", "--out", str(tmp_path / "data")], alt, tmp_path / "sim_outputs")
    _wait(sim, f"studykit simulate all under {label}")
    problems = _committed_problems(tmp_path / "data")
    assert not problems, f"embedded data regenerated under {label} differ from the committed bytes: {problems}"
    other = _run(["run", "all", "--profile", "workshop", "--force", "--quiet"], alt, tmp_path / "alt")
    native = {study: study_run(study).out_dir for study in names()}  # meanwhile, in this process
    _wait(other, f"studykit run all --profile workshop under {label}")
    for study in names():
        _assert_kernel_saw(native[study], (), 1)
        _assert_kernel_saw(tmp_path / "alt" / study / "workshop", off, 2)
        _compare_runs(native[study], tmp_path / "alt" / study / "workshop",
                      f"{study} --profile workshop under {label}")


@pytest.mark.slow
@pytest.mark.parametrize("study", names())
def test_default_profile_is_the_same_bytes_under_every_simd_level_and_thread_count(study, tmp_path):
    variants = {"own": ((), 1), "2 threads": ((), 2)}
    if _features():
        variants["no optional SIMD"] = (_features(), 1)
    if _features(_avx512) and _features(_avx512) != _features():
        variants["no AVX512"] = (_features(_avx512), 1)
    procs = {}
    for name, (off, threads) in variants.items():
        procs[name] = _run(["run", study, "--force", "--quiet"], _env(off, threads if name != "own" else None),
                           tmp_path / name.replace(" ", "_"))
    for name, proc in procs.items():
        _wait(proc, f"{study} default ({name})")
    base = tmp_path / "own" / study / "default"
    for name, (off, threads) in variants.items():
        folder = tmp_path / name.replace(" ", "_") / study / "default"
        _assert_kernel_saw(folder, off, threads)
        if name != "own":
            _compare_runs(base, folder, f"{study} default, {name} (NPY_DISABLE_CPU_FEATURES={' '.join(off)}, "
                                        f"{threads} threads)")
