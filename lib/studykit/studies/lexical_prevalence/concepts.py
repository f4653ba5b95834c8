"""A small, documented concept mapping for cross-language convergence.

Each concept is one of the AI-associated style items reported for English
(Kobak et al. 2024; Juzek 2026: 'emphasize'-type verbs, 'crucial',
'comprehensive', ...), with a common dictionary translation in nine languages
chosen by the study engineer (not taken from the paper; a user can pass their
own mapping). The mapping holds surface forms; a language's concept lemma is
the form itself or, when the texts were lemmatised by this study, the form's
simplemma lemma (e.g. German ``entscheidend`` -> ``entscheiden``), so a
concept matches whichever of the two appears in the lemma table.
Languages outside the mapping take part in convergence only through lemma
identity (shared loanwords).
"""
from __future__ import annotations

import pandas as pd

CONCEPTS: dict[str, dict[str, str]] = {
    "emphasize": dict(en="emphasize", de="betonen", fr="souligner", es="destacar", it="sottolineare",
                      nl="benadrukken", pt="destacar", pl="podkreślać", sv="betona"),
    "crucial": dict(en="crucial", de="entscheidend", fr="crucial", es="crucial", it="cruciale",
                    nl="cruciaal", pt="crucial", pl="kluczowy", sv="avgörande"),
    "significant": dict(en="significant", de="bedeutend", fr="significatif", es="significativo",
                        it="significativo", nl="aanzienlijk", pt="significativo", pl="znaczący", sv="betydande"),
    "enhance": dict(en="enhance", de="verbessern", fr="améliorer", es="mejorar", it="migliorare",
                    nl="verbeteren", pt="melhorar", pl="poprawić", sv="förbättra"),
    "comprehensive": dict(en="comprehensive", de="umfassend", fr="complet", es="integral", it="completo",
                          nl="uitgebreid", pt="abrangente", pl="kompleksowy", sv="omfattande"),
    "particularly": dict(en="particularly", de="insbesondere", fr="particulièrement", es="especialmente",
                         it="particolarmente", nl="bijzonder", pt="especialmente", pl="szczególnie", sv="särskilt"),
    "challenge": dict(en="challenge", de="herausforderung", fr="défi", es="desafío", it="sfida",
                      nl="uitdaging", pt="desafio", pl="wyzwanie", sv="utmaning"),
    "potential": dict(en="potential", de="potenzial", fr="potentiel", es="potencial", it="potenziale",
                      nl="potentieel", pt="potencial", pl="potencjał", sv="potential"),
}


def concept_lemmas(language: str, concepts: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """lemma -> concept for ``language``: each mapped form and its simplemma lemma."""
    from .text import LemmaMemo

    concepts = CONCEPTS if concepts is None else concepts
    memo = LemmaMemo(language, "none")
    out: dict[str, str] = {}
    for concept, forms in concepts.items():
        form = forms.get(language)
        if not form:
            continue
        out[form.lower()] = concept
        out.setdefault(memo.lemma(form.lower()), concept)
    if memo.known and memo.new:
        from .text import save_lemma_cache

        save_lemma_cache({memo.lemma_code: memo.take_new()})
    return out


def mapping_table(concepts: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """The mapping as a concept x language table of surface forms (for the notebook)."""
    concepts = CONCEPTS if concepts is None else concepts
    return pd.DataFrame(concepts).T.rename_axis("concept").reset_index()
