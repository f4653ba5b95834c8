"""The one reader of results.json: what it accepts and the one line it gives for everything else.

Unit: one run folder's results.json.
"""
from __future__ import annotations

import os

import pytest

from studykit.contract.errors import ParamError
from studykit.runs.resultsfile import read_results, results_or_problem


def test_a_flat_object_of_scalars_is_read_as_is(tmp_path):
    (tmp_path / "results.json").write_text('{"a.b": 1.5, "n": 3, "note": "x", "ok": true, "ci": null}')
    assert read_results(tmp_path) == {"a.b": 1.5, "n": 3, "note": "x", "ok": True, "ci": None}


@pytest.mark.parametrize("content, problem", [
    (None, "results.json is missing"),
    ("{", "results.json is not valid JSON"),
    (b'{"x": "\xe9"}', "results.json is not UTF-8 text"),
    ("[1, 2]", "results.json is not a JSON object of result keys (got list)"),
    ('{"x": {"y": 1}}', "results.json: the value of 'x' is not a number, text, true/false or null"),
    ("link", "results.json is a symbolic link (not followed)"),
])
def test_every_other_file_is_one_line_naming_the_folder(tmp_path, content, problem):
    target = tmp_path / "results.json"
    if content == "link":
        (tmp_path / "elsewhere.json").write_text("{}")
        os.symlink(tmp_path / "elsewhere.json", target)
    elif isinstance(content, bytes):
        target.write_bytes(content)
    elif content is not None:
        target.write_text(content)
    data, why = results_or_problem(tmp_path)
    assert data is None and why.startswith(problem)
    with pytest.raises(ParamError) as info:
        read_results(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: {problem}") and "\n" not in str(info.value)
