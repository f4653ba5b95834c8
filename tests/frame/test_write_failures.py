"""Writes that cannot succeed are one line and exit 2, with nothing left behind.

The cases of the second hardening audit that crashed: ``--out afile.txt/sub`` (a file in the path), an
empty mount point as ``--out`` (the whole run executed, then EBUSY at the swap and the temporary folder
was left), a full disk (ENOSPC) and a read-only file system (EROFS) for ``run``, ``report``,
``simulate`` and ``workshop init``. Real small file systems (``mount -t tmpfs``) are used when the tests
run as root; the same failures are also raised by monkeypatching the writes, so every case runs
everywhere.

Unit: one CLI invocation against one prepared path or file system.
"""
from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from studykit import cli

from studykit.files import folders

from studykit.runs import engine
from .test_folders import snapshot

NAME = "frame_fixture"


def _one_line_exit_2(capsys, *argv) -> str:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _everything(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.fixture
def mount(tmp_path):
    """``mount(name, size, read_only=False)``: a fresh tmpfs under ``tmp_path`` (root only), unmounted after."""
    made = []

    def make(name: str, size: str = "64k", read_only: bool = False) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        point = tmp_path / "mounts" / name
        point.mkdir(parents=True)
        opts = f"size={size}" + (",ro" if read_only else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
        made.append(point)
        return point

    yield make
    for point in made:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


# ------------------------------------------------------------------------------------------
# a file in the path
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", NAME, "--quiet", "--out"], ["report", "--out"], ["simulate", NAME, "--out"],
    ["workshop", "init"], ["sweep", NAME, "--grid", "GRID", "--quiet", "--out"],
])
def test_out_through_a_file_is_one_line(fixture_project, capsys, tmp_path, argv):
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    afile = tmp_path / "afile.txt"
    afile.write_text("mine\n")
    grid = tmp_path / "g.yaml"
    grid.write_text("headline: {estimate: x}\ngrid: {n_boot: [20]}\n")
    argv = [str(grid) if a == "GRID" else a for a in argv]
    msg = _one_line_exit_2(capsys, *argv, str(afile / "sub"))
    assert f"{afile} is a file, not a folder" in msg
    assert afile.read_text() == "mine\n" and _everything(tmp_path) == ["afile.txt", "g.yaml"]


# ------------------------------------------------------------------------------------------
# mount points
# ------------------------------------------------------------------------------------------
def test_an_empty_mount_point_is_refused_before_the_run_executes(fixture_project, capsys, mount, monkeypatch):
    mnt = mount("mnt", "4m")
    monkeypatch.setattr(engine, "execute_notebook", lambda *a, **k: pytest.fail("the run must not execute"))
    msg = _one_line_exit_2(capsys, "run", NAME, "--quiet", "--out", str(mnt))
    assert "mount point" in msg and str(mnt) in msg
    assert _everything(mnt) == [] and _everything(mnt.parent) == ["mnt"]
    msg = _one_line_exit_2(capsys, "report", "--out", str(mnt))
    assert "mount point" in msg and _everything(mnt) == []


def test_a_folder_inside_a_mount_point_is_fine(fixture_project, capsys, mount):
    mnt = mount("mnt", "16m")
    assert cli.main(["run", NAME, "--quiet", "--out", str(mnt / "run")]) == 0
    assert sorted(p.name for p in mnt.iterdir()) == ["run"]


def test_a_mount_point_is_refused_everywhere_a_folder_is_swapped(fixture_project, capsys, tmp_path, monkeypatch):
    """Unit: the same refusal without root (a folder reported as a mount point)."""
    tmp_path = tmp_path / "w"
    mnt = tmp_path / "mnt"
    mnt.mkdir(parents=True)
    real = os.path.ismount
    monkeypatch.setattr(folders.os.path, "ismount", lambda p: Path(p) == mnt or real(p))
    monkeypatch.setattr(engine, "execute_notebook", lambda *a, **k: pytest.fail("the run must not execute"))
    for argv in (["run", NAME, "--quiet", "--out", str(mnt)], ["report", "--out", str(mnt)]):
        assert "it is a mount point" in _one_line_exit_2(capsys, *argv)
    assert _everything(tmp_path) == ["mnt"]


# ------------------------------------------------------------------------------------------
# a full disk, a read-only file system (real tmpfs)
# ------------------------------------------------------------------------------------------
def test_run_on_a_full_disk_is_one_line_and_leaves_nothing(fixture_project, capsys, mount):
    full = mount("full", "64k")
    msg = _one_line_exit_2(capsys, "run", NAME, "--quiet", "--out", str(full / "run"))
    assert "no space left on the device" in msg and str(full / "run") in msg
    assert _everything(full) == []


@pytest.mark.parametrize("argv", [["report", "--out"], ["simulate", NAME, "--out"], ["workshop", "init"]])
def test_other_writers_on_a_full_disk_are_one_line(fixture_project, capsys, mount, argv):
    if argv[0] == "report":
        assert cli.main(["run", NAME, "--quiet"]) == 0
        capsys.readouterr()
    full = mount("full", "8k")
    msg = _one_line_exit_2(capsys, *argv, str(full / "out"))
    assert "no space left on the device" in msg and str(full / "out") in msg
    assert _everything(full) == [], "what was half written is removed"


@pytest.mark.parametrize("argv", [["run", NAME, "--quiet", "--out"], ["report", "--out"],
                                  ["simulate", NAME, "--out"], ["workshop", "init"]])
def test_a_read_only_file_system_is_refused_before_anything_runs(fixture_project, capsys, mount, monkeypatch, argv):
    ro = mount("ro", "1m", read_only=True)
    monkeypatch.setattr(engine, "execute_notebook", lambda *a, **k: pytest.fail("the run must not execute"))
    msg = _one_line_exit_2(capsys, *argv, str(ro / "out"))
    assert "read-only file system" in msg and str(ro) in msg


# ------------------------------------------------------------------------------------------
# the same failures raised by monkeypatching (no root needed)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code, text", [(errno.ENOSPC, "no space left on the device"),
                                        (errno.EROFS, "read-only file system")])
def test_a_failing_write_during_a_run_is_one_line_and_leaves_nothing(fixture_project, capsys, monkeypatch, code,
                                                                     text):
    """The notebook ran; writing the run's marker (the last write before the swap) fails."""
    real = folders._write_marker

    def failing(folder, data):
        if data.get("state") == "complete":
            raise OSError(code, os.strerror(code), str(folder / folders.MARKER))
        return real(folder, data)

    monkeypatch.setattr(folders, "_write_marker", failing)
    out = fixture_project.out()
    msg = _one_line_exit_2(capsys, "run", NAME, "--quiet")
    assert f"could not write run folder {out}: {text}" in msg
    assert not out.parent.exists() or _everything(out.parent) == []


@pytest.mark.parametrize("code, text", [(errno.ENOSPC, "no space left on the device"),
                                        (errno.EROFS, "read-only file system")])
def test_a_failing_write_of_the_report_is_one_line_and_keeps_the_old_site(fixture_project, capsys, monkeypatch,
                                                                         tmp_path, code, text):
    tmp_path = tmp_path / "w"
    site = tmp_path / "site"
    assert cli.main(["report", "--out", str(site)]) == 0
    capsys.readouterr()
    before = snapshot(site)
    from studykit.site import report
    def failing(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(site / "x.html"))

    monkeypatch.setattr(report, "_index_page", failing)
    msg = _one_line_exit_2(capsys, "report", "--out", str(site))
    assert f"could not write report site {site}: {text}" in msg
    assert snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"], "no temporary site left"


@pytest.mark.parametrize("code,text", [(errno.ENOSPC, "no space left on the device"),
                                       (errno.EROFS, "read-only file system")])
@pytest.mark.parametrize("argv", [["simulate", NAME, "--out"], ["workshop", "init"]])
def test_a_full_disk_in_simulate_and_workshop_init_is_one_line(fixture_project, capsys, monkeypatch, tmp_path, argv,
                                                                code, text):
    """Unit: one writer. A full disk or a read-only file system met while writing (faked, so it runs without
    root; the real tmpfs cases above need root) is one line and leaves nothing half written."""
    import shutil

    from studykit.files import fileio
    def full(*args, **kwargs):
        raise OSError(code, "fails", str(tmp_path / "w" / "out" / "x"))

    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.setattr(fileio, "atomic_path", full)
    monkeypatch.setattr(shutil, "copyfile", full)
    monkeypatch.setattr(fixture_project.module, "write_text_atomic", full, raising=False)
    msg = _one_line_exit_2(capsys, *argv, str(work / "out"))
    assert text in msg and str(work / "out") in msg
    assert _everything(work) == [], "what was half written is removed"


def test_a_full_disk_while_a_sweep_writes_its_table_is_one_line(fixture_project, capsys, monkeypatch, tmp_path):
    import studykit.sweep as sweep

    grid = tmp_path / "g.yaml"
    grid.write_text("headline: {estimate: diff.estimate}\ngrid: {n_boot: [20]}\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "sw" / "sweep.csv"))

    monkeypatch.setattr(sweep, "write_outputs", full)
    msg = _one_line_exit_2(capsys, "sweep", NAME, "--grid", str(grid), "--out", str(tmp_path / "sw"), "--quiet")
    assert msg == (f"studykit: error: could not write sweep folder {tmp_path / 'sw'}: no space left on the device: "
                   f"{tmp_path / 'sw' / 'sweep.csv'}")
