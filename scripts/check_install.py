"""make check-install: studykit installs from the public index alone, on this machine and on every promised target.

    python3 scripts/check_install.py [--skip-venv] [--skip-wheels] [--platforms ...] [--pythons ...] [--keep]

Two parts, each printing one line per step with its wall and CPU time:

1. **venv** (this machine): a throwaway venv in a temporary folder, built the way README's "Install without
   make" says, with a pip that sees ONLY https://pypi.org/simple (no ``PIP_FIND_LINKS``, no configuration
   files; pip's cache is allowed): ``pip install -r requirements/core.lock``, studykit installed EDITABLE
   (``pip install --no-deps --no-build-isolation -e .``, the README route), the ``studykit`` kernel
   registered in the venv; then ``studykit run all --profile workshop`` and ``studykit check all --profile
   workshop`` there, with outputs, caches and Jupyter paths inside the temporary folder.
2. **wheels** (every target): every pin of every lock (core and each extra), with the lock's environment
   markers evaluated for the TARGET (``lockpins.pins_for``), must have a wheel on the public index for each
   (platform, Python) of ``lockpins.targets()``: Linux x86_64 and aarch64 (manylinux, glibc 2.28+), macOS
   arm64 and x86_64 (12+), Windows amd64; Python 3.11, 3.12, 3.13. A pin without one fails with one line
   naming the pin, its lock and the target. The pins of ``requirements/pure-python-sdists.txt`` (published
   only as source) are verified instead: still in a lock at that version, still without any wheel on the
   index, and ``pip wheel`` builds a ``py3-none-any`` wheel from the sdist.

Exit 0 when both parts pass, 1 otherwise (the failing lines are repeated at the end). Plain Python, no shell.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lockpins  # noqa: E402
import wheels  # noqa: E402

ROOT = lockpins.ROOT


class Clock:
    """Wall and CPU (this process and its children, user+sys) time since the last ``lap``."""

    def __init__(self):
        self.wall, self.cpu = time.monotonic(), self._cpu()
        self.wall0, self.cpu0 = self.wall, self.cpu

    @staticmethod
    def _cpu() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def lap(self) -> str:
        wall, cpu = time.monotonic(), self._cpu()
        out = f"{wall - self.wall:.1f} s wall, {cpu - self.cpu:.1f} s CPU"
        self.wall, self.cpu = wall, cpu
        return out

    def total(self) -> str:
        return f"{time.monotonic() - self.wall0:.1f} s wall, {self._cpu() - self.cpu0:.1f} s CPU"


def _say(msg: str) -> None:
    print(f"check-install: {msg}", flush=True)


# ------------------------------------------------------------------------------------------------- wheels
def check_allowlist(index: wheels.SimpleIndex, locks: list[Path], allowed: dict, build_dir: Path,
                    build=wheels.build_pure_wheel) -> list[str]:
    """Every allow-list line: pinned at that version in a lock, no wheel on the index, builds py3-none-any
    (``build(spec, build_dir)`` returns the wheel or raises RuntimeError with one line)."""
    problems = []
    pinned = {p.name: p for path in locks for p in lockpins.read_lock(path)}
    for name, entry in sorted(allowed.items()):
        spec = f"{name}=={entry.version}"
        pin = pinned.get(name)
        if pin is None:
            problems.append(f"allow-list: {spec} is in no lock: remove it from requirements/pure-python-sdists.txt")
            continue
        if pin.version != entry.version:
            problems.append(f"allow-list: {spec}, but {pin.lock}.lock pins {pin.spec}: check that version and "
                            f"update requirements/pure-python-sdists.txt")
            continue
        n_wheels, sdist = wheels.wheel_kinds(index.files(name), entry.version)
        if n_wheels:
            problems.append(f"allow-list: {spec} has {n_wheels} wheel(s) on the index now: remove it from "
                            f"requirements/pure-python-sdists.txt")
            continue
        if not sdist:
            problems.append(f"allow-list: {spec} has neither a wheel nor an sdist on the index")
            continue
        try:
            wheel = build(spec, build_dir)
            _say(f"allow-list: {spec} is source-only on the index; its wheel {wheel.name} is pure Python")
        except RuntimeError as e:
            problems.append(f"allow-list: {e}")
    return problems


def check_wheels(targets: list[lockpins.Target], locks: list[Path], refresh: bool, build_dir: Path,
                 clock: Clock) -> list[str]:
    allowed = lockpins.allowlist()
    per_target = {t: lockpins.pins_for(t, locks) for t in targets}
    names = {p.name for pins in per_target.values() for p in pins} | set(allowed)
    index = wheels.SimpleIndex(refresh=refresh)
    try:
        index.load(names)
    except wheels.IndexError_ as e:
        return [f"wheels: {e}"]
    _say(f"wheels: read the index pages of {len(names)} projects ({index.fetched} from the network, "
         f"{len(names) - index.fetched} from {wheels.CACHE}, at most a day old) in {clock.lap()}")
    problems = check_allowlist(index, locks, allowed, build_dir)
    _say(f"wheels: allow-list of {len(allowed)} source-only pure-Python pins verified in {clock.lap()}")
    n_checks = 0
    for target in targets:
        rank = {t: i for i, t in enumerate(target.tags())}
        missing, n_allowed, size = [], 0, 0
        for pin in per_target[target]:
            n_checks += 1
            entry = allowed.get(pin.name)
            if entry and entry.version == pin.version:
                n_allowed += 1
                continue
            best = wheels.best_wheel(index.files(pin.name), pin, target, rank)
            if best is None:
                files = index.files(pin.name)
                n_wheels, sdist = wheels.wheel_kinds(files, pin.version)
                plats = wheels.wheel_platforms(files, pin, target)
                why = ("the index has no file of this version" if not n_wheels and not sdist else
                       "only an sdist is published" if not n_wheels else
                       f"its Python {target.python} wheels are for " + (", ".join(plats[:5]) or "no platform")
                       + (" ..." if len(plats) > 5 else ""))
                missing.append(f"no wheel for {pin.spec} ({pin.lock}.lock) on {target.name} "
                               f"[{target.platform.label}, Python {target.python}]: {why}")
            else:
                size += best.get("size") or 0
        problems += missing
        _say(f"wheels: {target.name:<22} {len(per_target[target])} pins: "
             f"{len(per_target[target]) - n_allowed - len(missing)} wheels ({size / 1e6:.0f} MB), "
             f"{n_allowed} allow-listed, {len(missing)} missing")
    n_pins = len({p.spec for pins in per_target.values() for p in pins})
    _say(f"wheels: {n_checks} pin x target checks ({n_pins} distinct pins of {len(locks)} locks, "
         f"{len(targets)} targets) in {clock.lap()}")
    return problems


# --------------------------------------------------------------------------------------------------- venv
def _run(cmd: list, env: dict, cwd: Path, log: Path) -> subprocess.CompletedProcess:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        return subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)


def _tail(log: Path, n: int = 15) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])


def _size(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 1e9


def installed_vs_lock(py: Path, env: dict, target: lockpins.Target) -> list[str]:
    """pip's own dependency resolution of ``-r core.lock`` installed exactly the lock's pins for this machine
    (plus studykit and the venv's pip): one line per difference."""
    out = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], env=env, capture_output=True, text=True,
                         check=True).stdout
    have = {lockpins.norm(d["name"]): d["version"] for d in json.loads(out)}
    want = {p.name: p.version for p in lockpins.pins_for(target, [ROOT / "requirements" / "core.lock"])}
    problems = [f"venv: {name}=={want[name]} of core.lock is not installed" for name in sorted(set(want) - set(have))]
    problems += [f"venv: {name} is installed as {have[name]}, core.lock pins {want[name]}"
                 for name in sorted(set(want) & set(have)) if have[name] != want[name]]
    problems += [f"venv: {name}=={have[name]} is installed but not pinned in core.lock (pip resolved a dependency "
                 f"the lock misses)" for name in sorted(set(have) - set(want) - {"pip", "studykit"})]
    return problems


def check_venv(python: str, tmp: Path, clock: Clock) -> list[str]:
    venv, log = tmp / "venv", tmp / "check-install.log"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    py = bin_dir / ("python.exe" if os.name == "nt" else "python")
    env = wheels.public_pip_env()
    env.update({"STUDYKIT_OUTPUTS": str(tmp / "outputs"), "STUDYKIT_CACHE": str(tmp / "cache"),
                "JUPYTER_PATH": str(venv / "share" / "jupyter"), "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
                "JUPYTER_CONFIG_DIR": str(tmp / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(tmp / "jupyter-run"),
                "MPLCONFIGDIR": str(tmp / "mpl"), "PATH": str(bin_dir) + os.pathsep + env.get("PATH", "")})
    env.pop("VIRTUAL_ENV", None)
    pip = [py, "-m", "pip", "install", "--index-url", wheels.INDEX, "--progress-bar", "off"]
    steps = [
        ("python -m venv", [python, "-m", "venv", venv]),
        ("pip install -r requirements/core.lock (public index only)",
         [*pip, "-r", ROOT / "requirements" / "core.lock"]),
        ("pip install --no-deps --no-build-isolation -e . (editable)",
         [*pip, "--no-deps", "--no-build-isolation", "-e", ROOT]),
        ("ipykernel install --sys-prefix --name studykit",
         [py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "studykit", "--display-name",
          "Python (studykit)"]),
        ("studykit run all --profile workshop --jobs 2",
         [bin_dir / "studykit", "run", "all", "--profile", "workshop", "--jobs", "2"]),
        ("studykit check all --profile workshop", [bin_dir / "studykit", "check", "all", "--profile", "workshop"]),
    ]
    for label, cmd in steps:
        proc = _run(cmd, env, tmp, log)
        if proc.returncode != 0:
            print(_tail(log), file=sys.stderr)
            return [f"venv: `{label}` failed (exit {proc.returncode}); the full log: {log}"]
        extra = ""
        if label.startswith("pip install -r"):
            extra = f"; the venv holds {_size(venv):.2f} GB"
        _say(f"venv: {label}: ok in {clock.lap()}{extra}")
        if label.startswith("pip install --no-deps"):
            version = subprocess.run([str(py), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                     env=env, capture_output=True, text=True, check=True).stdout.strip()
            host = lockpins.targets([lockpins.host_platform()], [version])[0]
            problems = installed_vs_lock(py, env, host)
            if problems:
                return problems
            _say(f"venv: pip installed exactly the {len(lockpins.pins_for(host, [ROOT / 'requirements' / 'core.lock']))}"
                 f" pins of core.lock for {host.name}, plus studykit and pip")
    checked = [ln for ln in log.read_text(encoding="utf-8").splitlines() if " -> OK" in ln]
    _say(f"venv: {len(checked)} studies match their workshop reference values ({', '.join(c.split(':')[0] for c in checked)})")
    return []


# --------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-venv", action="store_true", help="only the wheel check of every target")
    ap.add_argument("--skip-wheels", action="store_true", help="only the throwaway venv on this machine")
    ap.add_argument("--platforms", nargs="+", default=None, help=f"default: all ({', '.join(lockpins.PLATFORMS)})")
    ap.add_argument("--pythons", nargs="+", default=None, help=f"default: all ({', '.join(lockpins.PYTHONS)})")
    ap.add_argument("--python", default=sys.executable, help="the interpreter of the throwaway venv")
    ap.add_argument("--refresh", action="store_true", help="read every index page again (no day-old cache)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (venv, outputs, log)")
    args = ap.parse_args(argv)
    try:
        targets = lockpins.targets(args.platforms, args.pythons)
    except ValueError as e:
        print(f"check-install: {e}", file=sys.stderr)
        return 2
    clock = Clock()
    tmp = Path(tempfile.mkdtemp(prefix="studykit-check-install-"))
    problems: list[str] = []
    try:
        if not args.skip_wheels:
            problems += check_wheels(targets, lockpins.lock_paths(), args.refresh, tmp / "built", clock)
        if not args.skip_venv:
            problems += check_venv(args.python, tmp, clock)
    finally:
        if args.keep:
            _say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            _say(f"removed the temporary folder in {clock.lap()}")
    for line in problems:
        print(f"check-install: FAIL {line}", file=sys.stderr)
    _say(("FAILED" if problems else "OK") + f" in {clock.total()}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
