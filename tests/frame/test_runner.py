"""Runner: execution, output folder, cache hits and invalidation, --force, determinism, run_all.

Unit: one run (or one cache-key computation) of the frame fixture study in its own temporary project.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studykit.files import paths

from studykit.runs import cachekey, progress, runner
from studykit.contract.errors import ParamError
from studykit.files.fileio import sha256_file
from studykit.contract.profiles import resolve_params
from studykit.runs.runner import run_all, run_study

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
    # no temporary folder or lock file left behind
    assert [p.name for p in out.parent.iterdir()] == ["default"]

    man = json.loads((out / "manifest.json").read_text())
    assert man["study"] == NAME
    assert man["run"]["cache_key"] == res.cache_key
    assert man["run"]["profile"] == "default"
    assert man["parameters"]["n_boot"] == 200
    assert man["seeds"] == {"seed": 20240601}
    assert man["inputs"][0]["key"] == "data_file"
    assert man["inputs"][0]["sha256"] == sha256_file(fixture_project.data)
    assert set(man["git"]) == {"commit", "dirty"}
    assert man["environment"]["python"]
    paths_in_manifest = {e["path"] for e in man["outputs"]}
    assert {"notebook.ipynb", "results.json", "tables/group_summary.csv", "figures/bootstrap.png"} <= paths_in_manifest
    for e in man["outputs"]:
        assert e["sha256"] == sha256_file(out / e["path"]), e["path"]

    # every table/figure is traced to the committed notebook's cell that wrote it
    by_path = {e["path"]: e for e in man["outputs"]}
    assert by_path["tables/group_summary.csv"]["source_cell"] == 5
    assert by_path["figures/bootstrap.png"]["source_cell"] == 8
    nb = json.loads((out / "notebook.ipynb").read_text())
    cell = nb["cells"][by_path["tables/group_summary.csv"]["cell_index"] - 1]
    assert "save_table(summary, 'group_summary'" in "".join(cell["source"])
    assert cell["execution_count"] == by_path["tables/group_summary.csv"]["execution_count"]
    assert man["records"]["diff.estimate"]["source_cell"] == 7
    injected = next(c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert "renamed to" in "".join(injected["source"]) and str(out) in "".join(injected["source"])

    results = json.loads((out / "results.json").read_text())
    assert results["n"] == 40
    assert results["diff.ci_low"] < results["diff.estimate"] < results["diff.ci_high"]


def test_second_run_is_cached_until_a_dependency_changes(fixture_project):
    """Executed, then cached; a changed notebook or input content re-executes (then is cached again)."""
    first = run_study(NAME)
    assert first.status == "executed"
    mtime = (fixture_project.out() / "manifest.json").stat().st_mtime_ns
    again = run_study(NAME)
    assert again.status == "cached" and again.cache_key == first.cache_key
    assert (fixture_project.out() / "manifest.json").stat().st_mtime_ns == mtime  # nothing rewritten

    nb = json.loads(fixture_project.notebook.read_text())
    nb["cells"].append({"cell_type": "markdown", "id": "added", "metadata": {}, "source": ["An added note."]})
    fixture_project.notebook.write_text(json.dumps(nb, indent=1))
    after_nb = run_study(NAME)
    assert after_nb.status == "executed" and after_nb.cache_key != first.cache_key
    assert run_study(NAME).status == "cached"

    with open(fixture_project.data, "a") as fh:  # same file name, new content
        fh.write("b,5.0\n")
    after_input = run_study(NAME)
    assert after_input.status == "executed" and after_input.cache_key not in (first.cache_key, after_nb.cache_key)
    assert json.loads((fixture_project.out() / "results.json").read_text())["n"] == 41
    assert run_study(NAME).status == "cached"


def test_cache_is_invalidated_by_lib_params_inputs_and_edited_outputs(fixture_project):
    """Every other dependency changes the key the runner compares (``cached_run_valid``)."""
    run_study(NAME)
    out = fixture_project.out()
    params, _ = resolve_params(NAME)
    key = cachekey.cache_key(NAME, params)
    assert cachekey.cached_run_valid(out, key)

    def invalid_now(why: str, p=None) -> str:
        new = cachekey.cache_key(NAME, p or params)
        assert new != key, f"{why}: cache key unchanged"
        assert not cachekey.cached_run_valid(out, new), f"{why}: would be served from cache"
        return new

    (fixture_project.lib / "pkg" / "helpers.py").write_text("VALUE = 2\n")
    key = invalid_now("a changed lib file")
    (fixture_project.lib / "pkg" / "new_module.py").write_text("X = 1\n")
    key = invalid_now("a new lib file")
    p2, _ = resolve_params(NAME, overrides=["n_boot=300"])
    invalid_now("a changed parameter", p2)
    p3, _ = resolve_params(NAME, overrides=["alpha=0.050"])
    assert cachekey.cache_key(NAME, p3) == key, "the same validated value must give the same key"
    fixture_project.data.write_bytes(fixture_project.data.read_bytes().replace(b"0.", b"1.", 1))
    key = invalid_now("changed input content")

    # a run whose outputs were edited by hand is not served from the cache
    res = run_study(NAME)
    assert res.status == "executed" and cachekey.cached_run_valid(out, res.cache_key)
    (out / "tables" / "group_summary.csv").write_text("tampered\n")
    assert not cachekey.cached_run_valid(out, res.cache_key)
    (out / "tables" / "group_summary.csv").unlink()
    assert not cachekey.cached_run_valid(out, res.cache_key)


def test_cache_key_covers_lock_file_and_python(fixture_project, monkeypatch):
    params, _ = resolve_params(NAME)
    base = cachekey.cache_key(NAME, params)
    lock = fixture_project.root / "core.lock"
    monkeypatch.setattr(paths, "lock_files", lambda: [lock])
    lock.write_text("numpy==1.0\n")
    k1 = cachekey.cache_key(NAME, params)
    lock.write_text("numpy==1.1\n")
    k2 = cachekey.cache_key(NAME, params)
    assert len({base, k1, k2}) == 3
    monkeypatch.setattr(cachekey.sys, "version", "3.99.0 (fake)")
    assert cachekey.cache_key(NAME, params) != k2


def test_real_lib_fingerprint_covers_every_file(tmp_path):
    import shutil

    lib = tmp_path / "lib"
    shutil.copytree(paths.project_root() / "lib" / "studykit", lib / "studykit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    base = cachekey.lib_fingerprint(lib)
    (lib / "studykit" / "__pycache__").mkdir(exist_ok=True)
    (lib / "studykit" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert cachekey.lib_fingerprint(lib) == base, "bytecode caches must not invalidate runs"
    target = lib / "studykit" / "files" / "fileio.py"
    target.write_text(target.read_text() + "\n# a comment\n")
    changed = cachekey.lib_fingerprint(lib)
    assert changed != base
    (lib / "studykit" / "data.json").write_text("{}")
    assert cachekey.lib_fingerprint(lib) != changed


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
    assert res2.out_dir == target and res2.profile.startswith("params-mine+")
    assert json.loads((target / "manifest.json").read_text())["parameters"]["seed"] == 99
    ra = json.loads((res.out_dir / "results.json").read_text())
    rb = json.loads((target / "results.json").read_text())
    assert ra["diff.estimate"] == rb["diff.estimate"]  # not random
    assert ra["diff.ci_low"] != rb["diff.ci_low"]  # the bootstrap follows the seed parameter


def test_refuses_to_replace_a_folder_that_is_not_an_output(fixture_project, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ParamError, match="studykit did not write it"):
        run_study(NAME, out_dir=precious)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_run_all_in_parallel_processes_continues_past_a_failure(fixture_project):
    import shutil

    # a second study folder beside the fixture's (a copy under another name), whose default profile fails
    B = NAME + "_b"
    b = fixture_project.notebook.parent.parent / B
    shutil.copytree(fixture_project.notebook.parent, b)
    (b / f"{NAME}.ipynb").rename(b / f"{B}.ipynb")
    for f, old, new in ((b / "__init__.py", f'NAME = "{NAME}"', f'NAME = "{B}"'),
                        (b / f"{B}.ipynb", f"import {NAME} as study", f"import {B} as study")):
        f.write_text(f.read_text().replace(old, new))
    fixture_project.write_profile("default", f"data_file: {fixture_project.data}\n")
    b_profile = b / "params" / "default.yaml"
    b_profile.write_text(f"data_file: {fixture_project.data}\nfail: true\n")

    seen = []
    with pytest.raises(runner.RunAllError) as info:
        run_all([NAME, B], "default", jobs=2, on_result=lambda s, r: seen.append((s, type(r).__name__)))
    assert sorted(seen) == [(NAME, "RunResult"), (B, "NotebookError")]
    assert info.value.exit_code == 1
    assert "1 of 2 studies failed" in str(info.value) and "planted failure" in str(info.value)
    assert [(r.study, r.status) for r in info.value.results] == [(NAME, "executed")]

    b_profile.write_text(f"data_file: {fixture_project.data}\n")
    results = run_all([NAME, B], "default", jobs=2)
    assert [(r.study, r.status) for r in results] == [(NAME, "cached"), (B, "executed")]
    assert not (fixture_project.outputs / B / "default.failed").exists()


def test_progress_bar_on_a_terminal_and_lines_otherwise():
    import io

    import nbformat

    class Tty(io.StringIO):
        def isatty(self):
            return True

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("# Load the data\ndf = load()"),
    ])
    tty, plain = Tty(), io.StringIO()
    assert progress.progress_mode(True, tty) == "bar" and progress.progress_mode(True, plain) == "lines"
    assert progress.progress_mode(False, tty) == "off"
    for stream in (tty, plain):
        prog = progress.Progress("s/p", progress.progress_mode(True, stream), stream)
        prog.start(nb)
        for i, cell in enumerate(nb.cells):
            prog.cell_start(cell, i)
            prog.cell_complete(cell, i)
        prog.close()
    bar = tty.getvalue()
    assert "0/2" in bar and "1/2" in bar and "(parameters)" in bar and "Load the data" in bar
    assert plain.getvalue().splitlines() == [
        "[s/p] executing 2 code cells", "[s/p] cell 1/2: (parameters)", "[s/p] cell 2/2: Load the data",
    ]


def test_a_stray_studykit_kernel_from_another_environment_is_refused(fixture_project, monkeypatch, tmp_path):
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    other = KernelSpec(argv=["/opt/other-env/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       display_name="Python (studykit)", language="python", resource_dir=str(tmp_path))
    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", lambda self, name: other)
    with pytest.raises(ParamError, match="runs /opt/other-env/bin/python, not this environment"):
        run_study(NAME)
    assert not fixture_project.out().exists()


def _run_into_queue(q):
    try:
        q.put(run_study(NAME).status)
    except Exception as exc:  # pragma: no cover - reported by the test
        q.put(f"error: {exc}")


def test_two_simultaneous_runs_of_one_folder_execute_once(fixture_project):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_run_into_queue, args=(q,)) for _ in range(2)]
    for p in procs:
        p.start()
    statuses = sorted(q.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert statuses == ["cached", "executed"]
    assert sorted(p.name for p in fixture_project.out().parent.iterdir()) == ["default"]
