"""Dates that cannot be true (the future, before 1980, out of order) never stretch follow-up.

Unit: a git repository built in the test (real commits whose committer dates are set), or a line-events
table, or one commit-time sequence; each test checks the documented rule of `minetable` / `load` (the
repaired time, the reported count) and that no duration exceeds the span of the real dates.
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

from studykit.contract.errors import ParamError
from studykit.studies.code_survival import Params
from studykit.studies.code_survival.load import mining_issues, prepare_events
from studykit.studies.code_survival.minetable import DATE_FLOOR, parse_observation_end, repair_commit_times
from studykit.studies.code_survival.mining import mine_repositories

Y2099 = int(pd.Timestamp("2099-01-01", tz="UTC").timestamp())
Y1975 = int(pd.Timestamp("1975-06-01", tz="UTC").timestamp())


def commit_at(r: Repo, label: str, msg: str, epoch: int) -> str:
    r.git("add", "-A")
    r.git("commit", "-q", "--allow-empty", "-m", msg, when=epoch)
    r.shas[label] = r.git("rev-parse", "HEAD")
    return r.shas[label]


def history(tmp_path: Path, name: str, bad: dict[int, int] | None = None) -> Repo:
    """Five commits on days 0, 10, 20, 30, 40 (commit ``i`` dated ``bad[i]`` instead when given)."""
    r = Repo(tmp_path / name)
    bad = bad or {}
    for i in range(5):
        r.lines("a.py", *[f"v{j} = {j}" if j != i - 1 else f"v{j} = 'changed {i}'" for j in range(6)])
        r.lines(f"f{i}.py", f"file_{i} = {i}")
        commit_at(r, f"c{i}", f"Commit {i}", bad.get(i, BASE + 10 * i * DAY))
    return r


def report(df: pd.DataFrame) -> dict:
    return df.attrs["mining_report"][0]


def test_a_commit_dated_2099_does_not_move_the_observation_end(tmp_path):
    clean = mine_repositories([history(tmp_path, "clean").path], progress=False)
    df = mine_repositories([history(tmp_path, "future", {2: Y2099}).path], progress=False)
    rep = report(df)
    assert rep["future_dates"] == 1
    assert rep["observation_end"] == pd.Timestamp(BASE + 40 * DAY, unit="s", tz="UTC").isoformat().replace(
        "+00:00", "Z")
    assert df.duration_days.max() <= 40 and df.observed_until.max() == clean.observed_until.max()
    # the bad commit takes its parent's time (day 10): its lines are born then, nothing else changes
    assert (df.born_at.dt.year < 2030).all()
    row = df.set_index("text").loc["file_2 = 2"]
    assert row.born_at == pd.Timestamp(BASE + 10 * DAY, unit="s", tz="UTC")
    c2 = row.commit  # units born or ended by the bad commit move with it; every other duration is unchanged
    touched = df.commit.eq(c2) | df.end_commit.eq(c2)
    assert 0 < touched.sum() < len(df)
    assert (df.loc[~touched, "duration_days"].to_numpy()
            == pytest.approx(clean.loc[~touched.to_numpy(), "duration_days"].to_numpy()))
    issue = {i.check: i for i in mining_issues([rep])}["mining_future_dates"]
    assert issue.count == 1 and "2099-01-01" in issue.detail


def test_one_bad_repository_of_four(tmp_path):
    repos = [history(tmp_path, f"r{k}").path for k in range(3)] + [history(tmp_path, "r3", {4: Y2099}).path]
    df = mine_repositories(repos, progress=False)
    assert df.duration_days.max() <= 40  # was 27,537 days when the 2099 commit set the observation end
    assert [r["future_dates"] for r in df.attrs["mining_report"]] == [0, 0, 0, 1]
    ends = df.groupby("repo").observed_until.max()
    day = pd.Timestamp(BASE, unit="s", tz="UTC")
    assert ends.to_dict() == {"r0": day + pd.Timedelta(days=40), "r1": day + pd.Timedelta(days=40),
                              "r2": day + pd.Timedelta(days=40), "r3": day + pd.Timedelta(days=30)}


def test_head_dated_in_the_future_and_a_commit_before_1980(tmp_path):
    df = mine_repositories([history(tmp_path, "head", {4: Y2099, 2: Y1975}).path], progress=False)
    rep = report(df)
    assert rep["future_dates"] == 1 and rep["dates_before_floor"] == 1
    assert df.observed_until.max() == pd.Timestamp(BASE + 30 * DAY, unit="s", tz="UTC")  # HEAD -> its parent's time
    assert df.born_at.min() == pd.Timestamp(BASE, unit="s", tz="UTC")
    assert df.duration_days.min() >= 0 and df.duration_days.max() <= 30


def test_an_isolated_out_of_order_commit_is_moved_between_its_neighbours(tmp_path):
    # commit 2 dated a year before the repository's first commit: neither its parent nor its child agree
    df = mine_repositories([history(tmp_path, "ooo", {2: BASE - 365 * DAY}).path], progress=False)
    rep = report(df)
    assert rep["dates_out_of_order"] == 1 and rep["dates_before_floor"] == 0
    assert df.set_index("text").loc["file_2 = 2", "born_at"] == pd.Timestamp(BASE + 10 * DAY, unit="s", tz="UTC")
    assert df.duration_days.max() <= 40
    assert "largest shift 375.0 days" in {i.check: i for i in mining_issues([rep])}["mining_dates_out_of_order"].detail


def test_repair_rules_on_time_sequences():
    now = pd.Timestamp("2026-01-01", tz="UTC")
    chain = [[], [0], [1], [2], [3]]
    t = [str(x) for x in (1_500_000_000, 1_600_000_000, 9_999_999_999, 1_650_000_000, 1_700_000_000)]
    ct, counts, _ = repair_commit_times(t, chain, now)
    assert counts["future_dates"] == 1 and ct[2] == 1_600_000_000  # latest parent's time
    # a commit later than its child but before the run: moved to the child's time
    t = [str(x) for x in (1_000_000_000, 1_100_000_000, 1_700_000_000, 1_200_000_000, 1_300_000_000)]
    ct, counts, _ = repair_commit_times(t, chain, now)
    assert counts["dates_out_of_order"] == 1 and ct.tolist() == [1_000_000_000, 1_100_000_000, 1_200_000_000,
                                                                 1_200_000_000, 1_300_000_000]
    # small clock skew (child 5 s before its parent): both moved by at most 5 s, order restored
    t = [str(x) for x in (1_000_000_000, 1_000_000_100, 1_000_000_095, 1_000_000_200, 1_000_000_300)]
    ct, counts, det = repair_commit_times(t, chain, now)
    assert np.all(np.diff(ct) >= 0) and np.abs(ct - np.array([int(x) for x in t])).max() <= 5
    assert det["dates_out_of_order"] == "largest shift 5 s"
    # two bad commits in a row are not isolated: kept (no rule can tell which neighbour is right)
    t = [str(x) for x in (1_000_000_000, 1_700_000_000, 1_700_000_001, 1_200_000_000, 1_300_000_000)]
    ct, counts, _ = repair_commit_times(t, chain, now)
    assert counts["dates_out_of_order"] == 0
    # a root before 1980 takes the earliest valid time; nothing valid at all: one-line error
    ct, counts, _ = repair_commit_times(["12", "1000000000"], [[], [0]], now)
    assert counts["dates_before_floor"] == 1 and ct.tolist() == [1_000_000_000, 1_000_000_000]
    from studykit.contract.errors import InputError

    with pytest.raises(InputError, match="no commit has a valid timestamp"):
        repair_commit_times(["x", str(Y2099)], [[], [0]], now)


def test_observation_end_in_the_future_is_refused_everywhere(tmp_path):
    r = history(tmp_path, "obs")
    with pytest.raises(ParamError, match="after the time of the run"):
        mine_repositories([r.path], observation_end="2099-01-01", progress=False)
    with pytest.raises(ParamError, match="before 1980-01-01"):
        parse_observation_end("1970-01-02")
    with pytest.raises(Exception, match="after the time of the run"):
        Params(observation_end="2099-01-01")
    import datetime as dt

    assert Params(observation_end=dt.date(2024, 6, 1)).observation_end == "2024-06-01"  # YAML dates from --set
    exe = Path(sys.executable).parent / "studykit"
    res = subprocess.run([str(exe), "mine", str(r.path), "--out", str(tmp_path / "x.csv"), "--observation-end",
                          "2099-01-01", "--no-progress"], capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        f"studykit: error: --observation-end 2099-01-01 is after the time of the run "
        f"({pd.Timestamp.now(tz='UTC'):%Y-%m-%d}): lines cannot be followed into the future"]
    assert not (tmp_path / "x.csv").exists()


def test_observation_end_after_the_last_commit_is_kept_and_reported(tmp_path):
    r = history(tmp_path, "late")
    end = pd.Timestamp(BASE + 100 * DAY, unit="s", tz="UTC")
    df = mine_repositories([r.path], observation_end=end.isoformat(), progress=False)
    rep = report(df)
    assert rep["observation_end_after_last_commit"] == 1 and df.observed_until.max() == end
    issue = {i.check: i for i in mining_issues([rep])}["mining_observation_end_after_last_commit"]
    assert "late: 60.0 days" in issue.detail
    # the CLI prints the mining issues, one line each
    exe = Path(sys.executable).parent / "studykit"
    res = subprocess.run([str(exe), "mine", str(r.path), "--out", str(tmp_path / "x.csv"), "--observation-end",
                          end.isoformat(), "--no-progress"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "data issue mining_observation_end_after_last_commit 1:" in res.stderr


def _own_table() -> pd.DataFrame:
    rows = []
    for repo in ("r1", "r2"):
        for i in range(6):
            agent = i % 2 == 0
            rows.append({"unit_id": f"u{i}", "repo": repo, "path": "a.py", "commit": f"c{i}",
                         "author_type": "agent" if agent else "human", "agent": "claude" if agent else "",
                         "born_at": f"2024-0{i + 1}-01T00:00:00Z", "ended_at": "2024-08-01T00:00:00Z" if i < 2 else "",
                         "event": int(i < 2), "end_intent": "", "text": f"x{i}",
                         "observed_until": "2024-12-31T00:00:00Z"})
    return pd.DataFrame(rows)


NOW = pd.Timestamp("2026-01-01", tz="UTC")


def test_own_data_observed_until_in_2099_is_capped():
    df = _own_table()
    clean, _ = prepare_events(df, now=NOW)
    df.loc[df.repo == "r2", "observed_until"] = "2099-01-01T00:00:00Z"
    out, issues = prepare_events(df, now=NOW)
    found = {i.check: i for i in issues}
    assert found["observed_until_capped"].count == 6 and "r2" in found["observed_until_capped"].detail
    r2 = out[out.repo == "r2"]
    assert (r2.observed_until == pd.Timestamp("2024-08-01", tz="UTC")).all()  # its latest born/ended
    assert out.duration_days.max() <= clean.duration_days.max()


def test_own_data_dates_before_1980_and_in_the_future():
    df = _own_table()
    df.loc[0, "born_at"] = "1970-01-01T00:00:00Z"
    df.loc[7, "born_at"] = "2099-03-01T00:00:00Z"
    df.loc[8, "observed_until"] = "1970-01-01T00:00:00Z"
    out, issues = prepare_events(df, now=NOW)
    found = {i.check: i.count for i in issues}
    assert found["dates_before_floor"] == 1 and found["future_dates"] == 1
    assert found["observed_until_before_floor"] == 1 and found["observed_until_inferred"] == 1
    assert len(out) == len(df) - 2 and out.born_at.min() >= DATE_FLOOR
    assert out.duration_days.max() < 400
