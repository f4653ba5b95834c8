"""The public package index as a target machine's pip sees it: which wheel a pin gets, and pure-Python wheels
built once from the sdists of the allow-list.

- ``public_pip_env()``: the environment for a pip that sees ONLY the public index (no ``PIP_FIND_LINKS``, no
  configuration files: ``PIP_CONFIG_FILE`` is the null device; pip's own cache stays allowed);
- ``SimpleIndex``: the index's project pages (PEP 691 JSON), fetched in parallel and cached for a day
  under ``~/.cache/studykit/simple`` (``refresh=True`` fetches again);
- ``best_wheel(files, pin, target)``: the wheel pip would pick for the pin on the target (tags from
  ``lockpins.Target.tags``, the same list pip computes for ``--platform ... --python-version ...``;
  ``Requires-Python`` is honoured; a yanked file counts, as pip installs a yanked release pinned with ``==``);
- ``build_pure_wheel``: ``pip wheel`` of an allow-listed sdist, and the check that the wheel is ``py3-none-any``.

Why not ``pip install --dry-run --report`` per target: the public index's pages here carry no PEP 658
metadata, so pip downloads every wheel in full to "resolve" it (measured: 38 s and whole wheels for the
first 7 pins of one target); the pages are the same for all 15 targets, so reading them once is enough.
Plain Python, no shell.
"""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from lockpins import Pin, Target, norm

try:
    from packaging.specifiers import SpecifierSet
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import Version
except ImportError:  # a bare Python: pip vendors packaging
    from pip._vendor.packaging.specifiers import SpecifierSet  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import InvalidWheelFilename, parse_wheel_filename  # type: ignore[no-redef]
    from pip._vendor.packaging.version import Version  # type: ignore[no-redef]

INDEX = "https://pypi.org/simple"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "studykit" / "simple"
MAX_AGE = 24 * 3600
#: pip settings that would let it see something else than the public index
_PRIVATE = ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "PIP_CONSTRAINT",
            "PIP_REQUIRE_VIRTUALENV", "PIP_USER", "PIP_TARGET", "PIP_PREFIX", "PYTHONPATH")


def public_pip_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` for a pip that reads no configuration file and no local wheel folder or index."""
    env = {k: v for k, v in (base or os.environ).items() if k not in _PRIVATE}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _ssl_context() -> ssl.SSLContext:
    cafile = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile if cafile and Path(cafile).is_file() else None)


class IndexError_(RuntimeError):
    """The index could not be read (one line: the project and the reason)."""


class SimpleIndex:
    def __init__(self, url: str = INDEX, cache: Path = CACHE, refresh: bool = False, jobs: int = 8):
        self.url, self.cache, self.refresh, self.jobs = url.rstrip("/"), cache, refresh, jobs
        self.pages: dict[str, list[dict]] = {}
        self.fetched = 0  # pages read from the network (the rest came from the cache)
        self._ctx = _ssl_context()

    def _cached(self, name: str) -> list[dict] | None:
        f = self.cache / f"{name}.json"
        if self.refresh or not f.is_file() or time.time() - f.stat().st_mtime > MAX_AGE:
            return None
        try:
            return json.loads(f.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError):
            return None

    def _fetch(self, name: str) -> list[dict]:
        req = urllib.request.Request(f"{self.url}/{name}/", headers={
            "Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "studykit-check-install"})
        last = None
        for attempt in range(3):
            try:
                with urllib.request.urlopen(req, timeout=60, context=self._ctx) as resp:
                    data = json.loads(resp.read())
                break
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    raise IndexError_(f"{name}: not on {self.url}") from None
                last = e
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                last = e
            time.sleep(1 + 2 * attempt)
        else:
            raise IndexError_(f"{name}: cannot read {self.url}/{name}/ ({last})")
        files = [{k: f.get(k) for k in ("filename", "requires-python", "yanked", "size", "url")}
                 for f in data.get("files", [])]
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = self.cache / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"files": files}), encoding="utf-8")
        tmp.replace(self.cache / f"{name}.json")
        self.fetched += 1
        return files

    def _get(self, name: str) -> list[dict]:
        files = self._cached(name)
        return files if files is not None else self._fetch(name)

    def load(self, names) -> None:
        """Read the pages of ``names`` (in parallel; cached pages are not fetched)."""
        todo = sorted({norm(n) for n in names} - set(self.pages))
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for name, files in zip(todo, pool.map(self._get, todo)):
                self.pages[name] = files

    def files(self, name: str) -> list[dict]:
        if norm(name) not in self.pages:
            self.load([name])
        return self.pages[norm(name)]


@lru_cache(maxsize=None)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except ValueError:
        return None


def _by_version(files: list[dict]) -> dict[str, list[dict]]:
    """version text -> the project's files of that version (file names split, not parsed: numpy has 4,000)"""
    out: dict[str, list[dict]] = {}
    for f in files:
        fn = f["filename"]
        if fn.endswith(".whl"):
            parts = fn.split("-")  # a wheel's name part never holds '-'
            text = parts[1] if len(parts) >= 5 else ""
        elif fn.endswith((".tar.gz", ".zip")):
            text = fn[: -len(".tar.gz")].rsplit("-", 1)[-1] if fn.endswith(".tar.gz") else fn[:-4].rsplit("-", 1)[-1]
        else:
            continue
        out.setdefault(text, []).append(f)
    return out


_GROUPED: dict[int, dict] = {}


@lru_cache(maxsize=None)
def _wheel_tags(filename: str) -> frozenset | None:
    try:
        return parse_wheel_filename(filename)[3]
    except (InvalidWheelFilename, ValueError):
        return None


def release(files: list[dict], version: str) -> list:
    """The files of one version: [(file entry, frozenset of wheel tags, or None for an sdist)]."""
    if id(files) not in _GROUPED:
        _GROUPED[id(files)] = (files, _by_version(files))  # keeps ``files`` alive, so its id stays unique
    want = _version(version)
    out = []
    for text, group in _GROUPED[id(files)][1].items():
        if text == version or (_version(text) is not None and _version(text) == want):
            for f in group:
                if f["filename"].endswith(".whl"):
                    tags = _wheel_tags(f["filename"])
                    if tags is not None:
                        out.append((f, tags))
                else:
                    out.append((f, None))
    return out


@lru_cache(maxsize=None)
def _requires(spec: str, python: str) -> bool:
    try:
        return SpecifierSet(spec).contains(python, prereleases=True)
    except ValueError:
        return True  # pip ignores an invalid Requires-Python too


def best_wheel(files: list[dict], pin: Pin, target: Target, _rank: dict | None = None) -> dict | None:
    """The file entry of the wheel pip would install for ``pin`` on ``target``, or None."""
    rank = _rank if _rank is not None else {t: i for i, t in enumerate(target.tags())}
    best, best_rank = None, None
    for f, tags in release(files, pin.version):
        if tags is None:
            continue
        rp = f.get("requires-python")
        if rp and not _requires(rp, target.python_full):
            continue
        r = min((rank[t] for t in tags if t in rank), default=None)
        if r is not None and (best_rank is None or r < best_rank):
            best, best_rank = f, r
    return best


def wheel_platforms(files: list[dict], pin: Pin, target: Target) -> list[str]:
    """The platform tags of the pin's wheels for the target's Python (to say what exists instead)."""
    py = f"cp{target.python.replace('.', '')}"
    family = target.platform.tags[0].split("_")[0]  # macosx, manylinux, win: the target's own kind first
    plats = {t.platform for _, tags in release(files, pin.version) if tags
             for t in tags if t.interpreter in (py, "py3") or t.abi == "abi3"}
    return sorted(plats, key=lambda p: (not p.startswith(family), p))


def wheel_kinds(files: list[dict], version: str) -> tuple[int, bool]:
    """(number of wheels, whether an sdist exists) for one version of a project."""
    entries = release(files, version)
    return sum(tags is not None for _, tags in entries), any(tags is None for _, tags in entries)


def is_pure_py3(wheel_name: str) -> bool:
    """A wheel that runs on every Python 3 and platform: its tags include ``py3-none-any``."""
    _, _, _, tags = parse_wheel_filename(wheel_name)
    return any(t.interpreter == "py3" and t.abi == "none" and t.platform == "any" for t in tags)


def build_pure_wheel(spec: str, dest: Path, index: str = INDEX, python: str = sys.executable,
                     source: list[str] | None = None) -> Path:
    """``pip wheel`` one pin from its sdist (once; pip caches the built wheel) into ``dest`` and check that it is
    pure Python (``py3-none-any``); RuntimeError with one line otherwise. ``source`` replaces the index
    and the spec in pip's arguments (e.g. ``["--no-index", "--no-build-isolation", "path/to/sdist.tar.gz"]``)."""
    dest.mkdir(parents=True, exist_ok=True)
    name = norm(spec.split("==")[0])
    before = set(dest.glob("*.whl"))
    proc = subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "--no-binary", name, "--progress-bar", "off",
                           "-w", str(dest), *(source or ["--index-url", index, spec])],
                          env=public_pip_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"{spec}: building the wheel from its sdist failed: {tail}")
    made = [p for p in dest.glob("*.whl") if norm(parse_wheel_filename(p.name)[0]) == name]
    made = [p for p in made if p not in before] or made
    if not made:
        raise RuntimeError(f"{spec}: pip wheel wrote no wheel into {dest}")
    wheel = made[0]
    if not is_pure_py3(wheel.name):
        raise RuntimeError(f"{spec}: the wheel built from its sdist is {wheel.name}, not py3-none-any (pure Python): "
                           f"remove it from the allow-list and pin a version with wheels")
    return wheel
