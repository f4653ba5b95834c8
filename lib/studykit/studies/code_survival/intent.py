"""Intent of the change that ended a line: profile by author type, chi-square and Cramér's V.

The intent belongs to the ending *commit*, not to the lines: one commit that
rewrites forty agent lines is one corrective change, not forty. The test
therefore counts one observation per (author type, ending commit): the
author type of the lines it ended and its intent (a commit that ended both
agent and human lines counts once in each row). The line-level statistic,
which treats every ended line as independent, is kept beside it for
comparison only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from studykit.stats.results import Result

AGENT, HUMAN = "agent", "human"
INTENT_ORDER = ("corrective", "adaptive", "perfective", "other")


@dataclass(frozen=True)
class IntentProfile(Result):
    """Chi-square test of author type x intent of the ending change, with bias-corrected Cramér's V.

    ``unit`` says what the test counts (ending commits); ``n`` is their number
    (per author type), ``n_lines`` the ended lines. ``line_chi2`` and
    ``line_p_value`` treat lines as independent (for comparison only).
    ``profile`` (counts and shares of each intent per author type, in ending
    commits and in lines) and ``test_table`` are saved as tables.
    """

    chi2: float
    df: int
    p_value: float
    cramers_v: float
    cramers_v_ci_low: float
    cramers_v_ci_high: float
    n: int
    unit: str
    n_lines: int
    line_chi2: float
    line_p_value: float
    corrective_share_agent: float
    corrective_share_human: float
    note: str = ""
    profile: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)
    test_table: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)


def _crosstab(author: pd.Series, intent: pd.Series) -> pd.DataFrame:
    tab = pd.crosstab(author, intent)
    cols = [c for c in INTENT_ORDER if c in tab.columns] + sorted(c for c in tab.columns if c not in INTENT_ORDER)
    return tab.reindex(index=[g for g in (AGENT, HUMAN) if g in tab.index], columns=cols, fill_value=0)


def ending_commits(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """One row per (author type, ending commit) with the commit's intent; and a note on how commits were identified.

    The ending commit is ``end_commit`` within ``repo`` when the table has it
    for every ended line and each id has one commit time; otherwise
    ``(repo, ended_at)``: lines of one repository ended at the same time are
    taken as ended by one change (a placeholder id shared by changes at
    different times cannot name a commit).
    """
    ended = df[df["event"] == 1]
    note = ""
    ids = ended["end_commit"].fillna("").astype(str) if "end_commit" in ended.columns else None
    usable = ids is not None and bool((ids != "").all())
    if usable:
        key = ended["repo"].astype(str) + "\x00" + ids
        usable = bool((ended["ended_at"].groupby(key).nunique() <= 1).all())
    if not usable:
        key = ended["repo"].astype(str) + "\x00" + ended["ended_at"].astype(str)
        note = "ending commits identified by (repo, ended_at): end_commit absent, incomplete or not one time per id"
    commits = pd.DataFrame({"author_type": ended["author_type"].to_numpy(), "commit": key.to_numpy(),
                            "intent": ended["end_intent"].replace("", "other").to_numpy()})
    return commits.drop_duplicates(["author_type", "commit"]), note


def intent_profile(df: pd.DataFrame, confidence: float = 0.95) -> IntentProfile:
    """Intent of the ending change by author type, tested at the level of ending commits.

    Pearson :math:`\\chi^2 = \\sum (O - E)^2 / E` on the author type x intent
    table of (author type, ending commit) observations (:func:`ending_commits`);
    effect = bias-corrected Cramér's V (Bergsma 2013) from
    :func:`studykit.stats.chi2_independence`.
    """
    from studykit.stats import chi2_independence

    ended = df[df["event"] == 1]
    lines = _crosstab(ended["author_type"], ended["end_intent"].replace("", "other"))
    commits, note = ending_commits(df)
    tab = _crosstab(commits["author_type"], commits["intent"])
    tab = tab.loc[:, tab.sum(axis=0) > 0]
    lines = lines.reindex(columns=tab.columns, fill_value=0)
    long = []
    for g in tab.index:
        n, n_lines = int(tab.loc[g].sum()), int(lines.loc[g].sum())
        for c in tab.columns:
            long.append({"author_type": g, "intent": c, "count": int(tab.loc[g, c]), "share": tab.loc[g, c] / n,
                         "lines": int(lines.loc[g, c]), "line_share": lines.loc[g, c] / n_lines if n_lines else None})
    long = pd.DataFrame(long, columns=["author_type", "intent", "count", "share", "lines", "line_share"])
    share = long.set_index(["author_type", "intent"])["share"]
    nan = float("nan")
    corr = (float(share.get((AGENT, "corrective"), 0.0 if AGENT in tab.index else nan)),
            float(share.get((HUMAN, "corrective"), 0.0 if HUMAN in tab.index else nan)))
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        reason = "not estimable: the test needs ended units of both author types and two or more intents"
        return IntentProfile(nan, 0, nan, nan, nan, nan, int(tab.to_numpy().sum()), "ending commits",
                             int(len(ended)), nan, nan, *corr, "; ".join(filter(None, [reason, note])), long,
                             pd.DataFrame())
    test = chi2_independence(tab.to_numpy(), confidence=confidence)
    line_test = chi2_independence(lines.to_numpy(), confidence=confidence)
    v = test.effect
    row = {"unit": "ending commits", "chi2": test.statistic, "df": test.df, "p_value": test.p_value,
           "cramers_v": v.estimate, "cramers_v_ci_low": v.ci_low, "cramers_v_ci_high": v.ci_high, "n": v.n,
           "line_chi2": line_test.statistic, "line_p_value": line_test.p_value, "n_lines": int(len(ended))}
    return IntentProfile(float(test.statistic), int(test.df), float(test.p_value), float(v.estimate),
                         float(v.ci_low), float(v.ci_high), int(v.n), "ending commits", int(len(ended)),
                         float(line_test.statistic), float(line_test.p_value), *corr, note, long,
                         pd.DataFrame([row]))
