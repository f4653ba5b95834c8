"""No data loss: `studykit run` and `studykit report` never replace or delete a folder they did not write.

Each case puts a folder of precious files (``notebook.ipynb``, ``important.txt``, ``sub/thesis.tex``,
``index.html``) where studykit would write, and checks the one-line refusal (exit 2) and that every
file survives byte for byte. Unit: one CLI invocation against one prepared folder.
"""
from __future__ import annotations

from pathlib import Path

from studykit import cli, folders
from studykit.folders import RUN_MARKER

from .test_folders import make_precious, snapshot

NAME = "frame_fixture"


def _refused(capsys, *argv) -> str:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_run_out_refuses_a_users_folder(fixture_project, capsys, tmp_path):
    precious = tmp_path / "user" / "mine"
    before = make_precious(precious)
    msg = _refused(capsys, "run", NAME, "--out", str(precious), "--quiet")
    assert "refusing to replace" in msg and str(precious) in msg
    assert snapshot(precious) == before
    assert _names(precious.parent) == ["mine"], "no temporary folder or lock file beside it"


def test_report_out_refuses_a_users_folder_with_an_index_html(fixture_project, capsys, tmp_path):
    precious = tmp_path / "user" / "site"
    before = make_precious(precious)
    msg = _refused(capsys, "report", "--out", str(precious))
    assert "refusing to replace" in msg and ".studykit-site" in msg
    assert snapshot(precious) == before
    assert _names(precious.parent) == ["site"]


def test_a_failed_sibling_that_is_a_file_or_a_users_folder_is_refused_before_running(fixture_project, capsys):
    parent = fixture_project.out().parent
    parent.mkdir(parents=True)
    as_file = parent / "default.failed"
    as_file.write_bytes(b"my notes, not a folder\n")
    msg = _refused(capsys, "run", NAME, "--quiet")
    assert "default.failed" in msg and "is a file" in msg
    assert as_file.read_bytes() == b"my notes, not a folder\n"
    assert _names(parent) == ["default.failed"]

    as_file.unlink()
    before = make_precious(as_file)
    msg = _refused(capsys, "run", NAME, "--quiet")
    assert "default.failed" in msg and "studykit did not write it" in msg
    assert snapshot(as_file) == before
    assert _names(parent) == ["default.failed"]


def test_next_run_removes_a_killed_runs_temp_folder_and_keeps_a_users(fixture_project, capsys):
    final = fixture_project.out()
    killed = folders.temp_dir_beside(final, RUN_MARKER, {"study": NAME, "profile": "default"})
    (killed / "tables").mkdir()
    (killed / "tables" / "half.csv").write_text("a\n")
    users = final.parent / ".default.tmp-users-own"
    before = make_precious(users)
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    assert _names(final.parent) == [".default.tmp-users-own", "default"]
    assert snapshot(users) == before
    assert folders.read_marker(final) == {"study": NAME, "profile": "default"}


def test_simulate_out_refuses_a_users_folder_and_rewrites_its_own(capsys, tmp_path):
    """`studykit simulate --out DIR` writes only into a new or empty folder or one a simulator wrote (every
    file listed in its SHA256SUMS); a user's folder with a file of the same name as a simulated one is
    refused and kept byte for byte, also with 'all' (checked before any study is written)."""
    precious = tmp_path / "user" / "mine"
    make_precious(precious)
    (precious / "line_events_sim.csv").write_text("my own line events\n")
    before = snapshot(precious)
    msg = _refused(capsys, "simulate", "code_survival", "--out", str(precious))
    assert "refusing to write simulated data" in msg and str(precious) in msg
    assert snapshot(precious) == before
    (tmp_path / "all" / "sycophancy_correlation").mkdir(parents=True)
    (tmp_path / "all" / "sycophancy_correlation" / "personas.csv").write_text("mine\n")
    _refused(capsys, "simulate", "all", "--out", str(tmp_path / "all"))
    assert _names(tmp_path / "all") == ["sycophancy_correlation"], "nothing written for the other studies"
    own = tmp_path / "sim"
    for _ in range(2):  # new folder, then the folder the simulator wrote
        assert cli.main(["simulate", "code_survival", "--out", str(own)]) == 0
    assert folders.simulator_wrote(own) and (own / "line_events_sim.csv").is_file()
