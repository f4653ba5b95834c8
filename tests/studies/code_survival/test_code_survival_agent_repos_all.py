"""The real-data profile agent_repos_all: the twelve git bundles of ../shared/data/code_survival/ with the agent
rules of params/code_survival/agent_rules/twelve_repos.yaml, mined in parallel, clustered by repository.

Unit: line unit (clustered by commit in the two-repository slice; by repository in the whole profile); the fast
test runs a slice of two small bundles with the profile's rules, the slow one the whole profile and the doc's numbers.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from studykit.contract.errors import InputError, ParamError
from studykit.contract.profiles import resolve_params
from studykit.runs.runner import run_study

sys.path.insert(0, str(Path(__file__).parent))
from test_code_survival_agent_repos import SHARED, needs_shared  # noqa: E402  (the one check for ../shared)

ROOT = Path(__file__).resolve().parents[3]
PROFILE = yaml.safe_load((ROOT / "params" / "code_survival" / "agent_repos_all.yaml").read_text())
SLICE = ("workers-oauth-provider", "xcodebuildmcp")


def test_profile_names_every_bundle_of_the_shared_readme():
    names = [Path(b).name.removesuffix(".bundle") for b in PROFILE["bundles"]]
    assert len(names) == len(set(names)) == 12
    assert PROFILE["agent_rules"] == "params/code_survival/agent_rules/twelve_repos.yaml" and PROFILE["mine_jobs"] == 2
    rules = yaml.safe_load((ROOT / PROFILE["agent_rules"]).read_text())
    assert {r for rule in rules for r in rule.get("repos", [])} <= set(names)


def test_missing_bundles_are_one_line_saying_where_the_data_comes_from(tmp_path):
    with pytest.raises((InputError, ParamError)) as info:
        resolve_params("code_survival", "agent_repos_all", overrides={"bundles": [str(tmp_path / "x.bundle")]})
    msg = str(info.value)
    assert "\n" not in msg and "x.bundle" in msg and "../shared/data/code_survival/" in msg


@needs_shared
def test_profile_slice_two_bundles_with_the_profiles_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    rules = [r for r in yaml.safe_load((ROOT / PROFILE["agent_rules"]).read_text())
             if set(r.get("repos", SLICE)) & set(SLICE)]  # rules of repositories outside the slice would be refused
    res = run_study("code_survival", profile="agent_repos_all", out_dir=tmp_path / "run", progress=False,
                    overrides={"bundles": [str(SHARED / f"{n}.bundle") for n in SLICE], "agent_rules": rules,
                               "n_bootstrap": 100, "prediction_max_units": 3000, "tfidf_max_features": 500})
    r = json.loads((res.out_dir / "results.json").read_text())
    assert r["data.n_repos"] == 2 and r["clustering.by"] == "commit"
    # "Ask Claude to ..." subjects (40 commits, README) are agent commits in workers-oauth-provider only
    assert r["data.agent_marked_commits.workers-oauth-provider"] >= 40
    assert r["data.agent_marked_commits.xcodebuildmcp"] >= 70
    tab = (res.out_dir / "tables" / "agents_by_repo.csv").read_text().splitlines()
    assert tab[0] == "repo,agent,marked_commits,commits,units,modified"
    assert any(t.startswith("xcodebuildmcp,cursor,") for t in tab)
    hr = {k: v for k, v in r.items() if k.startswith("cox.hr_by_repo.")}
    assert set(hr) == {f"cox.hr_by_repo.{n}" for n in SLICE} and all(v is None or v > 0 for v in hr.values())


@pytest.mark.slow
@needs_shared
def test_doc_numbers_match_the_agent_repos_all_run(tmp_path):
    from test_code_survival_notebook import _doc_numbers_match

    res = run_study("code_survival", profile="agent_repos_all", out_dir=tmp_path / "out")
    r = json.loads((res.out_dir / "results.json").read_text())
    assert r["data.n_repos"] == 12 and r["clustering.by"] == "repository"
    assert r["primary.basis"] == "pooled, clustered by repository"
    _doc_numbers_match("agent_repos_all", res.out_dir)
