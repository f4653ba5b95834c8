"""The lessons hold up: exercise solutions run and pass their checks, templates are current and run,
and a participant's workshop runs match the shipped reference values (`studykit check`).

Unit: an exercise notebook, a template file, a (study, workshop profile) run.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from studykit import cli, paths
from studykit.studies import STUDIES
from studykit.workshop import write_templates

ROOT = paths.project_root()
EXERCISES = sorted((ROOT / "workshop" / "exercises").glob("*.ipynb"))


def test_every_study_has_an_exercise_with_solutions_and_checks():
    assert sorted(p.stem for p in EXERCISES) == sorted(STUDIES)
    for ex in EXERCISES:
        nb = nbformat.read(ex, as_version=4)
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert tags.count("solution") >= 2 and tags.count("check") == tags.count("solution"), ex.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{ex.name}: commit without outputs"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: p.stem)
def test_exercise_solutions_pass_their_checks(exercise, tmp_path, study_run, monkeypatch):
    """Runs the notebook with its solutions on the studykit kernel; a failing check cell fails the test.

    The notebook's ``run_study(study, profile="workshop")`` finds the session's shared workshop run (its kernel
    inherits ``STUDYKIT_OUTPUTS``), as a participant's finds the run of ``make reproduce``; its runs with
    overrides are new folders beside it.
    """
    from nbclient import NotebookClient

    base = study_run(exercise.stem, "workshop")
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(base.out_dir.parents[1]))
    nb = nbformat.read(exercise, as_version=4)
    NotebookClient(nb, kernel_name="studykit", timeout=900, resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert text.startswith("correct"), f"{exercise.name}: {text!r}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda p: p.stem)
def test_a_check_run_before_answering_says_not_yet(exercise, tmp_path, study_run, monkeypatch):
    """Unit: one exercise notebook without its solutions. Each check cell says 'not yet: define ...' (was a
    NameError)."""
    from nbclient import NotebookClient

    base = study_run(exercise.stem, "workshop")
    monkeypatch.setenv("STUDYKIT_OUTPUTS", str(base.out_dir.parents[1]))
    nb = nbformat.read(exercise, as_version=4)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    NotebookClient(nb, kernel_name="studykit", timeout=900, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for cell in (c for c in nb.cells if "check" in c.metadata.get("tags", [])):
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        assert errors and errors[0]["ename"] == "AssertionError", f"{exercise.name}: {errors}"
        assert errors[0]["evalue"].startswith("not yet: define "), errors[0]["evalue"]


def test_answers_rounded_to_a_few_digits_are_correct():
    """Unit: one answer compared with the expected value (rounded answers were rejected)."""
    from studykit.exercises import matches

    assert matches(0.8717, 0.871734) and matches(0.872, 0.871734) and not matches(0.85, 0.871734)
    assert matches(0.0, 0.0001) and matches(12, 12) and not matches(11, 12)
    assert matches(True, True) and not matches(1, True) and not matches("yes", True)
    assert matches(["b", "a"], {"a", "b"}) and not matches(["a"], {"a", "b"})
    assert matches([0.5, 0.1234], [0.5, 0.12341]) and not matches([0.5, 0.2], [0.5, 0.12341])


def test_templates_are_the_documented_cut_of_the_embedded_data(tmp_path):
    written = write_templates(tmp_path)
    for path in written:
        committed = ROOT / "workshop" / "templates" / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"regenerate {committed} with write_templates"


def test_own_data_walkthrough_runs_on_the_templates(tmp_path, monkeypatch):
    """The walk-through of workshop/own-data.md: --set paths relative to the current folder, --out elsewhere."""
    monkeypatch.chdir(ROOT / "workshop")
    out = tmp_path / "mine"
    code = cli.main(["run", "sycophancy_correlation", "--set", "personas_path=templates/sycophancy_correlation/personas.csv",
                     "--set", "responses_path=templates/sycophancy_correlation/responses.csv", "--set", "n_perm=200",
                     "--out", str(out), "--quiet"])
    assert code == 0
    assert json.loads((out / "results.json").read_text())["n_models"] == 3


@pytest.mark.parametrize("study", STUDIES)
def test_workshop_runs_match_the_reference_values(study, capsys, study_run):
    """`studykit check STUDY --profile workshop` on the workshop run (the command of the workshop's wrap-up)."""
    res = study_run(study, "workshop")
    code = cli.main(["check", study, "--profile", "workshop", "--run", str(res.out_dir)])
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize("episode", sorted((ROOT / "workshop" / "episodes").glob("0[1-9]-*.md")),
                         ids=lambda p: p.stem)
def test_every_file_an_episode_names_is_in_its_workshop_run(episode, study_run):
    """Unit: one episode page and the workshop run of its study. A learner opens the tables and figures an
    episode names (episode 1 named figures/scatter_by_model.png; the file is scatter_grid.png)."""
    import re

    study = episode.stem.split("-", 1)[1]
    named = set(re.findall(r"`((?:tables|figures)/[\w.-]+\.\w+)`", episode.read_text(encoding="utf-8")))
    if not named:
        pytest.skip(f"{episode.name} names no table or figure")
    folder = study_run(study, "workshop").out_dir
    missing = sorted(n for n in named if not (folder / n).is_file())
    assert not missing, f"{episode.name} names files its workshop run does not write: {missing}"


#: episode -> the results.json key holding the conclusion its "Change one analyst choice" moves
CHANGED_CONCLUSION = {
    "01-sycophancy_correlation": "n_models_significant",
    "02-annotation_robustness": "risk.type_I",
    "03-counterfactual_baselines": "n_significant",
    "04-lexical_prevalence": "top.en",
    "05-code_survival": "cox.adjusted_hr",
}


@pytest.mark.parametrize("episode", sorted(CHANGED_CONCLUSION))
def test_each_episodes_change_of_one_choice_moves_its_conclusion(episode, study_run):
    """Unit: one episode and two workshop runs of its study (as given, and with the episode's --set). The
    moment "change one analyst choice" must visibly change a conclusion (episode 1's changed nothing)."""
    import re

    import yaml

    text = (ROOT / "workshop" / "episodes" / f"{episode}.md").read_text(encoding="utf-8")
    block = text[text.index("**Change one analyst choice.**"):]
    command = re.search(r"```bash\n(studykit run [^\n]+)\n```", block).group(1)
    study = command.split()[2]
    assert study == episode.split("-", 1)[1] and "--profile workshop" in command, command
    overrides = {k: yaml.safe_load(v) for k, v in re.findall(r"--set (\w+)=(\S+)", command)}
    assert overrides, command
    key = CHANGED_CONCLUSION[episode]
    base = json.loads((study_run(study, "workshop").out_dir / "results.json").read_text())
    changed = json.loads((study_run(study, "workshop", overrides).out_dir / "results.json").read_text())
    assert base[key] != changed[key], f"{command} leaves {key} at {base[key]!r}"
