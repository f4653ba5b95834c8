"""Checks of the LaTeX tables a run wrote, for the study notebook tests.

A paper table fits a page: at most ``max_columns`` columns (estimates and their
CIs merged into one column, see ``tex_columns`` in :mod:`studykit.contract.outputs`) and
readable headers (no snake_case: ``save_table`` turns underscores into spaces
unless a notebook names the headers). :func:`tex_problems` returns readable
problem descriptions, empty when every table is fine, so a test writes
``assert not tex_problems(run)``.
"""
from __future__ import annotations

import re
from pathlib import Path

_SPEC = re.compile(r"\\begin\{tabular\}\{([^}]*)\}")


def tex_header(tex: str) -> list[str]:
    """The header cells of a table written by ``to_latex_table``."""
    lines = tex.splitlines()
    return [h.strip() for h in lines[lines.index("\\toprule") + 1].rstrip("\\ ").split(" & ")]


def tex_problems(run: Path, max_columns: int = 10) -> list[str]:
    """Tables of ``run/tables/*.tex`` wider than ``max_columns`` or with a snake_case header."""
    found = []
    for path in sorted(Path(run, "tables").glob("*.tex")):
        tex = path.read_text(encoding="utf-8")
        spec = _SPEC.search(tex)
        n = len(re.findall(r"[lrcp]", spec.group(1))) if spec else 0
        if n > max_columns:
            found.append(f"{path.name}: {n} columns (at most {max_columns}; give save_table a tex_columns view)")
        snake = [h for h in tex_header(tex) if "\\_" in h]
        if snake:
            found.append(f"{path.name}: snake_case headers {snake[:3]}")
    return found
