"""The pins: requirements.lock is complete and exact; environment.yml carries the same pins;
requirements.in's packages are all locked; the Makefile has the two commands; CI runs make test only."""
from __future__ import annotations

import re

import yaml

from studykit import paths

ROOT = paths.project_root()


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "==" in line, f"requirements.lock: not an exact pin: {line}"
        name, version = line.split("==", 1)
        pins[_norm(name)] = version
    return pins


def test_lock_pins_exact_versions_including_build_tools():
    pins = _lock()
    assert len(pins) > 50
    for tool in ("setuptools", "wheel"):
        assert tool in pins, f"{tool} must be pinned (the editable install uses --no-build-isolation)"
    assert "studykit" not in pins and "pip" not in pins


def test_environment_yml_has_the_same_pins_as_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.11") for d in deps)
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    env_pins = {_norm(p.split("==")[0]): p.split("==")[1] for p in pip}
    # conda/Binder users get the public release of a wheel that the lock pins with a local
    # build label (torch 2.13.0+cpu lies on this machine's disk; PyPI has 2.13.0)
    assert env_pins == {k: v.split("+")[0] for k, v in _lock().items()}


def test_requirements_in_packages_are_locked():
    pins = _lock()
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name = _norm(re.split(r"[\[<>=!~ ]", line)[0])
        assert name in pins, f"requirements.in names {name}, which requirements.lock does not pin"


def test_installed_versions_match_the_lock():
    from importlib import metadata

    pins = _lock()
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


def test_makefile_has_the_two_commands():
    mk = (ROOT / "Makefile").read_text()
    for target in ("setup:", "reproduce: setup", "test: setup browser", "lab: setup"):
        assert re.search(rf"^{re.escape(target)}", mk, re.M), target
    assert "studykit run all" in mk and "studykit report" in mk
