"""Typed, validated study parameters.

Each study declares its parameters once, as a subclass of :class:`StudyParams`
in ``studies/<study>/schema.py``. The same class validates

- a profile file ``params/<study>/<profile>.yaml`` plus ``--set KEY=VALUE``
  overrides, before any kernel starts (:meth:`StudyParams.load`), and
- the variables of a notebook's ``parameters`` cell when it is run by hand in
  JupyterLab (:meth:`StudyParams.from_namespace`).

Every problem becomes a one-line :class:`~studykit.errors.ParamError` naming
the key (and the file), never a traceback from pydantic.

Input files are declared with :func:`InputPath`; they are resolved relative to
the project root, must exist, and their content is hashed for the cache and
the manifest.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from studykit.errors import ParamError
from studykit.paths import resolve

INPUT_KINDS = ("file", "dir", "repo")


def InputPath(default: Any = None, *, kind: str = "file", description: str = "", **kw: Any) -> Any:
    """A parameter that names input data (a file, a folder or a git repository).

    Use on ``str | None`` fields (one path) or ``list[str]`` fields (several).
    ``kind`` is ``file``, ``dir`` or ``repo``; it decides how the runner
    checks existence and hashes content.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"InputPath kind must be one of {INPUT_KINDS}, got {kind!r}")
    return Field(default, description=description, json_schema_extra={"input": kind}, **kw)


def _format_validation_error(err: ValidationError, study: str, source: str | None) -> str:
    first = err.errors()[0]
    key = ".".join(str(x) for x in first.get("loc", ())) or "?"
    where = f" in {source}" if source else ""
    if first.get("type") == "extra_forbidden":
        return f"unknown parameter '{key}'{where} for study {study}"
    got = first.get("input")
    got_s = repr(got)
    if len(got_s) > 60:
        got_s = got_s[:57] + "..."
    msg = first.get("msg", "invalid value")
    return f"parameter '{key}'{where}: {msg} (got {got_s})"


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
            raise ParamError(_format_validation_error(err, cls.study, source)) from None

    @classmethod
    def read_profile(cls, path: str | Path) -> dict[str, Any]:
        """Read a YAML profile file into a dict (empty file -> {})."""
        p = Path(path)
        if not p.is_file():
            raise ParamError(f"parameter file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise ParamError(f"{p}: not valid YAML" + (f" (line {line + 1})" if line is not None else "")) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ParamError(f"{p}: a parameter file must be a mapping of key: value")
        return data

    @staticmethod
    def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
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
                out[key] = yaml.safe_load(raw) if raw.strip() != "" else ""
            except yaml.YAMLError:
                out[key] = raw
        return out

    @classmethod
    def load(
        cls,
        profile_file: str | Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        *,
        check_inputs: bool = True,
    ) -> "StudyParams":
        """Profile file + overrides -> validated, prepared parameters with inputs checked."""
        values: dict[str, Any] = {}
        source = None
        if profile_file is not None:
            values.update(cls.read_profile(profile_file))
            source = str(profile_file)
        if overrides:
            unknown = [k for k in overrides if k not in cls.model_fields]
            if unknown:
                raise ParamError(f"unknown parameter '{unknown[0]}' in --set for study {cls.study}")
            values.update(overrides)
        try:
            validated = cls.model_validate(dict(values))
        except ValidationError as err:
            loc = err.errors()[0].get("loc", ())
            # name where the bad value came from: the --set override or the profile file
            where = "--set" if overrides and loc and loc[0] in overrides else source
            raise ParamError(_format_validation_error(err, cls.study, where)) from None
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
        params = cls.validate_mapping(values, "notebook parameters").prepare()
        if check_inputs:
            params.check_inputs()
        return params

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
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("input") in INPUT_KINDS:
                out[name] = extra["input"]
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
        """Raise ParamError naming the key and path of the first missing input."""
        for key, kind, path in self.input_paths():
            if kind == "file" and not path.is_file():
                raise ParamError(f"parameter '{key}': input file not found: {path}")
            if kind in ("dir", "repo") and not path.is_dir():
                raise ParamError(f"parameter '{key}': input folder not found: {path}")

    def seeds(self) -> dict[str, int]:
        """Every parameter that is a random seed (named ``seed`` or ``*_seed``)."""
        return {k: v for k, v in self.model_dump().items() if (k == "seed" or k.endswith("_seed"))}

    def to_notebook(self) -> dict[str, Any]:
        """JSON-safe values to inject into the notebook's parameters cell."""
        return self.model_dump(mode="json")
