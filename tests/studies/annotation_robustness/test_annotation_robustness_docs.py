"""Documentation that cannot go stale: quoted numbers against results.json, parameters against Params.

Unit: one number quoted in docs/studies/annotation_robustness*.md, or one parameter.

Every number the study docs quote for a committed profile stands in a table whose header
is ``| quantity | key | <profile> ... |``: ``key`` is the ``results.json`` key and each
profile column the value shown, rounded to the decimals shown. The tests run the profile
and compare. ``default`` runs in the default test run; ``paper_scale`` and ``sentiment_real``
take minutes and are marked slow (the same parser and comparison are exercised by the fast
``default`` test). The parameter table between ``<!-- params:begin -->`` and
``<!-- params:end -->`` is rendered from ``Params`` by :func:`parameter_table`.
"""
from __future__ import annotations

import json
import re

import pytest

from studykit.paths import project_root
from studykit.studies.annotation_robustness import Params

DOCS = [project_root() / "docs" / "studies" / "annotation_robustness.md",
        project_root() / "docs" / "studies" / "annotation_robustness_real.md"]
PROFILES = ("default", "workshop", "paper_scale", "sentiment_real")
_ROW = re.compile(r"^\|(.+)\|\s*$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", _ROW.match(line).group(1))]


def quoted_numbers() -> list[tuple[str, str, str, str]]:
    """(doc name, profile, key, shown value) of every checked table row of the study docs."""
    found = []
    for doc in DOCS:
        header = None
        for line in doc.read_text(encoding="utf-8").splitlines():
            if not _ROW.match(line):
                header = None
                continue
            cells = _cells(line)
            if header is None:
                header = cells if cells[:2] == ["quantity", "key"] and set(cells[2:]) <= set(PROFILES) else []
                continue
            if not header or set(cells) <= {"---", ""} or set("".join(cells)) <= set("-| "):
                continue
            key = cells[1].strip("`")
            for profile, shown in zip(header[2:], cells[2:]):
                if shown not in ("", "-"):
                    found.append((doc.name, profile, key, shown))
    return found


def matches(actual, shown: str) -> bool:
    """``actual`` from results.json rounds to ``shown`` (thousands separators and a trailing % allowed)."""
    text = shown.replace(",", "")
    if text in ("null", "None"):
        return actual is None
    if isinstance(actual, bool) or isinstance(actual, str):
        return str(actual) == text
    if actual is None:
        return False
    scale = 100.0 if text.endswith("%") else 1.0
    text = text.rstrip("%")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return round(float(actual) * scale, decimals) == pytest.approx(float(text), abs=10 ** -(decimals + 6))


def check_profile(profile: str, results: dict) -> None:
    rows = [(doc, key, shown) for doc, p, key, shown in quoted_numbers() if p == profile]
    assert rows, f"no number quoted for {profile}"
    wrong = [f"{doc}: {key} shows {shown}, results.json has {results.get(key, 'no such key')}"
             for doc, key, shown in rows if key not in results or not matches(results[key], shown)]
    assert not wrong, "; ".join(wrong)


def _run(profile: str, tmp_path_factory) -> dict:
    from studykit.runner import run_study

    res = run_study("annotation_robustness", profile=profile, out_dir=tmp_path_factory.mktemp(profile) / "out")
    return json.loads((res.out_dir / "results.json").read_text())


def test_parser_reads_the_checked_tables():
    rows = quoted_numbers()
    assert {p for _, p, _, _ in rows} >= {"default", "paper_scale", "sentiment_real"}
    assert matches(0.2754, "0.275") and matches(3000, "3,000") and not matches(0.2754, "0.28 ")
    assert matches(0.845, "84.5%") and matches(None, "null") and not matches(None, "0")


def test_default_numbers_in_docs_match_a_run(study_run):
    res = study_run("annotation_robustness", "default")
    check_profile("default", json.loads((res.out_dir / "results.json").read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["paper_scale", "sentiment_real"])
def test_slow_profile_numbers_in_docs_match_a_run(tmp_path_factory, profile):
    check_profile(profile, _run(profile, tmp_path_factory))


# ---- parameters ---------------------------------------------------------------------------------------------
def _default_text(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _type_text(annotation) -> str:
    text = str(annotation).replace("typing.", "")
    if text.startswith("<class '"):
        text = annotation.__name__
    return text.replace(" | ", " or ")


def parameter_table() -> str:
    """The markdown table of every ``Params`` field: name, type, default, constraints, description."""
    lines = ["| parameter | type | default | range | description |", "|---|---|---|---|---|"]
    for name, field in Params.model_fields.items():
        kind = _type_text(field.annotation)
        limits = [f"{op} {getattr(m, attr)}" for m in field.metadata
                  for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "length >="))
                  if getattr(m, attr, None) is not None]
        description = (field.description or "").replace("|", "/")
        lines.append(f"| `{name}` | `{kind}` | `{_default_text(field.default)}` | {', '.join(limits)} | {description} |")
    return "\n".join(lines)


def test_parameter_table_in_docs_is_generated_from_params():
    text = DOCS[0].read_text(encoding="utf-8")
    block = text.split("<!-- params:begin -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0]
    assert block == parameter_table(), ("regenerate the parameter table: PYTHONPATH=lib python -c 'import sys; "
                                        "sys.path.insert(0, \"tests/studies/annotation_robustness\"); "
                                        "import test_annotation_robustness_docs as t; print(t.parameter_table())'")
