"""Parameter profiles of a study and the validated parameters a run uses.

A profile is ``params/<study>/<profile>.yaml`` (any subset of the study's
``Params`` keys; paths in it are relative to the project root). A missing
``default.yaml`` means the schema's defaults. ``--params FILE`` replaces the
profile by a YAML file from anywhere, whose stem names the output folder.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from studykit import paths
from studykit.errors import ParamError


def list_profiles(study: str) -> list[str]:
    """The profile names of ``study`` (``default`` always first when it has no file)."""
    d = paths.params_dir(study)
    names = sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []
    if "default" not in names:
        names.insert(0, "default")
    return names


def params_class(study: str) -> Any:
    """The ``Params`` class of a registered study (ParamError when it has none)."""
    from studykit.studies import get_study

    cls = getattr(get_study(study), "Params", None)
    if cls is None:
        raise ParamError(f"study '{study}' does not define Params")
    return cls


def resolve_params(
    study: str,
    profile: str = "default",
    params_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> tuple[Any, str]:
    """Validated, prepared parameters of a study and the profile name they run under.

    ``params_file`` (a YAML file anywhere) replaces the profile; its stem names
    the output folder. A list of ``KEY=VALUE`` strings is accepted as
    ``overrides``.
    """
    params_cls = params_class(study)
    if overrides is not None and not isinstance(overrides, Mapping):
        overrides = params_cls.parse_overrides(overrides)
    if params_file is not None:
        pf: Path | None = paths.resolve(params_file)
        if not pf.is_file():
            raise ParamError(f"parameter file not found: {pf}")
        name = pf.stem
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
    params = params_cls.load(pf, dict(overrides or {}))
    return params, name


__all__ = ["list_profiles", "params_class", "resolve_params"]
