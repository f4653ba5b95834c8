"""counterfactual_baselines: is a model sensitive to the attribute we changed, or to any rewording?

Reproduces the analysis of Yang, Levy, Goldberg, Wallace (2026), "Compared to What? Baselines and
Metrics for Counterfactual Prompting": flip rates of counterfactual edits against matched paraphrase
baselines, per-sample vs aggregate metrics, directional regression, and power curves.
"""
from __future__ import annotations

from pathlib import Path

from studykit.registry import Study
from .schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir``."""
    from .simulate import write_embedded as _write

    return _write(Path(out_dir))


def _templates(data: Path) -> dict:
    """The own-data templates of the workshop kit (:mod:`.templates`; pandas is imported on use)."""
    from studykit.studies.counterfactual_baselines.templates import own_data_templates

    return own_data_templates(Path(data))


STUDY = Study(
    name=NAME,
    title="Is a model sensitive to the edited attribute, or to any rewording of the same size?",
    params=Params,
    write_embedded=write_embedded,
    templates=_templates,
    template_rule="the first 40 items, every variant, model and repeat",
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
