"""lexical_prevalence: which words does AI writing overuse, in many languages, and are people picking them up?

Reproduces Juzek (2026), "AI-Associated Lexical Shifts Across 34 Languages"
(log prevalence ratios of lemmas in AI vs human sentence halves; diachronic
uptake of the top items) with the excess-vocabulary method of Kobak et al.
(2024/2025) alongside. Modules: ``schema`` (Params), ``text`` (tokeniser,
lemmatiser, stop words), ``counting`` (streaming, parallel, Dask), ``load``,
``analysis``, ``concepts``, ``simulate``, ``plots``; ``steps`` (the notebook's steps) and ``saves``
(each step as a result that declares its exhibits, written with ``out.save``).
"""
from pathlib import Path

from studykit.contract.registry import Study
from .schema import NAME, Params


def write_embedded(out_dir: Path) -> list[Path]:
    """Seeded simulator writing the embedded corpora, truth files and SHA256SUMS."""
    from .simulate import write_embedded as _write

    return _write(Path(out_dir))


STUDY = Study(
    name=NAME,
    title="Which words does AI writing overuse across languages, and are people picking them up?",
    params=Params,
    write_embedded=write_embedded,
    templates="studykit.studies.lexical_prevalence.templates:own_data_templates",
    template_rule="English only, the first 300 text pairs, text column (no diachronic corpus)",
)

__all__ = ["NAME", "Params", "STUDY", "write_embedded"]
