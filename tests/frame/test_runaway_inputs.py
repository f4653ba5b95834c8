"""Inputs that used to run away or crash: alias bombs, recursive YAML, non-UTF-8 files, huge grids, worker counts.

From the second hardening audit: a billion-laughs parameter file grew about 20 MB/s (the whole input was
``repr()``-ed into the error message before truncation) and a billion-laughs grid reached 3.5 GB in 60 s;
``&a [*a]`` as a grid gave 2,009 lines of RecursionError; a latin-1 parameter file was a traceback; a
10,000-point grid started at once; ``horizon_days: [30, 30.0]`` ran the same specification twice and
counted it twice; ``n_workers=16`` on 2 cores started 16 workers (3.9 GB).

Unit: one YAML read, one parameter resolution, one grid check or one CLI invocation.
"""
from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest
import yaml

from studykit import cli

from studykit.runs import workers
from studykit.contract.errors import ParamError
from studykit.contract.params import MAX_YAML_VALUES, load_yaml, short_repr

NAME = "frame_fixture"


def bomb(levels: int = 9, key: str = "alpha") -> str:
    """A billion-laughs document: 9 levels of 9 aliases each (9**9 = 387,420,489 values)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    lines.append(f"{key}: *l{levels - 1}")
    return "\n".join(lines) + "\n"


def _cli(capsys, *argv) -> tuple[int, str, float]:
    """Exit code, the one stderr line, and the CPU seconds the call took."""
    t0 = resource.getrusage(resource.RUSAGE_SELF)
    code = cli.main(list(argv))
    t1 = resource.getrusage(resource.RUSAGE_SELF)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return code, err[0], (t1.ru_utime - t0.ru_utime) + (t1.ru_stime - t0.ru_stime)


# ------------------------------------------------------------------------------------------
# YAML bounds
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    (bomb(), "its aliases expand to 926,177,115 values, more than the 100,000"),
    ("&a [*a]", "refers to a value that contains it"),
    ("a: &a {b: *a}", "refers to a value that contains it"),
    ("a: &a [1, {b: [2, *a]}]", "refers to a value that contains it"),
    ("[" * 500 + "]" * 500, "nested more than 64 levels"),
    ("a: [1, 2", "not valid YAML"),
])
def test_alias_bombs_recursion_and_depth_are_refused_in_milliseconds(text, message):
    t0 = time.process_time()
    with pytest.raises(ParamError) as info:
        load_yaml(text, "x.yaml")
    assert time.process_time() - t0 < 0.5
    assert message in str(info.value) and str(info.value).startswith("x.yaml: ") and "\n" not in str(info.value)


def test_shared_aliases_below_the_bound_are_read_as_before():
    text = "base: &b {alpha: 0.05, n: 3}\nother: *b\nlist: &l [1, 2]\nagain: [*l, *l]\n"
    assert load_yaml(text, "x.yaml") == yaml.safe_load(text)
    a = "a: &a [" + ", ".join(["1"] * 1000) + "]\n"
    assert len(load_yaml(a + "b: [" + ", ".join(["*a"] * 98) + "]\n", "x.yaml")["b"]) == 98  # 99,103 values
    with pytest.raises(ParamError, match="expand to 100,104 values, more than the 100,000"):
        load_yaml(a + "b: [" + ", ".join(["*a"] * 99) + "]\n", "x.yaml")
    assert MAX_YAML_VALUES == 100_000


def test_a_huge_value_in_an_error_message_is_cut_before_it_is_formatted():
    value = [[list(range(100_000))] * 1000] * 100
    t0 = time.process_time()
    text = short_repr(value)
    assert time.process_time() - t0 < 0.05 and len(text) <= 60


@pytest.mark.parametrize("overrides", [{"x" * 1_000_000: 1}, {"alpha": list(range(100_000))},
                                       ["alpha=" + "[" * 60 + "]" * 60]])
def test_a_huge_key_or_value_is_quoted_short(overrides):
    from studykit.contract.profiles import resolve_run

    t0 = time.process_time()
    with pytest.raises(ParamError) as info:
        resolve_run("sycophancy_correlation", overrides=overrides)
    assert len(str(info.value)) < 200 and time.process_time() - t0 < 1.0


@pytest.mark.parametrize("where", ["params", "set", "grid"])
def test_a_billion_laughs_input_is_one_line_in_well_under_a_second(fixture_project, capsys, tmp_path, where):
    """CPU time of the refusal itself (the command's modules are imported by a first, ordinary call)."""
    assert cli.main(["run", NAME, "--params", str(tmp_path / "absent.yaml"), "--quiet"]) == 2
    assert cli.main(["sweep", NAME, "--grid", str(tmp_path / "absent.yaml"), "--quiet"]) == 2
    capsys.readouterr()
    if where == "params":
        f = tmp_path / "bomb.yaml"
        f.write_text(bomb())
        code, line, cpu = _cli(capsys, "run", NAME, "--params", str(f), "--quiet")
    elif where == "set":
        flow = "[" + ", ".join(["[" + ", ".join(["x"] * 9) + "]"] * 9) + "]"  # no alias: 81 values, fine
        code, line, cpu = _cli(capsys, "run", NAME, "--set", f"alpha={flow}", "--quiet")
        assert code == 2 and "parameter 'alpha'" in line and len(line) < 300
        code, line, cpu = _cli(capsys, "run", NAME, "--set", f"alpha={bomb()}", "--quiet")
    else:
        f = tmp_path / "grid.yaml"
        f.write_text(bomb(key="grid_values") + "headline: {estimate: x}\ngrid: {n_boot: *l8}\n")
        code, line, cpu = _cli(capsys, "sweep", NAME, "--grid", str(f), "--quiet")
    assert code == 2 and "values, more than the 100,000" in line and len(line) < 300
    assert cpu < 1.0, f"{cpu:.2f} s of CPU"


def test_a_recursive_grid_is_one_line(fixture_project, capsys, tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text("headline: {estimate: x}\ngrid: {n_boot: &a [*a]}\n")
    code, line, _ = _cli(capsys, "sweep", NAME, "--grid", str(f), "--quiet")
    assert code == 2 and str(f) in line and "recursive structure" in line


@pytest.mark.parametrize("what", ["params", "grid"])
def test_a_latin1_file_is_one_line_naming_the_file_and_the_encoding(fixture_project, capsys, tmp_path, what):
    f = tmp_path / f"{what}.yaml"
    if what == "params":
        f.write_bytes("# paramètres de l'étude\nalpha: 0.05\n".encode("latin-1"))
        code, line, _ = _cli(capsys, "run", NAME, "--params", str(f), "--quiet")
    else:
        f.write_bytes("description: débat\nheadline: {estimate: x}\ngrid: {n_boot: [20]}\n".encode("latin-1"))
        code, line, _ = _cli(capsys, "sweep", NAME, "--grid", str(f), "--quiet")
    assert code == 2 and str(f) in line and "is not UTF-8 text (byte 0xe" in line and "line 1" in line
    assert "save it with UTF-8 encoding" in line


def test_a_utf8_file_with_a_byte_order_mark_is_read(fixture_project, tmp_path):
    from studykit.contract.params import read_yaml

    f = tmp_path / "p.yaml"
    f.write_bytes(b"\xef\xbb\xbfalpha: 0.01\n")
    assert read_yaml(f, "parameter file") == {"alpha": 0.01}


# ------------------------------------------------------------------------------------------
# sweeps: size and duplicates
# ------------------------------------------------------------------------------------------
def _grid(tmp_path: Path, values: list) -> Path:
    f = tmp_path / "grid.yaml"
    f.write_text(yaml.safe_dump({"headline": {"estimate": "diff.estimate"}, "grid": {"n_boot": values}}))
    return f


def test_a_grid_above_200_points_needs_yes_when_not_on_a_terminal(fixture_project, capsys, tmp_path, monkeypatch):
    from studykit.sweep import execute

    monkeypatch.setattr(execute, "run_point", lambda task: pytest.fail("nothing may run"))
    f = _grid(tmp_path, list(range(10, 211)))
    code, line, _ = _cli(capsys, "sweep", NAME, "--grid", str(f), "--out", str(tmp_path / "sw"), "--quiet")
    assert code == 2 and "201 points (more than 200" in line and "--yes" in line
    assert "time unknown" in line and not (tmp_path / "sw").exists()
    # with an earlier run of the base profile the estimate is a duration
    assert cli.main(["run", NAME, "--quiet"]) == 0
    capsys.readouterr()
    code, line, _ = _cli(capsys, "sweep", NAME, "--grid", str(f), "--out", str(tmp_path / "sw"), "--quiet")
    assert code == 2 and "201 to execute, about " in line and "the 'default' profile's last run took" in line


def test_a_large_grid_asks_and_starts_only_on_yes(fixture_project, tmp_path):
    from studykit.sweep import load_grid
    from studykit.sweep.plan import check_size

    grid = load_grid(_grid(tmp_path, list(range(10, 311))))
    points = list(grid.points)
    asked = []
    with pytest.raises(ParamError, match="not started; nothing was run"):
        check_size(NAME, grid, tmp_path / "sw", points, 2, yes=False, confirm=lambda q: asked.append(q) or False)
    assert "301 points" in asked[0] and asked[0].endswith("Start it?")
    check_size(NAME, grid, tmp_path / "sw", points, 2, yes=False, confirm=lambda q: True)
    check_size(NAME, grid, tmp_path / "sw", points, 2, yes=True)
    check_size(NAME, grid, tmp_path / "sw", points[:200], 2, yes=False)  # 200 or fewer: never asked


def test_a_grid_of_more_than_100000_points_is_refused_before_it_is_built(tmp_path):
    from studykit.sweep import load_grid

    f = tmp_path / "g.yaml"
    f.write_text(yaml.safe_dump({"headline": {"estimate": "x"},
                                 "grid": {"a": list(range(400)), "b": list(range(400))}}))
    with pytest.raises(ParamError, match="crosses 160,000 points"):
        load_grid(f)


def test_the_same_specification_twice_runs_and_counts_once(fixture_project, capsys, tmp_path):
    """``n_boot: [20, 20.0]`` (as ``horizon_days: [30, 30.0]``): two names, one specification."""
    f = _grid(tmp_path, [20, 20.0, 40])
    assert cli.main(["sweep", NAME, "--grid", str(f), "--out", str(tmp_path / "sw"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "note: point n_boot-20.0 is the same specification as n_boot-20 after validation" in captured.err
    spec = json.loads((tmp_path / "sw" / "sweep.json").read_text())
    assert spec["duplicates"] == {"n_boot-20.0": "n_boot-20"}
    assert sorted(spec["points"]) == ["n_boot-20", "n_boot-40"]
    assert spec["n_points"] == 2 and sum(spec["counts"].values()) == spec["n_ok"] == 2
    rows = (tmp_path / "sw" / "sweep.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2
    assert not (tmp_path / "sw" / "n_boot-20.0").exists()


# ------------------------------------------------------------------------------------------
# worker counts
# ------------------------------------------------------------------------------------------
@pytest.fixture
def small_machine(monkeypatch):
    monkeypatch.setattr(workers, "cpu_cores", lambda: 2)
    monkeypatch.setattr(workers, "available_memory", lambda: 1024**3)


def test_cap_workers_by_cores_and_memory(small_machine, monkeypatch):
    assert workers.cap_workers(1, "--jobs") == (1, None)
    assert workers.cap_workers(2, "--jobs") == (2, None)
    n, note = workers.cap_workers(16, "--jobs")
    assert n == 2 and note == "note: --jobs 16 capped to 2 (this machine has 2 CPU cores and 1.0 GB of available memory)"
    monkeypatch.setattr(workers, "cpu_cores", lambda: 64)
    assert workers.cap_workers(16, "--jobs")[0] == 1024**3 // workers.MEMORY_PER_WORKER == 3
    monkeypatch.setattr(workers, "available_memory", lambda: None)
    assert workers.cap_workers(16, "--jobs") == (16, None)


def test_a_worker_parameter_above_the_machine_is_capped_with_a_note(small_machine):
    from studykit.contract.profiles import resolve_run, run_name

    spec = resolve_run("lexical_prevalence", overrides={"n_workers": 16})
    assert spec.params.n_workers == 2
    assert spec.notes == ("note: parameter 'n_workers' 16 capped to 2 (this machine has 2 CPU cores and 1.0 GB "
                          "of available memory)",)
    assert spec.name == run_name("default", {"n_workers": 2}), "the run is the one with the capped value"
    assert resolve_run("lexical_prevalence", overrides={"n_workers": 2}).notes == ()
    remote = resolve_run("lexical_prevalence", overrides={"n_workers": 16, "dask_scheduler": "tcp://h:8786"})
    assert remote.params.n_workers == 16 and remote.notes == (), "a Dask cluster's workers are elsewhere"


def test_jobs_above_the_machine_are_capped_with_a_note(small_machine, fixture_project, capsys, tmp_path):
    f = _grid(tmp_path, [20])
    assert cli.main(["sweep", NAME, "--grid", str(f), "--out", str(tmp_path / "sw"), "--jobs", "16", "--quiet"]) == 0
    assert "note: --jobs 16 capped to 2" in capsys.readouterr().err
    assert json.loads((tmp_path / "sw" / "runs.json").read_text())["where"] == "jobs 2"
