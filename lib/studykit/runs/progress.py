"""Progress of a notebook run: cells done / total and the current cell.

A tqdm bar on a terminal, one plain line per cell otherwise (CI, logs,
several processes), nothing when off. :class:`Progress` is the listener the
execution engine (:mod:`studykit.runs.engine`) calls at each cell.
"""
from __future__ import annotations

import sys
from typing import Any, Mapping

MODES = ("bar", "lines", "off")


def cell_title(cell: Mapping[str, Any], width: int = 48) -> str:
    """The first non-empty line of a cell's source (``#`` stripped), shortened to ``width``."""
    for line in str(cell.get("source", "")).splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= width else line[: width - 1] + "…"
    return "(empty cell)"


def progress_mode(progress: bool | str, stream=None) -> str:
    """``"bar"`` on a terminal, ``"lines"`` elsewhere, ``"off"`` when ``progress`` is false.

    A mode name given as ``progress`` is returned as is.
    """
    if progress in MODES:
        return str(progress)
    if not progress:
        return "off"
    stream = stream or sys.stderr
    return "bar" if getattr(stream, "isatty", lambda: False)() else "lines"


class Progress:
    """Cells done / total and the current cell, shown as ``mode`` ("bar", "lines" or "off")."""

    def __init__(self, label: str, mode: str = "off", stream=None):
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
        self.label, self.mode = label, mode
        self.stream = stream or sys.stderr
        self.total = 0
        self.done = 0
        self.bar = None

    def say(self, text: str) -> None:
        """One line about the run (nothing when off)."""
        if self.mode != "off":
            print(f"[{self.label}] {text}", file=self.stream, flush=True)

    def start(self, nb: Any) -> None:
        self.total = sum(1 for c in nb.cells if c.get("cell_type") == "code")
        self.done = 0
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="cell", desc=self.label, file=self.stream,
                            dynamic_ncols=True, leave=False)
        elif self.mode == "lines":
            self.say(f"executing {self.total} code cells")

    def cell_start(self, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        tags = cell.get("metadata", {}).get("tags", [])
        title = ("(injected parameters)" if "injected-parameters" in tags
                 else "(parameters)" if "parameters" in tags else cell_title(cell))
        if self.bar is not None:
            self.bar.set_postfix_str(title, refresh=True)
        elif self.mode == "lines":
            self.say(f"cell {self.done + 1}/{self.total}: {title}")

    def cell_complete(self, cell: Any, index: int) -> None:
        if cell.get("cell_type") != "code":
            return
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


__all__ = ["Progress", "progress_mode", "cell_title", "MODES"]
