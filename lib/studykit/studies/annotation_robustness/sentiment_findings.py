"""What the grid of tests shows on the real sentiment data (the ``sentiment_real`` profile).

:func:`real_data_findings` summarises the per-pair table by source comparison, annotator,
source and prompt; :func:`effect_size_view` compares every configuration's effect size with
the gold one (sign and magnitude errors, Type M), which on large samples says more than
significance, since nearly every gold null is significant there.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError

from .annotators import LABELS
from .hypotheses import generate_hypotheses

_HYP_RE = re.compile(r"^(?P<label_value>.+?) ~ (?P<group_column>[^:]+): (?P<group_a>.+) vs (?P<group_b>.+)$")


def _hypothesis_table(pairs: pd.DataFrame, items: pd.DataFrame, group_columns: list[str]) -> pd.DataFrame:
    """hypothesis_id -> label_value, group_column, group_a, group_b (from pairs' columns, else from the ids)."""
    cols = ["label_value", "group_column", "group_a", "group_b"]
    if all(c in pairs.columns for c in cols):
        return pairs[["hypothesis_id", *cols]].astype(str).drop_duplicates("hypothesis_id").reset_index(drop=True)
    levels = {c: tuple(sorted(items[c].dropna().astype(str).unique())) for c in group_columns if c in items}
    gen = generate_hypotheses(tuple(sorted(items["gold"].dropna().astype(str).unique())), levels)
    ids = pd.Series(pairs["hypothesis_id"].astype(str).unique())
    known = gen.set_index("hypothesis_id")
    rows = []
    for h in ids:
        if h in known.index:
            r = known.loc[h]
            rows.append((h, r.label_value, r.group_column, r.group_a, r.group_b))
            continue
        m = _HYP_RE.match(h)
        if not m:
            raise InputError(f"real_data_findings: cannot read hypothesis_id '{h}' (need label ~ column: a vs b)")
        rows.append((h, *m.groups()))
    return pd.DataFrame(rows, columns=["hypothesis_id", *cols])


def _config_name(df: pd.DataFrame) -> pd.Series:
    """``model/prompt``, plus ``/T=<temperature>`` and ``/seed=<seed>`` where a model x prompt has several."""
    model, prompt = df["model"].astype(str), df["prompt"].astype(str)
    name = model + "/" + prompt
    key = [model, prompt]
    for col, tag in (("temperature", "T"), ("seed", "seed")):
        if col in df.columns:
            several = df.groupby(key, observed=True)[col].transform("nunique") > 1
            name = name.where(~several, name + f"/{tag}=" + df[col].astype(str))
    return name


def real_data_findings(pairs: pd.DataFrame, items: pd.DataFrame, group_columns) -> dict[str, pd.DataFrame]:
    """What the real run shows beyond the simulation.

    Parameters
    ----------
    pairs : DataFrame
        The per-pair table (``tables/pairs.csv``): hypothesis_id, model, prompt,
        temperature, seed, effect, p_value, conclusion, gold_effect, gold_p_value,
        gold_conclusion, error (optionally label_value, group_column, group_a, group_b).
    items : DataFrame
        The items read by the study (item_id, gold, covariates, optional human_single).
    group_columns : list of str
        The covariates tested (hypothesis ids are read against their levels).

    Returns
    -------
    dict of DataFrames
        ``summary`` (key, value: the headline numbers, for ``out.record``),
        ``source_flips`` (each source comparison: gold result and which configurations
        flip it), ``flips_by_annotator`` (per model: how many source comparisons at least
        one of its configurations flips, how many all of them flip, and how many its
        threshold / wording / sample choice decides), ``risk_by_source`` (risk of the
        comparisons involving each source, by model), ``risk_by_prompt`` (risk of every
        model x prompt on all and on source hypotheses), ``human_vs_gold`` (how often
        one random rater agrees with the mean-of-raters gold, by source).
    """
    need = ["hypothesis_id", "model", "prompt", "seed", "conclusion", "gold_conclusion", "error", "gold_effect",
            "gold_p_value"]
    missing = [c for c in need if c not in pairs.columns]
    if missing:
        raise InputError(f"real_data_findings: pairs lacks column '{missing[0]}'")
    p = _pairs_with_hypotheses(pairs, items, list(group_columns))
    src = p[p["group_column"] == "source"]
    source_flips = _source_flips(src)
    human_vs_gold = _human_vs_gold(items)
    return {"summary": _headline_numbers(p, src, source_flips, human_vs_gold), "source_flips": source_flips,
            "flips_by_annotator": _flips_by_annotator(src), "risk_by_source": _risk_by_source(src),
            "risk_by_prompt": _risk_by_prompt(p, src), "human_vs_gold": human_vs_gold}


def _pairs_with_hypotheses(pairs: pd.DataFrame, items: pd.DataFrame, group_columns: list[str]) -> pd.DataFrame:
    """The pairs with each hypothesis' label and levels, a configuration name and whether the pair is wrong."""
    hyp = _hypothesis_table(pairs, items, group_columns)
    p = pairs.drop(columns=[c for c in ("label_value", "group_column", "group_a", "group_b") if c in pairs.columns])
    p = p.merge(hyp, on="hypothesis_id", how="left", validate="many_to_one")
    for c in ("model", "prompt", "conclusion", "gold_conclusion", "error"):
        p[c] = p[c].astype(str)
    p["config"] = _config_name(p)
    p["wrong"] = p["error"] != "correct"
    return p


def _source_flips(src: pd.DataFrame) -> pd.DataFrame:
    """Each source comparison: its gold result and which configurations flip it (by error type)."""
    rows = []
    for h, g in src.groupby("hypothesis_id", sort=True):
        w = g[g["wrong"]]
        first = g.iloc[0]
        rows.append({
            "hypothesis_id": h, "label_value": first.label_value, "group_a": first.group_a, "group_b": first.group_b,
            "gold_effect": float(first.gold_effect), "gold_p_value": float(first.gold_p_value),
            "gold_conclusion": first.gold_conclusion, "n_configurations": int(len(g)), "n_wrong": int(len(w)),
            "share_wrong": float(len(w) / len(g)),
            "n_type_I": int((g["error"] == "type_I").sum()), "n_type_II": int((g["error"] == "type_II").sum()),
            "n_type_S": int((g["error"] == "type_S").sum()),
            "models_flipping": ", ".join(sorted(w["model"].unique())),
            "configurations_flipping": "; ".join(sorted(w["config"].unique())),
        })
    return pd.DataFrame(rows, columns=[
        "hypothesis_id", "label_value", "group_a", "group_b", "gold_effect", "gold_p_value", "gold_conclusion",
        "n_configurations", "n_wrong", "share_wrong", "n_type_I", "n_type_II", "n_type_S", "models_flipping",
        "configurations_flipping"])


def _flips_by_annotator(src: pd.DataFrame) -> pd.DataFrame:
    """Per model: how many source comparisons some / every configuration flips, and how many its choices decide."""
    rows = []
    for model, g in src.groupby("model", sort=True):
        per_h = g.groupby("hypothesis_id")
        any_w = per_h["wrong"].any()
        all_w = per_h["wrong"].all()
        n_concl = per_h["conclusion"].nunique()
        rows.append({"model": model, "n_configurations": int(g["config"].nunique()),
                     "n_source_hypotheses": int(len(any_w)), "risk_source": float(g["wrong"].mean()),
                     "n_flipped_by_some_configuration": int(any_w.sum()),
                     "n_flipped_by_every_configuration": int(all_w.sum()),
                     "n_decided_by_choice": int((n_concl > 1).sum())})
    return pd.DataFrame(rows, columns=[
        "model", "n_configurations", "n_source_hypotheses", "risk_source", "n_flipped_by_some_configuration",
        "n_flipped_by_every_configuration", "n_decided_by_choice"])


def _risk_by_source(src: pd.DataFrame) -> pd.DataFrame:
    """Share of wrong pairs among the comparisons involving each source, over all models and by model."""
    rows = []
    sources = sorted(set(src["group_a"]) | set(src["group_b"]))
    for s in sources:
        g = src[(src["group_a"] == s) | (src["group_b"] == s)]
        rows.append({"source": s, "model": "all", "n_hypotheses": int(g["hypothesis_id"].nunique()),
                     "n_pairs": int(len(g)), "risk": float(g["wrong"].mean())})
        for model, gm in g.groupby("model", sort=True):
            rows.append({"source": s, "model": model, "n_hypotheses": int(gm["hypothesis_id"].nunique()),
                         "n_pairs": int(len(gm)), "risk": float(gm["wrong"].mean())})
    return pd.DataFrame(rows, columns=["source", "model", "n_hypotheses", "n_pairs", "risk"])


def _risk_by_prompt(p: pd.DataFrame, src: pd.DataFrame) -> pd.DataFrame:
    """Risk of every model x prompt on all hypotheses and on the source hypotheses."""
    allp = p.groupby(["model", "prompt"], sort=True).agg(n_configurations=("config", "nunique"),
                                                          risk_all=("wrong", "mean"))
    srcp = src.groupby(["model", "prompt"], sort=True).agg(risk_source=("wrong", "mean"),
                                                           n_source_flipped=("wrong", "sum"))
    return allp.join(srcp, how="left").reset_index()


def _human_vs_gold(items: pd.DataFrame) -> pd.DataFrame:
    """How often one random rater agrees with gold, and the gold class shares, by source.

    ``agreement`` is against ``gold_without_single`` (the other raters' gold) when the items carry it, on the
    items that have both; ``agreement_full_gold`` against the gold of all raters, that rater included (which
    flatters the rater: it is part of that mean).
    """
    human_vs_gold = pd.DataFrame(columns=["source", "n_items", "agreement", "agreement_full_gold", "gold_positive",
                                          "gold_neutral", "gold_negative"])
    if "human_single" in items.columns and "source" in items.columns:
        ref = "gold_without_single" if "gold_without_single" in items.columns else "gold"
        rows = []
        for s, g in [("all", items), *sorted(items.groupby("source"), key=lambda kv: kv[0])]:
            ok = g["human_single"].notna()
            both = ok & g[ref].notna()
            human = g["human_single"].astype(str)
            rows.append({"source": s, "n_items": int(len(g)),
                         "agreement": float((human[both] == g.loc[both, ref].astype(str)).mean()),
                         "agreement_full_gold": float((human[ok] == g.loc[ok, "gold"].astype(str)).mean()),
                         **{f"gold_{c}": float((g["gold"].astype(str) == c).mean()) for c in LABELS}})
        human_vs_gold = pd.DataFrame(rows)
    return human_vs_gold


def _headline_numbers(p: pd.DataFrame, src: pd.DataFrame, source_flips: pd.DataFrame,
                      human_vs_gold: pd.DataFrame) -> pd.DataFrame:
    """The headline numbers as a key/value table, for ``out.record``."""
    gold_sig = source_flips["gold_conclusion"] != "none"
    summary = {
        "n_configurations": p["config"].nunique(),
        "n_hypotheses": int(p["hypothesis_id"].nunique()),
        "risk_overall": float(p["wrong"].mean()),
        "n_source_hypotheses": int(len(source_flips)),
        "n_source_gold_significant": int(gold_sig.sum()),
        "n_source_flippable": int((source_flips["n_wrong"] > 0).sum()),
        "n_source_false_positive_possible": int(((~gold_sig) & (source_flips["n_type_I"] > 0)).sum()),
        "n_source_hideable": int((gold_sig & (source_flips["n_type_II"] > 0)).sum()),
        "n_source_reversible": int((gold_sig & (source_flips["n_type_S"] > 0)).sum()),
        "risk_source": float(src["wrong"].mean()) if len(src) else None,
    }
    for model, g in p.groupby("model", sort=True):
        summary[f"risk_by_annotator.{model}"] = float(g["wrong"].mean())
    if len(human_vs_gold):
        everyone = human_vs_gold["source"] == "all"
        summary["single_rater_agreement"] = float(human_vs_gold.loc[everyone, "agreement"].iloc[0])
        summary["single_rater_agreement_full_gold"] = float(human_vs_gold.loc[everyone, "agreement_full_gold"].iloc[0])
    return pd.DataFrame({"key": list(summary), "value": pd.Series(list(summary.values()), dtype=object)})
