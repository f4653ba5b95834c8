"""A repository's own git configuration can never run a command, nor change what is mined.

Unit: one git repository built in the test whose `.git/config`, hooks, included config, attributes files
and filter/diff drivers each name a command creating a marker file (`cs_hostile.py`), owned by another
user where the tests run as root; and `studykit mine`, `studykit run code_survival --set repos=[...]`, the
cache key and the blame cross-check run on it. A test passes when no marker appears (the control test shows
that plain git creates some) and the mined table equals that of a clean clone.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cs_gitutil import Repo, git_env  # noqa: E402
from cs_hostile import build_hostile, give_away  # noqa: E402

from studykit.files import gitsafe
from studykit.contract.errors import InputError
from studykit.studies.code_survival.mining import blame_counts, mine_repositories

COMPARE = ["path", "commit", "author_type", "agent", "born_at", "ended_at", "event", "end_intent", "end_commit",
           "text", "line_no", "duration_days", "observed_until"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    r = build_hostile(base / "repo", base / "marker")
    clean = base / "clean"  # a clone carries no configuration, hooks or info/attributes
    subprocess.run(["git", "clone", "-q", "--no-local", str(r.path), str(clean)], check=True, env=git_env(),
                   capture_output=True)
    owned_by_other = give_away(r.path)
    return r.path, base / "marker", clean, owned_by_other


def markers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def table(path: Path) -> pd.DataFrame:
    df = mine_repositories([path], progress=False)
    return df[COMPARE].sort_values(["born_at", "path", "line_no"]).reset_index(drop=True)


def test_plain_git_runs_the_markers(tmp_path):
    """Control: the hostile configuration is live for plain git (so the tests below can fail)."""
    r = build_hostile(tmp_path / "repo", tmp_path / "marker")
    env = git_env()
    for args in (["status"], ["log", "-p", "-1"], ["blame", "HEAD", "--", "src/app.py"]):
        subprocess.run(["git", "-C", str(r.path), *args], env=env, capture_output=True)
    fired = markers(tmp_path / "marker")
    assert "core-fsmonitor" in fired and "gpg-program" in fired
    assert any(m.startswith("filter-") for m in fired)


def test_mining_blame_and_cache_key_run_nothing(hostile):
    path, marker, clean, _ = hostile
    df = table(path)
    assert markers(marker) == []
    pd.testing.assert_frame_equal(df, table(clean))  # the configuration changes nothing that is mined
    assert len(df) == 10 and (df.author_type == "agent").sum() == 2
    blame = blame_counts(path)
    assert markers(marker) == [] and sum(blame.values()) == int((df.event == 0).sum())
    from studykit.runs.cachekey import cache_components
    from studykit.runs.provenance import describe_inputs
    from studykit.studies.code_survival import Params

    params = Params(repos=[str(path)])
    comp = cache_components("code_survival", params)
    described = describe_inputs(params)
    assert markers(marker) == []
    fp = gitsafe.repo_fingerprint(path)
    assert [i["sha256"] for i in comp["inputs"] if i["key"] == "repos"] == [fp]
    assert [i["sha256"] for i in described if i["key"] == "repos"] == [fp]


def test_cli_mine_runs_nothing(hostile, tmp_path):
    path, marker, _, _ = hostile
    exe = Path(sys.executable).parent / "studykit"
    res = subprocess.run([str(exe), "mine", str(path), "--out", str(tmp_path / "ev.csv"), "--no-progress"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert markers(marker) == [] and len(pd.read_csv(tmp_path / "ev.csv")) == 10


def test_run_code_survival_on_the_repository_runs_nothing(hostile, tmp_path):
    from studykit.runs.runner import run_study

    path, marker, _, _ = hostile
    res = run_study("code_survival", profile="workshop", overrides={"repos": [str(path)]}, out_dir=tmp_path / "out")
    assert res.status == "executed" and markers(marker) == []
    import json

    results = json.loads((res.out_dir / "results.json").read_text())
    assert results["data.n_units"] == 10
    # too few lines are followed 90 days: reported as not estimable, the notebook ran to its end
    assert results["prediction.not_estimable"].startswith("not estimable")


def test_another_users_repository_is_mined_but_not_its_parent(hostile, tmp_path):
    path, marker, _, owned = hostile
    if not owned:
        pytest.skip("needs root to give the repository to another user")
    found = gitsafe.discover(path)  # git alone refuses it (dubious ownership); the named path is trusted
    assert found.top == path.resolve()
    plain = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], env=git_env(), capture_output=True,
                           text=True)
    assert plain.returncode != 0 and "dubious ownership" in plain.stderr
    # a folder inside it is refused, and its discovery does not trust the owner's repository either
    sub = path / "src"
    with pytest.raises(InputError, match="not a git repository"):
        gitsafe.discover(sub)
    assert markers(marker) == []


def test_working_tree_and_index_are_never_read(tmp_path):
    r = Repo(tmp_path / "wt")
    r.lines(".gitattributes", "*.dat -diff")
    r.lines("a.py", "x = 1", "y = 2")
    r.lines("b.dat", "text that git shows as binary")
    r.commit("c1", "init", 0)
    r.lines("a.py", "x = 1", "y = 3")
    r.lines("b.dat", "still binary to git")
    r.commit("c2", "edit", 1)
    before, fp = table(r.path), gitsafe.repo_fingerprint(r.path)
    assert set(before.path) == {"a.py", ".gitattributes"}  # b.dat is binary by HEAD's attributes
    # uncommitted changes: attributes, untracked files, a corrupt index
    r.lines(".gitattributes", "# nothing binary any more")
    r.lines("a.py", "x = 100")
    r.lines("new.py", "untracked = True")
    (r.path / ".git" / "index").write_bytes(b"not an index")
    assert table(r.path).equals(before) and gitsafe.repo_fingerprint(r.path) == fp
    # a new commit changes the key
    shutil.copy(r.path / "a.py", r.path / "c.py")
    (r.path / ".git" / "index").unlink()
    r.commit("c3", "add c", 2)
    assert gitsafe.repo_fingerprint(r.path) != fp


def test_repository_settings_that_change_git_output_are_pinned(tmp_path):
    r = Repo(tmp_path / "fmt")
    r.lines("é dir/a.py", *[f"line_{i} = {i}" for i in range(12)])
    r.commit("c1", "init", 0)
    r.lines("é dir/a.py", *[f"line_{i} = {i}" if i not in (2, 6) else f"line_{i} = 'x'" for i in range(12)])
    r.commit("c2", "two hunks three lines apart", 1)
    os.rename(r.path / "é dir/a.py", r.path / "é dir/b.py")
    r.commit("c3", "rename", 2)
    expected = table(r.path)
    settings = {"diff.interHunkContext": "5", "log.showRoot": "false", "diff.noprefix": "true",
                "core.quotepath": "true", "diff.algorithm": "patience", "diff.renames": "false",
                "core.bigFileThreshold": "1", "diff.submodule": "log", "diff.context": "8",
                "i18n.logOutputEncoding": "ISO-8859-1", "diff.mnemonicPrefix": "true", "diff.relative": "true",
                "log.showSignature": "true", "color.ui": "always", "diff.suppressBlankEmpty": "true"}
    for k, v in settings.items():
        r.git("config", k, v)
    # a replace ref rewriting history is ignored too
    r.git("replace", r.shas["c2"], r.shas["c1"])
    got = table(r.path)
    pd.testing.assert_frame_equal(got, expected)
    assert got.path.str.startswith("é dir/").all() and (got.event == 1).sum() == 2


def test_hardened_command_line_and_environment(monkeypatch):
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", "touch /tmp/x")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.fsmonitor'='touch /tmp/x'")
    env = gitsafe.hardened_env()
    assert "GIT_DIR" not in env and "GIT_EXTERNAL_DIFF" not in env and "GIT_CONFIG_PARAMETERS" not in env
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    argv = gitsafe.git_argv("log", "-p", "HEAD")
    assert argv[:3] == ["git", "--no-pager", "--no-replace-objects"]
    assert argv[argv.index("log") + 1:argv.index("log") + 3] == ["--no-ext-diff", "--no-textconv"]
    assert "core.fsmonitor=false" in argv and "core.hooksPath=/dev/null" in argv
    assert gitsafe.git_argv("blame", "x")[-3:] == ["blame", "--no-textconv", "x"]


def test_bare_repositories_and_git_folders(tmp_path):
    r = Repo(tmp_path / "work")
    r.lines(".gitattributes", "*.bin -diff")
    r.lines("a.py", "x = 1")
    r.lines("b.bin", "shown as binary")
    r.commit("c1", "init", 0)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(r.path), str(bare)], check=True, env=git_env())
    # a bare clone mines like its working tree (HEAD's .gitattributes apply to both)
    assert table(bare).equals(table(r.path))
    with pytest.raises(InputError, match="git folder of a working tree"):
        gitsafe.discover(r.path / ".git")
    with pytest.raises(InputError, match="inside the repository"):
        gitsafe.discover(bare / "refs")
