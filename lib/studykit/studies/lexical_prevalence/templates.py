"""Own-data templates of the workshop kit (:attr:`studykit.contract.registry.Study.templates`).

Cut deterministically from the embedded data, so the committed
``workshop/templates/lexical_prevalence/`` can be checked
against a regeneration.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def own_data_templates(data: Path) -> dict[str, pd.DataFrame]:
    """The template tables of this study, by file name, cut from its embedded data folder ``data``."""
    corpus = pd.read_parquet(data / "corpus.parquet")
    en = corpus[corpus["language"] == "en"]
    pairs = sorted(en["pair_id"].unique())[:300]
    return {"corpus.csv": en[en["pair_id"].isin(pairs)][["doc_id", "pair_id", "language", "source", "text"]]}
