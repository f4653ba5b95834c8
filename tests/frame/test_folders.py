"""studykit's one folder rule: listed markers, refusal, the swap re-check, stale siblings, lock files.

Unit: one folder operation of :mod:`studykit.files.folders` on a temporary tree (no notebook is executed here).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from studykit.files import folders
from studykit.contract.errors import ParamError
from studykit.files.folders import MARKER, FolderRefused, check_folder

PRECIOUS = {"notebook.ipynb": b'{"cells": []}', "important.txt": b"do not lose me\n",
            "sub/thesis.tex": b"\\chapter{Years of work}\n", "index.html": b"<p>mine</p>"}


def make_precious(folder: Path) -> dict[str, str]:
    for rel, data in PRECIOUS.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file (links as their target text) under ``folder``, by relative path."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        elif p.is_dir() and not any(p.iterdir()):
            out[rel + "/"] = "empty folder"
    return out


def built(target: Path, kind: str = "run", files: dict[str, str] | None = None) -> Path:
    """A folder as a ``kind`` writer leaves it: built beside ``target``, sealed, swapped in."""
    tmp = folders.temp_dir_beside(target, kind)
    for rel, text in (files or {"results.json": "{}\n", "tables/t.csv": "a\n1\n"}).items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
    folders.seal(tmp, kind)
    folders.replace_dir(tmp, target, kind)
    return target


def test_refusals_name_the_folder_in_one_line_and_touch_nothing(tmp_path):
    """Unit: one candidate target per kind of refusal (user folder, file, link, path through a file, other kind)."""
    user = tmp_path / "user"
    before = make_precious(user)
    with pytest.raises(FolderRefused, match="studykit did not write it") as info:
        check_folder(user, "run")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"refusing to write into {user} (run folder): ")
    assert msg.endswith("nothing was changed") or "nothing was changed" in msg
    assert "important.txt" in msg, "an example file is named"
    assert snapshot(user) == before

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(FolderRefused, match="it is a file"):
        check_folder(plain, "site")
    with pytest.raises(FolderRefused, match=f"{plain} is a file, not a folder"):
        check_folder(plain / "sub", "run")
    link = tmp_path / "link"
    link.symlink_to(user)
    with pytest.raises(FolderRefused, match="symbolic link"):
        check_folder(link, "sweep")
    empty_target = tmp_path / "empty-target"
    empty_target.mkdir()
    (tmp_path / "link-to-empty").symlink_to(empty_target)
    with pytest.raises(FolderRefused, match="symbolic link"):
        check_folder(tmp_path / "link-to-empty", "sweep")
    site = built(tmp_path / "site", "site")
    with pytest.raises(FolderRefused, match="as a report site, not as a run folder"):
        check_folder(site, "run")

    assert check_folder(tmp_path / "absent", "run").state == "new"
    (tmp_path / "empty").mkdir()
    assert check_folder(tmp_path / "empty", "run").state == "empty"
    assert check_folder(site, "site").state == "owned"


@pytest.mark.parametrize("only", [".git/config", ".env", ".DS_Store"])
def test_a_folder_of_dot_files_is_not_empty(tmp_path, only):
    """Unit: one folder holding only a dot-file, for every writer kind."""
    folder = tmp_path / "f"
    (folder / only).parent.mkdir(parents=True)
    (folder / only).write_text("secret=1\n")
    before = snapshot(folder)
    for kind in folders.KINDS:
        with pytest.raises(FolderRefused):
            check_folder(folder, kind)
    assert snapshot(folder) == before


def test_a_copied_marker_does_not_license_a_users_folder(tmp_path):
    """Unit: a real run's marker copied into a user's folder of notes, data and dot-files."""
    run = built(tmp_path / "run")
    user = tmp_path / "user"
    make_precious(user)
    (user / "notes.txt").write_text("notes\n")
    (user / "sub").mkdir(exist_ok=True)
    (user / "sub" / "data.csv").write_text("x\n1\n")
    (user / ".hidden").write_text("h\n")
    (user / MARKER).write_bytes((run / MARKER).read_bytes())
    before = snapshot(user)
    with pytest.raises(FolderRefused, match="which studykit did not write"):
        check_folder(user, "run", replace=True)
    assert snapshot(user) == before
    bare = tmp_path / "bare"  # a marker without any listing licenses nothing either
    bare.mkdir()
    (bare / "notes.txt").write_text("n\n")
    (bare / MARKER).write_text(json.dumps({"kind": "run"}))
    with pytest.raises(FolderRefused, match="notes.txt"):
        check_folder(bare, "run")


@pytest.mark.parametrize("extra", ["my_notes.md", "my_plots/", "tables/mine.csv", ".hidden", "link"])
def test_a_user_file_added_to_a_real_run_folder_stops_the_next_replacement(tmp_path, extra):
    """Unit: one run folder with one thing a user added; check and swap both refuse and keep everything."""
    run = built(tmp_path / "run")
    if extra == "link":
        (run / "link").symlink_to(tmp_path)
    elif extra.endswith("/"):
        (run / extra).mkdir()
    else:
        (run / extra).write_text("mine\n")
    before = snapshot(run)
    with pytest.raises(FolderRefused, match="which studykit did not write"):
        check_folder(run, "run", replace=True)
    new = folders.temp_dir_beside(run, "run")
    folders.seal(new, "run")
    with pytest.raises(FolderRefused):
        folders.replace_dir(new, run, "run")
    assert snapshot(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [new.name, "run"], "no .old- folder is left"


def test_the_swap_checks_again_and_keeps_a_file_saved_meanwhile(tmp_path):
    """Unit: ownership checked before a long job, a user file saved during it, the swap at the end."""
    run = built(tmp_path / "run")
    check_folder(run, "run", replace=True)
    new = folders.temp_dir_beside(run, "run")
    (new / "results.json").write_text('{"new": 1}\n')
    folders.seal(new, "run")
    (run / "saved-while-running.txt").write_text("keep me\n")
    before = snapshot(run)
    with pytest.raises(FolderRefused, match="saved-while-running.txt"):
        folders.replace_dir(new, run, "run")
    assert snapshot(run) == before


def test_replace_dir_swaps_deletes_only_listed_files_and_rolls_back(tmp_path, monkeypatch):
    """Unit: one swap that succeeds and one whose second rename fails."""
    target = built(tmp_path / "out", files={"old.txt": "old", "tables/t.csv": "a\n"})
    new = folders.temp_dir_beside(target, "run")
    (new / "new.txt").write_text("new")
    folders.seal(new, "run")
    folders.replace_dir(new, target, "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "new.txt").read_text() == "new" and not (target / "old.txt").exists()
    assert folders.read_marker(target)["files"] == ["new.txt"]

    newer = folders.temp_dir_beside(target, "run")
    folders.seal(newer, "run")
    real_replace = os.replace

    def failing(src, dst):
        if Path(src) == newer:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(folders.os, "replace", failing)
    with pytest.raises(OSError):
        folders.replace_dir(newer, target, "run")
    assert (target / "new.txt").read_text() == "new", "the previous folder is renamed back"


def test_delete_owned_leaves_what_was_not_listed(tmp_path):
    """Unit: one owned folder in which a user file appeared after the last check (the race at deletion)."""
    target = built(tmp_path / "out", files={"a.txt": "a", "tables/t.csv": "t"})
    (target / "tables" / "late.csv").write_text("mine")
    assert folders.delete_owned(target) == ["tables"]
    assert snapshot(target) == {"tables/late.csv": hashlib.sha256(b"mine").hexdigest()}


def test_nested_studykit_folders_follow_their_own_listing(tmp_path):
    """Unit: a report site inside a run folder (``studykit report RUN_FOLDER``), then a user file inside it."""
    run = built(tmp_path / "run")
    built(run / "site", "site", {"index.html": "<p>site</p>"})
    check_folder(run, "run", replace=True)
    (run / "site" / "mine.txt").write_text("mine")
    with pytest.raises(FolderRefused, match="site/mine.txt"):
        check_folder(run, "run", replace=True)


def test_a_mount_point_is_refused_before_work_for_writers_that_swap(tmp_path, monkeypatch):
    """Unit: one empty folder reported as a mount point (a mount point cannot be renamed)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(folders.os.path, "ismount", lambda p: Path(p) == mnt or real(p))
    for kind in ("run", "site", "cache"):
        with pytest.raises(FolderRefused, match="mount point"):
            check_folder(mnt, kind, replace=True)
    assert check_folder(mnt, "data").state == "empty", "writers that write in place may use a mount point"


def test_a_read_only_parent_is_refused_before_work(tmp_path, monkeypatch):
    """Unit: one target whose parent cannot be written (read-only file system or permissions)."""
    real = os.access
    monkeypatch.setattr(folders.os, "access", lambda p, mode: False if Path(p) == tmp_path else real(p, mode))
    with pytest.raises(FolderRefused, match="cannot be written"):
        check_folder(tmp_path / "out", "run", replace=True)


def test_stale_siblings_of_a_killed_run_are_cleaned_and_user_folders_kept(tmp_path):
    """Unit: the siblings of one target after a process died mid-run and mid-swap."""
    target = tmp_path / "default"
    stale_tmp = folders.temp_dir_beside(target, "run")
    (stale_tmp / "tables").mkdir()
    user_tmp = tmp_path / ".default.tmp-mine"
    user_tmp.mkdir()
    before = make_precious(user_tmp)
    # the process died between the two renames: the last good folder is only the old sibling
    old = tmp_path / ".default.old-1-2"
    old.mkdir()
    (old / "results.json").write_text("{}\n")
    folders.seal(old, "run", {"study": "s", "profile": "default"})

    removed = folders.remove_stale_siblings(target, "run")
    assert removed == [stale_tmp]
    assert (target / "results.json").read_text() == "{}\n", "the renamed-away folder is put back"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".default.tmp-mine", "default"]
    assert snapshot(user_tmp) == before


def test_lock_file_is_removed_on_release_and_not_when_it_is_not_ours(tmp_path):
    """Unit: one lock taken and released twice."""
    target = tmp_path / "out"
    with folders.folder_lock(target):
        assert folders.lock_path(target).exists()
    with folders.folder_lock(target):
        pass
    assert list(tmp_path.iterdir()) == []
    folders.lock_path(target).write_text("someone's notes")
    with folders.folder_lock(target):
        pass
    assert folders.lock_path(target).read_text() == "someone's notes"


def test_building_dir_refuses_a_folder_it_did_not_write_and_replaces_its_own(tmp_path):
    """Unit: one generated cache folder over a user's folder, then over its own, then with a user file in it."""
    target = tmp_path / "gen"
    before = make_precious(target)
    with pytest.raises(ParamError):
        with folders.building_dir(target) as tmp:
            (tmp / "x").write_text("1")
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]
    other = tmp_path / "gen2"
    for value in ("1", "2"):
        with folders.building_dir(other) as tmp:
            (tmp / "x").write_text(value)
    assert (other / "x").read_text() == "2"
    (other / "mine.txt").write_text("mine")
    with pytest.raises(FolderRefused, match="mine.txt"):
        with folders.building_dir(other) as tmp:
            (tmp / "x").write_text("3")
    assert (other / "x").read_text() == "2" and (other / "mine.txt").read_text() == "mine"


def test_keeping_a_failed_run_never_replaces_a_users_file_and_leaves_no_temp(tmp_path):
    """Unit: one failed run whose ``.failed`` sibling became a user's file after the run started."""
    from studykit.runs.runfolder import keep_failed

    final = tmp_path / "default"
    tmp = folders.temp_dir_beside(final, "run")
    (tmp / "notebook.ipynb").write_text("{}")
    users = tmp_path / "default.failed"
    users.write_bytes(b"my notes\n")
    with pytest.raises(ParamError, match="is a file"):
        keep_failed(tmp, final, "boom")
    assert users.read_bytes() == b"my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.failed"]


def test_os_errors_become_one_line_naming_the_path():
    """Unit: the text of the errors a full or read-only disk raises."""
    assert folders.os_error_text(OSError(28, "No space left on device", "/x/y")) == \
        "no space left on the device: /x/y"
    assert folders.os_error_text(OSError(30, "Read-only file system", "/ro")) == "read-only file system: /ro"
    with pytest.raises(ParamError, match=r"could not write run folder /out: no space left on the device: /out/t"):
        with folders.writing("/out", "run"):
            raise OSError(28, "No space left on device", "/out/t")


def test_a_desktops_view_settings_inside_an_owned_folder_do_not_stop_it(tmp_path):
    """Unit: one run folder a file manager showed (``.DS_Store``), then replaced; a Jupyter checkpoint (a copy
    of the user's edits) still stops the replacement."""
    run = built(tmp_path / "run")
    (run / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (run / "tables" / "Thumbs.db").write_bytes(b"thumbs")
    check_folder(run, "run", replace=True)
    new = folders.temp_dir_beside(run, "run")
    (new / "results.json").write_text("{}\n")
    folders.seal(new, "run")
    folders.replace_dir(new, run, "run")
    assert sorted(p.name for p in run.iterdir()) == [MARKER, "results.json"]
    (run / ".ipynb_checkpoints").mkdir()
    (run / ".ipynb_checkpoints" / "notebook-checkpoint.ipynb").write_text("{}")
    with pytest.raises(FolderRefused, match=".ipynb_checkpoints/"):
        check_folder(run, "run", replace=True)
