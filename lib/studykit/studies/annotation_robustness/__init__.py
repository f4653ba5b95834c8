"""Annotation robustness ("LLM hacking", Baumann et al. 2025): how model, prompt and temperature
choices flip statistical conclusions drawn from LLM-annotated data."""
from __future__ import annotations

from pathlib import Path

from studykit.contract.registry import Study
from .schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir`` (:mod:`.simulate`; imported
    here on use, so that reading a profile's ``Params`` does not import the simulator's numpy and pandas)."""
    from .simulate import write_embedded as _write

    return _write(Path(out_dir))


STUDY = Study(
    name=NAME,
    title="How often do LLM annotations flip the conclusions human labels support?",
    params=Params,
    write_embedded=write_embedded,
    templates="studykit.studies.annotation_robustness.templates:own_data_templates",
    template_rule="the first 300 items, and the annotations of the first two models on them",
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
