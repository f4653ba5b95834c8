"""studykit replaces only folders it wrote: markers, refusal, swap with rollback, stale siblings, lock files.

Unit: one folder operation on a temporary tree (no notebook is executed here).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from studykit import folders
from studykit.errors import ParamError
from studykit.folders import RUN_MARKER, SITE_MARKER
from studykit.runfolder import check_run_folders, written_before_markers

PRECIOUS = {"notebook.ipynb": b'{"cells": []}', "important.txt": b"do not lose me\n",
            "sub/thesis.tex": b"\\chapter{Years of work}\n", "index.html": b"<p>mine</p>"}


def make_precious(folder: Path) -> dict[str, bytes]:
    for rel, data in PRECIOUS.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return snapshot(folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_unmarked_non_empty_folders_files_and_links_are_refused(tmp_path):
    """Unit: one candidate target per kind (user folder, file, link, empty, marked, absent)."""
    user = tmp_path / "user"
    before = make_precious(user)
    with pytest.raises(ParamError, match="studykit did not write it") as info:
        folders.check_replaceable(user, RUN_MARKER, "output folder")
    assert "\n" not in str(info.value) and str(user) in str(info.value)
    assert snapshot(user) == before

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(ParamError, match="is a file"):
        folders.check_replaceable(plain, RUN_MARKER)
    link = tmp_path / "link"
    link.symlink_to(user)
    with pytest.raises(ParamError, match="symbolic link"):
        folders.check_replaceable(link, RUN_MARKER)

    (tmp_path / "empty").mkdir()
    folders.check_replaceable(tmp_path / "empty", RUN_MARKER)
    folders.check_replaceable(tmp_path / "absent", RUN_MARKER)
    marked = folders.temp_dir_beside(tmp_path / "marked", SITE_MARKER)
    folders.check_replaceable(marked, SITE_MARKER)
    with pytest.raises(ParamError):  # a site marker does not make a folder a run folder
        folders.check_replaceable(marked, RUN_MARKER)


def test_replace_dir_swaps_and_rolls_back(tmp_path, monkeypatch):
    """Unit: one swap that succeeds and one whose second rename fails."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new = folders.temp_dir_beside(target, RUN_MARKER)
    (new / "new.txt").write_text("new")
    folders.replace_dir(new, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "new.txt").read_text() == "new" and not (target / "old.txt").exists()

    newer = folders.temp_dir_beside(target, RUN_MARKER)
    real_replace = os.replace

    def failing(src, dst):
        if Path(src) == newer:
            raise OSError("disk on fire")
        return real_replace(src, dst)

    monkeypatch.setattr(folders.os, "replace", failing)
    with pytest.raises(OSError):
        folders.replace_dir(newer, target)
    assert (target / "new.txt").read_text() == "new", "the previous folder is renamed back"


def test_stale_siblings_of_a_killed_run_are_cleaned_and_user_folders_kept(tmp_path):
    """Unit: the siblings of one target after a process died mid-run and mid-swap."""
    target = tmp_path / "default"
    stale_tmp = folders.temp_dir_beside(target, RUN_MARKER)
    (stale_tmp / "tables").mkdir()
    user_tmp = tmp_path / ".default.tmp-mine"
    user_tmp.mkdir()
    before = make_precious(user_tmp)
    # the process died between the two renames: the last good folder is only the old sibling
    old = tmp_path / ".default.old-1-2"
    old.mkdir()
    folders.write_marker(old, RUN_MARKER, {"study": "s", "profile": "default"})
    (old / "results.json").write_text("{}\n")

    removed = folders.remove_stale_siblings(target, RUN_MARKER)
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


def test_building_dir_refuses_a_folder_it_did_not_write(tmp_path):
    """Unit: one generated cache folder over a user's folder, then over its own."""
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


def test_run_folders_of_older_versions_are_recognised_by_exact_content(tmp_path):
    """Unit: one unmarked run folder as an older studykit left it, then with a user's file added."""
    import json

    run = tmp_path / "default"
    (run / "tables").mkdir(parents=True)
    (run / "tables" / "t.csv").write_text("a\n1\n")
    (run / "results.json").write_text("{}\n")
    (run / "notebook.ipynb").write_text("{}")
    (run / "manifest.json").write_text(json.dumps({"study": "s", "run": {"cache_key": "k"}, "outputs": [
        {"path": "tables/t.csv"}, {"path": "results.json"}, {"path": "notebook.ipynb"}]}))
    assert written_before_markers(run)
    check_run_folders(run)
    (run / "important.txt").write_text("mine")
    assert not written_before_markers(run)
    with pytest.raises(ParamError):
        check_run_folders(run)


def test_keeping_a_failed_run_never_replaces_a_users_file_and_leaves_no_temp(tmp_path):
    """Unit: one failed run whose ``.failed`` sibling became a user's file after the run started."""
    from studykit.runfolder import keep_failed

    final = tmp_path / "default"
    tmp = folders.temp_dir_beside(final, RUN_MARKER)
    (tmp / "notebook.ipynb").write_text("{}")
    users = tmp_path / "default.failed"
    users.write_bytes(b"my notes\n")
    with pytest.raises(ParamError, match="is a file"):
        keep_failed(tmp, final, "boom")
    assert users.read_bytes() == b"my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.failed"]


def test_failed_folders_of_older_versions_are_recognised_by_exact_content(tmp_path):
    """Unit: one unmarked failed-run folder, then with a user's file added."""
    import nbformat

    failed = tmp_path / "default.failed"
    (failed / "tables").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["studykit"] = {"status": "failed", "error": "boom"}
    nbformat.write(nb, str(failed / "notebook.ipynb"))
    (failed / "FAILED.txt").write_text("boom\n")
    (failed / "tables" / "t.csv").write_text("a\n")
    assert written_before_markers(failed)
    (failed / "sub").mkdir()
    (failed / "sub" / "thesis.tex").write_text("mine")
    assert not written_before_markers(failed)


def test_building_dir_may_replace_an_unmarked_folder_inside_the_cache(tmp_path, monkeypatch):
    """Unit: one generated folder in the cache whose generator replaced the marker (a git clone)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("STUDYKIT_CACHE", str(cache))
    target = cache / "code_survival" / "bundles" / "abc" / "repo"
    target.mkdir(parents=True)
    (target / "half-cloned").write_text("x")
    with folders.building_dir(target) as tmp:
        (tmp / "cloned").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == [folders.CACHE_MARKER, "cloned"]
    with pytest.raises(ParamError):
        with folders.building_dir(cache) as tmp:  # the cache folder itself is not a generated folder
            pass
