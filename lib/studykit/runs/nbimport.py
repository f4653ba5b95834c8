"""Importing the notebook stack (nbformat, papermill, nbconvert) without its one slow, unused import.

nbformat imports jsonschema to validate notebooks, and jsonschema registers an ``iri`` format checker whenever
``rfc3987_syntax`` is installed (it is, for JupyterLab's ``jupyter-events``). Importing that package compiles a
Lark grammar: on the 2-core machine about 2.5 s of CPU per process, more than nbformat, papermill, nbclient
and jupyter_client together (``python -X importtime -c "import studykit.runs.engine"``; measured numbers in
``benchmarks/bench_cached_runs.py``). Nothing studykit validates uses the ``iri`` format (notebook validation
does not check formats), so :func:`notebook_stack` hides the module while the stack is imported: jsonschema's
``import rfc3987_syntax`` then fails as if it were not installed, and the IRI checker is the only thing
missing. The module is visible again afterwards (the hiding is undone even when the import fails), so other
code that imports it directly still gets it.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

#: modules whose import compiles a grammar studykit never uses
_SLOW_UNUSED = ("rfc3987_syntax",)


@contextlib.contextmanager
def notebook_stack() -> Iterator[None]:
    """Hide :data:`_SLOW_UNUSED` from imports inside the ``with`` block (a no-op if already imported)."""
    hidden = [name for name in _SLOW_UNUSED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
