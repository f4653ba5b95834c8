"""Sycophancy correlation: does a role-played persona's agreeableness predict sycophancy?

Reproduces the analysis of Shah, Mishra & Silpasuwanchai (2026), "Too Nice to Tell
the Truth: Quantifying Agreeableness-Driven Sycophancy in Role-Playing Language
Models" (arXiv:2604.10733). Modules: ``schema`` (Params, columns), ``load``
(readers, DuckDB aggregation), ``simulate`` (seeded simulator with truth),
``rates`` (persona, baseline and category rates; model eligibility), ``per_model``
(per-model tests, correction, decision rules), ``baseline_gap`` (shift from the
baseline, trait-truthfulness zones), ``categories`` (per-category r, model size),
``pooled`` (mixed model across models), ``reliability`` (Cronbach's alpha),
``recovery`` (planted truth), ``plots``; for aggregated rates (``data_format: rates``)
``aggregated`` (reading, checks, persona means), ``aggregated_tests`` (per-model and pooled
tests; the persona is the unit) and ``personality_illusion`` (Han et al.'s folder, adapted); ``steps``
(each notebook step as a result that declares its exhibits, saved with ``out.save``).
Every step returns ``(result, issues)`` or a table/Result.
"""
from __future__ import annotations

from pathlib import Path

from studykit.contract.registry import Study
from studykit.studies.sycophancy_correlation.schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Write the embedded simulated data, its truth and SHA256SUMS into ``out_dir`` (:mod:`.simulate`; imported
    here on use, so that reading a profile's ``Params`` does not import the simulator's numpy and pandas)."""
    from studykit.studies.sycophancy_correlation.simulate import write_embedded as _write

    return _write(Path(out_dir))


STUDY = Study(
    name=NAME,
    title="Does a role-played persona's agreeableness predict sycophancy?",
    params=Params,
    write_embedded=write_embedded,
    templates="studykit.studies.sycophancy_correlation.templates:own_data_templates",
    template_rule="3 models x their first 40 personas (+ the baseline persona) x the first 30 prompts",
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
