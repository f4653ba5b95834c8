"""studykit: the thin helper library behind the study workbooks.

Public entry points used by the notebooks:

- :func:`studykit.contract.outputs.open_outputs` -- the only way a notebook writes a
  table, a figure or a recorded number (it keeps the manifest).
- :class:`studykit.contract.issues.DataIssue` -- the one type for a data problem and the rule
  applied to it; steps return ``(result, issues)`` and the notebook calls
  ``out.record_result(prefix, result)`` and ``out.note_issues(issues)``.
- :mod:`studykit.stats` -- effect sizes, tests, corrections, resampling and
  design analysis shared by all studies.
- :mod:`studykit.studies` -- one subpackage per study (schema, load, simulate,
  analysis, plots).
"""
from studykit.contract.errors import StudykitError, ParamError, InputError
from studykit.contract.issues import DataIssue
from studykit.contract.names import slug

__all__ = ["StudykitError", "ParamError", "InputError", "DataIssue", "slug", "Outputs", "open_outputs"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """``Outputs`` and ``open_outputs`` on first use: they import pandas and matplotlib, which the
    command line's light paths (a cached run, ``studykit list``) never need."""
    if name in ("Outputs", "open_outputs"):
        from studykit.contract import outputs
        return getattr(outputs, name)
    raise AttributeError(f"module 'studykit' has no attribute '{name}'")
