"""Committed notebooks: no outputs or execution counts, the `studykit` kernel, a parameters cell
that matches the study's Params, ``out.close()`` at the end.

Unit: one committed notebook file (read as JSON, never executed).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from studykit.files import paths
from studykit.contract.registry import names

ROOT = paths.project_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + [Path(__file__).parent / "fixtures" / "frame_fixture" / "frame_fixture.ipynb"]


def _load(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_holds_no_outputs_or_execution_counts(nb_path):
    nb = _load(nb_path)
    dirty = []
    for i, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {i} has execution count {cell['execution_count']}")
    assert not dirty, f"{nb_path.name}: clear outputs before committing: {'; '.join(dirty)}"
    assert "papermill" not in nb["metadata"], f"{nb_path.name} is an executed (papermill) notebook"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_names_the_studykit_kernel_and_has_one_parameters_cell(nb_path):
    nb = _load(nb_path)
    assert nb["metadata"].get("kernelspec", {}).get("name") == "studykit", nb_path.name
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb_path.name}: needs exactly one cell tagged 'parameters'"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "out.close()" in "".join(code[-1]["source"]), f"{nb_path.name}: last code cell must call out.close()"


def _parameter_names(nb: dict) -> list[str]:
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


@pytest.mark.parametrize("study", names())
def test_parameters_cell_matches_the_study_schema(study):
    nb_path = ROOT / "notebooks" / f"{study}.ipynb"
    if not nb_path.is_file():
        pytest.fail(f"notebooks/{study}.ipynb is missing")
    from studykit.contract.registry import get

    params_cls = get(study).params
    names = _parameter_names(_load(nb_path))
    assert "output_dir" in names, f"{study}: the parameters cell must set output_dir = None"
    fields = set(params_cls.model_fields)
    assert set(names) - {"output_dir"} == fields, (
        f"{study}: parameters cell and Params differ: only in notebook {sorted(set(names) - {'output_dir'} - fields)}, "
        f"only in Params {sorted(fields - set(names))}"
    )
    # the cell's defaults are the schema's defaults (so the notebook runs as is in JupyterLab)
    cell = next(c for c in _load(nb_path)["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    ns: dict = {}
    exec("".join(cell["source"]), {}, ns)
    defaults = params_cls().to_notebook()
    for k in fields:
        assert json.loads(json.dumps(ns[k])) == defaults[k], f"{study}: default of '{k}' differs from Params"


def test_studykit_kernel_is_installed_in_this_environment():
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("studykit")
    exe = Path(spec.argv[0])
    assert exe.resolve() == Path(sys.executable).resolve() or exe.parent.resolve() == Path(sys.executable).parent.resolve(), (
        f"the studykit kernel runs {exe}, not this environment's Python {sys.executable}: run `make setup`"
    )


_SAVES = {"save", "close"}  # the only Outputs calls a study notebook makes: one step saved per cell, and the close


@pytest.mark.parametrize("study", names())
def test_notebook_cells_save_one_step_each_and_build_no_keys(study):
    """The notebook shape of CONTRIBUTING.md: a code cell calls ``out.save(step)`` at most once and no other
    writing method of ``out`` (``save_table``, ``record``, ... with keys or file names typed in the notebook);
    the step's result declares its exhibits and keys itself."""
    nb = _load(ROOT / "notebooks" / f"{study}.ipynb")
    bad = []
    for i, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        calls = [n.func.attr for n in ast.walk(ast.parse("".join(cell["source"])))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and isinstance(n.func.value, ast.Name) and n.func.value.id == "out"]
        if set(calls) - _SAVES:
            bad.append(f"cell {i} calls out.{', out.'.join(sorted(set(calls) - _SAVES))}")
        if calls.count("save") > 1:
            bad.append(f"cell {i} saves {calls.count('save')} steps")
    assert not bad, f"{study}: {'; '.join(bad)}"


def test_contributing_worked_example_is_the_code():
    """Unit: CONTRIBUTING.md's worked example. Its step class and its notebook cell are copied from the code
    (``sycophancy_correlation``'s ``steps.py`` and notebook), so every line of them, without the margin
    comments, must be found there: the example cannot drift from the code it shows."""
    import re

    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("### Worked example"):text.index("## Rules")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the worked example shows the step (steps.py) and its notebook cell"
    sources = [(ROOT / "lib/studykit/studies/sycophancy_correlation/steps.py").read_text(encoding="utf-8"),
               (ROOT / "notebooks/sycophancy_correlation.ipynb").read_text(encoding="utf-8")]
    for block, source in zip(blocks, sources):
        for line in block.splitlines():
            code = re.sub(r"\s+#.*$", "", line).strip()
            assert code in source, f"CONTRIBUTING.md's worked example shows {code!r}, which the code does not have"
