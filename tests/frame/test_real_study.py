"""End to end through the real command on a real study: run, cache hit, report (no monkeypatching).

The default suite runs one study's ``workshop`` profile; ``make test-slow`` runs every study
twice (the second time with --force) and checks that tables and results.json are byte-identical.

Unit: one `studykit` command run in a subprocess on one study and profile.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studykit.contract.registry import names

from .sitecheck import static_problems

STUDYKIT = [sys.executable, "-m", "studykit"]


def _cli(args, outputs: Path, timeout=900):
    env = {**os.environ, "STUDYKIT_OUTPUTS": str(outputs)}
    return subprocess.run([*STUDYKIT, *args], capture_output=True, text=True, timeout=timeout, env=env)


def _bytes(folder: Path) -> dict[str, bytes]:
    files = sorted(folder.glob("tables/*.csv")) + [folder / "results.json"]
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_real_study_runs_is_cached_and_reported(tmp_path):
    study, profile = "sycophancy_correlation", "workshop"
    outputs = tmp_path / "outputs"
    args = ["run", study, "--profile", profile, "--set", "n_perm=200"]
    first = _cli(args, outputs)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "executed" in first.stdout
    # an overridden profile runs in its own folder, <profile>+<hash>, named on the terminal
    (out,) = (outputs / study).glob(f"{profile}+*")
    assert f"{study}/{out.name} (profile {profile} --set n_perm=200): executed" in first.stdout
    assert "data issue" in first.stdout.splitlines()[-1]
    # no terminal: plain progress lines, one per code cell
    assert f"[{study}/{out.name}] cell 1/" in first.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert man["run"]["profile"] == out.name and man["run"]["base_profile"] == profile
    assert man["parameters"]["n_perm"] == 200
    assert any(e["kind"] == "figure" for e in man["outputs"]) and any(e["kind"] == "table" for e in man["outputs"])
    assert all("source_cell" in e for e in man["outputs"] if e["kind"] in ("table", "figure"))
    assert all(i.get("sha256") for i in man["inputs"])

    second = _cli(args, outputs)
    assert second.returncode == 0 and "cached" in second.stdout, second.stdout + second.stderr

    rep = _cli(["report"], outputs)
    assert rep.returncode == 0, rep.stderr
    site = outputs / "site"
    page = (site / study / out.name / "index.html").read_text()
    assert "Figure 1" in page and "Table 1" in page
    assert static_problems(site) == []


@pytest.mark.slow
@pytest.mark.parametrize("study", names())
def test_every_study_default_profile_is_deterministic(study, tmp_path):
    outputs = tmp_path / "outputs"
    first = _cli(["run", study, "--quiet"], outputs, timeout=3600)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _bytes(outputs / study / "default")
    again = _cli(["run", study, "--force", "--quiet"], outputs, timeout=3600)
    assert again.returncode == 0, again.stderr[-2000:]
    after = _bytes(outputs / study / "default")
    assert after.keys() == before.keys()
    differ = [k for k in before if before[k] != after[k]]
    assert not differ, f"{study}: not byte-identical across two executions: {differ}"
