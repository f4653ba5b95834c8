"""counterfactual_baselines: is a model sensitive to the attribute we changed, or to any rewording?

Reproduces the analysis of Yang, Levy, Goldberg, Wallace (2026), "Compared to What? Baselines and
Metrics for Counterfactual Prompting": flip rates of counterfactual edits against matched paraphrase
baselines, per-sample vs aggregate metrics, directional regression, and power curves.
"""
from __future__ import annotations

from pathlib import Path

from studykit.contract.registry import Study
from .schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir``."""
    from .simulate import write_embedded as _write

    return _write(Path(out_dir))


STUDY = Study(
    name=NAME,
    title="Is a model sensitive to the edited attribute, or to any rewording of the same size?",
    params=Params,
    write_embedded=write_embedded,
    templates="studykit.studies.counterfactual_baselines.templates:own_data_templates",
    template_rule="the first 40 items, every variant, model and repeat",
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
