"""The studies: one subpackage each, with the same shape.

``studies/<name>/``
    ``schema.py``    ``Params`` (a :class:`studykit.params.StudyParams`) and the raw-data columns
    ``load.py``      readers and adapters from other formats, with schema checks
    ``simulate.py``  the seeded simulator that writes the embedded data and its truth
    ``analysis.py``  pure functions: DataFrames in, DataFrames or frozen results out
    ``plots.py``     figures from analysis results

Each subpackage's ``__init__`` exports ``Params`` and ``write_embedded(out_dir)``
(used by ``studykit simulate``).
"""
from __future__ import annotations

import importlib
from types import ModuleType

STUDIES: tuple[str, ...] = (
    "annotation_robustness",
    "code_survival",
    "counterfactual_baselines",
    "lexical_prevalence",
    "sycophancy_correlation",
)


def get_study(name: str) -> ModuleType:
    """Import ``studykit.studies.<name>``; a one-line error for an unknown name."""
    from studykit.errors import ParamError

    if name not in STUDIES:
        raise ParamError(f"unknown study '{name}' (known: {', '.join(STUDIES)})")
    return importlib.import_module(f"studykit.studies.{name}")
