"""A cached run stays light: it never imports the notebook-execution stack.

``studykit run`` with nothing changed must answer in a fraction of a second; importing papermill, nbclient,
jupyter_client and nbformat (whose validator compiles a URI grammar at import) took 3 s of the 3.5 s such a
run took. The check runs the real command in a fresh interpreter on each study's shared workshop run (served
from the cache) and lists the modules it imported (benchmarks/bench_cached_runs.py times the same path).

Unit: one `studykit run` process served from the cache (one study's workshop profile).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from studykit.runs.kernelinfo import EXECUTION_MODULES
from studykit.contract.registry import names

#: besides the execution stack, what a cached run of a default or workshop profile does not need either
HEAVY = (*EXECUTION_MODULES, "pandas", "matplotlib", "scipy", "statsmodels")

_PROBE = """
import json, sys
from studykit.cli import main
code = main(["run", sys.argv[1], "--profile", "workshop", "--out", sys.argv[2], "--quiet"])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[3])))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize("study", names())
def test_cached_run_imports_no_execution_stack(study, study_run):
    run = study_run(study, "workshop")
    proc = subprocess.run([sys.executable, "-c", _PROBE, study, str(run.out_dir), json.dumps(HEAVY)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert "cached (nothing changed)" in lines[0], proc.stdout
    probe = json.loads(lines[-1])
    assert probe["code"] == 0
    assert probe["heavy"] == [], f"a cached run of {study} imported {probe['heavy']}: import them lazily"


def test_engine_still_registers_and_reexports():
    """The light constants are the engine's own (one definition), and the engine registers itself when imported."""
    from papermill.engines import papermill_engines

    from studykit.runs import engine, kernelinfo
    assert engine.KERNEL_NAME is kernelinfo.KERNEL_NAME and engine.KERNEL_ENV is kernelinfo.KERNEL_ENV
    assert papermill_engines.get_engine(engine.ENGINE_NAME) is engine.StudykitEngine


_STACK_PROBE = """
import json, sys
import studykit.runs.engine, studykit.teaching.workshop
import nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nb)  # the validator works without the grammar
bad = nbformat.from_dict(dict(nb, cells=[{"cell_type": "code", "source": 1}]))
try:
    nbformat.validate(bad)
    caught = False
except nbformat.ValidationError:
    caught = True
hidden = "rfc3987_syntax" not in sys.modules
import rfc3987_syntax  # visible again after the stack's import: whoever imports it directly gets it
print(json.dumps({"hidden": hidden, "caught": caught, "after": rfc3987_syntax.__name__}))
"""


def test_the_notebook_stack_imports_without_the_iri_grammar_and_still_validates():
    """Unit: one fresh interpreter importing the engine and the workshop kit (studykit.runs.nbimport). The grammar
    jsonschema would compile for the ``iri`` format (seconds of CPU; benchmarks/bench_notebook_stack.py) is not
    imported, nbformat still validates and rejects an invalid notebook, and the module is importable again
    afterwards."""
    pytest.importorskip("rfc3987_syntax")
    proc = subprocess.run([sys.executable, "-c", _STACK_PROBE], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"hidden": True, "caught": True,
                                                                 "after": "rfc3987_syntax"}


def test_hiding_is_undone_when_the_import_fails():
    from studykit.runs.nbimport import notebook_stack

    was = sys.modules.pop("rfc3987_syntax", None)
    try:
        with pytest.raises(ModuleNotFoundError):
            with notebook_stack():
                import studykit_no_such_module  # noqa: F401
        assert "rfc3987_syntax" not in sys.modules
    finally:
        if was is not None:
            sys.modules["rfc3987_syntax"] = was
