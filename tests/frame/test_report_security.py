"""The report treats run folders as untrusted: no path from a name in a file, no link followed, no shape assumed.

The three security cases of the second hardening audit (a manifest's ``"study"`` of ``../../../x`` wrote
66 files outside the site; an absolute one overwrote a user's ``index.html`` elsewhere; a
``tables/*.csv`` linked to a secret file was copied into the site and shown) and the malformed
``manifest.json``/``results.json`` that crashed the report (KeyError, AttributeError, TypeError).

Unit: one ``build_report`` (or ``studykit report``) over one prepared outputs folder or run folder.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studykit import cli

from studykit.site import report
from studykit.contract.errors import ParamError

from .sitecheck import static_problems
from .test_folders import snapshot

STUDY = "sycophancy_correlation"


def _run_folder(folder: Path, manifest: dict | str, results: dict | str = "{}") -> Path:
    """A hand-made run folder: one table, a notebook, the given manifest and results."""
    (folder / "tables").mkdir(parents=True)
    (folder / "tables" / "ok.csv").write_text("a\n1\n")
    (folder / "notebook.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                       "nbformat_minor": 5}))
    (folder / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    (folder / "results.json").write_text(results if isinstance(results, str) else json.dumps(results))
    return folder


def _manifest(**extra) -> dict:
    return {"study": STUDY, "run": {"cache_key": "k", "profile": "p"},
            "outputs": [{"path": "tables/ok.csv", "kind": "table", "name": "ok", "caption": "OK"}], **extra}


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("study", ["../../../x", "../escape", "/ABS/victim", "sub/dir", ".", "", None, 7,
                                   ["a"], "no_such_study"])
def test_a_manifests_study_never_becomes_a_path(tmp_path, study):
    """Security case 1 and 2: `studykit report RUN_FOLDER` with a manifest naming a path as its study writes
    nothing outside the site (and nothing at all: the run is refused in one line)."""
    if isinstance(study, str) and "ABS" in study:
        victim = tmp_path / "victim"
        victim.mkdir()
        (victim / "index.html").write_text("<p>the user's page</p>")
        study = str(victim)
    work = tmp_path / "deep" / "er" / "outputs"
    run = _run_folder(work / STUDY / "interactive", _manifest(study=study))
    before = snapshot(tmp_path)
    with pytest.raises(ParamError, match="not a study of this project") as info:
        report.build_report(outputs_root=run)
    assert "\n" not in str(info.value)
    assert snapshot(tmp_path) == before, "nothing written anywhere"


def test_in_an_outputs_folder_the_study_is_the_folders_name(tmp_path):
    """The manifest's study is ignored for paths when the run sits in <outputs>/<study>/<profile>/."""
    outputs = tmp_path / "outputs"
    _run_folder(outputs / STUDY / "default", _manifest(study="../../../x"))
    index = report.build_report(outputs_root=outputs)
    site = index.parent
    assert f"{STUDY}/default/files/tables/ok.csv" in _files(site)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    assert sorted(p.name for p in outputs.iterdir()) == sorted([STUDY, "site"])
    assert static_problems(site) == []


def test_a_linked_table_is_neither_copied_nor_shown(tmp_path, capsys):
    """Security case 3: tables/secret.csv -> a secret file elsewhere, and a linked tables/ folder of another run."""
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    outputs = tmp_path / "outputs"
    man = _manifest()
    man["outputs"].append({"path": "tables/secret.csv", "kind": "table", "name": "secret", "caption": "S"})
    run = _run_folder(outputs / STUDY / "default", man)
    (run / "tables" / "secret.csv").symlink_to(secret)
    (run / "tables" / "data_issues.csv").symlink_to(secret)
    other = _run_folder(outputs / STUDY / "other", man)
    (other / "tables" / "ok.csv").unlink()
    (other / "tables").rename(other / "real_tables")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "ok.csv").write_text("copied?\n")
    (tmp_path / "elsewhere" / "secret.csv").write_text("hunter2\n")
    (other / "tables").symlink_to(tmp_path / "elsewhere")
    assert cli.main(["report", "--outputs", str(outputs)]) == 0
    site = outputs / "site"
    for f in _files(site):
        text = (site / f).read_bytes()
        assert b"hunter2" not in text and b"copied?" not in text, f
    page = (site / STUDY / "default" / "index.html").read_text()
    assert "tables/secret.csv: a symbolic link; not copied or shown" in page
    assert f"{STUDY}/default/files/tables/ok.csv" in _files(site)
    assert static_problems(site) == []


def test_a_linked_run_folder_or_manifest_is_listed_unreadable(tmp_path, capsys):
    outputs = tmp_path / "outputs"
    elsewhere = _run_folder(tmp_path / "elsewhere" / "run", _manifest())
    (outputs / STUDY).mkdir(parents=True)
    (outputs / STUDY / "linked").symlink_to(elsewhere)
    real = _run_folder(outputs / STUDY / "default", _manifest())
    (real / "manifest.json").unlink()
    (tmp_path / "m.json").write_text(json.dumps(_manifest()))
    (real / "manifest.json").symlink_to(tmp_path / "m.json")
    assert cli.main(["report", "--outputs", str(outputs)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("report: skipped ") for line in err), err
    assert any("linked: a symbolic link" in line for line in err)
    assert any("manifest.json is a symbolic link" in line for line in err)
    assert sorted(p.name for p in (outputs / "site").iterdir() if p.is_dir()) == ["docs"]


MALFORMED = [
    ("not json", "{", "{}", "manifest.json is not valid JSON"),
    ("a list", "[1, 2]", "{}", "manifest.json is not a JSON object"),
    ("outputs is text", _manifest(outputs="tables/ok.csv"), "{}", "'outputs' must be a JSON list"),
    ("outputs entry is text", _manifest(outputs=["tables/ok.csv"]), "{}", "outputs[0] must be a JSON object"),
    ("entry without path", _manifest(outputs=[{"kind": "table", "name": "ok"}]), "{}", "outputs[0].path"),
    ("path is a number", _manifest(outputs=[{"path": 3, "kind": "table"}]), "{}", "outputs[0].path"),
    ("name is a list", _manifest(outputs=[{"path": "tables/ok.csv", "kind": "table", "name": ["x"]}]), "{}",
     "outputs[0].name"),
    ("execution_count is text", _manifest(outputs=[{"path": "tables/ok.csv", "kind": "table", "name": "ok",
                                                    "execution_count": "7"}]), "{}", "execution_count"),
    ("run is a list", _manifest(run=["k"]), "{}", "'run' must be a JSON object"),
    ("records is a list", _manifest(records=[1]), "{}", "'records' must be a JSON object"),
    ("a record is a number", _manifest(records={"x": 1}), '{"x": 1}', "every entry of 'records'"),
    ("parameters is text", _manifest(parameters="alpha=1"), "{}", "'parameters' must be a JSON object"),
    ("inputs entry is text", _manifest(inputs=["a.csv"]), "{}", "inputs[0] must be a JSON object"),
    ("environment is text", _manifest(environment="linux"), "{}", "'environment' must be a JSON object"),
    ("packages is a list", _manifest(environment={"packages": ["numpy"]}), "{}", "environment.packages"),
    ("git is text", _manifest(git="abc"), "{}", "'git' must be a JSON object"),
    ("results is a list", _manifest(), "[1, 2]", "results.json is not a JSON object"),
    ("results not json", _manifest(), "{", "results.json is not valid JSON"),
    ("results not utf-8", _manifest(), b'{"x": "\xe9"}', "results.json is not UTF-8 text"),
    ("a result is a list", _manifest(), '{"x": [1]}', "the value of 'x' is not a number, text, true/false or null"),
]


@pytest.mark.parametrize("label, manifest, results, reason", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_run_is_listed_unreadable_and_the_report_builds(tmp_path, capsys, label, manifest, results,
                                                                      reason):
    outputs = tmp_path / "outputs"
    good = _run_folder(outputs / STUDY / "good", _manifest())
    bad = outputs / STUDY / "bad"
    _run_folder(bad, manifest, results if isinstance(results, str) else "{}")
    if isinstance(results, bytes):
        (bad / "results.json").write_bytes(results)
    assert cli.main(["report", "--outputs", str(outputs)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"report: skipped {bad}: ") and reason in err[0], err
    site = outputs / "site"
    index = (site / "index.html").read_text()
    assert "Runs that could not be read" in index and reason.split("'")[0][:20] in index
    assert (site / STUDY / "good" / "index.html").is_file() and not (site / STUDY / "bad").exists()
    assert static_problems(site) == []
    assert good.is_dir()
    with pytest.raises(ParamError, match=r"^report: .*bad: "):  # the same run reported alone: one line
        report.build_report(outputs_root=bad)


def test_unexpected_values_inside_well_typed_fields_do_not_crash_the_page(tmp_path):
    """Values of any JSON type where the report shows text (inputs' path, records' cells, parameters)."""
    outputs = tmp_path / "outputs"
    man = _manifest(inputs=[{"key": 1, "path": 5, "kind": None, "bytes": [1], "sha256": {"a": 1}}],
                    records={"x": {"execution_count": "nine", "source_cell": [1]}}, parameters={"a": {"b": [1]}},
                    git={"commit": 12, "dirty": "maybe"}, environment={"python": 3, "packages": {"n": 1}})
    _run_folder(outputs / STUDY / "odd", man, {"x": "nested", "y": None})  # a nested value: MALFORMED
    index = report.build_report(outputs_root=outputs)
    page = (index.parent / STUDY / "odd" / "index.html").read_text()
    assert "nested" in page and static_problems(index.parent) == []
