r"""Answers ready for analysis: repeats collapsed to one answer, and the design checked against ``pairs``.

Notation (used by every module of the study). For item :math:`i`, model and
task, :math:`y_i^{o}` is the answer to the original prompt, :math:`y_i^{t}`
the answer under the counterfactual edit (the *target*) and :math:`y_i^{b}`
the answer under its matched paraphrase (the *baseline*); with repeats, each
is the majority answer over repeats.

References
----------
Yang, Levy, Goldberg, Wallace (2026). Compared to What? Baselines and Metrics for Counterfactual Prompting.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.stats.results import Result

from .load import CLINICIANS, shown

#: one answer per model x task x item (x variant)
KEYS = ["model", "task", "item_id"]
#: models that are a human reference, not counted in ``n_models``
REFERENCE_MODELS = (CLINICIANS,)


def collapse_repeats(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """One answer per model x task x item x variant: the majority over repeats.

    The answer is the most frequent non-blank prediction over repeats; a tie
    is broken towards the label that sorts first (a documented, reported
    rule). ``p_positive`` is the mean over repeats with a probability.
    ``n_repeats`` counts the non-blank answers. Items whose answers are all
    blank do not appear (they are missing).
    """
    keys = KEYS + ["variant"]
    ok = frame[frame["prediction"].notna()]
    cnt = ok.groupby(keys + ["prediction"], sort=True).size().rename("n").reset_index()
    cnt = cnt.sort_values(keys + ["n", "prediction"], ascending=[True] * len(keys) + [False, True],
                          kind="mergesort")
    top = cnt.drop_duplicates(keys, keep="first").set_index(keys)
    second = cnt[cnt.duplicated(keys, keep="first")].drop_duplicates(keys, keep="first").set_index(keys)
    tie = second["n"].reindex(top.index).eq(top["n"])
    n_rep = ok.groupby(keys)["prediction"].size()
    meta = ok.groupby(keys, sort=True).agg(variant_kind=("variant_kind", "first"))
    out = meta.join(top["prediction"]).join(n_rep.rename("n_repeats"))
    for col in ("direction", "group"):
        if col in frame.columns:
            out[col] = ok.groupby(keys)[col].first()
    issues: list[DataIssue] = []
    if "p_positive" in frame.columns:
        out["p_positive"] = ok.groupby(keys)["p_positive"].mean()
    if tie.any():
        issues.append(DataIssue("majority_tie", int(tie.sum()),
                                "a tie between answers over repeats is broken towards the label that sorts first"))
    return out.reset_index(), issues


@dataclass(frozen=True, eq=False)
class Design(Result):
    """Answers ready for analysis and the pairs that will be tested.

    Attributes
    ----------
    answers : DataFrame
        One row per model x task x item x variant (majority answer over repeats).
    pairs : dict
        Target variant -> its baseline variant.
    has_probability : bool
        True when ``p_positive`` is available (JS, KL and the logit regression).
    labels : tuple of str
        The answer labels seen in the data, sorted.
    task_labels : dict
        Task -> the answer labels seen in that task, sorted (tasks may use different labels).
    positive_labels : dict
        Task -> its positive label, or None where none could be had (see :func:`positive_labels`).
    n_items : int
        Distinct items with an original answer.
    n_models : int
        Models analysed, the human reference (``CLINICIANS``) not counted.
    """

    answers: pd.DataFrame
    pairs: dict[str, str]
    has_probability: bool
    labels: tuple[str, ...]
    task_labels: dict[str, tuple[str, ...]]
    positive_labels: dict[str, str | None]
    n_items: int
    n_models: int

    @property
    def models(self) -> list[str]:
        """Every model in the answers (the human reference included), sorted."""
        return sorted(self.answers["model"].unique())

    def records(self, name: Callable[[Any], str]) -> dict[str, int]:
        """``n_items`` and ``n_models`` for ``results.json`` (no name from data: ``name`` is not used)."""
        return {"n_items": self.n_items, "n_models": self.n_models}


#: words that mark a baseline variant's name as "<target>_<word>" or "<word>_<target>"
BASELINE_WORDS = ("baseline", "paraphrase")
_SEPARATORS = ("_", "-", " ", ".")


def _baseline_of(baseline: str, targets: list[str]) -> list[str]:
    """The targets whose name, joined to a baseline word, gives ``baseline`` (case-insensitive)."""
    b = baseline.lower()
    hits = []
    for t in targets:
        tl = t.lower()
        names = {f"{tl}{sep}{w}" for sep in _SEPARATORS for w in BASELINE_WORDS}
        names |= {f"{w}{sep}{tl}" for sep in _SEPARATORS for w in BASELINE_WORDS}
        if b in names:
            hits.append(t)
    return hits


def derive_pairs(kinds: Mapping[str, str]) -> dict[str, str]:
    """Target -> baseline pairs from the data's ``variant_kind`` and variant names.

    Rule: a baseline named ``<target>_baseline`` (or ``-``, space or ``.`` as the
    separator, ``paraphrase`` as the word, the word first, any letter case) is the
    baseline of that target; when the data hold exactly one target and one
    baseline, they are a pair whatever their names. Targets and baselines left
    unpaired are reported by :func:`build_design`. Raises :class:`InputError`
    (naming the parameter ``pairs``) when a target would get two baselines or
    when no pair can be derived.
    """
    targets = sorted(v for v, k in kinds.items() if k == "target")
    baselines = sorted(v for v, k in kinds.items() if k == "baseline")
    if len(targets) == 1 and len(baselines) == 1:
        return {targets[0]: baselines[0]}
    pairs: dict[str, str] = {}
    for b in baselines:
        hits = _baseline_of(b, targets)
        if len(hits) == 1:
            t = hits[0]
            if t in pairs:
                raise InputError(f"parameter 'pairs': target '{shown(t)}' has two baselines by name "
                                 f"('{shown(pairs[t])}', "
                                 f"'{shown(b)}'); set pairs to say which one to use")
            pairs[t] = b
    if not pairs:
        raise InputError(f"parameter 'pairs': no pair can be derived from the data ({len(targets)} target and "
                         f"{len(baselines)} baseline variant(s), baselines not named '<target>_baseline'); "
                         "set pairs, e.g. --set 'pairs={my_target: my_baseline}'")
    return dict(sorted(pairs.items()))


def positive_labels(task_labels: Mapping[str, tuple[str, ...]],
                    positive_label: str | Mapping[str, str]) -> dict[str, str | None]:
    """Task -> positive label (None where none can be had).

    One label for every task: used in the tasks that have it among their answers,
    None elsewhere. A ``{task: label}`` mapping: that label for each task named;
    a task not named gets None. A mapping naming a task that is not in the data,
    or a label a task never gives, is an :class:`InputError` (a typo would
    otherwise silently skip the task).
    """
    if isinstance(positive_label, Mapping):
        unknown = sorted(set(positive_label) - set(task_labels))
        if unknown:
            raise InputError(f"parameter 'positive_label': task '{shown(unknown[0])}' is not in the data's "
                             "'task' column "
                             f"(tasks: {shown(', '.join(sorted(task_labels)), 200)})")
        out: dict[str, str | None] = {}
        for task, labels in task_labels.items():
            lab = positive_label.get(task)
            if lab is not None and str(lab) not in labels:
                raise InputError(f"parameter 'positive_label': '{shown(lab)}' is not an answer label of task "
                                 f"'{shown(task)}' "
                                 f"(labels: {shown(', '.join(labels), 200)})")
            out[task] = None if lab is None else str(lab)
        return out
    return {task: (str(positive_label) if str(positive_label) in labels else None)
            for task, labels in task_labels.items()}


def build_design(frame: pd.DataFrame, pairs: Mapping[str, str] | None = None, *,
                 baseline_models: list[str] | None = None,
                 positive_label: str | Mapping[str, str] = "1") -> tuple[Design, tuple[DataIssue, ...]]:
    """Validate the design of a long frame against ``pairs`` (target -> baseline); return it and its issues.

    ``pairs`` None: derived from the data (:func:`derive_pairs`). The positive
    label of each task is resolved by :func:`positive_labels`.

    Errors (:class:`InputError`): a variant named in ``pairs`` that is not in
    the data or has the wrong ``variant_kind``; no original at all; fewer
    than two items; a model named in ``baseline_models`` that is not in the
    data. Reported rules: a target without a baseline in ``pairs`` and a
    baseline with no target (flip rates only, no test); items without an
    original for a model x task (left out of that model x task); baseline
    answers of models outside ``baseline_models`` (not used); models with
    different item sets (each model is analysed on its own items).
    """
    answers, issues = collapse_repeats(frame)
    kinds = frame.drop_duplicates("variant").set_index("variant")["variant_kind"].to_dict()
    if pairs is None:
        pairs = derive_pairs(kinds)
    for t, b in pairs.items():
        for v, want, role in ((t, "target", "target"), (b, "baseline", "baseline")):
            if v not in kinds:
                raise InputError(f"parameter 'pairs': {role} variant '{shown(v)}' is not in the data's "
                                 "'variant' column")
            if kinds[v] != want:
                raise InputError(f"parameter 'pairs': variant '{shown(v)}' is a {role} in pairs but has "
                                 f"variant_kind '{kinds[v]}' in the data")
    originals = sorted(v for v, k in kinds.items() if k == "original")
    if not originals:
        raise InputError("counterfactual data: no row has variant_kind 'original'")
    if len(originals) > 1:
        raise InputError(f"counterfactual data: more than one variant has variant_kind 'original' "
                         f"({shown(', '.join(originals), 200)})")
    if originals[0] != "original":  # the analysis addresses the original by this name
        if "original" in kinds:
            raise InputError("counterfactual data: variant 'original' must have variant_kind 'original'")
        answers["variant"] = answers["variant"].replace({originals[0]: "original"})
    lonely_t = sorted(v for v, k in kinds.items() if k == "target" and v not in pairs)
    if lonely_t:
        issues.append(DataIssue("target_without_baseline", len(lonely_t),
                                "targets with no baseline in 'pairs' get flip rates only, no test",
                                ", ".join(lonely_t)))
    lonely_b = sorted(v for v, k in kinds.items() if k == "baseline" and v not in pairs.values())
    if lonely_b:
        issues.append(DataIssue("baseline_without_target", len(lonely_b),
                                "baselines that no target in 'pairs' uses get flip rates only", ", ".join(lonely_b)))
    if baseline_models is not None:
        unknown = sorted(set(baseline_models) - set(answers["model"]))
        if unknown:
            raise InputError(f"parameter 'baseline_models': model '{shown(unknown[0])}' is not in the data")
        drop = (answers["variant_kind"] == "baseline") & ~answers["model"].isin(baseline_models)
        if drop.any():
            who = sorted(answers.loc[drop, "model"].unique())
            issues.append(DataIssue("baseline_answers_not_used", int(drop.sum()),
                                    "baseline answers of models not listed in 'baseline_models' are not used "
                                    "(their targets get raw flip rates only)", ", ".join(who)))
            answers = answers[~drop]
    has_orig = answers[answers["variant_kind"] == "original"].set_index(KEYS).index
    idx = answers.set_index(KEYS).index
    no_orig = ~idx.isin(has_orig)
    if no_orig.any():
        lost = answers.loc[no_orig, KEYS].drop_duplicates()
        ex = lost.iloc[0]
        issues.append(DataIssue("item_without_original", len(lost),
                                "model x task x item groups with no (non-blank) original answer are left out",
                                f"e.g. item {shown(ex.item_id)} ({shown(ex.model)}, {shown(ex.task)})"))
        answers = answers[~no_orig]
    if answers["item_id"].nunique() < 2:
        raise InputError(f"counterfactual data: {answers['item_id'].nunique()} usable item(s); "
                         "resampling over items needs at least 2")
    sets = answers.groupby("model")["item_id"].apply(lambda s: frozenset(s))
    if sets.nunique() > 1:
        union = frozenset().union(*sets)
        short = sets[sets.map(len) < len(union)]
        issues.append(DataIssue("models_with_different_items", len(short),
                                "models do not share one item set: each model is analysed on its own items, so "
                                "their flip rates are not paired across models",
                                "; ".join(f"{m}: {len(s)} of {len(union)} items" for m, s in short.items())))
    has_p = "p_positive" in answers.columns and answers["p_positive"].notna().any()
    labels = tuple(sorted(answers["prediction"].astype(str).unique()))
    task_labels = {task: tuple(sorted(g.astype(str).unique()))
                   for task, g in answers.groupby("task", sort=True)["prediction"]}
    answers = answers.reset_index(drop=True)
    models = answers["model"].unique()
    design = Design(answers=answers, pairs=dict(pairs), has_probability=bool(has_p), labels=labels,
                    task_labels=task_labels, positive_labels=positive_labels(task_labels, positive_label),
                    n_items=int(answers["item_id"].nunique()),
                    n_models=int(sum(m not in REFERENCE_MODELS for m in models)))
    return design, tuple(issues)


def wide_answers(answers: pd.DataFrame, value: str = "prediction") -> pd.DataFrame:
    """model x task x item rows, one column per variant (NaN where missing)."""
    return answers.pivot(index=KEYS, columns="variant", values=value).sort_index()


