"""No data loss: every studykit writer replaces or deletes only files it listed as its own.

Each case puts a user's files where a writer would write (``run``, ``report``, ``sweep``, ``simulate``,
``workshop init``, the docs site, the offline bundle) and checks the one-line refusal (exit 2) and that
every user file survives byte for byte (SHA-256 of every file before and after). The six data-loss cases
of the second hardening audit are here, with their neighbours.

Unit: one CLI invocation (or one writer call) against one prepared folder.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from studykit import cli

from studykit.files import folders

from studykit.runs import engine
from studykit.files.folders import MARKER

from .test_folders import make_precious, snapshot

NAME = "frame_fixture"
ROOT = Path(__file__).resolve().parents[2]


def _refused(capsys, *argv) -> str:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("studykit: error: "), lines[0]
    return lines[0]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _user_folder(folder: Path, marker_from: Path | None = None) -> dict[str, str]:
    """A user's folder: notes, a data file in a sub-folder, a dot-file (and a copied studykit marker)."""
    make_precious(folder)
    (folder / "notes.txt").write_text("my notes\n")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "data.csv").write_text("x\n1\n")
    (folder / ".hidden").write_text("secret\n")
    if marker_from is not None:
        (folder / MARKER).write_bytes((marker_from / MARKER).read_bytes())
    return snapshot(folder)


# ------------------------------------------------------------------------------------------
# run
# ------------------------------------------------------------------------------------------
def test_run_out_refuses_a_users_folder(fixture_project, capsys, tmp_path):
    precious = tmp_path / "user" / "mine"
    before = make_precious(precious)
    msg = _refused(capsys, "run", NAME, "--out", str(precious), "--quiet")
    assert f"refusing to write into {precious} (run folder)" in msg and "important.txt" in msg
    assert snapshot(precious) == before
    assert _names(precious.parent) == ["mine"], "no temporary folder or lock file beside it"


def test_a_copied_run_marker_does_not_license_replacing_a_users_folder(fixture_project, capsys, tmp_path):
    """Data-loss case 1: a real run's .studykit.json copied into a folder of notes.txt, sub/data.csv, .hidden."""
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    user = tmp_path / "user"
    before = _user_folder(user, marker_from=fixture_project.out())
    msg = _refused(capsys, "run", NAME, "--out", str(user), "--quiet", "--force")
    assert "which studykit did not write" in msg
    assert snapshot(user) == before


def test_user_files_added_inside_a_real_run_folder_survive_the_next_run(fixture_project, capsys):
    """Data-loss case 2: my_notes.md and my_plots/ added inside a run folder; the next executed run refuses
    (naming one of them) and keeps them, the outputs and the folder as they were."""
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    out = fixture_project.out()
    (out / "my_notes.md").write_text("# what I saw\n")
    (out / "my_plots").mkdir()
    (out / "my_plots" / "p.png").write_bytes(b"\x89PNG mine")
    before = snapshot(out)
    msg = _refused(capsys, "run", NAME, "--quiet", "--force")
    assert "my_notes.md" in msg or "my_plots" in msg
    assert snapshot(out) == before
    assert _names(out.parent) == ["default"]
    (out / "my_notes.md").unlink()
    (out / "my_plots" / "p.png").unlink()
    (out / "my_plots").rmdir()
    assert cli.main(["run", NAME, "--quiet", "--force"]) == 0, "once moved out, the run replaces its folder"


def test_a_file_saved_into_the_out_folder_while_the_run_executes_survives(fixture_project, capsys, monkeypatch):
    """Data-loss case 3: ownership is checked again at the swap; the file saved meanwhile stops it, the old
    outputs stay, the new results are discarded and no temporary folder is left."""
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    out = fixture_project.out()
    real = engine.execute_notebook

    def save_meanwhile(*args, **kwargs):
        (out / "saved-during-run.txt").write_text("important, written while the run executed\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "execute_notebook", save_meanwhile)
    old_results = (out / "results.json").read_bytes()
    msg = _refused(capsys, "run", NAME, "--quiet", "--force")
    assert "saved-during-run.txt" in msg and "changed while the run executed" in msg
    assert (out / "saved-during-run.txt").read_text() == "important, written while the run executed\n"
    assert (out / "results.json").read_bytes() == old_results
    assert _names(out.parent) == ["default"]


def test_a_params_file_named_like_a_profile_gets_its_own_folder(fixture_project, capsys, tmp_path):
    """Data-loss case 6: --params ~/x/small.yaml (the stem of a profile) never writes outputs/<study>/small/."""
    assert cli.main(["run", NAME, "--profile", "small", "--quiet"]) == 0
    capsys.readouterr()
    profile_run = snapshot(fixture_project.out("small"))
    mine = tmp_path / "x" / "small.yaml"
    mine.parent.mkdir()
    mine.write_text(f"data_file: {fixture_project.data}\nn_boot: 30\n")
    assert cli.main(["run", NAME, "--params", str(mine), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert snapshot(fixture_project.out("small")) == profile_run
    made = [p.name for p in (fixture_project.outputs / NAME).iterdir() if p.name.startswith("params-small+")]
    assert len(made) == 1 and f"{NAME}/{made[0]} (--params {mine})" in out
    other = tmp_path / "y" / "small.yaml"  # same name elsewhere: its own folder too
    other.parent.mkdir()
    other.write_text(mine.read_text())
    assert cli.main(["run", NAME, "--params", str(other), "--quiet"]) == 0
    assert len([p for p in (fixture_project.outputs / NAME).iterdir() if p.name.startswith("params-small+")]) == 2


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
    killed = folders.temp_dir_beside(final, "run", {"study": NAME, "profile": "default"})
    (killed / "tables").mkdir()
    (killed / "tables" / "half.csv").write_text("a\n")
    users = final.parent / ".default.tmp-users-own"
    before = make_precious(users)
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    assert _names(final.parent) == [".default.tmp-users-own", "default"]
    assert snapshot(users) == before
    marker = folders.read_marker(final)
    assert marker["kind"] == "run" and (marker["study"], marker["profile"]) == (NAME, "default")
    listed = set(marker["files"])
    assert {"manifest.json", "notebook.ipynb", "results.json", "tables/data_issues.csv"} <= listed
    assert folders.unlisted(final) is None


# ------------------------------------------------------------------------------------------
# report, docs site
# ------------------------------------------------------------------------------------------
def test_report_out_refuses_a_users_folder_with_an_index_html(fixture_project, capsys, tmp_path):
    precious = tmp_path / "user" / "site"
    before = make_precious(precious)
    msg = _refused(capsys, "report", "--out", str(precious))
    assert f"refusing to write into {precious} (report site)" in msg and MARKER in msg
    assert snapshot(precious) == before
    assert _names(precious.parent) == ["site"]


def test_report_refuses_its_own_site_once_a_user_file_is_in_it(fixture_project, capsys, tmp_path):
    site = tmp_path / "site"
    assert cli.main(["report", "--out", str(site)]) == 0
    capsys.readouterr()
    (site / "my_comments.html").write_text("<p>mine</p>")
    before = snapshot(site)
    msg = _refused(capsys, "report", "--out", str(site))
    assert "my_comments.html" in msg
    assert snapshot(site) == before


def test_docs_site_refuses_a_users_folder(tmp_path):
    from studykit.site.docsite import build_docs_site
    from studykit.contract.errors import ParamError

    precious = tmp_path / "docs"
    before = make_precious(precious)
    with pytest.raises(ParamError, match="documentation site"):
        build_docs_site(precious)
    assert snapshot(precious) == before


# ------------------------------------------------------------------------------------------
# sweep
# ------------------------------------------------------------------------------------------
GRID = {"headline": {"estimate": "diff.estimate"}, "grid": {"n_boot": [20]},
        "specifications": [{"name": "data", "set": {"n_boot": 30}}]}


def _grid(tmp_path: Path) -> Path:
    p = tmp_path / "grid.yaml"
    p.write_text(yaml.safe_dump(GRID), encoding="utf-8")
    return p


@pytest.mark.parametrize("shape", ["sweep.json", "point-folder", "data-spec-project", "dot-files", "copied-marker"])
def test_sweep_out_refuses_folders_that_only_look_like_a_sweep(fixture_project, capsys, tmp_path, shape):
    """Data-loss case 4: a folder holding a file named sweep.json, a sub-folder named like a grid point, a
    project folder where a specification named 'data' would overwrite index.html and delete speccurve.png,
    only dot-files, or a copied sweep marker: each refused, every file kept."""
    folder = tmp_path / "user_project"
    folder.mkdir()
    if shape == "sweep.json":
        (folder / "sweep.json").write_text('{"mine": true}\n')
        (folder / "notes.txt").write_text("n\n")
    elif shape == "point-folder":
        (folder / "n_boot-20").mkdir()
        (folder / "n_boot-20" / "thesis.tex").write_text("\\section{x}\n")
    elif shape == "data-spec-project":
        (folder / "index.html").write_text("<p>my project page</p>")
        (folder / "speccurve.png").write_bytes(b"\x89PNG my figure")
        (folder / "data").mkdir()
        (folder / "data" / "raw.csv").write_text("a\n1\n")
    elif shape == "dot-files":
        (folder / ".git").mkdir()
        (folder / ".git" / "config").write_text("[core]\n")
        (folder / ".env").write_text("TOKEN=1\n")
    else:
        (folder / "index.html").write_text("<p>mine</p>")
        folders.seal(folder, "sweep", files=["sweep.csv"])
    before = snapshot(folder)
    msg = _refused(capsys, "sweep", NAME, "--grid", str(_grid(tmp_path)), "--out", str(folder), "--quiet")
    assert f"refusing to write into {folder} (sweep folder)" in msg
    assert snapshot(folder) == before


def test_sweep_out_refuses_a_link_to_an_empty_folder(fixture_project, capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "link").symlink_to(empty)
    msg = _refused(capsys, "sweep", NAME, "--grid", str(_grid(tmp_path)), "--out", str(tmp_path / "link"),
                   "--quiet")
    assert "symbolic link" in msg
    assert _names(empty) == []
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link").resolve() == empty.resolve()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [], "no temporary or lock file"


def test_grid_points_may_not_be_named_like_the_sweeps_own_files(fixture_project, capsys, tmp_path):
    g = tmp_path / "bad.yaml"
    g.write_text(yaml.safe_dump({"headline": {"estimate": "x"}, "specifications": [
        {"name": "index.html", "set": {"n_boot": 20}}]}))
    assert "may not be named 'index.html'" in _refused(capsys, "sweep", NAME, "--grid", str(g), "--quiet")


# ------------------------------------------------------------------------------------------
# simulate
# ------------------------------------------------------------------------------------------
def test_simulate_out_does_not_trust_a_sha256sums_that_lists_a_users_file(capsys, tmp_path):
    """Data-loss case 5: the user's own folder with a SHA256SUMS listing their personas.csv (as
    `sha256sum * > SHA256SUMS` writes it) is refused; without the simulator's marker a listing proves nothing."""
    import hashlib

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "personas.csv").write_text("model,persona_id,agreeableness\nm,p1,3.2\n")
    digest = hashlib.sha256((mine / "personas.csv").read_bytes()).hexdigest()
    (mine / "SHA256SUMS").write_text(f"{digest}  personas.csv\n")
    before = snapshot(mine)
    msg = _refused(capsys, "simulate", "sycophancy_correlation", "--out", str(mine))
    assert f"refusing to write into {mine} (simulated data folder)" in msg
    assert snapshot(mine) == before


def test_simulate_out_refuses_a_users_folder_and_rewrites_its_own(capsys, tmp_path):
    """Every target is checked before any study is written; the simulator's own folder is rewritten, and a
    user file added to it stops the next simulate."""
    precious = tmp_path / "user" / "mine"
    make_precious(precious)
    (precious / "line_events_sim.csv").write_text("my own line events\n")
    before = snapshot(precious)
    msg = _refused(capsys, "simulate", "code_survival", "--out", str(precious))
    assert "simulated data folder" in msg and str(precious) in msg
    assert snapshot(precious) == before
    (tmp_path / "all" / "sycophancy_correlation").mkdir(parents=True)
    (tmp_path / "all" / "sycophancy_correlation" / "personas.csv").write_text("mine\n")
    _refused(capsys, "simulate", "all", "--out", str(tmp_path / "all"))
    assert _names(tmp_path / "all") == ["sycophancy_correlation"], "nothing written for the other studies"
    own = tmp_path / "sim"
    runs = []
    for _ in range(2):  # new folder, then the folder the simulator wrote
        assert cli.main(["simulate", "code_survival", "--out", str(own)]) == 0
        runs.append(snapshot(own))
    assert runs[0] == runs[1], "rewritten in place, byte for byte"
    assert folders.read_marker(own)["files"] == ["SHA256SUMS", "line_events_sim.csv", "truth.json"]
    (own / "my_analysis.R").write_text("lm(y ~ x)\n")
    before = snapshot(own)
    assert "my_analysis.R" in _refused(capsys, "simulate", "code_survival", "--out", str(own))
    assert snapshot(own) == before


def test_the_committed_data_folders_are_simulator_folders():
    """Every data/<study>/ carries the simulator's marker listing exactly its files, so `studykit simulate
    STUDY` may rewrite it and nothing else."""
    for d in sorted((ROOT / "data").iterdir()):
        m = folders.read_marker(d)
        assert m["kind"] == "data" and m["study"] == d.name, d
        assert folders.unlisted(d) is None, d
        assert sorted(m["files"]) == sorted(p.name for p in d.iterdir() if p.name != MARKER), d


# ------------------------------------------------------------------------------------------
# workshop init, offline bundle
# ------------------------------------------------------------------------------------------
def test_workshop_init_refuses_a_file_a_link_and_a_path_through_a_file(capsys, tmp_path):
    (tmp_path / "afile.txt").write_text("mine\n")
    assert "is a file" in _refused(capsys, "workshop", "init", str(tmp_path / "afile.txt"))
    assert "afile.txt is a file, not a folder" in _refused(capsys, "workshop", "init",
                                                           str(tmp_path / "afile.txt" / "ws"))
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    assert "symbolic link" in _refused(capsys, "workshop", "init", str(tmp_path / "link"))
    assert (tmp_path / "afile.txt").read_text() == "mine\n" and _names(tmp_path / "target") == []


def test_offline_bundle_refuses_a_copied_marker_and_uses_the_shared_rule(tmp_path):
    """The bundle script checks its folder with studykit.files.folders without importing the studykit package (it
    runs before studykit is installed; it needs only pip, whose vendored packaging it uses)."""
    users = tmp_path / "mine"
    users.mkdir()
    (users / "INSTALL.txt").write_text("my own notes\n")
    folders.seal(users, "bundle", files=["pip-24.0-py3-none-any.whl"])
    before = snapshot(users)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "offline_bundle.py"), str(users)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "INSTALL.txt, which studykit did not write" in proc.stderr
    assert snapshot(users) == before
    assert json.loads((users / MARKER).read_text())["kind"] == "bundle"
