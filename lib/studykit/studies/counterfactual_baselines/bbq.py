"""The BBQ adapter: answers to BBQ gender items under several instruction wordings -> the study's long format.

The data (``../shared/data/bbq_prompt_variants/bbq_gender_predictions.csv.gz``, see its README): one row per
model x instruction wording (``prompt_variant``) x BBQ example, with the example's context, its three answer
options ``ans0``-``ans2`` (two name a person, one says the question cannot be answered), the groups of
``ans0`` and ``ans2`` and the chosen option ``pred_index``.

* **Answer scale.** An answer's letter is not comparable between an example and its gender-swapped partner
  (BBQ shuffles the options), so the prediction is the *role* of the chosen option: ``unknown`` (the option
  whose group is ``unknown``; when neither ``ans0`` nor ``ans2`` is, ``ans1``), ``first`` (the person named
  first in the context) or ``second``. A named option is found in the context by its words without a leading
  "The" (whole words, case-insensitive; the longer of two overlapping names wins, "trans woman" before
  "woman"). A gender-blind model picks the same role for both members of a pair.
* **Counterfactual pairs.** Two examples of the same ``question_index``, ``question_polarity`` and
  ``context_condition`` are partners when their contexts are identical once the first- and second-named
  person's words are replaced by placeholders and the two persons are swapped. Examples with no partner or
  with several are left out (reported). Of a pair, the example with the smaller ``example_id`` is the
  original and its partner the target, so that each pair is one item (both directions would count every
  target flip twice).
* **Variants.** ``original`` = the original example under the reference wording (``1_lower``);
  ``gender_swap`` (target) = its partner under the same wording; ``paraphrase_<wording>`` (baseline) = the
  original example under each other wording. The profile's ``pairs`` names the baseline that is tested; the
  other wordings keep their flip rates.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue
from studykit.contract.params import short_repr as _short_repr
from studykit.files.tables import require_columns

from .schema import BBQ_COLUMNS

#: the wording of the original and the target
REFERENCE_WORDING = "1_lower"
ROLES = ("unknown", "first", "second")
TARGET = "gender_swap"
BASELINE_PREFIX = "paraphrase_"


def short_repr(value: Any, width: int = 60) -> str:
    """A value from data in a message: numpy scalars as plain Python values (``0``, not ``np.int64(0)``)."""
    return _short_repr(value.item() if isinstance(value, np.generic) else value, width)


def _words(answer: str) -> str:
    """The words that name a person in an answer option: 'The trans woman' -> 'trans woman'."""
    return re.sub(r"^\s*the\s+", "", str(answer), flags=re.IGNORECASE).strip()


def _unknown_index(ans0_group: Any, ans2_group: Any) -> int | None:
    """Index of the 'cannot be determined' option; None when both ans0 and ans2 claim it."""
    u0, u2 = str(ans0_group).strip().lower() == "unknown", str(ans2_group).strip().lower() == "unknown"
    if u0 and u2:
        return None
    return 0 if u0 else 2 if u2 else 1


def example_roles(examples: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Per example: the role of each option and the context with the two persons as placeholders.

    ``examples`` has one row per ``example_id`` (the item columns of the data). Returns columns
    ``example_id``, ``question_index``, ``question_polarity``, ``context_condition``, ``role0``-``role2``
    (``unknown``/``first``/``second``), ``first``, ``second`` (the naming words, lower case) and
    ``template`` (the context with ``{A}`` for the first-named and ``{B}`` for the second-named person).
    Examples whose unknown option or named persons cannot be identified are left out and reported.
    """
    rows, no_unknown, not_found = [], [], []
    for r in examples.itertuples(index=False):
        unk = _unknown_index(r.ans0_group, r.ans2_group)
        if unk is None:
            no_unknown.append(r.example_id)
            continue
        named = [k for k in range(3) if k != unk]
        words = {k: _words(getattr(r, f"ans{k}")) for k in named}
        ctx = str(r.context)
        order = sorted(named, key=lambda k: -len(words[k]))  # longer name first: 'trans woman' before 'woman'
        pattern = re.compile("|".join(rf"\b{re.escape(words[k])}\b" for k in order), re.IGNORECASE)
        hits = [m for m in pattern.finditer(ctx)]
        which = [next(k for k in order if m.group(0).lower() == words[k].lower()) for m in hits]
        if not words[named[0]] or not words[named[1]] or set(which) != set(named) \
                or words[named[0]].lower() == words[named[1]].lower():
            not_found.append(r.example_id)
            continue
        first, second = which[0], next(k for k in named if k != which[0])
        template = pattern.sub(lambda m: "{A}" if m.group(0).lower() == words[first].lower() else "{B}", ctx)
        role = {unk: "unknown", first: "first", second: "second"}
        rows.append({"example_id": r.example_id, "question_index": r.question_index,
                     "question_polarity": r.question_polarity, "context_condition": r.context_condition,
                     "role0": role[0], "role1": role[1], "role2": role[2],
                     "first": words[first].lower(), "second": words[second].lower(),
                     "template": " ".join(template.split())})
    issues = []
    if no_unknown:
        issues.append(DataIssue("bbq_unknown_option_ambiguous", len(no_unknown),
                                "examples whose ans0 and ans2 both have the group 'unknown' are left out",
                                "example_id " + ", ".join(map(str, sorted(no_unknown)[:5]))))
    issues.append(DataIssue("bbq_person_not_in_context", len(not_found),
                            "examples whose two named options are not both found in the context (whole words, "
                            "without a leading 'The') are left out; reported even when there are none",
                            "example_id " + ", ".join(map(str, sorted(not_found)[:5])) if not_found else ""))
    cols = ["example_id", "question_index", "question_polarity", "context_condition", "role0", "role1", "role2",
            "first", "second", "template"]
    return pd.DataFrame(rows, columns=cols), issues


def pair_examples(roles: pd.DataFrame) -> tuple[pd.DataFrame, list[DataIssue]]:
    """Gender-swap partners: same question_index, polarity, context condition and template, persons swapped.

    Returns one row per pair: ``original`` (the smaller example_id) and ``target`` (its partner). Examples with
    no partner or with several are left out and reported (``bbq_pairs`` gives the counts in its detail).
    """
    key = ["question_index", "question_polarity", "context_condition", "template"]
    me = roles[key + ["example_id", "first", "second"]]
    swapped = me.rename(columns={"first": "second", "second": "first", "example_id": "partner"})
    cand = me.merge(swapped, on=key + ["first", "second"], how="left")
    cand = cand[cand["partner"].notna() & (cand["partner"] != cand["example_id"])]
    n_partners = cand.groupby("example_id").size().reindex(roles["example_id"], fill_value=0)
    one = n_partners[n_partners == 1].index
    exact = cand[cand["example_id"].isin(one)].copy()
    exact["partner"] = exact["partner"].astype(roles["example_id"].dtype)
    # a pair counts when each member is the other's only partner
    back = dict(zip(exact["example_id"], exact["partner"]))
    mutual = exact[[back.get(p) == e for e, p in zip(exact["example_id"], exact["partner"])]]
    pairs = mutual[mutual["example_id"] < mutual["partner"]]
    pairs = pairs.rename(columns={"example_id": "original", "partner": "target"})[["original", "target"]]
    pairs = pairs.sort_values("original", kind="mergesort").reset_index(drop=True)
    none = n_partners[n_partners == 0].index
    several = n_partners[n_partners > 1].index
    in_pair = 2 * len(pairs)
    # examples left out that have a swapped counterpart whose context differs in other words as well
    loose = me.drop(columns="template").merge(swapped.drop(columns="template"),
                                              on=key[:-1] + ["first", "second"])
    near = int(loose.loc[loose["example_id"].isin(none), "example_id"].nunique())
    issues = [DataIssue("bbq_examples_without_partner", int(len(none) + len(several) + len(one) - in_pair),
                        "examples with no gender-swapped partner (same question_index, polarity, context "
                        "condition and context with the two persons swapped), or with several, are left out; "
                        "reported even when there are none",
                        f"{len(roles)} examples: {len(one)} with exactly one partner ({len(pairs)} pairs), "
                        f"{len(none)} with none ({near} of them have a swapped counterpart whose context "
                        f"also differs in other words), {len(several)} with several"
                        + (f" (e.g. example_id {', '.join(map(str, sorted(none)[:5]))})" if len(none) else ""))]
    return pairs, issues


def bbq_long(raw: pd.DataFrame, *, reference: str = REFERENCE_WORDING) -> tuple[pd.DataFrame, list[DataIssue]]:
    """The BBQ predictions (long by model x wording x example) -> the study's long format (not yet validated:
    :func:`.load.adapt_bbq` does that) and the data issues found.

    item_id = ``<original>-<target>`` example ids; variants ``original``, ``gender_swap`` (target) and
    ``paraphrase_<wording>`` (baselines); prediction = the role of the chosen option (see the module
    docstring); group = the words naming the first person of the original example; no direction.
    """
    require_columns(raw, BBQ_COLUMNS, "BBQ data")
    what = "BBQ data"
    for c in ("model", "prompt_variant", "example_id"):
        if raw[c].isna().any():
            raise InputError(f"{what}: column '{c}' has {int(raw[c].isna().sum())} blank value(s)")
    df = raw.copy()
    df["model"] = df["model"].astype(str).str.strip()
    df["prompt_variant"] = df["prompt_variant"].astype(str).str.strip()
    wordings = sorted(df["prompt_variant"].unique())
    if reference not in wordings:
        raise InputError(f"{what}: column 'prompt_variant' has no row of the reference wording {short_repr(reference)} "
                         f"(wordings: {short_repr(', '.join(wordings), 200)})")
    pred = pd.to_numeric(df["pred_index"], errors="coerce")
    bad = df["pred_index"].notna() & ~pred.isin([0, 1, 2])
    if bad.any():
        i = bad.idxmax()
        raise InputError(f"{what}: column 'pred_index' must be 0, 1 or 2 (got {short_repr(df.at[i, 'pred_index'])} "
                         f"for example {short_repr(df.at[i, 'example_id'])})")
    df["pred_index"] = pred
    item_cols = [c for c in BBQ_COLUMNS if c not in ("model", "prompt_variant", "pred_index")]
    items = df[item_cols].drop_duplicates()
    clash = items["example_id"].duplicated(keep=False)
    if clash.any():
        raise InputError(f"{what}: example {short_repr(items.loc[clash.idxmax(), 'example_id'])} has different "
                         "item columns (context, options or groups) in different rows")
    dup = df.duplicated(["model", "prompt_variant", "example_id"], keep=False)
    if dup.any():
        r = df[dup].iloc[0]
        raise InputError(f"{what}: {int(dup.sum())} rows share model x prompt_variant x example_id (e.g. "
                         f"{short_repr(r.model)}, {short_repr(r.prompt_variant)}, example {short_repr(r.example_id)})")
    roles, issues = example_roles(items.sort_values("example_id", kind="mergesort"))
    pairs, more = pair_examples(roles)
    issues += more
    role_of = roles.set_index("example_id")[["role0", "role1", "role2"]]
    df = df[df["example_id"].isin(role_of.index)]
    idx = df["pred_index"]
    lookup = role_of.reindex(df["example_id"]).to_numpy()
    df["prediction"] = np.where(idx.notna(), lookup[np.arange(len(df)), idx.fillna(0).astype(int).to_numpy()],
                                None)
    first = roles.set_index("example_id")["first"]
    ans = df.set_index(["example_id", "model", "prompt_variant"])["prediction"]
    parts = []
    for wording in wordings:
        for role, source, variant, kind in (
                ("original", "original", "original", "original"),
                ("target", "target", TARGET, "target"),
                ("baseline", "original", f"{BASELINE_PREFIX}{wording}", "baseline")):
            if (role == "baseline") == (wording == reference):
                continue
            for model in sorted(df["model"].unique()):
                keys = pd.MultiIndex.from_arrays([pairs[source], [model] * len(pairs), [wording] * len(pairs)])
                got = ans.reindex(keys)
                parts.append(pd.DataFrame({
                    "item_id": pairs["original"].astype(str) + "-" + pairs["target"].astype(str),
                    "variant": variant, "variant_kind": kind, "model": model,
                    "prediction": got.to_numpy(), "group": pairs["original"].map(first).to_numpy(),
                    "present": keys.isin(ans.index)}))
    long = pd.concat(parts, ignore_index=True)
    absent = ~long.pop("present")
    if absent.any():
        r = long[absent].iloc[0]
        issues.append(DataIssue("bbq_answer_missing", int(absent.sum()),
                                "pairs whose example has no row for a model x wording lack that answer "
                                "(missing, as a blank answer)",
                                f"e.g. item {r.item_id}, {r.model}, {r.variant}"))
        long = long[~absent]
    return long.reset_index(drop=True), issues


def accuracy(raw: pd.DataFrame) -> pd.DataFrame:
    """Share of correct answers (``pred_index == label``) per model: overall and the range over wordings.

    Columns: model, n, accuracy, min_wording, max_wording (accuracy of the worst and best wording).
    """
    require_columns(raw, ("model", "prompt_variant", "pred_index", "label"), "BBQ data")
    ok = pd.to_numeric(raw["pred_index"], errors="coerce") == pd.to_numeric(raw["label"], errors="coerce")
    d = raw.assign(ok=ok.astype(float))
    per = d.groupby(["model", "prompt_variant"])["ok"].mean().groupby("model").agg(["min", "max"])
    out = d.groupby("model")["ok"].agg(["size", "mean"]).join(per)
    out.columns = ["n", "accuracy", "min_wording", "max_wording"]
    return out.reset_index()


def letter_diagnostics(raw: pd.DataFrame, *, reference: str = REFERENCE_WORDING,
                       baseline: str = "2_lower") -> pd.DataFrame:
    """Does a model answer by letter? Per model, on the gender-swap pairs of :func:`bbq_long`.

    BBQ orders the options anew for the swapped example, so a model that keeps its letter flips the role.
    Columns: model, n_pairs, top_letter_share (share of the model's most frequent letter under ``reference``),
    same_letter_target / same_letter_baseline (share of pairs where the target, or the original under
    ``baseline``, gets the original's letter), n_same_order (pairs whose options have the same roles at the
    same letters), flip_target_same_order / flip_baseline_same_order (role flip rates on those pairs).
    """
    items = raw[[c for c in BBQ_COLUMNS if c not in ("model", "prompt_variant", "pred_index")]].drop_duplicates()
    roles, _ = example_roles(items.sort_values("example_id", kind="mergesort"))
    pairs, _ = pair_examples(roles)
    r = roles.set_index("example_id")[["role0", "role1", "role2"]]
    same_order = (r.loc[pairs["original"]].to_numpy() == r.loc[pairs["target"]].to_numpy()).all(axis=1)
    rows = []
    for model, g in raw.groupby("model", sort=True):
        ref = g[g["prompt_variant"] == reference].set_index("example_id")["pred_index"]
        base = g[g["prompt_variant"] == baseline].set_index("example_id")["pred_index"]
        lo, lt, lb = (ref.reindex(pairs["original"]).to_numpy(), ref.reindex(pairs["target"]).to_numpy(),
                      base.reindex(pairs["original"]).to_numpy())

        def role(ex, letters):
            return np.array([r.at[e, f"role{int(k)}"] for e, k in zip(ex, letters)])

        ro, rt, rb = role(pairs["original"], lo), role(pairs["target"], lt), role(pairs["original"], lb)
        rows.append({"model": model, "n_pairs": len(pairs),
                     "top_letter_share": float(ref.value_counts(normalize=True).iloc[0]),
                     "same_letter_target": float(np.mean(lo == lt)), "same_letter_baseline": float(np.mean(lo == lb)),
                     "n_same_order": int(same_order.sum()),
                     "flip_target_same_order": float(np.mean(ro[same_order] != rt[same_order])),
                     "flip_baseline_same_order": float(np.mean(ro[same_order] != rb[same_order]))})
    return pd.DataFrame(rows)
