"""The one way a notebook writes tables, figures and recorded numbers.

A notebook opens an :class:`Outputs` for its study and parameters, writes
through it, and closes it in its last cell::

    out = open_outputs("code_survival", params, output_dir)
    out.save_table(df, "hazard_ratios", caption="Cox models")
    out.save_figure(fig, "km_by_author", caption="Kaplan-Meier curves")
    out.record("cox.hr_agent", hr)
    out.record_result("cox.unadjusted", cox_result)   # any studykit Result; NaN -> null
    out.note_issues(issues)                           # DataIssue tuple from a load/analysis step
    out.close()

Names that come from data (a model called ``x@v1``, a language code with
non-ASCII letters) go through :meth:`Outputs.name` before they become part of
a key, table or file name; the mapping is kept in ``manifest.json``
(``"names"``).

Every write is atomic and logged with the notebook cell that made it; on
:meth:`Outputs.close` the log becomes ``manifest.json`` (parameters,
provenance, input hashes, seeds, outputs with their hashes and cells).

Layout of an output folder::

    tables/<name>.csv .tex .html
    figures/<name>.png .svg
    results.json          flat {dotted.name: number | string | bool | null}
    manifest.json
    notebook.ipynb        (written by the runner)

Every string a table or figure carries (caption, column and index names,
cells) may come from data, so the HTML and LaTeX files escape all of them
(:mod:`studykit.files.tablefmt`): ``<script>`` and ``\\input{...}`` are shown as text.

Numbers: the CSV and ``results.json`` hold every float with 10 significant
digits, cancellation noise in a table column written as 0 (the rule of
:mod:`studykit.files.floats`); the HTML and LaTeX files (and the report's view of a
table) are made from the same numbers and are for reading, so floats there are
rounded by a rule per column (:mod:`studykit.files.tablefmt`):

- p-values (column ``p_value``, ``*_p_value``, ``p_value_corrected``, and the older ``p``, ``q``,
  ``p_adjusted``, ``p_holm``, ``*_p``, ...): 3 significant digits, scientific below 0.001
  (``0.0123``, ``4.56e-05``);
- counts (a float column whose values are all whole numbers): integers in full;
- other floats: 4 significant digits.

Paper tables: the CSV and HTML files keep every column under its name. The LaTeX
file shows every column under a readable header (underscores become spaces) unless
a notebook chooses what it shows with ``tex_columns`` (column -> readable header, in
the order given; a key ``(estimate, low, high)`` makes one column
``estimate [low, high]``), each number rounded by the rule of its source
column::

    out.save_table(per_model, "per_model", caption="...",
                   tex_columns={"model": "Model", "n_personas": "Personas",
                                ("pearson_r", "r_ci_low", "r_ci_high"): "r [95% CI]",
                                "p_value_corrected": "p (corrected)"})

Determinism: CSV floats and ``results.json`` numbers follow :mod:`studykit.files.floats`
(10 significant digits, noise snapped to 0), CSV lines end in ``\\n`` and
``results.json`` has sorted keys, so the same inputs and parameters give
byte-identical tables and results on any CPU.
"""
from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from studykit.contract.issues import DataIssue
from studykit.contract.names import slug
from studykit.files.fileio import atomic_path, dumps_json, sha256_file, write_json_atomic, write_text_atomic
from studykit.files.floats import FLOAT_FORMAT, round_sig, stable_frame
from studykit.files.paths import outputs_dir, resolve
from studykit.files.tablefmt import MISSING, column_formatter, to_html_fragment, to_latex_table

_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-+/ ()\[\]:]*$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


#: a paper view: column -> header, or (estimate, low, high) -> header of the merged column
TexColumns = dict[str | tuple[str, str, str], str]
TexView = Mapping[str | tuple[str, str, str], str]


def ci_label(confidence: float) -> str:
    """The header suffix of a merged interval column: ``[95% CI]``."""
    return f"[{confidence:.0%} CI]"


def present_columns(view: TexView, columns) -> TexColumns:
    """The entries of ``view`` whose columns are all in ``columns`` (for tables whose columns vary,
    e.g. a table left empty when its test cannot be estimated)."""
    have = set(columns)
    return {k: h for k, h in view.items() if set(k if isinstance(k, tuple) else (k,)) <= have}


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def paper_view(df: pd.DataFrame, columns: TexView, name: str = "") -> pd.DataFrame:
    """The columns of ``df`` a paper shows, under readable headers, numbers as rounded text.

    ``columns`` maps a column to its header, or a triple ``(estimate, low, high)`` to the header of one
    column ``estimate [low, high]``. Floats are rounded by the rule of their source column
    (:func:`studykit.files.tablefmt.column_formatter`, so ``p_value_corrected`` keeps the p-value rule under the
    header "p (corrected)"); a missing number (NaN or None) is shown as ``--`` (an en dash), an estimate
    without its interval alone; other cells are kept. The index is kept.
    """
    missing = [c for key in columns for c in (key if isinstance(key, tuple) else (key,)) if c not in df.columns]
    if missing:
        raise KeyError(f"save_table('{name}'): tex_columns names columns not in the table: {missing}")

    def as_floats(col: pd.Series) -> pd.Series | None:
        """A float column, or an object column of numbers and None, as floats; else None."""
        if pd.api.types.is_float_dtype(col):
            return col
        if col.dtype == object and col.map(
                lambda v: v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool))).all():
            return pd.to_numeric(col, errors="coerce").astype(float)
        return None

    def shown(cols: tuple[str, ...]) -> list[Any]:
        raw = [df[c] for c in cols]
        vals = [as_floats(v) for v in raw]
        if any(v is None for v in vals):
            if len(cols) == 1:
                return list(raw[0])
            return [MISSING if _missing(t[0]) else " ".join(map(str, t)) for t in zip(*raw)]
        fmt = column_formatter(cols[0], pd.concat(vals, ignore_index=True))
        if len(cols) == 1:
            return [MISSING if math.isnan(v) else fmt(float(v)) for v in vals[0]]
        return [MISSING if math.isnan(e) else fmt(float(e)) if math.isnan(lo) or math.isnan(hi)
                else f"{fmt(float(e))} [{fmt(float(lo))}, {fmt(float(hi))}]" for e, lo, hi in zip(*vals)]

    return pd.DataFrame({header: shown(key if isinstance(key, tuple) else (key,)) for key, header in columns.items()},
                        index=df.index)


def default_tex_columns(df: pd.DataFrame) -> dict[str, str] | None:
    """The .tex view of a table saved without ``tex_columns``: every column, under a readable header
    (``n_obs`` is shown as "n obs", ``type_I_rate`` as "type I rate"; numbers are still rounded by the
    rule of the source name). ``None`` (the table as it is) when the columns are not unique strings or
    two headers would collide."""
    cols = list(df.columns)
    if not all(isinstance(c, str) for c in cols) or len(set(cols)) != len(cols):
        return None
    headers = {c: " ".join(c.replace("_", " ").split()) or c for c in cols}
    return headers if len(set(headers.values())) == len(cols) else None


def _unicode_key_ok(key: str) -> bool:
    """Keys may also hold non-ASCII letters, digits and combining marks (lemmas such as
    'améliorer' or Hindi words); the ASCII punctuation allowed is that of ``_KEY_RE``."""
    import unicodedata

    if not key or not (key[0].isalnum() or key[0] == "_"):
        return False
    return all(ch.isalnum() or ch in "_.-+/ ()[]:" or unicodedata.category(ch).startswith("M") for ch in key)


def _current_cell() -> dict[str, Any]:
    """Execution count and cell id of the running notebook cell, when in a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return {}
    ip = get_ipython()
    if ip is None:
        return {}
    # IPython bumps ``execution_count`` before running a cell's code, so the
    # running cell's ``In [n]`` is one less (as ipykernel's execute_reply says).
    info: dict[str, Any] = {"execution_count": ip.execution_count - 1}
    try:
        parent = ip.kernel.get_parent()  # type: ignore[attr-defined]
        cell_id = (parent or {}).get("metadata", {}).get("cellId")
        if cell_id:
            info["cell_id"] = cell_id
    except Exception:
        pass
    return info


def _to_json_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            raise ValueError(
                f"record('{key}'): value is {v}; record None and explain why in the notebook instead"
            )
        return round_sig(v)  # the rule of studykit.files.floats: 10 significant digits
    raise TypeError(f"record('{key}'): expected a number, string, bool or None, got {type(value).__name__}")


class Outputs:
    """Writer for one study run's output folder. See the module docstring."""

    def __init__(self, study: str, params: Any = None, output_dir: str | Path | None = None):
        self.study = study
        self.params = params
        self.dir = resolve(output_dir) if output_dir else outputs_dir() / study / "interactive"
        (self.dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.dir / "figures").mkdir(parents=True, exist_ok=True)
        self.results: dict[str, Any] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        self.data_issues: list[dict[str, Any]] = []
        self.record_cells: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}
        self.started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.closed = False

    # ---- logging --------------------------------------------------------------
    def _log(self, path: Path, kind: str, name: str, caption: str) -> None:
        rel = path.relative_to(self.dir).as_posix()
        self.entries[rel] = {"path": rel, "kind": kind, "name": name, "caption": caption, **_current_cell()}

    # ---- tables ---------------------------------------------------------------
    def save_table(
        self,
        df: pd.DataFrame,
        name: str,
        caption: str = "",
        *,
        index: bool = False,
        formats: tuple[str, ...] = ("csv", "tex", "html"),
        float_format: str = FLOAT_FORMAT,
        tex_columns: TexView | None = None,
    ) -> Path:
        """Write ``df`` as ``tables/<name>.csv`` (and .tex, .html); return the CSV path.

        Floats follow :mod:`studykit.files.floats` (10 significant digits, a column's cancellation
        noise written as 0) in every format; ``float_format`` is the CSV's text format of those
        numbers. The .tex and .html files escape every string and round floats by the per-column
        rule of the module docstring. ``tex_columns`` (column -> header,
        or ``(estimate, low, high)`` -> header) chooses the columns and headers of the .tex file
        only (see "Paper tables" in the module docstring).
        """
        if not _NAME_RE.match(name):
            raise ValueError(f"save_table: table name '{name}' must be letters, digits, _ . -")
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"save_table('{name}'): expected a DataFrame, got {type(df).__name__}")
        base = self.dir / "tables" / name
        df = stable_frame(df)
        written = []
        for fmt in formats:
            target = base.with_suffix(f".{fmt}")
            if fmt == "csv":
                with atomic_path(target) as tmp:
                    df.to_csv(tmp, index=index, float_format=float_format, lineterminator="\n")
            elif fmt == "parquet":
                with atomic_path(target) as tmp:
                    df.to_parquet(tmp, index=index)
            elif fmt == "tex":
                view = tex_columns if tex_columns is not None else default_tex_columns(df)
                tex = df if view is None else paper_view(df, view, name)
                write_text_atomic(target, to_latex_table(tex, caption, f"tab:{name}", index=index))
            elif fmt == "html":
                write_text_atomic(target, to_html_fragment(df, caption, index=index))
            else:
                raise ValueError(f"save_table('{name}'): unknown format '{fmt}'")
            self._log(target, "table", name, caption)
            written.append(target)
        return written[0]

    # ---- figures --------------------------------------------------------------
    def save_figure(self, fig: Any, name: str, caption: str = "", *, formats: tuple[str, ...] = ("png", "svg"),
                    dpi: int = 150) -> Path:
        """Write a matplotlib figure as ``figures/<name>.png`` and ``.svg``; return the PNG path."""
        import matplotlib as mpl

        if not _NAME_RE.match(name):
            raise ValueError(f"save_figure: figure name '{name}' must be letters, digits, _ . -")
        fig = getattr(fig, "figure", fig)  # accept seaborn grids / axes
        if hasattr(fig, "fig") and not hasattr(fig, "savefig"):
            fig = fig.fig
        written = []
        with mpl.rc_context({"svg.hashsalt": "studykit", "svg.fonttype": "path"}):
            # the layout and the tight box once, at the PNG's dpi (savefig's bbox_inches="tight" draws the whole
            # figure an extra time per format, and a layout engine reruns on every draw: 6.0 s -> 4.4 s for a
            # 16-panel constrained grid, 3.6 s -> 2.3 s without a layout engine; the PNG bytes are the same)
            box: Any = "tight"
            engine, frozen = fig.get_layout_engine(), False
            try:
                if hasattr(fig.canvas, "get_renderer"):  # Agg-based canvases (Agg, Jupyter's inline backend)
                    shown_dpi = fig.dpi
                    fig.set_dpi(dpi)
                    try:
                        if engine is not None:  # lay out once (constrained layout would rerun on every save)
                            fig.draw_without_rendering()
                            frozen = True
                            fig.set_layout_engine("none")
                        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(mpl.rcParams["savefig.pad_inches"])
                    finally:
                        fig.set_dpi(shown_dpi)
                self._save_formats(fig, name, caption, formats, dpi, box, written)
            finally:
                if frozen:  # the figure the notebook shows keeps its layout engine
                    fig.set_layout_engine(engine)
        return written[0]

    def _save_formats(self, fig: Any, name: str, caption: str, formats: tuple[str, ...], dpi: int, box: Any,
                      written: list[Path]) -> None:
        """Write ``fig`` in each format, atomically, and log each file (the body of :meth:`save_figure`)."""
        for fmt in formats:
            target = self.dir / "figures" / f"{name}.{fmt}"
            meta = {"Date": None} if fmt in ("svg", "pdf") else {"Software": "studykit"}
            if fmt == "pdf":
                meta = {"CreationDate": None, "ModDate": None}
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=box, metadata=meta)
            self._log(target, "figure", name, caption)
            written.append(target)

    # ---- numbers ----------------------------------------------------------------
    def record(self, key: str, value: Any) -> Any:
        """Record one key number under a dotted name; rewrites ``results.json`` atomically.

        Values are numbers, strings, bools or None; NaN and infinities raise,
        so that a silent NaN never reaches a paper. Returns ``value``.
        """
        if not isinstance(key, str) or not (_KEY_RE.match(key) or _unicode_key_ok(key)):
            raise ValueError(f"record: key {key!r} must be a dotted name (letters, digits, _ . -)")
        self.results[key] = _to_json_value(key, value)
        self.entries.setdefault("results.json", {"path": "results.json", "kind": "results", "name": "results",
                                                  "caption": "Recorded numbers"})
        self.record_cells[key] = _current_cell()
        write_json_atomic(self.dir / "results.json", self.results)
        return value

    def record_many(self, mapping: Mapping[str, Any], prefix: str = "") -> None:
        """Record every ``key: value`` of ``mapping`` (keys prefixed with ``prefix.``)."""
        for k, v in mapping.items():
            self.record(f"{prefix}.{k}" if prefix else str(k), v)

    def record_result(self, prefix: str, result: Any) -> Any:
        """Record every scalar field of a :class:`studykit.stats.results.Result` under ``prefix.``.

        Uses ``result.as_record(prefix)``: NaN and infinities are recorded as
        ``null`` (the result's ``note`` field, recorded alongside, says why), so
        every result can be recorded. Returns ``result``.
        """
        if not hasattr(result, "as_record"):
            raise TypeError(f"record_result('{prefix}'): expected a studykit Result, got {type(result).__name__}")
        for key, value in result.as_record(prefix).items():
            self.record(key, value)
        return result

    def name(self, raw: Any) -> str:
        """A key-, table- and file-safe version of a name taken from data (:func:`studykit.contract.names.slug`).

        Safe names are returned unchanged; others are mapped (the mapping is
        written to ``manifest.json`` under ``"names"``).
        """
        safe = slug(raw)
        if safe != str(raw):
            self.names[safe] = str(raw)
        return safe

    # ---- a step's exhibits ---------------------------------------------------------
    def save(self, step: Any) -> Any:
        """Write everything a step declares (:mod:`studykit.contract.exhibits`: tables, figures, records, data issues,
        in the order the step lists them) and return the step, for the notebook to show."""
        from studykit.contract.exhibits import Figure, Record, Table

        if not hasattr(step, "exhibits"):
            raise TypeError(f"save: {type(step).__name__} declares no exhibits (a step result has exhibits(name))")
        for item in step.exhibits(self.name):
            if isinstance(item, Table):
                self.save_table(item.frame, item.name, item.caption, formats=item.formats,
                                tex_columns=item.tex_columns)
            elif isinstance(item, Figure):
                self.save_figure(item.draw(), item.name, item.caption)
            elif isinstance(item, Record) and hasattr(item.value, "as_record"):
                self.record_result(item.prefix, item.value)
            elif isinstance(item, Record):
                self.record_many(item.value, item.prefix)
            elif isinstance(item, DataIssue):
                self.note_issues(item)
            else:
                raise TypeError(f"save: {type(step).__name__} lists {type(item).__name__}, not an exhibit")
        return step

    # ---- data problems ------------------------------------------------------------
    def note_issues(self, issues: Any) -> None:
        """Report every :class:`studykit.contract.issues.DataIssue` of ``issues`` (an iterable, or one issue).

        Each adds a row to ``tables/data_issues.csv`` (written on close) and
        records ``data_issues.<check>`` = count, so that nothing is dropped
        silently. Issues with the same check are summed in ``results.json``.
        """
        if isinstance(issues, DataIssue):
            issues = (issues,)
        for issue in issues:
            if not isinstance(issue, DataIssue):
                raise TypeError(f"note_issues: expected DataIssue, got {type(issue).__name__}")
            row = issue.as_dict()
            self.data_issues.append(row)
            total = sum(r["count"] for r in self.data_issues if r["check"] == row["check"])
            self.record(f"data_issues.{self.name(row['check'])}", total)

    def note_data_issue(self, check: str, count: int, rule: str, detail: str = "") -> None:
        """Report one data problem; the same as ``note_issues(DataIssue(check, count, rule, detail))``."""
        self.note_issues(DataIssue(check, int(count), rule, detail))

    # ---- closing ------------------------------------------------------------------
    def close(self, extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``tables/data_issues.csv`` and ``manifest.json``; return the manifest path."""
        from studykit.runs.provenance import describe_inputs, environment_info, git_info

        if self.data_issues or not (self.dir / "tables" / "data_issues.csv").exists():
            df = pd.DataFrame(self.data_issues, columns=["check", "count", "rule", "detail"])
            self.save_table(df, "data_issues", caption="Data problems found and the rule applied", formats=("csv",))
        write_json_atomic(self.dir / "results.json", self.results)
        outputs = []
        for rel, entry in sorted(self.entries.items()):
            p = self.dir / rel
            if p.is_file():
                outputs.append({**entry, "bytes": p.stat().st_size, "sha256": sha256_file(p)})
        params = self.params
        manifest = {
            "study": self.study,
            "parameters": params.to_notebook() if hasattr(params, "to_notebook") else (params or {}),
            "seeds": params.seeds() if hasattr(params, "seeds") else {},
            "inputs": describe_inputs(params) if hasattr(params, "input_paths") else [],
            "git": git_info(),
            "environment": environment_info(),
            "started_at": self.started_at,
            "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "outputs": outputs,
            "records": {k: self.record_cells.get(k, {}) for k in sorted(self.results)},
            **({"names": dict(sorted(self.names.items()))} if self.names else {}),
            **(dict(extra) if extra else {}),
        }
        self.closed = True
        return write_json_atomic(self.dir / "manifest.json", manifest)


def open_outputs(study: str, params: Any = None, output_dir: str | Path | None = None) -> Outputs:
    """Open the output folder of a run (``output_dir`` None: ``outputs/<study>/interactive``)."""
    return Outputs(study, params, output_dir)


__all__ = ["Outputs", "open_outputs", "FLOAT_FORMAT", "dumps_json"]
