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

DIR follows studykit's one folder rule (``lib/studykit/folders.py``): it must
be new, empty, or a bundle this script wrote, holding nothing but the files its
marker (``.studykit.json``, kind ``bundle``) lists; any other folder is refused
in one line (exit 2) and nothing in it is touched, so that a user's
``INSTALL.txt`` is never overwritten.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _folders():
    """``studykit.folders`` (standard library only) without importing the ``studykit`` package, whose
    ``__init__`` needs pandas: this script runs on a bare Python, before any installation."""
    import types

    if "studykit" not in sys.modules:
        pkg = types.ModuleType("studykit")
        pkg.__path__ = [str(ROOT / "lib" / "studykit")]
        sys.modules["studykit"] = pkg
    from studykit import folders

    return folders


def lock_files(extras: list[str], root: Path = ROOT) -> list[Path]:
    files = [root / "requirements" / "core.lock"]
    for x in extras:
        f = root / "requirements" / f"{x}.lock"
        if not f.is_file():
            raise SystemExit(f"offline_bundle: unknown extra '{x}' (no {f})")
        files.append(f)
    return files


def download(dest: Path, locks: list[Path], platform: str | None = None, python_version: str | None = None) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "-d", str(dest)]
    if platform:
        cmd += ["--no-deps", "--platform", platform, "--implementation", "cp"]
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
    .venv/bin/python -m pip install --no-index --find-links {dest} -r requirements/core.lock{extras_pip}
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
    dest = args.dest.absolute()
    folders = _folders()
    try:
        claim = folders.check_folder(dest, "bundle")
    except folders.FolderRefused as exc:
        print(f"offline_bundle: {exc}", file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    folders.seal(dest, "bundle", files=claim.files | {"INSTALL.txt", ".bootstrap.txt"})
    bootstrap = dest / ".bootstrap.txt"
    bootstrap.write_text("pip\nsetuptools\nwheel\n")
    download(dest, locks + [bootstrap])
    for plat in args.platform:
        download(dest, locks, plat, args.python_version)
    bootstrap.unlink()
    n = sum(1 for p in dest.iterdir() if p.is_file() and p.name not in ("INSTALL.txt", folders.MARKER))
    targets = ", ".join(["this platform"] + args.platform)
    (dest / "INSTALL.txt").write_text(INSTALL.format(
        n=n, targets=targets, dest=dest, extras_make=f' EXTRAS="{" ".join(extras)}"' if extras else "",
        extras_pip="".join(f" -r requirements/{x}.lock" for x in extras)))
    folders.seal(dest, "bundle")
    print(f"offline bundle: {n} files in {dest}; install with: make setup OFFLINE={dest}"
          + (f' EXTRAS="{" ".join(extras)}"' if extras else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
