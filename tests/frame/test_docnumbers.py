"""Every study doc's parameters and numbers, through the one docs-numbers mechanism (tests/docnumbers.py).

Unit: one study doc block: a parameter table against the study's ``Params``; the values a doc quotes for one
profile against that profile's shipped reference (or, without one, a run); a generated block against a
rendering of its profile's run; and each quoted ``default`` reference against this session's run (the
``workshop`` ones: test_workshop_lessons), so a quote checked against a reference is checked against a run.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import docnumbers as dn  # noqa: E402

from studykit import cli  # noqa: E402
from studykit.contract.profiles import list_profiles  # noqa: E402
from studykit.contract.registry import get, names  # noqa: E402

STUDIES = names()
RUN_IN_SESSION = ("default", "workshop")  # profiles the suite runs anyway (shared runs)


def _quoted(study: str) -> dict[str, list[dn.Quote]]:
    by_profile: dict[str, list[dn.Quote]] = {}
    for q in dn.quotes(study, set(list_profiles(study))):
        by_profile.setdefault(q.profile, []).append(q)
    return by_profile


def _cases(with_reference: bool) -> list:
    out = []
    for study in STUDIES:
        for profile in sorted(_quoted(study)):
            has_ref = dn.reference_results(study, profile) is not None
            if has_ref == with_reference:
                out.append(pytest.param(study, profile, id=f"{study}-{profile}",
                                        marks=() if has_ref else pytest.mark.slow))
    return out


def _run_folder(study: str, profile: str, study_run) -> Path:
    module = dn.study_blocks(study)
    if module is not None and hasattr(module, "run_folder"):
        return module.run_folder(study_run, profile)
    return study_run(study, profile).out_dir


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_doc_uses_the_one_mechanism(study):
    """Each study has a doc with its parameter table and quoted values for its default profile, and no marker
    of another grammar (the five earlier ones: params:begin, generated:x / end:x, prose without markers)."""
    found = dn.docs(study)
    assert found and found[0].is_file(), f"no docs/studies/{study}.md"
    text = "\n".join(p.read_text(encoding="utf-8") for p in found)
    names_seen = [name for name, _ in dn.blocks(text)]
    assert names_seen.count("parameters") == 1, f"{study}: {names_seen.count('parameters')} parameter tables"
    assert "default" in _quoted(study) or any(n.startswith("generated:") for n in names_seen), study
    for stale in ("params:begin", "<!-- end:", "<!-- end generated:"):
        assert stale not in text, f"{study}: a marker of an older grammar: {stale}"


@pytest.mark.parametrize("study", STUDIES)
def test_parameter_table_is_generated_from_the_schema(study):
    text = dn.docs(study)[0].read_text(encoding="utf-8")
    block = dict(dn.blocks(text))["parameters"].strip()
    assert block == dn.parameter_table(get(study).params), f"regenerate with: python tests/docnumbers.py {study}"


@pytest.mark.parametrize(("study", "profile"), _cases(with_reference=True))
def test_quoted_values_match_the_shipped_reference(study, profile):
    wrong = dn.wrong_quotes(_quoted(study)[profile], dn.reference_results(study, profile))
    assert not wrong, "; ".join(wrong)


@pytest.mark.parametrize(("study", "profile"), _cases(with_reference=False))
def test_quoted_values_of_a_profile_without_reference_match_a_run(study, profile, study_run):
    folder = _run_folder(study, profile, study_run)
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    wrong = dn.wrong_quotes(_quoted(study)[profile], results)
    assert not wrong, "; ".join(wrong)


def _session_quoted() -> list:
    """(study, profile) of quotes checked against a reference whose profile the session runs anyway; the
    workshop references are compared with their runs by test_workshop_lessons (the workshop's wrap-up)."""
    return [pytest.param(study, "default", id=study) for study in STUDIES
            if "default" in _quoted(study) and dn.reference_results(study, "default") is not None]


@pytest.mark.parametrize(("study", "profile"), _session_quoted())
def test_reference_of_a_quoted_default_profile_matches_its_run(study, profile, study_run, capsys):
    """The quotes above read the reference; this ties the reference to a fresh run (`studykit check`)."""
    res = study_run(study, profile)
    code = cli.main(["check", study, "--profile", profile, "--run", str(res.out_dir)])
    assert code == 0, capsys.readouterr().out


def _generated_cases() -> list:
    out = []
    for study in STUDIES:
        module = dn.study_blocks(study)
        for name in dn.generated(study):
            block = module.BLOCKS.get(name) if module else None
            slow = block is not None and block.profile not in RUN_IN_SESSION and \
                dn.reference_results(study, block.profile) is None
            out.append(pytest.param(study, name, id=f"{study}-{name}", marks=pytest.mark.slow if slow else ()))
    return out


@pytest.mark.parametrize(("study", "name"), _generated_cases())
def test_generated_block_matches_a_rendering_of_its_run(study, name, study_run):
    module = dn.study_blocks(study)
    assert module is not None and name in module.BLOCKS, (
        f"docs of {study} have a generated block '{name}' that tests/studies/{study}/docblocks.py does not render")
    block = module.BLOCKS[name]
    folder = _run_folder(study, block.profile, study_run)
    assert dn.same_text(dn.generated(study)[name], block.render(folder)), (
        f"generated block '{name}' is stale: python tests/docnumbers.py {study} {block.profile}=<run folder>")


def test_the_checker_reads_values_as_shown():
    """Unit: the reading rule (digits shown, %, thousands, None, booleans) and the rewrite rule keep a quote's
    format."""
    assert dn.matches(0.2754, "0.275") and dn.matches(3000, "3,000") and not dn.matches(0.2754, "0.27")
    assert dn.matches(0.845, "84.5%") and dn.matches(None, "n/a") and not dn.matches(None, "0")
    assert dn.matches(1.2e-5, "1.2e-5") and not dn.matches(1.3e-5, "1.2e-5") and dn.matches(True, "yes")
    assert not dn.matches(float("nan"), "0.1") and dn.matches("commit", "commit") and not dn.matches(1, "no")
    for value, shown in ((0.2754, "0.281"), (3000, "2,999"), (0.845, "80.1%"), (1.2e-5, "3.4e-6"), (True, "no")):
        assert dn.matches(value, dn.restate(value, shown)), (value, shown, dn.restate(value, shown))
    text = "a `x` = 0.10 b\n| key | default |\n|---|---|\n| `y` | 2 |"
    assert dn.QUOTE.findall(text) == [("x", "0.10")]
    assert dn._table_quotes("d", text.split("\n", 1)[1], {"default"}) == [dn.Quote("d", "default", "y", "2")]
