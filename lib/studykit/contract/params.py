"""Typed, validated study parameters.

Each study declares its parameters once, as a subclass of :class:`StudyParams`
in ``studies/<study>/schema.py``. The same class validates

- a profile file ``params/<study>/<profile>.yaml`` plus ``--set KEY=VALUE``
  overrides, before any kernel starts (:meth:`StudyParams.load`), and
- the variables of a notebook's ``parameters`` cell when it is run by hand in
  JupyterLab (:meth:`StudyParams.from_namespace`).

Every problem becomes a one-line :class:`~studykit.contract.errors.ParamError` naming
the key (and the file), never a traceback from pydantic.

Input files are declared with :func:`InputPath`. A path in a committed
profile or a notebook is relative to the project root; a path given with
``--set`` is relative to the current directory and one inside a ``--params``
YAML file relative to that file (the runner makes both absolute through
``base_dir``). Before any kernel starts every input must exist, be readable and,
for files, have a supported extension; a required input (one whose default is
a path) cannot be set to null or to an empty string.
"""
from __future__ import annotations

import difflib
import os
import reprlib
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit.contract.errors import ParamError, StudykitError
from studykit.contract.names import cut
from studykit.files.paths import resolve
from studykit.files.tables import READERS

INPUT_KINDS = ("file", "dir", "repo")
#: file name endings an input file may have unless its field says otherwise (the table formats read)
INPUT_SUFFIXES = tuple(sorted(READERS))


def InputPath(default: Any = None, *, kind: str = "file", description: str = "", optional: bool | None = None,
              suffixes: Iterable[str] | None = None,
              columns: Iterable[str] | Mapping[str, Mapping[str, Iterable[str]]] | None = None, **kw: Any) -> Any:
    """A parameter that names input data (a file, a folder or a git repository).

    Use on ``str | None`` fields (one path) or ``list[str]`` fields (several).
    ``kind`` is ``file``, ``dir`` or ``repo``; it decides how the runner
    checks existence and hashes content. ``optional`` (default: true only when
    ``default`` is None or empty) says whether null means "no such input";
    ``suffixes`` lists the accepted file name endings (default:
    :data:`INPUT_SUFFIXES`); ``columns`` the columns a table input must have (checked from the file's header
    before a notebook executes: :meth:`StudyParams.check_columns`): a list, where ``"text|tokens"`` asks for
    one of the two, or, when the columns depend on another parameter, ``{parameter: {its value: list}}``
    (e.g. ``{"data_format": {"long": [...], "bbq": [...]}}``; a value not listed is not checked).
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"InputPath kind must be one of {INPUT_KINDS}, got {kind!r}")
    extra: dict[str, Any] = {"input": kind, "optional": (not default) if optional is None else bool(optional)}
    if suffixes is not None:
        extra["suffixes"] = [str(x).lower() for x in suffixes]
    if isinstance(columns, Mapping):
        extra["columns"] = {str(k): {str(v): [str(c) for c in cols] for v, cols in by_value.items()}
                            for k, by_value in columns.items()}
    elif columns is not None:
        extra["columns"] = [str(c) for c in columns]
    return Field(default, description=description, json_schema_extra=extra, **kw)


def closest(key: str, candidates: Iterable[str], n: int = 3) -> str:
    """`` (did you mean a, b?)`` for the names closest to ``key`` (empty when none is close)."""
    near = difflib.get_close_matches(key, list(candidates), n=n, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _check_file_type(key: str, path: Path, suffixes: Iterable[str]) -> None:
    name = path.name.lower()
    allowed = sorted(set(suffixes))
    if not any(name.endswith(s) for s in allowed):
        raise ParamError(f"parameter '{key}': unsupported file type: {path} (use one of {', '.join(allowed)})")


def _format_validation_error(err: ValidationError, study: str, source: str | None,
                             fields: Iterable[str] = ()) -> str:
    first = err.errors()[0]
    key = cut(".".join(str(x) for x in first.get("loc", ())) or "?")
    where = f" in {source}" if source else ""
    if first.get("type") == "extra_forbidden":
        return f"unknown parameter '{key}'{where} for study {study}{closest(key, fields)}"
    got_s = short_repr(first.get("input"))
    msg = first.get("msg", "invalid value")
    return f"parameter '{key}'{where}: {msg} (got {got_s})"


def _type_text(annotation: Any) -> str:
    """A short readable type: ``int``, ``float | None``, ``list[str]``, ``one of a, b``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) if a == "" else str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_text(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_text(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def _value_text(value: Any, width: int = 48) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value) \
        if isinstance(value, str) and not value else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _range_text(metadata: Iterable[Any], annotation: Any) -> str:
    """Pydantic constraints as text: ``>= 10, <= 100000``, ``length >= 1``."""
    parts = []
    for m in metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "length >="),
                         ("max_length", "length <=")):
            value = getattr(m, attr, None)
            if value is not None:
                parts.append(f"{op} {value}")
    return ", ".join(parts)



def short_repr(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, truncated *while* formatting (a huge nested value is
    never formatted whole, so an error message about it costs microseconds)."""
    r = reprlib.Repr()
    r.maxlevel, r.maxstring, r.maxother, r.maxlong = 3, width, width, width
    r.maxlist = r.maxtuple = r.maxdict = r.maxset = r.maxfrozenset = r.maxdeque = r.maxarray = 8
    text = r.repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


#: the largest YAML file studykit reads (parameter files and sweep grids are a few kilobytes)
MAX_YAML_BYTES = 5 * 1024**2
#: at most this many values (scalars, lists and mappings) once every alias is expanded
MAX_YAML_VALUES = 100_000
#: at most this many levels of nesting
MAX_YAML_DEPTH = 64


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a recursive alias (``&a [*a]``) and nesting deeper than
    :data:`MAX_YAML_DEPTH` while composing; :func:`load_yaml` then counts the expanded values."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._open_anchors: list[str] = []

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise _Refused(f"the alias *{event.anchor} refers to a value that contains it (a recursive "
                               "structure)", event.start_mark)
            return super().compose_node(parent, index)
        if len(self._open_anchors) >= MAX_YAML_DEPTH:
            raise _Refused(f"values nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
        self._open_anchors.append(getattr(event, "anchor", None) or "")
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.pop()


class _Refused(Exception):
    def __init__(self, message: str, mark: Any = None):
        super().__init__(message)
        self.line = getattr(mark, "line", None)


def _expanded_values(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded (each shared node counted once per use)."""
    key = id(node)
    if key not in memo:
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_values(c, memo) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_values(k, memo) + _expanded_values(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text`` safely and within bounds; any problem is one :class:`ParamError` naming ``source``.

    Refused: invalid YAML (with the line), a recursive alias, nesting deeper than
    :data:`MAX_YAML_DEPTH`, and aliases that expand to more than
    :data:`MAX_YAML_VALUES` values (a "billion laughs" file is refused in
    microseconds instead of growing without bound).
    """
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        n = _expanded_values(node, {})
        if n > MAX_YAML_VALUES:
            raise ParamError(f"{source}: its aliases expand to {n:,} values, more than the {MAX_YAML_VALUES:,} "
                             "studykit reads (an alias bomb?); write the values out")
        return loader.construct_document(node)
    except _Refused as exc:
        raise ParamError(f"{source}: not accepted as YAML: {exc}"
                         + (f" (line {exc.line + 1})" if exc.line is not None else "")) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ParamError(f"{source}: not valid YAML" + (f" (line {line + 1})" if line is not None else "")) from None
    except RecursionError:
        raise ParamError(f"{source}: not accepted as YAML: nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str) -> Any:
    """Read and parse a YAML file (:func:`load_yaml`); a missing, unreadable, oversized or non-UTF-8 file and
    bad YAML are each a one-line :class:`ParamError` naming ``what`` and the file."""
    if not path.is_file():
        raise ParamError(f"{what} not found: {path}")
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise ParamError(f"{what} {path}: {path.stat().st_size:,} bytes, more than the "
                             f"{MAX_YAML_BYTES // 1024**2} MB a {what} may have")
        raw = path.read_bytes()
    except OSError as exc:
        raise ParamError(f"{what} cannot be read: {path} ({(exc.strerror or type(exc).__name__).lower()})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParamError(f"{what} {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
                         "save it with UTF-8 encoding") from None
    return load_yaml(text, str(path))


class StudyParams(BaseModel):
    """Base class of every study's parameters.

    Subclasses set ``study`` (the study name) and declare fields with
    defaults that run the embedded data. Unknown keys are rejected; values
    are coerced (``"0.05"`` -> ``0.05``) and range-checked with pydantic
    constraints (``Field(0.05, gt=0, lt=1)``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    study: ClassVar[str] = ""

    # ---- construction -------------------------------------------------
    @classmethod
    def validate_mapping(cls, values: Mapping[str, Any], source: str | None = None) -> "StudyParams":
        """Validate a mapping; raise a one-line ParamError on the first problem."""
        if not isinstance(values, Mapping):
            raise ParamError(f"parameters{' in ' + source if source else ''} must be a mapping of key: value")
        try:
            return cls.model_validate(dict(values))
        except ValidationError as err:
            raise ParamError(_format_validation_error(err, cls.study, source, cls.model_fields)) from None

    @classmethod
    def read_profile(cls, path: str | Path) -> dict[str, Any]:
        """Read a YAML profile file into a dict (empty file -> {})."""
        p = Path(path)
        data = read_yaml(p, "parameter file")
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ParamError(f"{p}: a parameter file must be a mapping of key: value")
        return data

    @classmethod
    def with_paths_from(cls, values: Mapping[str, Any], base_dir: str | Path | None) -> dict[str, Any]:
        """``values`` with every relative input path made absolute against ``base_dir`` (None: unchanged).

        ``~`` is expanded; null, empty strings and non-strings are left for
        validation to judge.
        """
        out = dict(values)
        if base_dir is None:
            return out
        base = Path(base_dir)
        for key in cls.input_fields():
            if key not in out:
                continue
            value = out[key]
            if isinstance(value, str) and value.strip():
                out[key] = str(base / os.path.expanduser(value))
            elif isinstance(value, (list, tuple)):
                out[key] = [str(base / os.path.expanduser(v)) if isinstance(v, str) and v.strip() else v
                            for v in value]
        return out

    @classmethod
    def parse_overrides(cls, pairs: Iterable[str]) -> dict[str, Any]:
        """Parse ``KEY=VALUE`` strings; VALUE is read as YAML (``0.1``, ``[a, b]``, ``null``)."""
        out: dict[str, Any] = {}
        for item in pairs:
            if "=" not in item:
                raise ParamError(f"--set expects KEY=VALUE, got '{item}'")
            key, raw = item.split("=", 1)
            key = key.strip()
            if not key:
                raise ParamError(f"--set expects KEY=VALUE, got '{item}'")
            try:
                out[key] = load_yaml(raw, f"--set {key}") if raw.strip() != "" else ""
            except ParamError as exc:
                if "not valid YAML" not in str(exc):
                    raise
                out[key] = raw
        return out

    @classmethod
    def load(
        cls,
        profile_file: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        check_inputs: bool = True,
        profile_base: str | Path | None = None,
        overrides_base: str | Path | None = None,
        notes: list[str] | None = None,
    ) -> "StudyParams":
        """Profile file + overrides -> validated, prepared parameters with inputs checked.

        Relative input paths in the profile are taken relative to
        ``profile_base`` and those in ``overrides`` relative to
        ``overrides_base`` (None: relative to the project root). Worker counts
        are capped by the machine (:meth:`cap_workers`); each cap's note is
        appended to ``notes``.
        """
        values: dict[str, Any] = {}
        source = None
        if profile_file is not None:
            values.update(cls.with_paths_from(cls.read_profile(profile_file), profile_base))
            source = str(profile_file)
        if overrides:
            unknown = [k for k in overrides if k not in cls.model_fields]
            if unknown:
                key = cut(str(unknown[0]))
                raise ParamError(f"unknown parameter '{key}' in --set for study {cls.study}"
                                 f"{closest(key, cls.model_fields)}")
            values.update(cls.with_paths_from(overrides, overrides_base))
        try:
            validated = cls.model_validate(dict(values))
        except ValidationError as err:
            loc = err.errors()[0].get("loc", ())
            # name where the bad value came from: the --set override or the profile file
            where = "--set" if overrides and loc and loc[0] in overrides else source
            raise ParamError(_format_validation_error(err, cls.study, where, cls.model_fields)) from None
        validated, capped = validated.cap_workers()
        if notes is not None:
            notes.extend(capped)
        params = validated.prepare()
        if check_inputs:
            params.check_inputs()
        return params

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any], *, check_inputs: bool = True) -> "StudyParams":
        """Build parameters from a notebook's globals (the ``parameters`` cell).

        Only names that are fields of the class are taken, so the notebook
        may hold other variables (``output_dir``, imports).
        """
        values = {k: namespace[k] for k in cls.model_fields if k in namespace}
        params, notes = cls.validate_mapping(values, "notebook parameters").cap_workers()
        for note in notes:
            print(note)
        params = params.prepare()
        if check_inputs:
            params.check_inputs()
        return params

    # ---- workers ----------------------------------------------------------
    @classmethod
    def worker_fields(cls) -> list[str]:
        """Fields that ask for a number of worker processes (declared with ``json_schema_extra={"workers": True}``)."""
        return [n for n, info in cls.model_fields.items()
                if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("workers")]

    def cap_workers(self) -> tuple["StudyParams", list[str]]:
        """These parameters with every worker count capped by the machine (:func:`studykit.runs.workers.cap_workers`),
        and one note per capped count. Not capped when the work goes to a Dask cluster (``dask_scheduler``)."""
        from studykit.runs.workers import cap_workers

        if getattr(self, "dask_scheduler", None):
            return self, []
        update, notes = {}, []
        for name in self.worker_fields():
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                n, note = cap_workers(value, f"parameter '{name}'")
                if note:
                    update[name] = n
                    notes.append(note)
        return (self.model_copy(update=update) if update else self), notes

    # ---- hooks ----------------------------------------------------------
    def prepare(self) -> "StudyParams":
        """Fill in derived inputs before the run (e.g. generate cached simulated data).

        The default does nothing. A study overrides it to return a copy with
        input paths set (``self.model_copy(update=...)``); it must be
        idempotent and deterministic.
        """
        return self

    # ---- inputs -----------------------------------------------------------
    @classmethod
    def input_fields(cls) -> dict[str, str]:
        """Field name -> kind (file, dir, repo) for every :func:`InputPath` field."""
        return {name: extra["input"] for name, extra in cls._input_extras().items()}

    @classmethod
    def _input_extras(cls) -> dict[str, dict[str, Any]]:
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("input") in INPUT_KINDS:
                out[name] = extra
        return out

    def input_paths(self) -> list[tuple[str, str, Path]]:
        """(key, kind, resolved path) for every input given (None and empty skipped)."""
        out = []
        for key, kind in self.input_fields().items():
            value = getattr(self, key)
            if value is None or value == "":
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            for v in values:
                out.append((key, kind, resolve(v)))
        return out

    def check_inputs(self) -> None:
        """Raise ParamError naming the key (and path) of the first input that cannot be read.

        Refused: null or an empty string for a required input, an empty string
        anywhere, a missing or unreadable file or folder, a file whose name
        does not end in one of the field's suffixes (by default the table
        formats of :func:`studykit.files.tables.read_table`).
        """
        for key, extra in self._input_extras().items():
            value = getattr(self, key)
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if any(isinstance(v, str) and not v.strip() for v in values):
                raise ParamError(f"parameter '{key}': empty input path (give a file, or null where the input "
                                 "is optional)")
            if value is None and not extra.get("optional"):
                raise ParamError(f"parameter '{key}': an input path is required (got null)")
        for key, kind, path in self.input_paths():
            if kind == "file" and not path.is_file():
                raise ParamError(f"parameter '{key}': input file not found: {path}")
            if kind in ("dir", "repo") and not path.is_dir():
                raise ParamError(f"parameter '{key}': input folder not found: {path}")
            if kind == "file":
                _check_file_type(key, path, self._input_extras()[key].get("suffixes") or INPUT_SUFFIXES)
            if not os.access(path, os.R_OK):
                raise ParamError(f"parameter '{key}': input {'file' if kind == 'file' else 'folder'} "
                                 f"cannot be read (permission denied): {path}")

    def check_columns(self) -> None:
        """Raise ParamError naming the parameter, file and column when a table input lacks a column its field
        declares (``InputPath(columns=...)``), read from the header (CSV/TSV first row, Parquet schema; JSONL has
        no header and is checked when read). Called by the runner before a notebook executes, so a missing
        column is one line before a kernel starts (not a cached run's cost: a header read can import pyarrow).
        """
        from studykit.files.tables import declared_columns, header_columns, missing_columns_message

        extras = self._input_extras()
        for key, kind, path in self.input_paths():
            required, why = declared_columns(extras[key].get("columns"), self)
            if kind != "file" or not required:
                continue
            try:
                problem = missing_columns_message(path, header_columns(path, f"parameter '{key}':"), required, why)
            except StudykitError as exc:
                raise ParamError(str(exc)) from None
            if problem:
                raise ParamError(f"parameter '{key}': {problem}")

    @classmethod
    def describe_fields(cls) -> list[dict[str, str]]:
        """One row per parameter: ``name``, ``type``, ``default``, ``range``, ``description`` (as text)."""
        inputs = cls._input_extras()
        rows = []
        for name, info in cls.model_fields.items():
            kind = inputs.get(name, {}).get("input")
            type_s = _type_text(info.annotation)
            if kind:
                type_s = f"input {kind}" + (" list" if type_s.startswith("list") else "")
                type_s += " (optional)" if inputs[name].get("optional") else ""
            default = info.get_default(call_default_factory=True)
            rows.append({"name": name, "type": type_s, "default": _value_text(default),
                         "range": _range_text(info.metadata, info.annotation), "description": info.description or ""})
        return rows

    def seeds(self) -> dict[str, int]:
        """Every parameter that is a random seed (named ``seed`` or ``*_seed``)."""
        return {k: v for k, v in self.model_dump().items() if (k == "seed" or k.endswith("_seed"))}

    def to_notebook(self) -> dict[str, Any]:
        """JSON-safe values to inject into the notebook's parameters cell."""
        return self.model_dump(mode="json")
