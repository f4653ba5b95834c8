"""Bad parameters and missing inputs: one line on stderr naming the key (and file), exit 2, nothing written.
A failing cell: exit 1, the message names notebook, cell and exception; previous outputs stay intact.

Unit: one CLI invocation (``cli.main``) against the frame fixture study.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studykit import cli
from studykit.contract.registry import names

from .sitecheck import static_problems

NAME = "frame_fixture"


def _run_cli(capsys, *argv):
    code = cli.main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


BAD = [
    # (argv after "run frame_fixture", words the message must contain)
    (["--set", "nboot=5"], ["unknown parameter 'nboot'", "did you mean n_boot?"]),
    (["--set", "n_boot=many"], ["parameter 'n_boot'", "integer"]),
    (["--set", "n_boot=3"], ["parameter 'n_boot'", "greater than or equal to 10"]),
    (["--set", "alpha=1.5"], ["parameter 'alpha'", "less than 1"]),
    (["--set", "fail=perhaps"], ["parameter 'fail'", "boolean"]),
    (["--set", "data_file=/no/such/file.csv"], ["parameter 'data_file'", "/no/such/file.csv", "not found"]),
    (["--set", "n_boot"], ["--set expects KEY=VALUE"]),
    (["--profile", "nope"], ["profile 'nope' not found", "default", "small"]),
    (["--params", "/no/such/params.yaml"], ["parameter file not found", "/no/such/params.yaml"]),
    (["--profile", "typo"], ["unknown parameter 'n_bot'", "typo.yaml", "did you mean n_boot?"]),
    (["--profile", "badrange"], ["parameter 'alpha'", "badrange.yaml"]),
    (["--profile", "missinginput"], ["parameter 'data_file'", "gone.csv"]),
    (["--profile", "notyaml"], ["notyaml.yaml", "not valid YAML"]),
]


@pytest.mark.parametrize("argv,words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_parameters_exit_2_with_one_line_and_write_nothing(fixture_project, capsys, argv, words):
    fixture_project.write_profile("typo", f"data_file: {fixture_project.data}\nn_bot: 5\n")
    fixture_project.write_profile("badrange", "alpha: 0\n")
    fixture_project.write_profile("missinginput", "data_file: data/gone.csv\n")
    fixture_project.write_profile("notyaml", "alpha: [0.1\n")
    code, out, err = _run_cli(capsys, "run", NAME, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("studykit: error: ")
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert "Traceback" not in err
    assert _files_under(fixture_project.outputs) == []


def test_unknown_study_and_usage_errors_exit_2(capsys):
    code, _, err = _run_cli(capsys, "run", "no_such_study")
    assert code == 2 and "unknown study 'no_such_study'" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run_cli(capsys, "run")
    assert code == 2 and "required" in err
    code, _, err = _run_cli(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err
    code, _, err = _run_cli(capsys, "run", "all", "--params", "x.yaml")
    assert code == 2 and "one study" in err


def test_failing_cell_exits_1_keeps_partial_notebook_and_previous_outputs(fixture_project, capsys):
    good = fixture_project.out()
    code, out, err = _run_cli(capsys, "run", NAME, "--quiet", "--out", str(good))
    assert code == 0 and "executed" in out
    before = {p: (good / p).read_bytes() for p in _files_under(good) if (good / p).is_file()}

    # the same folder, now with a failing cell
    code, out, err = _run_cli(capsys, "run", NAME, "--set", "fail=true", "--quiet", "--out", str(good))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    msg = lines[0]
    assert "frame_fixture.ipynb" in msg
    assert "cell 9 (In [7])" in msg  # cell 9 of the committed notebook, the 7th executed
    assert "ValueError: planted failure for the tests" in msg
    assert "Traceback" not in err

    after = {p: (good / p).read_bytes() for p in _files_under(good) if (good / p).is_file()}
    assert after == before, "the last successful outputs must stay intact"

    failed = good.parent / "default.failed"
    nb = json.loads((failed / "notebook.ipynb").read_text())
    assert nb["metadata"]["studykit"]["status"] == "failed"
    assert nb["metadata"]["papermill"]["exception"] is True
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "ValueError"
    assert "planted failure" in (failed / "FAILED.txt").read_text()
    assert str(failed / "notebook.ipynb").endswith(msg.rsplit("partial notebook kept in ", 1)[1])
    # no temporary folders are left behind
    assert sorted(p.name for p in good.parent.iterdir()) == ["default", "default.failed"]

    # the previous run is still valid for the cache
    code, out, err = _run_cli(capsys, "run", NAME, "--quiet")
    assert code == 0 and "cached" in out

    # the report shows the last good run and says that the latest attempt failed
    assert cli.main(["report"]) == 0
    capsys.readouterr()
    site = fixture_project.outputs / "site"
    page = (site / NAME / "default" / "index.html").read_text()
    assert "latest attempt of this profile failed" in page and 'href="failed.html"' in page
    assert (site / NAME / "default" / "failed.html").is_file()
    assert "latest attempt failed" in (site / "index.html").read_text()
    assert static_problems(site) == []


def test_bad_data_found_inside_the_notebook_exits_2(fixture_project, capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("group,score\na,1\n")
    code, out, err = _run_cli(capsys, "run", NAME, "--set", f"data_file={bad}", "--quiet")
    assert code == 2
    assert "InputError" in err and "missing column 'value'" in err
    assert len(err.strip().splitlines()) == 1


def test_list_shows_studies_notebooks_and_profiles(fixture_project, capsys):
    code, out, err = _run_cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["study", "notebook", "profiles"]
    row = next(ln for ln in lines if ln.startswith(NAME))
    assert "frame_fixture.ipynb" in row and "default, small" in row
    for s in names():
        assert any(ln.startswith(s) for ln in lines), s


def test_console_script_and_module_entry_points():
    exe = Path(sys.executable).parent / "studykit"
    for cmd in ([str(exe), "list"], [sys.executable, "-m", "studykit", "list"]):
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert "sycophancy_correlation" in res.stdout
    res = subprocess.run([sys.executable, "-m", "studykit", "run", "no_such_study"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"studykit: error: unknown study 'no_such_study' (known: {', '.join(names())})"
    ]


def test_simulate_writes_embedded_data(fixture_project, capsys, tmp_path):
    code, out, err = _run_cli(capsys, "simulate", NAME, "--out", str(tmp_path / "sim"))
    assert code == 0, err
    assert (tmp_path / "sim" / "values.csv").read_bytes() == fixture_project.data.read_bytes()
    assert (tmp_path / "sim" / "SHA256SUMS").is_file()


def test_a_notebook_that_does_not_close_its_outputs_fails_clearly(fixture_project, capsys):
    nb = json.loads(fixture_project.notebook.read_text())
    nb["cells"] = [c for c in nb["cells"] if "out.close()" not in "".join(c["source"])]
    fixture_project.notebook.write_text(json.dumps(nb, indent=1))
    code, out, err = _run_cli(capsys, "run", NAME, "--quiet")
    assert code == 1
    assert "wrote no manifest.json" in err and "out.close()" in err
    assert not fixture_project.out().exists()


@pytest.mark.parametrize("argv,words", [
    (["mine", "/no/such/repo", "--out", "x.csv"], ["repository not found", "/no/such/repo"]),
    (["mine", ".", "--out", "x.xlsx"], ["--out x.xlsx", ".csv, .csv.gz or .parquet"]),
    (["mine", ".", "--out", "x.csv", "--observation-end", "last tuesday"], ["--observation-end", "last tuesday"]),
    (["mine", "."], ["--out"]),
    (["simulate", "no_such_study"], ["unknown study"]),
])
def test_mine_and_simulate_argument_errors_exit_2(capsys, argv, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run_cli(capsys, *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "x.csv").exists()


def test_output_piped_to_a_reader_that_stops_early_is_not_an_error():
    """Unit: one CLI call whose stdout reader exits after the first line (`studykit params X | head -1`)."""
    import subprocess

    exe = Path(sys.executable).parent / "studykit"
    proc = subprocess.run(f"'{exe}' params code_survival | head -1; exit ${{PIPESTATUS[0]}}", shell=True,
                          executable="/bin/bash", capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.split()[0] == "parameter"


def test_a_message_naming_the_program_is_not_prefixed_twice(capsys, monkeypatch):
    from studykit import cli as cli_module
    from studykit.contract.errors import ParamError

    def boom(args):
        raise ParamError("studykit: error: nothing to do")

    monkeypatch.setitem(cli_module.COMMANDS, "list", (cli_module.COMMANDS["list"][0], boom))
    assert cli_module.main(["list"]) == 2
    assert capsys.readouterr().err == "studykit: error: nothing to do\n"


def test_the_run_line_shows_list_overrides_on_one_line():
    """Unit: one resolved run specification with a list and a mapping overridden (was multi-line JSON)."""
    from studykit.contract.profiles import RunSpec

    spec = RunSpec(params=None, name="workshop+x", profile="workshop",
                   overrides={"km_times_days": [7.0, 30.0], "pairs": {"a": "b"}, "alpha": 0.01})
    assert spec.source() == ('profile workshop --set km_times_days=[7.0, 30.0] --set pairs={"a": "b"} '
                             "--set alpha=0.01")
