"""Own data without surprises: where relative paths point, where an overridden run goes, what the
terminal says at the end, `studykit params`, suggestions for unknown keys, and input paths refused
before a kernel starts.

Unit: one parameter resolution or one CLI invocation (one notebook execution in the whole module).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from studykit import cli
from studykit.contract.profiles import params_file_name, resolve_run, run_name
from studykit.runs.runsummary import summary_line

NAME = "frame_fixture"


def test_set_paths_are_relative_to_the_current_directory(fixture_project, tmp_path, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    (here / "mine.csv").write_bytes(fixture_project.data.read_bytes())
    monkeypatch.chdir(here)
    spec = resolve_run(NAME, overrides=["data_file=mine.csv"])
    assert spec.params.data_file == str(here / "mine.csv")
    # a mapping (the Python API, like a notebook) stays relative to the project root
    with pytest.raises(Exception, match="input file not found"):
        resolve_run(NAME, overrides={"data_file": "mine.csv"})


def test_params_file_paths_are_relative_to_the_file(fixture_project, tmp_path, monkeypatch):
    (tmp_path / "study" / "data").mkdir(parents=True)
    (tmp_path / "study" / "data" / "v.csv").write_bytes(fixture_project.data.read_bytes())
    pf = tmp_path / "study" / "conf" / "mine.yaml"
    pf.parent.mkdir()
    pf.write_text("data_file: ../data/v.csv\nn_boot: 50\n")
    monkeypatch.chdir(fixture_project.root)
    spec = resolve_run(NAME, params_file=pf)
    assert Path(spec.params.data_file).resolve() == (tmp_path / "study" / "data" / "v.csv").resolve()
    assert spec.name == params_file_name(pf) and spec.overrides == {}
    assert spec.name.startswith("params-mine+") and len(spec.name) == len("params-mine+") + 8


def test_an_overridden_run_gets_its_own_folder_and_the_terminal_says_what_ran(fixture_project, capsys):
    code = cli.main(["run", NAME, "--set", f"data_file={fixture_project.data}", "--set", "n_boot=50", "--quiet"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    spec = resolve_run(NAME, overrides=[f"data_file={fixture_project.data}", "n_boot=50"])
    assert spec.name == run_name("default", {"data_file": str(fixture_project.data), "n_boot": 50})
    assert spec.name.startswith("default+") and len(spec.name) == len("default+") + 8
    assert [p.name for p in (fixture_project.outputs / NAME).iterdir()] == [spec.name], \
        "the default profile's folder is not written"
    assert out[0].startswith(f"{NAME}/{spec.name} (profile default --set data_file=")
    assert "--set n_boot=50): executed" in out[0]
    assert out[-1] == f"{NAME}/{spec.name}: no data issues; no model fallbacks"
    man = json.loads((fixture_project.outputs / NAME / spec.name / "manifest.json").read_text())
    assert man["run"]["base_profile"] == "default"
    assert man["run"]["overrides"] == {"data_file": str(fixture_project.data), "n_boot": 50}


def test_summary_line_counts_data_issues_and_fallbacks(tmp_path):
    """Unit: one run folder with three checks (one with count 0) and two fallback keys."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "data_issues.csv").write_text(
        "check,count,rule,detail\nduplicates,12,dropped,\nnan_score,3,dropped,\nblank,0,none seen,\nlong_name,1,cut,\n"
        "other,2,x,\n")
    (tmp_path / "results.json").write_text(json.dumps({
        "pooled.fallback": "two-stage", "cox.adjusted.not_estimable": "no variation in file_ext",
        "mixed.fallback": None, "data_issues.duplicates": 12, "data_issues.not_estimable": 1}))
    assert summary_line(tmp_path) == (
        "4 data issues (see tables/data_issues.csv): duplicates 12, nan_score 3, long_name 1, and 1 more; "
        "2 model fallbacks: cox.adjusted.not_estimable = no variation in file_ext, pooled.fallback = two-stage")
    (tmp_path / "tables" / "data_issues.csv").unlink()
    assert summary_line(tmp_path).startswith("2 data issues (see tables/data_issues.csv): duplicates 12, "
                                             "not_estimable 1; 2 model fallbacks: cox.adjusted.not_estimable")


def test_params_command_lists_every_parameter(fixture_project, capsys):
    assert cli.main(["params", NAME]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["parameter", "type", "default", "range", "description"]
    rows = {ln.split()[0]: ln for ln in lines[1:]}
    assert set(rows) == set(fixture_project.module.Params.model_fields)
    assert "input file" in rows["data_file"] and "CSV with columns group, value" in rows["data_file"]
    assert "int" in rows["n_boot"] and "200" in rows["n_boot"] and ">= 10, <= 100000" in rows["n_boot"]
    assert "> 0, < 1" in rows["alpha"] and "bool" in rows["fail"]
    assert cli.main(["params", "sycophancy_correlation"]) == 0
    assert "one of holm, bonferroni" in capsys.readouterr().out


BAD_INPUTS = [
    # (study, --set, words of the one-line error)
    ("sycophancy_correlation", "personas_path=null", ["'personas_path'", "required", "null"]),
    ("sycophancy_correlation", "personas_path=", ["'personas_path'", "empty input path"]),
    ("sycophancy_correlation", "personas_path=/etc/shadow", ["'personas_path'", "unsupported file type",
                                                              "/etc/shadow"]),
    ("sycophancy_correlation", "responses_path={docx}", ["'responses_path'", "unsupported file type", ".docx"]),
    ("annotation_robustness", "items_path=null", ["'items_path'", "required"]),
    ("sycophancy_correlation", "personas_pth=x.csv", ["unknown parameter 'personas_pth'",
                                                       "did you mean personas_path"]),
]


@pytest.mark.parametrize("study,setting,words", BAD_INPUTS, ids=[b[1] for b in BAD_INPUTS])
def test_bad_input_paths_are_refused_before_a_kernel_starts(study, setting, words, capsys, sk_outputs, tmp_path):
    docx = tmp_path / "thesis.docx"
    docx.write_bytes(b"PK\x03\x04 not a table")
    code = cli.main(["run", study, "--set", setting.format(docx=docx), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert not sk_outputs.exists() or not any(sk_outputs.rglob("*"))


def test_an_optional_input_may_be_null(sk_outputs):
    from studykit.contract.registry import get

    lex = get("lexical_prevalence").params
    assert lex.load(overrides={"diachronic_path": None}).diachronic_path is None


def test_params_lines_fit_a_terminal_and_show_a_profiles_values(capsys, monkeypatch):
    """Unit: `studykit params STUDY [--profile P]` for every study (lines were up to 334 characters)."""
    monkeypatch.setenv("COLUMNS", "120")
    for study in ("annotation_robustness", "code_survival", "counterfactual_baselines", "lexical_prevalence",
                  "sycophancy_correlation"):
        assert cli.main(["params", study]) == 0
        assert max(len(ln) for ln in capsys.readouterr().out.splitlines()) <= 130, study
    assert cli.main(["params", "counterfactual_baselines", "--profile", "medperturb"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "medperturb" in lines[0].split()
    fmt = next(ln for ln in lines if ln.startswith("data_format "))
    assert fmt.split()[-1] != "medperturb" and "medperturb" in fmt  # the profile's value beside the default
    assert cli.main(["params", "counterfactual_baselines", "--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in capsys.readouterr().err


def test_summary_line_says_when_sentiment_real_ran_without_embeddings(tmp_path, monkeypatch):
    """Unit: the last line of a sentiment_real run folder without the embeddings extra: its five corpus issues
    (reference/annotation_robustness/sentiment_real.json) and the study's own ``embeddings_not_run`` issue. The
    issue was sixth, hidden behind "and 3 more"; now it is named first and its rule ("3 of 5") ends the line."""
    from types import SimpleNamespace

    import pandas as pd

    from studykit.files import paths
    from studykit.studies.annotation_robustness import annotators, sentiment_inputs

    monkeypatch.setattr(annotators, "embeddings_available", lambda: False)
    (issue,) = sentiment_inputs.embeddings_left_out(SimpleNamespace(dataset="sentiment_real",
                                                                    sentiment_embeddings="auto"))
    ref = json.loads((paths.project_root() / "reference" / "annotation_robustness" / "sentiment_real.json")
                     .read_text(encoding="utf-8"))["results"]
    rows = [{"check": k.split(".", 1)[1], "count": v, "rule": "applied", "detail": ""}
            for k, v in ref.items() if k.startswith("data_issues.")]
    assert len(rows) >= 3  # enough to hide a later issue behind "and N more"
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows + [issue.as_dict()]).to_csv(tmp_path / "tables" / "data_issues.csv", index=False)
    line = summary_line(tmp_path)
    assert "\n" not in line
    assert line.split(": ", 1)[1].startswith("embeddings_not_run 2, "), line
    assert line.endswith("; embeddings_not_run: " + issue.rule) and "3 of 5" in line and "embeddings" in line
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "data_issues.csv", index=False)  # with the extra: not said
    assert "not_run" not in summary_line(tmp_path)


@pytest.mark.parametrize("study, key, template, drop", [
    ("sycophancy_correlation", "personas_path", "sycophancy_correlation/personas.csv", "model"),
    ("sycophancy_correlation", "responses_path", "sycophancy_correlation/responses.csv", "prompt_id"),
    ("annotation_robustness", "items_path", "annotation_robustness/items.csv", "gold"),
    ("annotation_robustness", "annotations_path", "annotation_robustness/annotations.csv", "label"),
    ("code_survival", "line_events_path", "code_survival/line_events.csv", "born_at"),
    ("counterfactual_baselines", "data_path", "counterfactual_baselines/counterfactual.csv", "variant_kind"),
    ("lexical_prevalence", "corpus_path", "lexical_prevalence/corpus.csv", "language"),
    ("lexical_prevalence", "corpus_path", "lexical_prevalence/corpus.csv", "text"),  # "'text' or 'tokens'"
])
def test_a_missing_column_is_one_line_naming_the_file_before_a_kernel_starts(study, key, template, drop, tmp_path,
                                                                              monkeypatch, capsys):
    """Unit: one own-data run whose table lacks a required column. The error names the parameter, the file and
    the column, comes from the header before any kernel starts, and leaves no run or .failed folder (it came
    after a 10-60 s kernel start and named only "personas", and its .failed folder showed in the report)."""
    import csv

    import studykit.runs.engine as engine

    src = Path(__file__).resolve().parents[2] / "workshop" / "templates" / template
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index(drop)
    mine = tmp_path / Path(template).name
    with open(mine, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([r[:col] + r[col + 1:] for r in rows])
    monkeypatch.setattr(engine, "execute_notebook", lambda *a, **k: pytest.fail("a kernel started"))
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(outputs))
    assert cli.main(["run", study, "--profile", "workshop", "--set", f"{key}={mine}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"studykit: error: parameter '{key}': {mine} has no column '{drop}'"
                   + err[0].split(f"has no column '{drop}'", 1)[1]], err
    assert "its columns: " in err[0]
    assert not outputs.exists() or not any(outputs.rglob("*"))


def test_columns_that_depend_on_the_input_format_are_checked_for_that_format(tmp_path, monkeypatch, capsys):
    """Unit: one counterfactual run whose file has the long format's columns but says ``data_format: bbq``:
    the error names the first BBQ column missing and the format whose columns were asked for, before a kernel."""
    import studykit.runs.engine as engine

    src = Path(__file__).resolve().parents[2] / "workshop" / "templates" / "counterfactual_baselines" / \
        "counterfactual.csv"
    monkeypatch.setattr(engine, "execute_notebook", lambda *a, **k: pytest.fail("a kernel started"))
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(tmp_path / "outputs"))
    assert cli.main(["run", "counterfactual_baselines", "--profile", "workshop", "--set", f"data_path={src}",
                     "--set", "data_format=bbq"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"parameter 'data_path': {src} has no column 'prompt_variant' (and " in err[0], err
    assert "(data_format: bbq); its columns: item_id" in err[0], err


def test_a_missing_column_message_cuts_the_files_long_column_names(tmp_path, capsys):
    """Unit: one corpus whose header holds a 5,000-character, a unicode/'@' and a line-break column name and lacks
    required columns: the refusal is one line, each listed name cut to 60 characters (it was 5,172 characters)."""
    import csv

    mine = tmp_path / "corpus.csv"
    with open(mine, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["doc_id", "language", "sørce@x", "x" * 5000, "bad\nname"],
                                  ["1", "en", "ai", "t", "u"]])
    assert cli.main(["run", "lexical_prevalence", "--profile", "workshop", "--set", f"corpus_path={mine}",
                     "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no column 'source'" in err[0] and "sørce@x" in err[0], err
    assert "x" * 59 + "…" in err[0] and "x" * 61 not in err[0] and len(err[0]) < 600, len(err[0])
    assert not (tmp_path / "out").exists()
