"""The lessons hold up: exercise solutions run and pass their checks, templates are current and run,
and a participant's workshop runs match the shipped reference values (`studykit check`).

Unit: an exercise notebook, a template file, a (study, workshop profile) run.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from studykit import cli

from studykit.files import paths
from studykit.contract.registry import names
from studykit.teaching.workshop import write_templates

ROOT = paths.project_root()
EXERCISES = sorted((ROOT / "workshop" / "exercises").glob("*.ipynb"))


def test_every_run_an_exercise_starts_shows_progress():
    """Unit: one run_study call in an exercise notebook. The first cell ran silently for 10-60 s; each run shows
    a progress bar (cells done / total; nothing when served from the cache)."""
    for ex in EXERCISES:
        cells = nbformat.read(ex, as_version=4).cells
        text = "\n".join("".join(c.source) for c in cells if c.cell_type == "code")
        calls = re.findall(r"run_study\((.*?)\)(?:\)|\s|$)", text, re.S)
        assert calls and all('progress="bar"' in c for c in calls), f"{ex.name}: {calls}"


def test_every_exercise_is_a_studys_with_solutions_and_checks():
    """Unit: one exercise notebook. It is named after a registered study (a study without an exercise is
    simply not taught; the five of the kit each have one)."""
    assert set(p.stem for p in EXERCISES) <= set(names()) and len(EXERCISES) >= 5
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
    from studykit.teaching.exercises import matches

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


@pytest.mark.parametrize("study", names())
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


#: `key` = value in an episode: a number the learner should see in the workshop run's results.json
EXPECTED = r"`([\w.-]+)` = (-?\d+(?:\.(\d+))?)\b"


@pytest.mark.parametrize("episode", sorted((ROOT / "workshop" / "episodes").glob("0[1-9]-*.md")),
                         ids=lambda p: p.stem)
def test_episode_expected_numbers_are_the_reference_values(episode):
    """Unit: one episode page and its study's shipped reference values (reference/<study>/workshop.json). Every
    `key` = value the episode quotes equals the reference value rounded to the digits shown."""
    import re

    study = episode.stem.split("-", 1)[1]
    ref = json.loads((ROOT / "reference" / study / "workshop.json").read_text(encoding="utf-8"))["results"]
    text = episode.read_text(encoding="utf-8")
    assert "**Expected numbers.**" in text, f"{episode.name}: no expected numbers for self-checking"
    quoted = re.findall(EXPECTED, text)
    assert len(quoted) >= 5, f"{episode.name} quotes only {len(quoted)} expected numbers"
    for key, shown, decimals in quoted:
        assert key in ref, f"{episode.name}: `{key}` is not a result of {study}"
        value = ref[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (episode.name, key, value)
        want = f"{value:.{len(decimals)}f}" if decimals else f"{value:.0f}"
        assert shown == want, f"{episode.name}: `{key}` = {shown}, the reference gives {want} ({value!r})"
        if not decimals:
            assert float(value) == int(shown), f"{episode.name}: `{key}` = {shown} is rounded; show the decimals"


def test_instructor_notes_say_where_the_solutions_are_and_how_init_strips_them():
    """Unit: workshop/instructor-notes.md and the tags the code uses (imported, so a renamed tag fails here)."""
    from studykit.teaching.workshop import CHECK_TAG, SOLUTION_TAG, participant_copy

    notes = (ROOT / "workshop" / "instructor-notes.md").read_text(encoding="utf-8")
    section = notes[notes.index("## Exercise solutions"):]
    section = section[:section.index("\n## ", 1)]
    assert f"tagged `{SOLUTION_TAG}`" in section and f"tagged `{CHECK_TAG}`" in section
    assert "`workshop/exercises/<study>.ipynb`" in section and "studykit workshop init" in section
    assert "studykit lab workshop/exercises" in section
    for ex in EXERCISES:  # the notes' claim: the files there hold the solutions, and init strips them
        nb = nbformat.read(ex, as_version=4)
        assert any(SOLUTION_TAG in c.metadata.get("tags", []) for c in nb.cells), ex.name
        stripped = participant_copy(nb)
        assert not any(SOLUTION_TAG in c.metadata.get("tags", []) for c in stripped.cells), ex.name
        assert sum(CHECK_TAG in c.metadata.get("tags", []) for c in stripped.cells) == \
            sum(CHECK_TAG in c.metadata.get("tags", []) for c in nb.cells), ex.name


def _own_data_rows() -> dict[str, list[str]]:
    """study -> the ``KEY=VALUE`` strings of its row in workshop/own-data.md's table of the studies."""
    import re
    import shlex

    text = (ROOT / "workshop" / "own-data.md").read_text(encoding="utf-8")
    rows = {}
    for study, options in re.findall(r"^\| (\w+) \| [^|]+ \| `([^`]+)` \|$", text, re.M):
        words = shlex.split(options)
        assert all(w == "--set" for w in words[0::2]), options
        rows[study] = words[1::2]
    return rows


@pytest.mark.parametrize("study", names())
def test_own_data_page_options_validate_against_the_studys_params(study, monkeypatch):
    """Unit: one row of workshop/own-data.md (a study's --set options on its template). The options resolve to
    valid parameters from the workspace (relative paths from the current folder, as `studykit run` takes them),
    every input file exists, and annotation_robustness names `group_columns` that its items template has (the page
    showed no `group_columns`)."""
    import csv

    from studykit.contract.profiles import resolve_run

    rows = _own_data_rows()
    assert study in rows, f"own-data.md has no --set options for {study}"
    monkeypatch.chdir(ROOT / "workshop")  # the templates' folder, as in a workspace
    params = resolve_run(study, "default", overrides=rows[study]).params
    for pair in rows[study]:
        key, _ = pair.split("=", 1)
        value = getattr(params, key)
        if key.endswith("_path") and value is not None:
            assert Path(value).is_file() and "templates" in Path(value).parts, (key, value)
    if study == "annotation_robustness":
        assert any(p.startswith("group_columns=") for p in rows[study])
        with open(params.items_path, encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert set(params.group_columns) <= set(header), (params.group_columns, header)


def test_own_data_annotation_example_runs_on_its_template(tmp_path, monkeypatch):
    """Unit: the annotation_robustness row of own-data.md, run on its template (a working example)."""
    monkeypatch.chdir(ROOT / "workshop")
    out = tmp_path / "mine"
    sets = [x for pair in _own_data_rows()["annotation_robustness"] for x in ("--set", pair)]
    code = cli.main(["run", "annotation_robustness", *sets, "--set", "mitigation_replicates=2",
                     "--set", "n_bootstrap=200", "--out", str(out), "--quiet"])
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert res["n_models"] == 2 and res["n_hypotheses"] > 0


def test_display_mask_hides_a_listed_word_on_screen_and_never_in_the_saved_table(study_run):
    """Unit: the lexical workshop run's top-lemmas table, displayed with one word masked. The word is the
    English rank-10 lemma of the reference values (the profanity episode 4 warns about), not typed here."""
    import pandas as pd

    from studykit.files.tablefmt import mask_word, mask_words

    ref = json.loads((ROOT / "reference" / "lexical_prevalence" / "workshop.json").read_text(encoding="utf-8"))
    word = ref["results"]["top.en"].split(",")[9]
    folder = study_run("lexical_prevalence", "workshop").out_dir
    saved = folder / "tables" / "top_lemmas.csv"
    before = saved.read_bytes()
    top = pd.read_csv(saved)
    shown = mask_words(top, [word.upper()])  # case-insensitive
    hidden = shown.loc[top["lemma"] == word, "lemma"]
    assert len(hidden) >= 1 and set(hidden) == {mask_word(word)} and word not in shown["lemma"].tolist()
    assert mask_word(word) == word[0] + "*" * (len(word) - 1)
    others = top["lemma"] != word
    pd.testing.assert_frame_equal(shown[others], top[others])  # every other cell, numbers included, as it was
    assert top["lemma"].tolist().count(word) == len(hidden) and saved.read_bytes() == before
    listed = pd.DataFrame({"top": [ref["results"]["top.en"]]}, index=[word])
    masked_list = mask_words(listed, word)
    assert masked_list["top"].iloc[0].split(",")[9] == mask_word(word) and masked_list.index[0] == mask_word(word)
    assert masked_list["top"].iloc[0].split(",")[:9] == ref["results"]["top.en"].split(",")[:9]
    assert mask_words(top, []).equals(top)
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert results["top.en"] == ref["results"]["top.en"]  # the saved results keep the word
    text = (ROOT / "workshop" / "episodes" / "04-lexical_prevalence.md").read_text(encoding="utf-8")
    doc = (ROOT / "docs" / "studies" / "lexical_prevalence.md").read_text(encoding="utf-8")
    assert "mask_words" in text and "mask_words" in doc and "rank 10" in text and "rank 10" in doc
