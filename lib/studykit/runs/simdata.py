"""``studykit simulate``: a study's seeded simulator writing its embedded data into a folder.

The folder follows studykit's one folder rule (:mod:`studykit.files.folders`): it
must be new, empty, or a simulated-data folder whose marker lists every file in
it (the embedded ``data/<study>/`` folders are such folders). A ``SHA256SUMS``
alone proves nothing (anyone can list their own ``personas.csv`` in one), so a
folder without the marker is refused, as is one holding a file the listing does
not name, and (as for runs) a mount point. Every target is checked before
anything is written. The data are written into a temporary folder beside the
target and swapped in whole (:func:`studykit.files.folders.building_dir`), so a full
disk leaves the target as it was and nothing beside it.
"""
from __future__ import annotations

from pathlib import Path

from studykit.files import paths
from studykit.contract.errors import ParamError
from studykit.files.folders import Claim, building_dir, check_folder, writing


def target_claims(studies: list[str], out: Path | None, per_study: bool) -> dict[str, Claim]:
    """The checked target folder of each study (``out``, ``out/<study>`` with ``per_study``, or ``data/<study>``)."""
    from studykit.contract.registry import get

    claims = {}
    for s in studies:  # every target is checked before anything is written
        if get(s).write_embedded is None:
            raise ParamError(f"study {s} has no simulator (write_embedded)")
        target = (out / s if per_study else out) if out is not None else paths.data_dir(s)
        claims[s] = check_folder(target, "data", replace=True)
    return claims


def simulate_into(study: str, claim: Claim) -> list[Path]:
    """Run ``study``'s simulator into the claimed folder; the files written."""
    from studykit.contract.registry import get

    out = claim.folder
    with writing(out, "data"), building_dir(out, "data", {"study": study}) as tmp:
        written = [Path(p) for p in get(study).write_embedded(tmp) or []]
    return [out / Path(p).relative_to(tmp) for p in written]


__all__ = ["target_claims", "simulate_into"]
