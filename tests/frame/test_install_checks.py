"""The install checks for other machines: lock pins for a target (scripts/lockpins.py), which wheel a target's
pip picks (scripts/wheels.py), the allow-list of source-only pure-Python pins (scripts/check_install.py) and
the offline bundle per (platform, Python) with its check (scripts/offline_bundle.py).

Unit: one target (platform x Python) and its marker environment, wheel tags and pins; one allow-list line;
one tiny offline bundle. Everything here runs offline on fixtures except the bundle test, which downloads
three small wheels from the public index (skipped when it cannot be reached). The network-heavy checks of
every pin for every target run in `make check-install`, not here.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from studykit.files import paths
ROOT = paths.project_root()
sys.path.insert(0, str(ROOT / "scripts"))
import check_install  # noqa: E402
import lockpins  # noqa: E402
import wheels  # noqa: E402

REQ = ROOT / "requirements"


def _target(name: str) -> lockpins.Target:
    return next(t for t in lockpins.targets() if t.name == name)


# ------------------------------------------------------------------------------------------- markers, tags
@pytest.mark.parametrize("name, present, absent", [
    ("windows-amd64-py3.12", {"colorama", "pywinpty", "aiohttp", "frozenlist"},
     {"pexpect", "appnope", "importlib-metadata"}),
    ("macos-arm64-py3.11", {"appnope", "pexpect", "importlib-metadata", "zipp"}, {"colorama", "pywinpty", "aiohttp"}),
    ("linux-x86_64-py3.13", {"pexpect", "ptyprocess"}, {"appnope", "colorama", "aiohttp", "importlib-metadata"}),
])
def test_markers_are_evaluated_for_the_target_not_this_machine(name, present, absent):
    """The core lock's markers decide per target: a Windows laptop gets colorama and pywinpty even when the
    bundle is made on Linux, a Python 3.12 laptop the 3.12-only pins."""
    pins = {p.name for p in lockpins.pins_for(_target(name), [REQ / "core.lock"])}
    assert present <= pins, present - pins
    assert not (absent & pins), absent & pins


def test_target_tags_are_the_tags_pip_computes_for_the_same_options():
    """Compared on the tags wheels carry (cpXY, abi3, py3, pyXY); packaging versions differ on the ancient
    rest (fat32 or fat3 Mac binaries, py30-py34 with a platform)."""
    pip_tags = pytest.importorskip("pip._internal.utils.compatibility_tags")
    for t in lockpins.targets(None, ["3.11", "3.13"]):
        py = t.python.replace(".", "")
        theirs = pip_tags.get_supported(version=py, platforms=list(t.platform.tags), impl="cp", abis=[f"cp{py}"])

        def used(tags):
            return [str(x) for x in tags if "fat" not in x.platform
                    and (x.interpreter.startswith("cp") or x.interpreter in ("py3", f"py{py}"))]
        assert used(t.tags()) == used(theirs), t.name
        assert used(theirs)[0] == f"cp{py}-cp{py}-{t.platform.tags[0]}" and "py3-none-any" in used(theirs)


def test_platform_names_accept_the_old_pip_tags_and_refuse_unknown_ones():
    assert lockpins.platform_name("macosx_11_0_arm64") == "macos-arm64"
    assert lockpins.platform_name("macosx_10_15_x86_64") == "macos-x86_64"
    assert lockpins.platform_name("win_amd64") == "windows-amd64"
    with pytest.raises(ValueError, match="unknown platform 'solaris'.*macos-arm64"):
        lockpins.targets(["solaris"])
    with pytest.raises(ValueError, match="unknown Python '3.10'"):
        lockpins.targets(None, ["3.10"])


def test_a_lock_line_that_is_not_an_exact_pin_is_one_line_naming_it(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text("six==1.17.0\nnumpy>=2\n")
    with pytest.raises(lockpins.LockError, match=r"^x.lock:2: not an exact pin: numpy>=2$"):
        lockpins.read_lock(lock)


def test_a_package_pinned_twice_with_two_versions_is_refused(tmp_path):
    (tmp_path / "core.lock").write_text("six==1.17.0\n")
    (tmp_path / "extra.lock").write_text("six==1.16.0 ; sys_platform == 'win32'\n")
    locks = [tmp_path / "core.lock", tmp_path / "extra.lock"]
    assert [p.spec for p in lockpins.pins_for(_target("linux-x86_64-py3.12"), locks)] == ["six==1.17.0"]
    with pytest.raises(lockpins.LockError, match="six pinned twice"):
        lockpins.pins_for(_target("windows-amd64-py3.12"), locks)


# ----------------------------------------------------------------------------------------- wheel choice
def _f(filename: str, requires_python: str | None = None) -> dict:
    return {"filename": filename, "requires-python": requires_python, "yanked": False, "size": 1000, "url": ""}


FILES = [_f("pkg-1.0.tar.gz"),
         _f("pkg-1.0-cp311-cp311-macosx_12_0_arm64.whl"), _f("pkg-1.0-cp312-cp312-macosx_14_0_arm64.whl"),
         _f("pkg-1.0-cp39-abi3-macosx_10_9_x86_64.whl"), _f("pkg-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
         _f("pkg-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"), _f("pkg-1.0-cp313-cp313-win_amd64.whl", ">=3.14"),
         _f("pkg-2.0-cp313-cp313-win_amd64.whl")]


@pytest.mark.parametrize("target, expected", [
    ("macos-arm64-py3.11", "pkg-1.0-cp311-cp311-macosx_12_0_arm64.whl"),
    ("macos-arm64-py3.12", None),                                        # only macOS 14: newer than the floor
    ("macos-x86_64-py3.13", "pkg-1.0-cp39-abi3-macosx_10_9_x86_64.whl"),  # abi3 serves every later Python
    ("linux-x86_64-py3.11", "pkg-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"),  # not glibc 2.34
    ("windows-amd64-py3.13", None),                                      # Requires-Python excludes it
    ("linux-aarch64-py3.11", None),
])
def test_best_wheel_is_the_one_the_targets_pip_would_take(target, expected):
    pin = lockpins.Pin("pkg", "1.0", "", "core")
    got = wheels.best_wheel(FILES, pin, _target(target))
    assert (got or {}).get("filename") == expected
    assert wheels.wheel_kinds(FILES, "1.0") == (6, True)


# ------------------------------------------------------------------------------------------- allow-list
class _Index:
    def __init__(self, pages):
        self.pages = pages

    def files(self, name):
        return self.pages[name]


def _allow(tmp_path, text):
    f = tmp_path / "allow.txt"
    f.write_text(text)
    return lockpins.allowlist(f)


def test_allowlist_lines_are_verified_one_line_each(tmp_path):
    lock = tmp_path / "core.lock"
    lock.write_text("afinn==0.1\nautograd-gamma==0.5.0\nsix==1.17.0\nfoo==2.0\n")
    allowed = _allow(tmp_path, "afinn==0.1  # word list\nautograd-gamma==0.4.0  # lifelines\n"
                               "six==1.17.0  # wrongly listed\ngone==1.0  # no longer used\nfoo==2.0  # binary\n")
    index = _Index({"afinn": [_f("afinn-0.1.tar.gz")], "autograd-gamma": [_f("autograd-gamma-0.5.0.tar.gz")],
                    "six": [_f("six-1.17.0.tar.gz"), _f("six-1.17.0-py2.py3-none-any.whl")],
                    "foo": [_f("foo-2.0.tar.gz")], "gone": []})
    built = {"afinn==0.1": "afinn-0.1-py3-none-any.whl", "foo==2.0": "foo-2.0-cp311-cp311-linux_x86_64.whl"}

    def build(spec, dest):
        name = built[spec]
        if not wheels.is_pure_py3(name):
            raise RuntimeError(f"{spec}: the wheel built from its sdist is {name}, not py3-none-any")
        return dest / name

    problems = check_install.check_allowlist(index, [lock], allowed, tmp_path, build=build)
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "autograd-gamma==0.4.0, but core.lock pins autograd-gamma==0.5.0" in text
    assert "six==1.17.0 has 1 wheel(s) on the index now" in text
    assert "gone==1.0 is in no lock" in text
    assert "foo==2.0: the wheel built from its sdist is foo-2.0-cp311-cp311-linux_x86_64.whl, not py3-none-any" in text
    assert not any("afinn" in p for p in problems)


def test_allowlist_line_without_a_reason_is_refused(tmp_path):
    with pytest.raises(lockpins.LockError, match="allow.txt:1: expected 'name==version  # why"):
        _allow(tmp_path, "afinn==0.1\n")


def test_the_projects_allowlist_names_pins_of_its_locks():
    allowed = lockpins.allowlist()
    pinned = {p.name: p.version for lock in ("core", *lockpins.EXTRAS) for p in lockpins.read_lock(REQ / f"{lock}.lock")}
    assert allowed and all(pinned.get(a.name) == a.version for a in allowed.values()), allowed


SETUP = """from setuptools import setup
from setuptools.dist import Distribution


class Binary(Distribution):
    def has_ext_modules(self):
        return {binary}


setup(name="{name}", version="1.0", py_modules=["{name}"], distclass=Binary)
"""


@pytest.mark.parametrize("name, binary", [("purepkg", False), ("platpkg", True)])
def test_build_pure_wheel_builds_from_source_and_checks_the_tag(tmp_path, name, binary):
    """A real ``pip wheel`` of a local source tree (no index): a pure project gives py3-none-any; a project
    declaring extension modules gets a platform tag and is refused in one line."""
    src = tmp_path / name
    src.mkdir()
    (src / f"{name}.py").write_text("X = 1\n")
    (src / "setup.py").write_text(SETUP.format(name=name, binary=binary))
    source = ["--no-index", "--no-build-isolation", str(src)]
    if binary:
        with pytest.raises(RuntimeError, match=rf"^platpkg==1.0: the wheel built from its sdist is platpkg-1.0-cp3\d+"):
            wheels.build_pure_wheel(f"{name}==1.0", tmp_path / "out", source=source)
    else:
        wheel = wheels.build_pure_wheel(f"{name}==1.0", tmp_path / "out", source=source)
        assert wheel.name == "purepkg-1.0-py3-none-any.whl" and wheel.is_file()


# ----------------------------------------------------------------------------------------- offline bundle
def _bundle(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "offline_bundle.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_offline_bundle_for_a_foreign_target_and_its_check(tmp_path):
    """A bundle for Windows / Python 3.12 made on this machine: the lock's markers are the target's (colorama in,
    pexpect out), the binary pin is the win_amd64 cp312 wheel, INSTALL.txt names the target and no path of this
    machine; the check passes, and with one wheel removed fails with exactly one line naming pin and target."""
    lock = tmp_path / "mini.lock"
    lock.write_text(textwrap.dedent("""\
        six==1.17.0
        pyyaml==6.0.4
        colorama==0.4.6 ; sys_platform == 'win32'
        pexpect==4.9.0 ; sys_platform != 'emscripten' and sys_platform != 'win32'
        """))
    bundle = tmp_path / "wheels"
    proc = _bundle(bundle, "--lock", lock, "--platform", "win_amd64", "--python", "3.12",
                   "--allowlist", tmp_path / "none.txt")
    if proc.returncode != 0 and ("cannot read" in proc.stderr or "network" in proc.stderr.lower()):
        pytest.skip("the public index cannot be reached to build the bundle")
    assert proc.returncode == 0, proc.stderr
    assert "[1/1] windows-amd64-py3.12" in proc.stdout and "3 wheels" in proc.stdout
    names = sorted(p.name for p in bundle.glob("*.whl"))
    assert any(n.startswith("colorama-0.4.6") for n in names) and not any(n.startswith("pexpect") for n in names)
    assert [n for n in names if n.startswith("pyyaml")] == ["pyyaml-6.0.4-cp312-cp312-win_amd64.whl"]
    install = (bundle / "INSTALL.txt").read_text()
    assert "windows-amd64" in install and "Python 3.12" in install and str(tmp_path) not in install

    ok = _bundle(bundle, "--check", "--lock", lock)
    assert ok.returncode == 0, ok.stderr
    assert "windows-amd64-py3.12   3 of 3 pins install" in ok.stdout

    (bundle / "pyyaml-6.0.4-cp312-cp312-win_amd64.whl").unlink()
    bad = _bundle(bundle, "--check", "--lock", lock)
    assert bad.returncode == 1
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "no wheel for pyyaml==6.0.4" in lines[0] and "windows-amd64-py3.12" in lines[0], lines
