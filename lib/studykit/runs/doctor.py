"""``studykit doctor``: is this installation ready for a workshop? Each check says what to fix.

Checks, in order (each a :class:`Check` with ``ok``, what was found and the fix):

1. **python**: version 3.11.5 or newer (the locks are made for 3.11.5-3.13).
2. **packages**: every pin of ``requirements/core.lock`` that applies to this
   platform is installed at exactly that version.
3. **extras**: which extras are installed (information only; a profile that
   needs a missing one says so itself).
4. **kernel**: the ``studykit`` Jupyter kernel is registered and its Python exists.
5. **write access**: the outputs folder and the cache can be written.
6. **workshop run**: one study runs on its ``workshop`` profile (executed, not
   served from the cache). Slower than ``budget_seconds`` (30 s by default;
   ``studykit doctor --budget S`` or ``STUDYKIT_DOCTOR_BUDGET`` for the
   instructor's own figure) is a *warning* with the measured time, not a
   failure: a busy laptop still runs every exercise, only more slowly.

``studykit doctor`` prints one line per check and exits 1 when any fails
(warnings do not fail).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from studykit.files import paths
__all__ = ["Check", "run_checks", "format_checks", "core_pins"]

MIN_PYTHON = (3, 11, 5)


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, what was found, and how to fix it."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    warn: bool = False


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def core_pins(lock: Path | None = None) -> dict[str, str]:
    """name -> version of every pin of the core lock whose marker holds on this platform."""
    from packaging.requirements import Requirement

    lock = lock or (paths.project_root() / "requirements" / "core.lock")
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            pins[_norm(req.name)] = next(iter(req.specifier)).version
    return pins


def _check_python() -> Check:
    v = sys.version_info[:3]
    found = ".".join(map(str, v))
    if v < MIN_PYTHON:
        return Check("python", False, found, "install Python 3.11.5 or newer (3.11-3.13) and re-create .venv")
    if v >= (3, 14):
        return Check("python", True, f"{found} (newer than the locks were made for; 3.11-3.13 are tested)")
    return Check("python", True, found)


def _check_packages() -> Check:
    from importlib import metadata

    try:
        pins = core_pins()
    except FileNotFoundError:
        return Check("packages", False, "requirements/core.lock not found", "run from a full checkout of the project")
    missing, wrong = [], []
    for name, version in sorted(pins.items()):
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if have.split("+")[0] != version.split("+")[0]:
            wrong.append(f"{name} {have} (lock {version})")
    if missing or wrong:
        parts = ([f"{len(missing)} missing: {', '.join(missing[:6])}"] if missing else []) + (
            [f"{len(wrong)} at other versions: {', '.join(wrong[:4])}"] if wrong else [])
        return Check("packages", False, "; ".join(parts),
                     "make setup (without make: python -m pip install -r requirements/core.lock)")
    return Check("packages", True, f"all {len(pins)} pins of requirements/core.lock")


def _check_extras() -> Check:
    from studykit.contract.extras import EXTRAS, installed

    have = [x for x in EXTRAS if installed(x)]
    return Check("extras", True, ", ".join(have) if have else "none (core only)")


def _check_kernel() -> Check:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec("studykit")
    except Exception:
        return Check("kernel", False, "no Jupyter kernel named 'studykit'",
                     'python -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)"')
    exe = spec.argv[0] if spec.argv else ""
    if exe and not (os.path.isabs(exe) and Path(exe).exists()) and exe not in ("python", "python3"):
        return Check("kernel", False, f"kernel 'studykit' points at a missing Python: {exe}",
                     'python -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)"')
    return Check("kernel", True, f"'studykit' -> {exe}")


def _check_writable() -> Check:
    bad = []
    for label, folder in (("outputs", paths.outputs_dir()), ("cache", paths.cache_dir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            bad.append(f"{label} {folder}: {exc.strerror or exc}")
    if bad:
        return Check("write access", False, "; ".join(bad),
                     "set STUDYKIT_OUTPUTS / STUDYKIT_CACHE to folders you can write, or fix the permissions")
    return Check("write access", True, f"{paths.outputs_dir()} and {paths.cache_dir()}")


def _check_run(study: str, budget_seconds: float) -> Check:
    from studykit.contract.errors import StudykitError
    from studykit.runs.runner import run_study

    with tempfile.TemporaryDirectory(prefix="studykit-doctor-") as tmp:
        start = time.perf_counter()
        try:
            res = run_study(study, profile="workshop", out_dir=Path(tmp) / "run", force=True, progress=False)
        except StudykitError as exc:
            return Check("workshop run", False, f"{study}: {exc}", "see the message; `studykit doctor` again after fixing")
        seconds = time.perf_counter() - start
    if seconds > budget_seconds:
        return Check("workshop run", True, f"{study} workshop took {seconds:.1f} s, more than the budget of "
                     f"{budget_seconds:.0f} s: exercises will run, more slowly",
                     "close other programs; the instructor sets the budget with --budget or "
                     "STUDYKIT_DOCTOR_BUDGET", warn=True)
    return Check("workshop run", True, f"{study} workshop {res.status} in {seconds:.1f} s")


def run_checks(*, run: bool = True, study: str = "sycophancy_correlation",
               budget_seconds: float | None = None) -> list[Check]:
    """Every check (the workshop run only when ``run``); the run is skipped when an earlier check failed.

    ``budget_seconds``: None reads ``STUDYKIT_DOCTOR_BUDGET`` (default 30)."""
    if budget_seconds is None:
        budget_seconds = budget_from_env()
    checks = [_check_python(), _check_packages(), _check_extras(), _check_kernel(), _check_writable()]
    if run:
        if all(c.ok for c in checks):
            checks.append(_check_run(study, budget_seconds))
        else:
            checks.append(Check("workshop run", False, "skipped: fix the checks above first"))
    return checks


def budget_from_env(default: float = 30.0) -> float:
    """``STUDYKIT_DOCTOR_BUDGET`` in seconds (ParamError, one line, for anything but a positive number)."""
    raw = os.environ.get("STUDYKIT_DOCTOR_BUDGET", "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        from studykit.contract.errors import ParamError

        raise ParamError(f"STUDYKIT_DOCTOR_BUDGET={raw[:40]!r}: give a positive number of seconds")
    return value


def format_checks(checks: list[Check]) -> str:
    """One line per check (``ok`` / ``FAIL``), with the fix under each failure, and a summary line."""
    lines = []
    for c in checks:
        lines.append(f"{'FAIL' if not c.ok else 'warn' if c.warn else 'ok  '}  {c.name:<13} {c.found}")
        if (not c.ok or c.warn) and c.fix:
            lines.append(f"      {'':<13} {'fix' if not c.ok else 'tip'}: {c.fix}")
    failed = sum(not c.ok for c in checks)
    warned = sum(c.ok and c.warn for c in checks)
    note = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
    lines.append(f"all checks passed{note}" if not failed else f"{failed} check(s) failed{note}")
    return "\n".join(lines)
