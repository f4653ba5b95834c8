"""Runner: execution, output folder, cache hits and invalidation, --force, determinism, run_all."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studykit import runner
from studykit.errors import ParamError
from studykit.runner import run_all, run_study

NAME = "frame_fixture"


def _snapshot(folder: Path, patterns=("tables/*.csv", "results.json")) -> dict[str, bytes]:
    out = {}
    for pat in patterns:
        for p in sorted(folder.glob(pat)):
            out[p.relative_to(folder).as_posix()] = p.read_bytes()
    return out


def test_first_run_writes_a_complete_output_folder(fixture_project):
    res = run_study(NAME)
    assert res.status == "executed"
    out = fixture_project.out()
    assert res.out_dir == out
    for rel in ("notebook.ipynb", "manifest.json", "results.json", "tables/group_summary.csv",
                "tables/group_summary.tex", "tables/group_summary.html", "figures/bootstrap.png",
                "figures/bootstrap.svg", "tables/data_issues.csv"):
        assert (out / rel).is_file(), rel
    # no temporary or lock folders left behind except the lock file
    leftovers = [p.name for p in out.parent.iterdir() if p.name not in ("default", ".default.lock")]
    assert leftovers == []

    man = json.loads((out / "manifest.json").read_text())
    assert man["study"] == NAME
    assert man["run"]["cache_key"] == res.cache_key
    assert man["run"]["profile"] == "default"
    assert man["parameters"]["n_boot"] == 200
    assert man["seeds"] == {"seed": 20240601}
    assert man["inputs"][0]["key"] == "data_file"
    assert man["inputs"][0]["sha256"] == runner.sha256_file(fixture_project.data)
    assert set(man["git"]) == {"commit", "dirty"}
    assert man["environment"]["python"]
    paths_in_manifest = {e["path"] for e in man["outputs"]}
    assert {"notebook.ipynb", "results.json", "tables/group_summary.csv", "figures/bootstrap.png"} <= paths_in_manifest
    for e in man["outputs"]:
        assert e["sha256"] == runner.sha256_file(out / e["path"]), e["path"]

    # every table/figure is traced to the committed notebook's cell that wrote it
    by_path = {e["path"]: e for e in man["outputs"]}
    assert by_path["tables/group_summary.csv"]["source_cell"] == 5
    assert by_path["figures/bootstrap.png"]["source_cell"] == 8
    nb = json.loads((out / "notebook.ipynb").read_text())
    cell = nb["cells"][by_path["tables/group_summary.csv"]["cell_index"] - 1]
    assert "save_table(summary, 'group_summary'" in "".join(cell["source"])
    assert cell["execution_count"] == by_path["tables/group_summary.csv"]["execution_count"]
    assert man["records"]["diff.estimate"]["source_cell"] == 7

    results = json.loads((out / "results.json").read_text())
    assert results["n"] == 40
    assert results["diff.ci_low"] < results["diff.estimate"] < results["diff.ci_high"]


def _change_notebook(p):
    nb = json.loads(p.notebook.read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "added", "metadata": {}, "source": ["An added note."]})
    p.notebook.write_text(json.dumps(nb, indent=1))
    return {}


def _change_lib(p):
    (p.lib / "pkg" / "helpers.py").write_text("VALUE = 2\n")
    return {}


def _add_lib_file(p):
    (p.lib / "pkg" / "new_module.py").write_text("X = 1\n")
    return {}


def _change_param(p):
    return {"overrides": ["n_boot=300"]}


def _change_input(p):
    with open(p.data, "a") as fh:
        fh.write("b,5.0\n")
    return {"overrides": ["n_boot=300"]}


def _edit_an_output(p):
    (p.out() / "tables" / "group_summary.csv").write_text("tampered\n")
    return {"overrides": ["n_boot=300"]}


def test_second_run_is_cached_until_a_dependency_changes(fixture_project):
    """One run, then each dependency changed in turn: each change re-executes, then is cached."""
    first = run_study(NAME)
    assert first.status == "executed"
    again = run_study(NAME)
    assert again.status == "cached" and again.cache_key == first.cache_key
    assert (fixture_project.out() / "manifest.json").stat().st_mtime_ns == \
        (again.out_dir / "manifest.json").stat().st_mtime_ns
    keys = {first.cache_key}
    for change in (_change_notebook, _change_lib, _add_lib_file, _change_param, _change_input, _edit_an_output):
        manifest_before = (fixture_project.out() / "manifest.json").read_bytes()
        kwargs = change(fixture_project)
        res = run_study(NAME, **kwargs)
        assert res.status == "executed", f"{change.__name__}: not re-executed"
        assert (fixture_project.out() / "manifest.json").read_bytes() != manifest_before, change.__name__
        if change is not _edit_an_output:
            assert res.cache_key not in keys, f"{change.__name__}: cache key unchanged"
        keys.add(res.cache_key)
        assert run_study(NAME, **kwargs).status == "cached", f"{change.__name__}: second run not cached"
    assert (fixture_project.out() / "tables" / "group_summary.csv").read_text() != "tampered\n"
    results = json.loads((fixture_project.out() / "results.json").read_text())
    assert results["n"] == 41  # the row appended to the input is in the last run


def test_cache_key_covers_lock_file_and_python(fixture_project, monkeypatch):
    params, _ = runner.resolve_params(NAME)
    base = runner.cache_key(NAME, params)
    lock = fixture_project.root / "requirements.lock"
    monkeypatch.setattr(runner, "lock_file", lambda: lock)
    lock.write_text("numpy==1.0\n")
    k1 = runner.cache_key(NAME, params)
    lock.write_text("numpy==1.1\n")
    k2 = runner.cache_key(NAME, params)
    assert len({base, k1, k2}) == 3
    monkeypatch.setattr(runner.sys, "version", "3.99.0 (fake)")
    assert runner.cache_key(NAME, params) != k2


def test_real_lib_fingerprint_covers_every_file(tmp_path):
    import shutil

    lib = tmp_path / "lib"
    shutil.copytree(runner.paths.project_root() / "lib" / "studykit", lib / "studykit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    base = runner.lib_fingerprint(lib)
    (lib / "studykit" / "__pycache__").mkdir(exist_ok=True)
    (lib / "studykit" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert runner.lib_fingerprint(lib) == base, "bytecode caches must not invalidate runs"
    target = lib / "studykit" / "fileio.py"
    target.write_text(target.read_text() + "\n# a comment\n")
    changed = runner.lib_fingerprint(lib)
    assert changed != base
    (lib / "studykit" / "data.json").write_text("{}")
    assert runner.lib_fingerprint(lib) != changed


def test_force_reexecutes_and_gives_byte_identical_tables_and_results(fixture_project):
    first = run_study(NAME)
    out = fixture_project.out()
    snap = _snapshot(out, ("tables/*.csv", "tables/*.tex", "tables/*.html", "results.json", "figures/*"))
    man1 = json.loads((out / "manifest.json").read_text())
    forced = run_study(NAME, force=True)
    assert forced.status == "executed" and forced.cache_key == first.cache_key
    assert _snapshot(out, ("tables/*.csv", "tables/*.tex", "tables/*.html", "results.json", "figures/*")) == snap
    man2 = json.loads((out / "manifest.json").read_text())
    assert man2["run"]["forced"] is True
    strip = lambda m: {e["path"]: e["sha256"] for e in m["outputs"] if e["kind"] != "notebook"}  # noqa: E731
    assert strip(man1) == strip(man2)


def test_profiles_params_file_and_out_dir(fixture_project, tmp_path):
    res = run_study(NAME, profile="small")
    assert res.out_dir == fixture_project.out("small") and res.profile == "small"
    man = json.loads((res.out_dir / "manifest.json").read_text())
    assert man["parameters"]["n_boot"] == 50
    pf = tmp_path / "mine.yaml"
    pf.write_text(f"data_file: {fixture_project.data}\nn_boot: 50\nseed: 99\n")
    target = tmp_path / "elsewhere"
    res2 = run_study(NAME, params_file=pf, out_dir=target)
    assert res2.out_dir == target and res2.profile == "mine"
    assert json.loads((target / "manifest.json").read_text())["parameters"]["seed"] == 99
    ra = json.loads((res.out_dir / "results.json").read_text())
    rb = json.loads((target / "results.json").read_text())
    assert ra["diff.estimate"] == rb["diff.estimate"]  # not random
    assert ra["diff.ci_low"] != rb["diff.ci_low"]  # the bootstrap follows the seed parameter


def test_refuses_to_replace_a_folder_that_is_not_an_output(fixture_project, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ParamError, match="not a studykit output folder"):
        run_study(NAME, out_dir=precious)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_run_all_in_parallel_processes(fixture_project, monkeypatch):
    import studykit.studies as studies

    # a second registered name for the same fixture, so two studies run side by side
    mod = fixture_project.module
    real_get = studies.get_study
    monkeypatch.setattr(studies, "STUDIES", (NAME, NAME + "_b"))
    monkeypatch.setattr(studies, "get_study", lambda n: mod if n in (NAME, NAME + "_b") else real_get(n))
    nb = fixture_project.notebook
    monkeypatch.setattr(runner, "notebook_path", lambda s: nb)
    fixture_project.write_profile("default", f"data_file: {fixture_project.data}\n")
    seen = []
    results = run_all(None, "default", jobs=2, on_result=lambda s, r: seen.append(s))
    assert sorted(seen) == [NAME, NAME + "_b"]
    assert [r.study for r in results] == [NAME, NAME + "_b"]
    assert all(r.status == "executed" for r in results)
    assert all(r.status == "cached" for r in run_all(None, "default", jobs=2))
