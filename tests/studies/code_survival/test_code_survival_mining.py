"""The miner on repositories built here: exact events, rules, bad input, read-only, blame cross-check.

Unit: one git repository built in the test (real `git` commits), mined into line events; a line of
code is the row, checked exactly against the history that was written.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cs_gitutil import BASE, DAY, Repo  # noqa: E402

from studykit.contract.errors import InputError, ParamError
from studykit.studies.code_survival.mining import LINE_EVENT_COLUMNS, blame_counts, mine_repositories
from studykit.studies.code_survival.rules import (AgentClassifier, IntentClassifier, PathFilter, glob_to_regex)

COPILOT = ("Copilot", "198982749+Copilot@users.noreply.github.com")


def ts(day: float) -> pd.Timestamp:
    return pd.Timestamp(BASE + int(day * DAY), unit="s", tz="UTC")


def events(df: pd.DataFrame) -> dict[str, tuple]:
    """text -> (born commit, end commit or '', event, intent)."""
    out = {}
    for r in df.itertuples():
        assert r.text not in out, f"duplicate text {r.text!r} in test repo"
        out[r.text] = (r.commit, r.end_commit, r.event, r.end_intent)
    return out


def alive_by_commit(df: pd.DataFrame) -> dict[str, int]:
    return df[df.event == 0].groupby("commit").size().to_dict()


@pytest.fixture()
def basic(tmp_path):
    r = Repo(tmp_path / "basic")
    r.lines("src/app.py", "alpha = 1", "beta = 2", "gamma = 3")
    r.lines("README.md", "# Title")
    r.commit("c1", "Initial import", 0)
    r.lines("src/app.py", "alpha = 1", "beta = 20", "gamma = 3", "delta = 4")
    r.commit("c2", "Fix beta value", 2)
    r.lines("src/app.py", "beta = 20", "gamma = 3", "delta = 4")
    r.commit("c3", "Refactor: drop alpha", 5)
    return r


def test_births_deaths_modifications_exact(basic):
    before = basic.fingerprint()
    df = mine_repositories([basic.path], progress=False)
    assert basic.fingerprint() == before  # never writes to the repository
    assert list(df.columns) == list(LINE_EVENT_COLUMNS)
    s = basic.shas
    assert events(df) == {
        "alpha = 1": (s["c1"], s["c3"], 1, "perfective"),
        "beta = 2": (s["c1"], s["c2"], 1, "corrective"),
        "gamma = 3": (s["c1"], "", 0, ""),
        "# Title": (s["c1"], "", 0, ""),
        "beta = 20": (s["c2"], "", 0, ""),
        "delta = 4": (s["c2"], "", 0, ""),
    }
    row = df.set_index("text")
    assert row.loc["beta = 2", "born_at"] == ts(0)
    assert row.loc["beta = 2", "ended_at"] == ts(2)
    assert row.loc["beta = 2", "duration_days"] == pytest.approx(2.0)
    assert pd.isna(row.loc["gamma = 3", "ended_at"])
    assert row.loc["gamma = 3", "observed_until"] == ts(5)  # default: last commit time
    assert row.loc["gamma = 3", "duration_days"] == pytest.approx(5.0)
    assert row.loc["delta = 4", "line_no"] == 4
    assert row.loc["beta = 20", "commit_lines_added"] == 2 and row.loc["beta = 20", "commit_lines_deleted"] == 1
    assert set(df.author_type) == {"human"} and set(df.agent) == {""}
    assert row.loc["alpha = 1", "file_ext"] == ".py"


def test_observation_end_censors_and_drops(basic):
    df = mine_repositories([basic.path], observation_end=ts(3).isoformat(), progress=False)
    ev = events(df)
    assert ev["alpha = 1"][2] == 0  # ended at day 5 > observation end: censored
    assert ev["beta = 2"][2] == 1
    assert df.set_index("text").loc["alpha = 1", "duration_days"] == pytest.approx(3.0)
    assert len(df) == 6
    df2 = mine_repositories([basic.path], observation_end="2023-11-15T12:00:00Z", progress=False)
    assert len(df2) == 4 and df2.attrs["mining_report"][0]["born_after_observation_end"] == 2
    with pytest.raises(ParamError, match="observation_end"):
        mine_repositories([basic.path], observation_end="not a date", progress=False)


def test_rename_keeps_identity(tmp_path):
    r = Repo(tmp_path / "ren")
    r.lines("src/old_name.py", *[f"line_{i} = {i}" for i in range(10)])
    r.commit("c1", "Add module", 0)
    (r.path / "src/old_name.py").unlink()
    r.lines("lib/new name é.py", *[f"line_{i} = {i}" if i != 4 else "line_4 = 44" for i in range(10)])
    r.commit("c2", "Rename module and fix line 4", 1)
    df = mine_repositories([r.path], progress=False)
    ev = events(df)
    assert sum(v[2] for v in ev.values()) == 1
    assert ev["line_4 = 4"] == (r.shas["c1"], r.shas["c2"], 1, "corrective")
    assert ev["line_9 = 9"] == (r.shas["c1"], "", 0, "")
    assert df.set_index("text").loc["line_4 = 44", "path"] == "lib/new name é.py"
    assert alive_by_commit(df) == blame_counts(r.path)


@pytest.fixture()
def merged(tmp_path):
    r = Repo(tmp_path / "merged")
    r.lines("src/core.py", "def core():", "    return 1")
    r.lines("src/util.py", "def util():", "    pass")
    r.commit("c1", "Initial commit", 0)
    r.git("checkout", "-q", "-b", "copilot/feature")
    r.lines("src/core.py", "def core():", "    return 2", "", "def extra():", "    return 3")
    r.commit("a1", "Add extra helper\n\nCo-authored-by: Hana Human <hana@example.org>", 1, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("src/util.py", "def util():", "    return None")
    r.commit("h1", "Update util", 2)
    r.merge("m1", "copilot/feature", "Merge pull request #1 from acme/copilot/feature", 3)
    r.lines("src/core.py", "def core():", "    return 2", "", "def extra():", "    return 33")
    r.commit("h2", "Fix extra return value", 4)
    return r


def test_merges_attribute_side_branch_lines(merged):
    df = mine_repositories([merged.path], progress=False)
    s = merged.shas
    ev = events(df)
    assert ev["    return 2"] == (s["a1"], "", 0, "")
    assert ev["def extra():"] == (s["a1"], "", 0, "")
    assert ev["    return 3"] == (s["a1"], s["h2"], 1, "corrective")
    assert ev["    return 1"] == (s["c1"], s["a1"], 1, "adaptive")
    assert ev["    pass"] == (s["c1"], s["h1"], 1, "adaptive")
    assert s["m1"] not in set(df.commit)  # merges are not authors
    row = df.set_index("text")
    assert row.loc["    return 2", "author_type"] == "agent" and row.loc["    return 2", "agent"] == "copilot"
    assert row.loc["    return 2", "agent_rule"] == "author"
    assert row.loc["    return None", "author_type"] == "human"
    rep = df.attrs["mining_report"][0]
    assert rep["merges"] == 1 and rep["merge_born_lines"] == 0 and rep["surviving_units_not_in_head"] == 0
    assert rep["line_count_mismatch"] == 0
    assert alive_by_commit(df) == blame_counts(merged.path)


def test_conflict_resolution_lines_are_not_units(tmp_path):
    r = Repo(tmp_path / "conflict")
    r.lines("f.txt", "one", "two", "three")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "side")
    r.lines("f.txt", "one", "two side", "three")
    r.commit("s1", "side change", 1)
    r.git("checkout", "-q", "main")
    r.lines("f.txt", "one", "two main", "three")
    r.commit("h1", "main change", 2)
    r.merge("m", "side", "Merge side", 3, ok_conflict=True)
    r.lines("f.txt", "one", "two resolved", "three")
    r.commit("m1", "Merge branch side", 3)
    assert len(r.git("rev-list", "--parents", "-n1", "HEAD").split()) == 3
    df = mine_repositories([r.path], progress=False)
    ev = events(df)
    assert "two resolved" not in ev
    # both branch versions are replaced by the merge: they end at the merge commit
    assert ev["two side"] == (r.shas["s1"], r.shas["m1"], 1, "other")
    assert ev["two main"] == (r.shas["h1"], r.shas["m1"], 1, "other")
    assert df.attrs["mining_report"][0]["merge_born_lines"] == 1
    assert {k: v for k, v in blame_counts(r.path).items() if k != r.shas["m1"]} == alive_by_commit(df)


def test_binary_and_excluded_paths(tmp_path):
    r = Repo(tmp_path / "bin")
    r.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x01\x02binary")
    r.lines("package-lock.json", "{", '  "lockfileVersion": 3', "}")
    r.lines("vendor/lib.js", "var vendored = 1;")
    r.lines("src/main.js", "const x = 1;")
    r.commit("c1", "init", 0)
    r.write("assets/logo.png", b"\x89PNG\r\n\x1a\n\x00\x03\x04changed")
    r.lines("package-lock.json", "{", '  "lockfileVersion": 3,', '  "x": 1', "}")
    r.commit("c2", "Bump deps", 1)
    df = mine_repositories([r.path], progress=False)
    assert set(df.path) == {"src/main.js"}
    rep = df.attrs["mining_report"][0]
    assert rep["binary_files_skipped"] == 2 and rep["excluded_lines"] == 3 + 1 + 2
    df_all = mine_repositories([r.path], exclude_globs=[], progress=False)
    assert set(df_all.path) == {"src/main.js", "package-lock.json", "vendor/lib.js"}
    df_custom = mine_repositories([r.path], exclude_globs=["src/**"], progress=False)
    assert set(df_custom.path) == {"package-lock.json", "vendor/lib.js"}
    assert alive_by_commit(df) == blame_counts(r.path)


AGENT_CASES = [
    ("copilot", "author", dict(author=("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"))),
    ("copilot", "committer", dict(committer=("copilot-swe-agent[bot]", "bot@example.org"))),
    ("copilot", "trailer", dict(msg="Co-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>")),
    ("claude", "trailer", dict(msg="Co-authored-by: Claude <noreply@anthropic.com>")),
    ("claude", "message", dict(msg="\U0001f916 Generated with [Claude Code](https://claude.com/claude-code)")),
    ("claude", "author", dict(author=("Claude", "noreply@anthropic.com"))),
    ("devin", "author", dict(author=("devin-ai-integration[bot]",
                                     "158243242+devin-ai-integration[bot]@users.noreply.github.com"))),
    ("cursor", "author", dict(author=("Cursor Agent", "cursoragent@cursor.com"))),
    ("codex", "trailer", dict(msg="Co-authored-by: chatgpt-codex-connector[bot] <x@users.noreply.github.com>")),
    ("codex", "author", dict(author=("Codex", "codex@openai.com"))),
    ("jules", "author", dict(author=("google-labs-jules[bot]", "161369871+google-labs-jules[bot]@users.noreply"
                                                                 ".github.com"))),
    ("aider", "author", dict(author=("Hana Human (aider)", "hana@example.org"))),
    ("openhands", "trailer", dict(msg="Co-authored-by: openhands <openhands@all-hands.dev>")),
    ("", "", dict(msg="Signed-off-by: Hana Human <hana@example.org>")),
    ("", "", dict(author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"))),
]


def test_each_agent_rule_on_a_real_repository(tmp_path):
    r = Repo(tmp_path / "agents")
    for i, (_agent, _field, kw) in enumerate(AGENT_CASES):
        r.lines(f"f{i}.py", f"value_{i} = {i}")
        author = kw.get("author", ("Hana Human", "hana@example.org"))
        r.commit(f"k{i}", f"Add value {i}\n\n{kw.get('msg', '')}".strip(), i, author=author,
                 committer=kw.get("committer"))
    df = mine_repositories([r.path], progress=False).set_index("text")
    for i, (agent, field, _kw) in enumerate(AGENT_CASES):
        row = df.loc[f"value_{i} = {i}"]
        assert (row.agent, row.agent_rule) == (agent, field), f"case {i}"
        assert row.author_type == ("agent" if agent else "human")
    assert bool(df.loc[f"value_{len(AGENT_CASES) - 1} = {len(AGENT_CASES) - 1}", "is_bot"])


def test_custom_rules():
    clf = AgentClassifier([{"agent": "house_bot", "field": "author", "pattern": r"^robo\b"}])
    assert clf.classify("robo <r@x>", "x <y>", "msg") == ("house_bot", "author")
    assert clf.classify("Copilot <c@x>", "x <y>", "msg") == ("", "")  # custom list replaces the defaults
    with pytest.raises(ParamError, match="field"):
        AgentClassifier([{"agent": "a", "field": "nope", "pattern": "x"}])
    with pytest.raises(ParamError, match="regex"):
        AgentClassifier([{"agent": "a", "field": "author", "pattern": "("}])
    ic = IntentClassifier()
    assert ic.classify("Fix crash on start") == "corrective"
    assert ic.classify("Upgrade numpy to 2.0") == "adaptive"
    assert ic.classify("Rename helpers for clarity") == "perfective"
    assert ic.classify("Tweak things\n\nCo-authored-by: Bug Hunter <b@x>") == "other"  # trailers ignored
    assert IntentClassifier([("security", r"\bcve\b")]).classify("Patch CVE-2024-1") == "security"


def test_glob_rules():
    pf = PathFilter(["**/vendor/**", "*.lock", "docs/*.md", "gen/"])
    assert pf.excluded("a/b/vendor/x/y.js") and pf.excluded("vendor/y.js")
    assert pf.excluded("Cargo.lock") and pf.excluded("deep/dir/poetry.lock")
    assert pf.excluded("docs/a.md") and not pf.excluded("docs/sub/a.md") and not pf.excluded("x/docs/a.md")
    assert pf.excluded("gen/a/b.py") and not pf.excluded("src/main.py")
    assert glob_to_regex("*.py") == r"^(?:.*/)?[^/]*\.py$"


def test_non_utf8_content_and_odd_paths(tmp_path):
    r = Repo(tmp_path / "enc")
    r.write("latin1.txt", "caf\xe9 = 1\n".encode("latin-1"))
    r.write("tab\tname.py", "x = 1\n")
    r.write("sp ace/ü.py", "y = 2\r\n")
    r.commit("c1", "init", 0)
    df = mine_repositories([r.path], progress=False)
    assert set(df.text) == {"caf\ufffd = 1", "x = 1", "y = 2"}
    assert set(df.path) == {"latin1.txt", "tab\tname.py", "sp ace/ü.py"}
    assert df.attrs["mining_report"][0]["non_utf8_lines"] == 1
    assert alive_by_commit(df) == blame_counts(r.path)


def test_invalid_commit_date_rule(tmp_path):
    r = Repo(tmp_path / "dates")
    r.lines("a.py", "a = 1")
    r.commit("c1", "init", 0)
    r.lines("a.py", "a = 2")
    r.git("add", "-A")
    tree = r.git("write-tree")
    body = (f"tree {tree}\nparent {r.shas['c1']}\nauthor X <x@y> notadate +0000\n"
            f"committer X <x@y> garbage\n\nFix a\n").encode()
    sha = r.git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=body)
    r.git("update-ref", "refs/heads/main", sha)
    df = mine_repositories([r.path], progress=False)
    assert df.attrs["mining_report"][0]["invalid_dates"] == 1
    row = df.set_index("text")
    assert row.loc["a = 2", "born_at"] == ts(0)  # parent's time
    assert row.loc["a = 1", "event"] == 1 and row.loc["a = 1", "duration_days"] == 0


def test_bad_repositories(tmp_path, basic):
    with pytest.raises(InputError, match="repository not found"):
        mine_repositories([tmp_path / "missing"], progress=False)
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a git repository"):
        mine_repositories([tmp_path / "plain"], progress=False)
    with pytest.raises(InputError, match="inside the repository"):
        mine_repositories([basic.path / "src"], progress=False)
    empty = Repo(tmp_path / "empty")
    with pytest.raises(InputError, match="no commits"):
        mine_repositories([empty.path], progress=False)
    with pytest.raises(InputError, match="no repositories"):
        mine_repositories([], progress=False)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{basic.path}", str(shallow)], check=True,
                   capture_output=True)
    with pytest.raises(InputError, match="shallow clone"):
        mine_repositories([shallow], progress=False)
    df = mine_repositories([shallow], progress=False, allow_shallow=True)
    assert len(df) == 0 and df.attrs["mining_report"][0]["shallow_boundary_units"] == 4


def test_two_repositories_with_the_same_name(tmp_path):
    a = Repo(tmp_path / "a" / "proj")
    a.lines("x.py", "x = 1")
    a.commit("c", "init", 0)
    b = Repo(tmp_path / "b" / "proj")
    b.lines("y.py", "y = 1")
    b.commit("c", "init", 0)
    df = mine_repositories([a.path, b.path], progress=False)
    assert sorted(df.repo) == ["proj", "proj-2"] and df.unit_id.is_unique


def test_blame_cross_check_on_simulated_history(tmp_path):
    from studykit.studies.code_survival.reposim import RepoSimConfig, build_stream, write_repo

    path = write_repo(tmp_path / "sim", build_stream(3, 0, RepoSimConfig(n_commits=160)))
    repo = Repo.__new__(Repo)
    repo.path = path
    before = repo.fingerprint()
    df = mine_repositories([path], progress=False)
    assert repo.fingerprint() == before
    rep = df.attrs["mining_report"][0]
    assert rep["merges"] > 10 and (df.author_type == "agent").sum() > 100
    assert rep["line_count_mismatch"] == 0 and rep["surviving_units_not_in_head"] == 0
    alive = df[(df.event == 0) & (df.observed_until == df.observed_until.max())].groupby("commit").size().to_dict()
    blame = blame_counts(path)
    assert sum(blame.values()) == sum(alive.values()) == rep["head_unit_lines"]
    assert alive == blame  # line by line per commit (the merge rules follow git blame's)


def test_simulated_repositories_are_byte_reproducible(tmp_path):
    from studykit.studies.code_survival.reposim import write_sim_repos

    a = write_sim_repos(tmp_path / "a", n_repos=1, n_commits=40, seed=5)[0]
    b = write_sim_repos(tmp_path / "b", n_repos=1, n_commits=40, seed=5)[0]
    head = lambda p: subprocess.run(["git", "-C", str(p), "rev-parse", "HEAD"], capture_output=True,  # noqa: E731
                                    text=True).stdout
    assert head(a) == head(b) and len(head(a).strip()) == 40
    c = write_sim_repos(tmp_path / "c", n_repos=1, n_commits=40, seed=6)[0]
    assert head(c) != head(a)
    # the same history in another process with another string-hash seed
    code = ("import sys; from pathlib import Path; from studykit.studies.code_survival.reposim import write_sim_repos; "
            "write_sim_repos(Path(sys.argv[1]), n_repos=1, n_commits=40, seed=5)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "d")], check=True,
                   env={**__import__("os").environ, "PYTHONHASHSEED": "12345"})
    assert head(tmp_path / "d" / "repo_01") == head(a)


def test_cli_mine(tmp_path, merged):
    exe = Path(sys.executable).parent / "studykit"
    out = tmp_path / "events.csv"
    res = subprocess.run([str(exe), "mine", str(merged.path), "--out", str(out), "--no-progress"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    from studykit.studies.code_survival.load import load_line_events

    df, issues = load_line_events(out)
    direct = mine_repositories([merged.path], progress=False)
    assert len(df) == len(direct) == 10 and int(df.event.sum()) == 3
    assert (df.sort_values("unit_id").duration_days.to_numpy()
            == pytest.approx(direct.sort_values("unit_id").duration_days.to_numpy()))
    bad = subprocess.run([str(exe), "mine", str(tmp_path), "--out", str(out), "--no-progress"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a git repository" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_mine_out_replaces_only_a_table_mine_wrote(tmp_path, merged, capsys, monkeypatch, suffix):
    """Unit: one --out file. A folder named like a table, a link, or a user's file of that name is refused in
    one line before any mining (the user's bytes kept); a table mine wrote is replaced by the next mine."""
    from studykit import cli
    from studykit.studies.code_survival import parallel

    out = tmp_path / f"events{suffix}"
    assert cli.main(["mine", str(merged.path), "--out", str(out), "--no-progress"]) == 0
    first = out.read_bytes()
    assert cli.main(["mine", str(merged.path), "--out", str(out), "--no-progress"]) == 0, "its own table"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
    capsys.readouterr()
    monkeypatch.setattr(parallel, "mine_many", lambda *a, **k: pytest.fail("refused before mining"))
    folder = tmp_path / f"dir{suffix}"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine\n")
    users = tmp_path / f"users{suffix}"
    users.write_bytes(b"my own table, not mined\n")
    link = tmp_path / f"link{suffix}"
    link.symlink_to(out)
    for target, why in ((folder, "is a folder"), (users, "studykit did not write it"), (link, "symbolic link")):
        assert cli.main(["mine", str(merged.path), "--out", str(target), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0] and str(target) in err[0], err
    assert (folder / "keep.txt").read_text() == "mine\n" and users.read_bytes() == b"my own table, not mined\n"
    assert out.read_bytes() == first or suffix == ".csv.gz"


def test_mine_out_keeps_a_file_that_appears_while_mining(tmp_path, merged, capsys, monkeypatch):
    """Unit: one --out file. A file of that name saved while mine runs is kept byte for byte: ownership is
    checked again when the table is written (and a new table is created with a link that fails when the name
    exists), and the refusal is one line."""
    from studykit import cli
    from studykit.studies.code_survival import parallel

    out = tmp_path / "events.csv"
    real = parallel.mine_many

    def mine_while_the_user_saves(*args, **kwargs):
        df = real(*args, **kwargs)
        out.write_bytes(b"the user's own table\n")
        return df

    monkeypatch.setattr(parallel, "mine_many", mine_while_the_user_saves)
    assert cli.main(["mine", str(merged.path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "studykit did not write it" in err[0] and "nothing was written" in err[0], err
    assert out.read_bytes() == b"the user's own table\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"


def test_saved_line_events_name_clones_relative_to_the_project():
    """Unit: the line-events table as written (tables/line_events.parquet keeps the mining report in its
    metadata): a clone under the project is named relative to it, so two checkouts write the same bytes (the
    agent_repos table differed between checkouts by the absolute clone path)."""
    import pandas as pd

    from studykit.files.paths import project_root
    from studykit.studies.code_survival.load import events_for_output

    df = pd.DataFrame({"born_at": pd.to_datetime(["2024-01-01"], utc=True)})
    df.attrs["mining_report"] = [{"repo": "a", "path": str(project_root() / ".cache" / "x" / "a")},
                                 {"repo": "b", "path": "/elsewhere/b"}, {"repo": "c"}]
    out, _ = events_for_output(df)
    assert [r.get("path") for r in out.attrs["mining_report"]] == [".cache/x/a", "/elsewhere/b", None]
    assert df.attrs["mining_report"][0]["path"].startswith("/")  # the input is not changed
