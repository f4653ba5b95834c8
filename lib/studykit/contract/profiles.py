"""Parameter profiles of a study and the validated parameters a run uses.

A profile is ``params/<study>/<profile>.yaml`` (any subset of the study's
``Params`` keys; paths in it are relative to the project root). A missing
``default.yaml`` means the schema's defaults. ``--params FILE`` replaces the
profile by a YAML file from anywhere, whose stem names the output folder and
whose relative paths are relative to the file. ``--set KEY=VALUE`` overrides
(given as a list of strings) take relative paths from the current directory.

A run with overrides never shares a folder with its profile: it runs under the
name ``<profile>+<hash>``, the hash being the first 8 hex digits of the
SHA-256 of the overridden keys' validated values (:func:`run_name`), so the
profile's folder always holds exactly the profile, and the same overrides
find their earlier run again.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.files.fileio import dumps_json


@dataclass(frozen=True)
class RunSpec:
    """What a run executes: validated parameters, the name of its folder and where they came from.

    ``profile`` is the profile name (or ``params-<stem>+<hash>`` for a ``--params`` file),
    ``name`` the run's folder name (``profile`` itself, or
    ``<profile>+<hash>`` with overrides), ``overrides`` the overridden keys
    with their validated values, ``params_file`` the ``--params`` file.
    """

    params: Any
    name: str
    profile: str
    overrides: dict[str, Any] = field(default_factory=dict)
    params_file: Path | None = None
    notes: tuple[str, ...] = ()

    def source(self) -> str:
        """How the parameters were chosen, for the terminal: ``profile default --set alpha=0.01``."""
        where = f"--params {self.params_file}" if self.params_file else f"profile {self.profile}"
        sets = " ".join(f"--set {k}={override_text(v)}" for k, v in self.overrides.items())
        return f"{where} {sets}".strip()


def override_text(value: Any, width: int | None = 48) -> str:
    """An overridden value on one line, as ``--set`` shows it: a string as it is, anything else as compact JSON
    (the canonical dumps_json indents lists over several lines); cut to its last ``width`` characters (None: whole)."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str) if not isinstance(value, str) \
        else value
    return text if width is None or len(text) <= width else "…" + text[-(width - 1):]


def run_name(profile: str, overrides: Mapping[str, Any]) -> str:
    """``profile`` when nothing is overridden, else ``<profile>+<8 hex digits of the overridden values>``."""
    if not overrides:
        return profile
    digest = hashlib.sha256(dumps_json(dict(overrides)).encode()).hexdigest()[:8]
    return f"{profile}+{digest}"


def params_file_name(path: Path) -> str:
    """``params-<stem>+<8 hex digits of the SHA-256 of the file's absolute path>`` (the stem made safe)."""
    from studykit.contract.names import slug

    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"params-{slug(Path(path).stem)}+{digest}"


#: files in params/<study>/ that are sweep grids (``studykit sweep --grid``), not parameter profiles
SWEEP_GRIDS = ("multiverse",)


def list_profiles(study: str) -> list[str]:
    """The profile names of ``study`` (``default`` always first when it has no file; sweep grids left out)."""
    d = paths.params_dir(study)
    names = sorted(p.stem for p in d.glob("*.yaml") if p.stem not in SWEEP_GRIDS) if d.is_dir() else []
    if "default" not in names:
        names.insert(0, "default")
    return names


def params_class(study: str) -> Any:
    """The ``Params`` class of a registered study (ParamError when it has none)."""
    from studykit.contract.registry import get

    return get(study).params


def resolve_run(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> RunSpec:
    """Validated, prepared parameters of a study and the name of the folder they run in.

    ``params_file`` (a YAML file anywhere) replaces the profile; the output
    folder is :func:`params_file_name`. ``overrides`` given as a list of ``KEY=VALUE`` strings
    (the command line's ``--set``) take relative input paths from the current
    directory; given as a mapping, from the project root.
    """
    params_cls = params_class(study)
    overrides_base = None
    if overrides is not None and not isinstance(overrides, Mapping):
        overrides = params_cls.parse_overrides(overrides)
        overrides_base = Path.cwd()
    overrides = dict(overrides or {})
    if params_file is not None:
        pf: Path | None = paths.resolve(params_file)
        if not pf.is_file():
            raise ParamError(f"parameter file not found: {pf}")
        name = params_file_name(pf)
    else:
        if not profile or "/" in profile or profile.startswith("."):
            raise ParamError(f"bad profile name '{profile}'")
        pf = paths.profile_file(study, profile)
        name = profile
        if not pf.is_file():
            if profile != "default":
                raise ParamError(
                    f"profile '{profile}' not found for study {study}: no {pf} "
                    f"(profiles: {', '.join(list_profiles(study))})"
                )
            pf = None
    notes: list[str] = []
    params = params_cls.load(pf, overrides, profile_base=pf.parent if params_file is not None else None,
                             overrides_base=overrides_base, notes=notes)
    values = params.to_notebook()
    chosen = {k: values[k] for k in overrides}
    return RunSpec(params, run_name(name, chosen), name, chosen, pf if params_file is not None else None,
                   tuple(notes))


def resolve_params(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> tuple[Any, str]:
    """``(params, run name)`` of :func:`resolve_run`."""
    spec = resolve_run(study, profile, params_file, overrides)
    return spec.params, spec.name


__all__ = ["RunSpec", "list_profiles", "params_class", "resolve_run", "resolve_params", "run_name",
           "params_file_name"]
