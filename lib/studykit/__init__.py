"""studykit: the thin helper library behind the study workbooks.

Public entry points used by the notebooks:

- :func:`studykit.outputs.open_outputs` -- the only way a notebook writes a
  table, a figure or a recorded number (it keeps the manifest).
- :mod:`studykit.stats` -- effect sizes, tests, corrections, resampling and
  design analysis shared by all studies.
- :mod:`studykit.studies` -- one subpackage per study (schema, load, simulate,
  analysis, plots).
"""
from studykit.errors import StudykitError, ParamError, InputError
from studykit.outputs import Outputs, open_outputs

__all__ = ["StudykitError", "ParamError", "InputError", "Outputs", "open_outputs"]
__version__ = "0.1.0"
