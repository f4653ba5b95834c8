"""The pins of the locks for one target: a (platform, Python) pair such as ``macos-arm64-py3.12``.

The one place that knows

- the targets studykit promises to install on (``PLATFORMS`` x ``PYTHONS``), each with the environment
  markers of that machine (``marker_env``) and the wheel platform tags it accepts (``platform_tags``, the
  same list passed to ``pip --platform``);
- how a lock is read (``read_lock``) and which of its pins apply to a target (``pins_for``: the markers
  are evaluated for the TARGET with ``packaging.markers``, not for the machine running this);
- the allow-list of pins PyPI publishes only as source that are pure Python
  (``requirements/pure-python-sdists.txt``, ``allowlist``).

Used by ``scripts/check_install.py``, ``scripts/offline_bundle.py`` and ``tests/frame/test_environment.py``.
Plain Python (the standard library and ``packaging``, which every pip carries), no shell.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    from packaging.markers import Marker, default_environment
    from packaging.requirements import Requirement
    from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
except ImportError:  # a bare Python: pip vendors packaging
    from pip._vendor.packaging.markers import Marker, default_environment  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.tags import (  # type: ignore[no-redef]
        Tag, compatible_tags, cpython_tags, mac_platforms)

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"
EXTRAS = ("japanese", "embeddings", "dev")
ALLOWLIST = REQ / "pure-python-sdists.txt"

#: Python versions promised (README "Two commands"); the full version is the lowest a marker may see
PYTHONS = {"3.11": "3.11.5", "3.12": "3.12.0", "3.13": "3.13.0"}

#: the oldest system each platform's wheels must run on (the newest tag accepted; older tags are accepted too)
GLIBC = (2, 28)          # manylinux_2_28: Debian 10, Ubuntu 18.10, RHEL 8 and newer
MACOS_ARM64 = (12, 0)    # Apple silicon: macOS 12 Monterey or newer
MACOS_X86_64 = (12, 0)   # Intel Macs: macOS 12 Monterey or newer


def _manylinux(arch: str, glibc: tuple[int, int]) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc[1], 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    if arch != "x86_64":  # manylinux2010 and manylinux1 were never defined for aarch64
        legacy = {17: "manylinux2014"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc[1]]


@dataclass(frozen=True)
class Platform:
    name: str
    sys_platform: str
    platform_system: str
    os_name: str
    machine: str
    tags: tuple[str, ...] = field(repr=False)
    label: str = ""


PLATFORMS: dict[str, Platform] = {p.name: p for p in (
    Platform("linux-x86_64", "linux", "Linux", "posix", "x86_64", tuple(_manylinux("x86_64", GLIBC)),
             f"Linux x86_64, glibc {GLIBC[0]}.{GLIBC[1]}+"),
    Platform("linux-aarch64", "linux", "Linux", "posix", "aarch64", tuple(_manylinux("aarch64", GLIBC)),
             f"Linux aarch64, glibc {GLIBC[0]}.{GLIBC[1]}+"),
    Platform("macos-arm64", "darwin", "Darwin", "posix", "arm64", tuple(mac_platforms(MACOS_ARM64, "arm64")),
             f"macOS {MACOS_ARM64[0]}+ on Apple silicon"),
    Platform("macos-x86_64", "darwin", "Darwin", "posix", "x86_64", tuple(mac_platforms(MACOS_X86_64, "x86_64")),
             f"macOS {MACOS_X86_64[0]}+ on Intel"),
    Platform("windows-amd64", "win32", "Windows", "nt", "AMD64", ("win_amd64",), "Windows 64-bit (x86_64)"),
)}

#: old spellings (pip platform tags in PLATFORMS="...") -> platform name
_ALIASES = (("win_amd64", "windows-amd64"), ("macosx_*_arm64", "macos-arm64"), ("macosx_*_x86_64", "macos-x86_64"),
            ("manylinux*_x86_64", "linux-x86_64"), ("manylinux*_aarch64", "linux-aarch64"))


@dataclass(frozen=True)
class Target:
    platform: Platform
    python: str  # "3.12"

    @property
    def name(self) -> str:
        return f"{self.platform.name}-py{self.python}"

    @property
    def python_full(self) -> str:
        return PYTHONS[self.python]

    def marker_env(self) -> dict[str, str]:
        """The environment markers of the target machine (``packaging.markers`` keys)."""
        p = self.platform
        return {**default_environment(), "implementation_name": "cpython", "implementation_version": self.python_full,
                "platform_python_implementation": "CPython", "python_version": self.python,
                "python_full_version": self.python_full, "sys_platform": p.sys_platform,
                "platform_system": p.platform_system, "os_name": p.os_name, "platform_machine": p.machine,
                "platform_release": "", "platform_version": ""}

    def tags(self) -> list[Tag]:
        """Every wheel tag the target's pip accepts, most specific first (as ``pip --platform ... --python-version
        ... --implementation cp`` computes it)."""
        version = tuple(int(x) for x in self.python.split("."))
        cp = f"cp{version[0]}{version[1]}"
        return [*cpython_tags(version, [cp], list(self.platform.tags)),
                *compatible_tags(version, cp, list(self.platform.tags))]

    def pip_args(self) -> list[str]:
        """The pip options that make pip choose wheels for the target instead of this machine."""
        args = []
        for tag in self.platform.tags:
            args += ["--platform", tag]
        return args + ["--python-version", self.python_full, "--implementation", "cp",
                       "--abi", f"cp{self.python.replace('.', '')}", "--abi", "abi3", "--abi", "none",
                       "--only-binary=:all:"]


def platform_name(spelling: str) -> str:
    """``macos-arm64`` or an old pip tag (``macosx_11_0_arm64``, ``win_amd64``) -> a key of PLATFORMS."""
    from fnmatch import fnmatch

    if spelling in PLATFORMS:
        return spelling
    for pattern, name in _ALIASES:
        if fnmatch(spelling, pattern):
            return name
    raise ValueError(f"unknown platform '{spelling}' (known: {', '.join(PLATFORMS)})")


def host_platform() -> str:
    import platform
    import sys

    machine = platform.machine().lower()
    if sys.platform == "win32":
        return "windows-amd64"
    if sys.platform == "darwin":
        return "macos-arm64" if machine == "arm64" else "macos-x86_64"
    return "linux-aarch64" if machine in ("aarch64", "arm64") else "linux-x86_64"


def targets(platforms: list[str] | None = None, pythons: list[str] | None = None) -> list[Target]:
    """Every (platform, Python) pair; unknown names raise ValueError with the known ones."""
    plats = [platform_name(p) for p in (platforms or PLATFORMS)]
    pys = list(pythons or PYTHONS)
    for py in pys:
        if py not in PYTHONS:
            raise ValueError(f"unknown Python '{py}' (known: {', '.join(PYTHONS)})")
    return [Target(PLATFORMS[p], py) for p in dict.fromkeys(plats) for py in dict.fromkeys(pys)]


# ------------------------------------------------------------------------------------------------------ locks
def norm(name: str) -> str:
    """The normalised project name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str      # normalised
    version: str
    marker: str    # "" when the pin applies everywhere
    lock: str      # "core", "japanese", ... (the file's stem)

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"

    def applies(self, env: dict[str, str]) -> bool:
        return not self.marker or Marker(self.marker).evaluate(env)


class LockError(ValueError):
    """A lock line that is not an exact pin (``name==version [; marker]``)."""


def read_lock(path: Path) -> list[Pin]:
    pins = []
    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        if len(spec) != 1 or spec[0].operator != "==" or req.url or req.extras:
            raise LockError(f"{Path(path).name}:{n}: not an exact pin: {line}")
        pins.append(Pin(norm(req.name), spec[0].version, str(req.marker) if req.marker else "", Path(path).stem))
    return pins


def lock_paths(extras: list[str] | tuple[str, ...] = EXTRAS, req: Path = REQ) -> list[Path]:
    """``core.lock`` and the named extras' locks (ValueError for an unknown extra)."""
    paths = [req / "core.lock"]
    for x in extras:
        f = req / f"{x}.lock"
        if not f.is_file():
            known = sorted(p.stem for p in req.glob("*.lock") if p.stem != "core")
            raise ValueError(f"unknown extra '{x}' (no {f}; known: {', '.join(known)})")
        paths.append(f)
    return paths


def pins_for(target: Target | dict, locks: list[Path]) -> list[Pin]:
    """The pins of ``locks`` whose markers hold on ``target`` (a Target or a marker environment), in lock
    order; a package pinned twice with different versions raises LockError."""
    env = target.marker_env() if isinstance(target, Target) else target
    seen: dict[str, Pin] = {}
    for path in locks:
        for pin in read_lock(path):
            if not pin.applies(env):
                continue
            if pin.name in seen and seen[pin.name].version != pin.version:
                raise LockError(f"{pin.name} pinned twice ({seen[pin.name].lock}.lock: {seen[pin.name].version}, "
                                f"{pin.lock}.lock: {pin.version})")
            seen.setdefault(pin.name, pin)
    return list(seen.values())


def write_requirements(pins: list[Pin], path: Path) -> Path:
    """A requirements file of plain ``name==version`` lines (the markers are already evaluated)."""
    Path(path).write_text("".join(f"{p.spec}\n" for p in pins), encoding="utf-8")
    return Path(path)


# ------------------------------------------------------------------------------------------------ allow-list
@dataclass(frozen=True)
class Allowed:
    name: str
    version: str
    reason: str


def allowlist(path: Path = ALLOWLIST) -> dict[str, Allowed]:
    """``name==version  # reason`` lines: pins published only as source that build a pure-Python wheel."""
    out = {}
    if not Path(path).is_file():
        return out
    for n, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line, _, reason = raw.partition("#")
        line = line.strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip() or not reason.strip():
            raise LockError(f"{Path(path).name}:{n}: expected 'name==version  # why it is allowed': {raw.strip()}")
        out[norm(name.strip())] = Allowed(norm(name.strip()), version.strip(), reason.strip())
    return out
