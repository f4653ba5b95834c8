"""The miner on the history shapes of long-lived branches: every line survives only if HEAD holds it.

Unit: one git repository built in the test (real `git` merges, cherry-picks, renames, conflict
resolutions), mined into line events; each test checks the HEAD invariant (the surviving units of each
file are the file's lines at HEAD), agreement with `git blame` at HEAD line by line per commit, and the
events of the lines the shape is about.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cs_gitutil import BASE, DAY, Repo  # noqa: E402

from studykit.studies.code_survival.load import mining_issues
from studykit.studies.code_survival.mining import blame_counts, mine_repositories

COPILOT = ("Copilot", "198982749+Copilot@users.noreply.github.com")


def mine(repo: Repo, tail: bool = True) -> tuple[pd.DataFrame, dict]:
    """Mine ``repo`` after one more commit on day 9 (so that a merge's censoring time differs from the
    observation end)."""
    if tail:
        repo.lines("zz_tail.txt", "tail")
        repo.commit("tail", "Tail", 9)
    df = mine_repositories([repo.path], progress=False)
    return df, df.attrs["mining_report"][0]


def surviving(df: pd.DataFrame) -> pd.DataFrame:
    """Units alive at the observation end (not ended, not censored earlier as a merged duplicate)."""
    return df[(df.event == 0) & (df.observed_until == df.observed_until.max())]


def check_head(repo: Repo, df: pd.DataFrame, rep: dict) -> None:
    """The HEAD invariant and the blame cross-check per commit (lines blamed on merge commits are not units)."""
    assert rep["line_count_mismatch"] == 0 and rep["surviving_units_not_in_head"] == 0, rep
    assert rep["units_twice_in_head"] == 0
    alive = surviving(df).groupby("commit").size().to_dict()
    merges = {s for s in repo.git("rev-list", "--merges", "HEAD").split()}
    blame = {k: v for k, v in blame_counts(repo.path).items() if k not in merges}
    assert alive == blame
    assert rep["head_unit_lines"] == len(surviving(df))
    assert rep["surviving_agent"] + rep["surviving_human"] == len(surviving(df))
    assert not [i for i in mining_issues([rep]) if i.check in ("mining_line_count_mismatch",
                                                                  "mining_surviving_units_not_in_head")]


def ev(df: pd.DataFrame, text: str) -> tuple[int, str, float]:
    """(event, end commit, observed_until in days since BASE) of the one unit with ``text``."""
    rows = df[df.text == text]
    assert len(rows) == 1, (text, len(rows))
    r = rows.iloc[0]
    return int(r.event), r.end_commit, (r.observed_until.timestamp() - BASE) / DAY


def evs(df: pd.DataFrame, text: str) -> list[tuple[str, int, str, float]]:
    """(born commit, event, end commit, observed_until day) of every unit with ``text``, by born commit."""
    rows = df[df.text == text].sort_values("born_at")
    return [(r.commit, int(r.event), r.end_commit, (r.observed_until.timestamp() - BASE) / DAY)
            for r in rows.itertuples()]


def test_cherry_picked_fix_merged_back_is_a_duplicate_not_a_survivor(tmp_path):
    r = Repo(tmp_path / "pick")
    r.lines("lib.py", "a = 1", "b = 2", "c = 3")
    r.commit("c1", "init", 0)
    r.git("branch", "release")
    r.lines("lib.py", "a = 1", "fix = True", "b = 2", "c = 3")
    r.commit("fix", "Fix the thing", 1)
    r.git("checkout", "-q", "release")
    r.git("cherry-pick", "-x", r.shas["fix"], when=BASE + 2 * DAY)
    r.shas["pick"] = r.git("rev-parse", "HEAD")
    r.lines("rel.py", "version = '1.0.1'")
    r.commit("rel", "Release 1.0.1", 3)
    r.git("checkout", "-q", "main")
    r.merge("m", "release", "Merge release back", 4)
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    # the main-line fix survives; the cherry-pick's identical line is censored at the merge, not an event
    assert evs(df, "fix = True") == [(s["fix"], 0, "", 9.0), (s["pick"], 0, "", 4.0)]
    assert surviving(df)[surviving(df).text == "fix = True"].commit.tolist() == [s["fix"]]
    assert rep["merge_duplicate_units"] == 1 and rep["merge_dropped_units"] == 0
    issues = {i.check: i.count for i in mining_issues([rep])}
    assert issues["mining_merge_duplicate_units"] == 1


def test_the_same_line_added_on_two_branches_and_a_release_branch_merged_twice(tmp_path):
    r = Repo(tmp_path / "twice")
    r.lines("a.py", "import os", "x = 1")
    r.commit("c1", "init", 0)
    r.git("branch", "release")
    r.lines("a.py", "import os", "import sys", "x = 1")
    r.commit("main_sys", "Use sys", 1)
    r.git("checkout", "-q", "release")
    r.lines("a.py", "import os", "import sys", "x = 1")
    r.commit("rel_sys", "Use sys too", 2, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("m1", "release", "Merge release", 3)
    r.git("checkout", "-q", "release")
    r.lines("b.py", "y = 2")
    r.commit("rel2", "More on release", 4, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("m2", "release", "Merge release again", 5)
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert evs(df, "import sys") == [(s["main_sys"], 0, "", 9.0), (s["rel_sys"], 0, "", 5.0)]
    # counted once; censored when the last merge drops it (the release branch held it until day 5)
    assert rep["merge_duplicate_units"] == 1


def test_deletion_that_reaches_the_first_parent_only_through_merges(tmp_path):
    r = Repo(tmp_path / "del")
    r.lines("f.py", "a = 1", "b = 2", "c = 3", "d = 4", "e = 5")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "feature")
    r.lines("f.py", "a = 1", "c = 3", "d = 4", "e = 5")
    r.commit("s1", "Drop b", 1, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("f.py", "a = 1", "b = 2", "c = 3", "d = 4", "e = 50")
    r.commit("h1", "Fix e", 2)
    r.git("checkout", "-q", "feature")
    r.merge("mf", "main", "Merge main into feature", 3)  # the feature branch catches up first
    r.lines("f.py", "a = 1", "c = 3", "d = 40", "e = 50")
    r.commit("s2", "Change d", 4, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("mm", "feature", "Merge feature", 5)
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert ev(df, "b = 2")[:2] == (1, s["s1"])
    assert ev(df, "e = 5")[:2] == (1, s["h1"])
    assert ev(df, "d = 4")[:2] == (1, s["s2"])
    assert ev(df, "e = 50")[0] == 0 and ev(df, "d = 40")[0] == 0


def test_file_deleted_on_a_side_branch_and_modify_delete_conflicts(tmp_path):
    r = Repo(tmp_path / "moddel")
    r.lines("gone.py", "g1 = 1", "g2 = 2")
    r.lines("kept.py", "k1 = 1", "k2 = 2")
    r.lines("plain.py", "p1 = 1")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "side")
    (r.path / "gone.py").unlink()
    (r.path / "kept.py").unlink()
    (r.path / "plain.py").unlink()
    r.commit("s1", "Remove three modules", 1)
    r.git("checkout", "-q", "main")
    r.lines("gone.py", "g1 = 1", "g2 = 20")
    r.lines("kept.py", "k1 = 1", "k2 = 20")
    r.commit("h1", "Edit two of them", 2)
    r.merge("m", "side", "Merge side", 3, ok_conflict=True)
    # modify/delete conflicts: keep kept.py as main has it, delete gone.py (plain.py merges cleanly: deleted)
    r.git("rm", "-q", "gone.py")
    r.git("add", "kept.py")
    r.commit("m", "Merge side", 3)
    assert len(r.git("rev-list", "--parents", "-n1", "HEAD").split()) == 3
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert ev(df, "p1 = 1")[:2] == (1, s["s1"])
    assert ev(df, "g1 = 1")[:2] == (1, s["s1"])  # the side branch deleted it first
    assert ev(df, "g2 = 20")[:2] == (1, s["m"])  # main's edit dropped by the merge's resolution
    # kept.py: the side branch deleted it, the merge kept main's version: k1 is alive at HEAD
    assert ev(df, "k1 = 1")[0] == 0 and ev(df, "k2 = 20")[0] == 0
    assert rep["units_kept_by_merge"] == 1


def test_criss_cross_merges(tmp_path):
    r = Repo(tmp_path / "criss")
    r.lines("f.py", *[f"line{i} = {i}" for i in range(1, 9)])
    r.commit("c1", "init", 0)
    r.git("branch", "b")
    r.lines("f.py", *[f"line{i} = {i}" if i != 1 else "line1 = 'A'" for i in range(1, 9)])
    r.commit("a1", "A edits 1", 1)
    r.git("checkout", "-q", "b")
    r.lines("f.py", *[f"line{i} = {i}" if i != 7 else "line7 = 'B'" for i in range(1, 9)])
    r.commit("b1", "B edits 7", 1.5, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "--no-ff", "--no-edit", "-m", "A takes B", r.shas["b1"], when=BASE + 2 * DAY)
    r.shas["ma"] = r.git("rev-parse", "HEAD")
    r.git("checkout", "-q", "b")
    r.git("merge", "-q", "--no-ff", "--no-edit", "-m", "B takes A", r.shas["a1"], when=BASE + 2 * DAY)
    r.shas["mb"] = r.git("rev-parse", "HEAD")
    r.lines("f.py", "line1 = 'A'", "line2 = 'B2'", *[f"line{i} = {i}" for i in range(3, 7)], "line7 = 'B'",
            "line8 = 8")
    r.commit("b2", "B edits 2", 3, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("f.py", "line1 = 'A'", "line2 = 2", "line3 = 3", "line4 = 4", "line5 = 'A5'", "line6 = 6",
            "line7 = 'B'", "line8 = 8")
    r.commit("a2", "A edits 5", 3.5)
    r.merge("final", "b", "Final merge", 4)  # two merge bases: the recursive strategy
    assert len(r.git("merge-base", "--all", r.shas["a2"], r.shas["b2"]).split()) == 2
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert ev(df, "line1 = 1")[:2] == (1, s["a1"])
    assert ev(df, "line7 = 7")[:2] == (1, s["b1"])
    assert ev(df, "line2 = 2")[:2] == (1, s["b2"])
    assert ev(df, "line5 = 5")[:2] == (1, s["a2"])
    assert [ev(df, t)[0] for t in ("line1 = 'A'", "line7 = 'B'", "line2 = 'B2'", "line5 = 'A5'")] == [0] * 4


def test_rename_on_a_branch_while_the_other_edits_the_file(tmp_path):
    r = Repo(tmp_path / "ren")
    body = [f"value_{i} = {i}" for i in range(12)]
    r.lines("old/name.py", *body)
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "move")
    (r.path / "old/name.py").unlink()
    r.lines("new/name.py", *[b if i != 10 else "value_10 = 'moved'" for i, b in enumerate(body)])
    r.commit("mv", "Move module", 1, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("old/name.py", *[b if i != 2 else "value_2 = 'main'" for i, b in enumerate(body)])
    r.commit("h1", "Edit value 2", 2)
    r.merge("m", "move", "Merge move", 3)
    assert (r.path / "new/name.py").read_text().count("'main'") == 1
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert ev(df, "value_2 = 2")[:2] == (1, s["h1"]) and ev(df, "value_10 = 10")[:2] == (1, s["mv"])
    assert ev(df, "value_2 = 'main'")[0] == 0 and ev(df, "value_10 = 'moved'")[0] == 0
    assert ev(df, "value_5 = 5")[0] == 0  # identity kept through the rename on the branch


def test_conflict_resolved_by_taking_one_side_and_ours_merges(tmp_path):
    r = Repo(tmp_path / "side")
    r.lines("f.py", "x = 0", "y = 0")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "theirs")
    r.lines("f.py", "x = 'theirs'", "y = 0")
    r.commit("t1", "Theirs edits x", 1, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.lines("f.py", "x = 'main'", "y = 0")
    r.commit("h1", "Main edits x", 2)
    r.merge("m1", "theirs", "Merge theirs", 3, ok_conflict=True)
    r.git("checkout", "-q", "--theirs", "f.py")
    r.commit("m1", "Merge theirs (take theirs)", 3)
    # a branch whose work is discarded by `git merge -s ours`
    r.git("checkout", "-q", "-b", "dropped")
    r.lines("f.py", "x = 'theirs'", "y = 'dropped'")
    r.lines("extra.py", "z = 'dropped'")
    r.commit("d1", "Work that is thrown away", 4, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "-s", "ours", "--no-edit", "-m", "Record dropped as merged", "dropped",
          when=BASE + 5 * DAY)
    r.shas["m2"] = r.git("rev-parse", "HEAD")
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert ev(df, "x = 'main'")[:2] == (1, s["m1"])  # main's side lost in the resolution
    assert ev(df, "x = 'theirs'")[0] == 0
    assert ev(df, "y = 'dropped'")[:2] == (1, s["m2"]) and ev(df, "z = 'dropped'")[:2] == (1, s["m2"])
    # the discarded branch changed y, but the merge kept main's y: it is alive at HEAD
    assert ev(df, "y = 0")[0] == 0 and rep["units_kept_by_merge"] == 1
    assert rep["merge_dropped_units"] == 2


def test_a_line_removed_on_a_branch_but_kept_by_the_merge_survives(tmp_path):
    r = Repo(tmp_path / "kept")
    r.lines("f.py", "keep = 1", "other = 2")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "side")
    r.lines("f.py", "other = 2")
    r.commit("s1", "Remove keep", 1)
    r.git("checkout", "-q", "main")
    r.git("merge", "-q", "-s", "ours", "--no-edit", "-m", "Ignore side", "side", when=BASE + 2 * DAY)
    df, rep = mine(r)
    check_head(r, df, rep)
    assert ev(df, "keep = 1")[0] == 0 and rep["units_kept_by_merge"] == 1


def test_simulated_history_agrees_with_blame(tmp_path):
    from studykit.studies.code_survival.reposim import RepoSimConfig, build_stream, write_repo

    path = write_repo(tmp_path / "sim", build_stream(3, 0, RepoSimConfig(n_commits=160)))
    repo = Repo.__new__(Repo)
    repo.path = path
    df, rep = mine(repo, tail=False)
    assert rep["merges"] > 10 and rep["head_unit_lines"] > 500
    check_head(repo, df, rep)


def test_a_duplicate_changed_later_on_its_branch_ends_there(tmp_path):
    r = Repo(tmp_path / "later")
    r.lines("a.py", "x = 1")
    r.commit("c1", "init", 0)
    r.git("branch", "release")
    r.lines("a.py", "x = 1", "guard = True")
    r.commit("main_g", "Add guard", 1)
    r.git("checkout", "-q", "release")
    r.lines("a.py", "x = 1", "guard = True")
    r.commit("rel_g", "Add guard on release", 2, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("m1", "release", "Merge release", 3)
    r.git("checkout", "-q", "release")
    r.lines("a.py", "x = 1", "guard = False")
    r.commit("rel_change", "Turn the guard off on release", 4, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("m2", "release", "Merge release again", 5)
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    # the release copy lived on in its branch and was changed there: an event at that commit; main's copy
    # is replaced when the change is merged
    assert evs(df, "guard = True") == [(s["main_g"], 1, s["m2"], 9.0), (s["rel_g"], 1, s["rel_change"], 9.0)]


def test_octopus_merge(tmp_path):
    r = Repo(tmp_path / "octo")
    r.lines("a.py", "a = 0")
    r.lines("b.py", "b = 0")
    r.lines("c.py", "c = 0")
    r.commit("c1", "init", 0)
    for i, (f, branch) in enumerate((("a.py", "ba"), ("b.py", "bb"), ("c.py", "bc"))):
        r.git("checkout", "-q", "-b", branch, r.shas["c1"])
        r.lines(f, f"{f[0]} = {i + 1}")
        r.commit(branch, f"Edit {f}", 1 + i, author=COPILOT if i == 1 else ("Hana Human", "hana@example.org"))
    r.git("checkout", "-q", "ba")
    r.git("merge", "-q", "--no-edit", "-m", "Octopus", "bb", "bc", when=BASE + 5 * DAY)
    assert len(r.git("rev-list", "--parents", "-n1", "HEAD").split()) == 4
    df, rep = mine(r)
    check_head(r, df, rep)
    assert [ev(df, t)[0] for t in ("a = 1", "b = 2", "c = 3")] == [0, 0, 0]
    assert ev(df, "b = 0")[:2] == (1, r.shas["bb"])


def test_a_parent_with_the_identical_file_gives_every_line_as_git_blame_does(tmp_path):
    """The branch changed a line and changed it back (the revert re-adds it as a new line) and edited
    another; the no-ff merge's file equals the branch's: its lines are the branch's, as git blame says."""
    r = Repo(tmp_path / "same")
    r.lines("f.py", "a = 1", "b = 2", "c = 3", "d = 4", "e = 5")
    r.commit("c1", "init", 0)
    r.git("checkout", "-q", "-b", "feature")
    r.lines("f.py", "a = 1", "b = 'x'", "c = 3", "d = 4", "e = 5")
    r.commit("x1", "Try b = x", 1, author=COPILOT)
    r.lines("f.py", "a = 1", "b = 2", "c = 3", "d = 4", "e = 'E'")
    r.commit("x2", "Back to b = 2, change e", 2, author=COPILOT)
    r.git("checkout", "-q", "main")
    r.merge("m", "feature", "Merge feature", 3)  # main did not move: the first parent is the merge base
    df, rep = mine(r)
    check_head(r, df, rep)
    s = r.shas
    assert evs(df, "b = 2") == [(s["c1"], 1, s["x1"], 9.0), (s["x2"], 0, "", 9.0)]
    assert rep["units_twice_in_head"] == 0 and rep["units_kept_by_merge"] == 0


def test_a_broken_head_invariant_becomes_a_data_issue():
    """Unit: a repository's miner report. A non-zero count of the HEAD invariant is a data issue naming the
    repository, the count and the files (the clean case, zero, is asserted by every history-shape test above)."""
    from studykit.studies.code_survival.load import mining_issues

    issues = {i.check: i for i in mining_issues([
        {"repo": "r", "line_count_mismatch": 3, "surviving_units_not_in_head": 2, "units_twice_in_head": 0,
         "details": {"line_count_mismatch": "a.py"}},
        {"repo": "s", "line_count_mismatch": 0}])}
    assert issues["mining_line_count_mismatch"].count == 3
    assert "r=3" in issues["mining_line_count_mismatch"].detail and "a.py" in issues["mining_line_count_mismatch"].detail
    assert issues["mining_surviving_units_not_in_head"].count == 2
    assert "mining_units_twice_in_head" not in issues and "s=" not in issues["mining_line_count_mismatch"].detail
