"""Intent of the change that ended a line: profile by author type, chi-square and Cramér's V."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from studykit.errors import InputError
from studykit.stats.results import Result

AGENT, HUMAN = "agent", "human"
INTENT_ORDER = ("corrective", "adaptive", "perfective", "other")


@dataclass(frozen=True)
class IntentProfile(Result):
    """Chi-square test of author type x intent of the ending change, with bias-corrected Cramér's V.

    ``profile`` (count and share of each intent per author type) and
    ``test_table`` (the test as one row) are saved as tables, not recorded.
    """

    chi2: float
    df: int
    p_value: float
    cramers_v: float
    cramers_v_ci_low: float
    cramers_v_ci_high: float
    n: int
    corrective_share_agent: float
    corrective_share_human: float
    profile: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    test_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def intent_profile(df: pd.DataFrame, confidence: float = 0.95) -> IntentProfile:
    """Intent of the ending change by author type (ended units only); chi-square with Cramér's V.

    Pearson :math:`\\chi^2 = \\sum (O - E)^2 / E` on the author type x intent
    table; effect = bias-corrected Cramér's V (Bergsma 2013) from
    :func:`studykit.stats.chi2_independence`.
    """
    from studykit.stats import chi2_independence

    ended = df[df["event"] == 1]
    tab = pd.crosstab(ended["author_type"], ended["end_intent"].replace("", "other"))
    cols = [c for c in INTENT_ORDER if c in tab.columns] + [c for c in tab.columns if c not in INTENT_ORDER]
    tab = tab.reindex(index=[g for g in (AGENT, HUMAN) if g in tab.index], columns=cols, fill_value=0)
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        raise InputError("intent profile needs ended units of both author types and at least two intents")
    tab = tab.loc[:, tab.sum(axis=0) > 0]
    test = chi2_independence(tab.to_numpy(), confidence=confidence)
    long = []
    for g in tab.index:
        n = int(tab.loc[g].sum())
        for c in tab.columns:
            long.append({"author_type": g, "intent": c, "count": int(tab.loc[g, c]), "share": tab.loc[g, c] / n})
    long = pd.DataFrame(long)
    share = long.set_index(["author_type", "intent"])["share"]
    v = test.effect
    row = {"chi2": test.statistic, "df": test.df, "p_value": test.p_value, "cramers_v": v.estimate,
           "cramers_v_ci_low": v.ci_low, "cramers_v_ci_high": v.ci_high, "n": v.n}
    return IntentProfile(float(test.statistic), int(test.df), float(test.p_value), float(v.estimate),
                         float(v.ci_low), float(v.ci_high), int(v.n),
                         float(share.get((AGENT, "corrective"), 0.0)), float(share.get((HUMAN, "corrective"), 0.0)),
                         long, pd.DataFrame([row]))
