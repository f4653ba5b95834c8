"""Check the raw item and annotation tables and encode them as integer arrays (:func:`encode`).

The rules of every check are in the docstring of :mod:`.load`. :func:`encode` runs the steps
below in order; each step reports its data issues to the one collector of the call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import DataIssue, Issues, examples
from studykit.files.tables import require_columns

from .coding import combine_codes, head_values, int_lookup, raw_codes, sorted_codes, str_values
from .columns import ANNOTATION_COLUMNS, CONFIG_COLUMNS, ITEM_COLUMNS, MAX_TEMPERATURE
from .labels import fold_unmatched as _fold_unmatched, folded_classes, no_label_matches


@dataclass(frozen=True, eq=False)
class AnnotationData:
    """The encoded study data.

    Attributes
    ----------
    items : DataFrame
        item_id, gold and the group columns as strings (NA kept), plus human_single if given;
        only items with a gold label.
    classes : tuple of str
        Sorted gold classes; label codes index this tuple.
    gold : ndarray of int8, shape (n_items,)
        Gold class code of each item.
    human : ndarray of int8 or None
        Class code of ``human_single`` (-1 where missing or not a gold class), or None.
    human_gold : ndarray of int8 or None
        Class code of ``gold_without_single`` (gold of the other raters, the reference of comparisons with
        ``human_single``; -1 where missing or not a gold class), or None when the items do not carry it.
    groups : dict
        group column -> (codes int32 per item with NA coded as ``len(levels)``, levels tuple).
    configs : DataFrame
        config_id (0..C-1), model, prompt, temperature, seed, n_rows, n_valid, coverage.
    ann_item, ann_config : ndarray of int32
        Item position and configuration id of every valid annotation row.
    ann_label : ndarray of int8
        Class code of every valid annotation row.
    """

    items: pd.DataFrame
    classes: tuple[str, ...]
    gold: np.ndarray
    human: np.ndarray | None
    groups: dict[str, tuple[np.ndarray, tuple[str, ...]]]
    configs: pd.DataFrame
    ann_item: np.ndarray
    ann_config: np.ndarray
    ann_label: np.ndarray
    human_gold: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_configs(self) -> int:
        return len(self.configs)


class Collector:
    """Collects the data issues of one call; a check with count 0 is not an issue."""

    def __init__(self) -> None:
        self.found: list[DataIssue] = []

    def add(self, check: str, count: int, rule: str, detail: str = "") -> None:
        if count:
            self.found.append(DataIssue(check, int(count), rule, detail))

    def as_tuple(self) -> Issues:
        return tuple(self.found)


def encode(items: pd.DataFrame, annotations: pd.DataFrame, group_columns: list[str],
           *, what_items: str = "items", what_annotations: str = "annotations") -> tuple[AnnotationData, Issues]:
    """Check raw tables and encode them; returns ``(data, issues)`` (rules: the docstring of :mod:`.load`)."""
    issues = Collector()
    _check_columns(items, annotations, group_columns, what_items, what_annotations)
    items, ids = _drop_repeated_items(items, issues, what_items)

    it, keep = _items_with_gold(items, ids, group_columns, issues)
    classes = _gold_classes(it["gold"], what_items)
    fold_index = folded_classes(classes, what_items)
    class_index = pd.Index(classes)
    gold = class_index.get_indexer(it["gold"]).astype(np.int8)

    human = None
    if "human_single" in items.columns:
        hs = str_values(items["human_single"])[keep].to_numpy()
        it["human_single"] = hs
        human = _human_codes(hs, class_index, fold_index, issues)
    human_gold = None
    if human is not None and "gold_without_single" in items.columns:
        gw = str_values(items["gold_without_single"])[keep].to_numpy()
        it["gold_without_single"] = gw
        human_gold = class_index.get_indexer(pd.Series(gw, dtype="string").fillna("\0missing")).astype(np.int8)
        issues.add("invalid_gold_other_raters", int(((human_gold < 0) & pd.notna(gw)).sum()),
                   "gold_without_single values that are not gold classes are treated as missing (the item is "
                   "left out of the single rater's reference)")

    for col in group_columns:
        it[col] = _numeric_levels_only(it[col], col, issues)
    groups = _group_codes(it, group_columns, issues)

    temp, seed = _temperature_and_seed(annotations, issues, what_annotations)
    item_pos = _item_positions(annotations["item_id"], items["item_id"], keep, it["item_id"].to_numpy())
    unknown = item_pos < 0
    _report_unknown_items(unknown, annotations["item_id"], ids, ~keep, issues)
    conf_codes, configs = _configuration_codes(annotations, temp, seed)

    lab = annotations["label"]
    label = _label_codes(lab, class_index, fold_index, issues)
    ok_item = ~unknown
    valid = _valid_labels(lab, label, ok_item, classes, issues, what_annotations)
    valid = _without_duplicate_annotations(valid, conf_codes, item_pos, ok_item, len(configs), len(it), issues)
    configs, conf_codes = _configuration_coverage(configs, conf_codes, valid, len(it), issues)

    data = AnnotationData(
        items=it, classes=classes, gold=gold, human=human, groups=groups, configs=configs,
        ann_item=item_pos[valid], ann_config=conf_codes[valid], ann_label=label[valid].astype(np.int8),
        human_gold=human_gold,
    )
    return data, issues.as_tuple()


def _check_columns(items: pd.DataFrame, annotations: pd.DataFrame, group_columns: list[str],
                   what_items: str, what_annotations: str) -> None:
    """Refuse tables missing a required or named group column, and items with a missing item_id."""
    require_columns(items, ITEM_COLUMNS, what=what_items)
    require_columns(annotations, ANNOTATION_COLUMNS, what=what_annotations)
    for col in group_columns:
        if col not in items.columns:
            raise InputError(f"{what_items}: missing group column '{col}' (named in group_columns)")
    if items["item_id"].isna().any():
        raise InputError(f"{what_items}: column 'item_id' has missing values")


def _drop_repeated_items(items: pd.DataFrame, issues: Collector, what_items: str) -> tuple[pd.DataFrame, pd.Series]:
    """Items with exactly repeated rows kept once, and their ids as strings.

    An item_id repeated with different values is refused.
    """
    ids = str_values(items["item_id"])
    if ids.duplicated().any():
        exact = items.duplicated(keep="first").to_numpy()
        conflicting = ids[~exact].duplicated()
        if conflicting.any():
            raise InputError(f"{what_items}: item_id '{ids[~exact][conflicting].iloc[0]}' appears more than once "
                             "with different values")
        issues.add("duplicate_items", int(exact.sum()), "an item row repeated exactly is kept once",
                   detail=examples(ids[exact]))
        items = items.loc[~exact].reset_index(drop=True)
        ids = str_values(items["item_id"])
    return items, ids


def _items_with_gold(items: pd.DataFrame, ids: pd.Series, group_columns: list[str],
                     issues: Collector) -> tuple[pd.DataFrame, np.ndarray]:
    """The item table (item_id, gold, group columns as strings) of the items with a gold label, and that mask."""
    gold_s = str_values(items["gold"])
    no_gold = gold_s.isna().to_numpy()
    issues.add("missing_gold", no_gold.sum(), "items without a gold label are left out of every analysis")
    keep = ~no_gold
    it = pd.DataFrame({"item_id": ids[keep].to_numpy(), "gold": gold_s[keep].to_numpy()})
    for col in group_columns:
        it[col] = str_values(items[col])[keep].to_numpy()
    return it, keep


def _gold_classes(gold: pd.Series, what_items: str) -> tuple[str, ...]:
    """The sorted gold classes; fewer than two are refused."""
    classes = tuple(sorted(gold.unique()))
    if len(classes) < 2:
        raise InputError(f"{what_items}: column 'gold' needs at least two classes, found {len(classes)}")
    return classes


def _human_codes(hs: np.ndarray, class_index: pd.Index, fold_index, issues: Collector) -> np.ndarray:
    """Class codes of the single human coder: -1 where missing or not a gold class."""
    human = class_index.get_indexer(pd.Series(hs, dtype="string").fillna("\0missing")).astype(np.int8)
    human = _fold_unmatched(human, pd.Series(hs, dtype="string"), fold_index, issues, "human_single")
    bad = int(((human < 0) & pd.notna(hs)).sum())
    issues.add("invalid_human_single", bad, "human_single values that are not gold classes are treated as "
               "missing; such items are left out of the single-rater subsample")
    issues.add("missing_human_single", int(pd.isna(hs).sum()),
               "items without human_single are left out of the single-rater subsample")
    return human


def _numeric_levels_only(values: pd.Series, column: str, issues: Collector) -> pd.Series:
    """``values`` with non-numbers set to NA when most distinct levels are numbers (e.g. years).

    Rule: when at least two distinct levels parse as numbers and they are more than half
    of the levels, a level that does not (``"twenty-twenty"`` among years) is treated as
    missing and reported as ``non_numeric_group_value``.
    """
    levels = pd.Series(values.dropna().unique())
    if levels.empty:
        return values
    numeric = pd.to_numeric(levels, errors="coerce").notna().to_numpy()
    if numeric.all() or numeric.sum() < 2 or numeric.mean() <= 0.5:
        return values
    bad = values.isin(set(levels[~numeric]))
    issues.add("non_numeric_group_value", int(bad.sum()), "in a group column whose levels are mostly numbers, a "
               "value that is not a number is treated as missing", detail=f"{column}: {examples(levels[~numeric])}")
    return values.mask(bad)


def _group_codes(it: pd.DataFrame, group_columns: list[str],
                 issues: Collector) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Per group column: codes per item (NA coded as the number of levels) and the sorted levels."""
    groups: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for col in group_columns:
        codes, levels = sorted_codes(it[col])
        n_na = int((codes < 0).sum())
        issues.add("missing_group_value", n_na, "items with NA in a group column belong to no group of it",
                   detail=col)
        codes = np.where(codes < 0, len(levels), codes).astype(np.int32)
        groups[col] = (codes, tuple(str(v) for v in levels))
        if len(levels) < 2:
            issues.add("group_column_single_level", 1, "a group column with fewer than two levels yields no "
                       "hypothesis", detail=f"{col}: {examples(levels) or 'no level'}")
    return groups


def _temperature_and_seed(annotations: pd.DataFrame, issues: Collector,
                          what_annotations: str) -> tuple[pd.Series, pd.Series]:
    """Temperature and seed of every annotation row (seed 0 without a seed column).

    Refused: no rows, NA in model, prompt, temperature or seed, a temperature that is not a
    number in [0, MAX_TEMPERATURE].
    """
    n_rows = len(annotations)
    if n_rows == 0:
        raise InputError(f"{what_annotations}: no rows")
    for c in ("model", "prompt", "temperature"):
        if annotations[c].isna().any():
            raise InputError(f"{what_annotations}: column '{c}' has {int(annotations[c].isna().sum())} missing values "
                             "(a configuration needs model, prompt and temperature)")
    if not pd.api.types.is_numeric_dtype(annotations["temperature"]):
        temp = pd.to_numeric(annotations["temperature"], errors="coerce")
        if temp.isna().any():
            raise InputError(f"{what_annotations}: column 'temperature' must be numeric")
    else:
        temp = annotations["temperature"]
    temp_values = np.asarray(temp, dtype=float)
    out_of_range = ~((temp_values >= 0) & (temp_values <= MAX_TEMPERATURE))
    if out_of_range.any():
        raise InputError(f"{what_annotations}: column 'temperature' has {int(out_of_range.sum())} values outside "
                         f"[0, {MAX_TEMPERATURE:g}] (e.g. {examples(temp_values[out_of_range], k=2)})")
    if "seed" in annotations.columns:
        seed = annotations["seed"]
        if seed.isna().any():
            raise InputError(f"{what_annotations}: column 'seed' has {int(seed.isna().sum())} missing values")
    else:
        seed = pd.Series(np.zeros(n_rows, dtype=np.int64))
        issues.add("no_seed_column", 1, "without a seed column every configuration gets seed 0; a "
                   "configuration is then (model, prompt, temperature)")
    return temp, seed


def _item_positions(ann_ids: pd.Series, item_ids: pd.Series, keep: np.ndarray, kept_ids: np.ndarray) -> np.ndarray:
    """Position among the kept items of every annotation row's item (-1 if not kept), as int32.

    Ids are compared as strings unless both sides are integers.
    """
    if pd.api.types.is_integer_dtype(ann_ids) and pd.api.types.is_integer_dtype(item_ids):
        item_pos = int_lookup(item_ids.to_numpy()[keep], ann_ids.to_numpy())
    elif isinstance(ann_ids.dtype, pd.CategoricalDtype):  # look up each distinct id once
        index = pd.Index(kept_ids)
        cat_ids = str_values(pd.Series(ann_ids.cat.categories.to_numpy())).to_numpy(dtype=object, na_value=None)
        lut = np.append(index.get_indexer(cat_ids), -1).astype(np.int32)
        item_pos = lut[ann_ids.cat.codes.to_numpy()]
    else:
        index = pd.Index(kept_ids)
        item_pos = index.get_indexer(str_values(ann_ids).to_numpy(dtype=object, na_value=None))
    return item_pos.astype(np.int32)


def _report_unknown_items(unknown: np.ndarray, ann_ids: pd.Series, ids: pd.Series, no_gold: np.ndarray,
                          issues: Collector) -> None:
    """Report annotation rows of items not kept: unknown ids apart from items without gold."""
    if no_gold.any():
        # rows of items that exist but lack gold are not "unknown"; count them apart
        all_ids = pd.Index(ids.to_numpy())
        exists = all_ids.get_indexer(str_values(ann_ids).to_numpy(dtype=object, na_value=None)) >= 0
        n_no_gold_rows = int((unknown & exists).sum())
        issues.add("annotations_of_items_without_gold", n_no_gold_rows,
                   "annotation rows of items without a gold label are left out")
        issues.add("unknown_items", int((unknown & ~exists).sum()),
                   "annotation rows whose item_id is not in items are left out")
    else:
        issues.add("unknown_items", int(unknown.sum()), "annotation rows whose item_id is not in items are left out")


def _configuration_codes(annotations: pd.DataFrame, temp: pd.Series,
                         seed: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Configuration id of every row, and the configurations (config_id, model, prompt, temperature, seed, n_rows).

    Ids are sorted by (model, prompt, temperature, seed). Annotation files are usually sorted by
    configuration, so only the first row of every run of equal keys is factorised (linear, a few
    cheap passes over the rows), then the runs are expanded.
    """
    n_rows = len(annotations)
    raw = [raw_codes(annotations["model"]), raw_codes(annotations["prompt"]), np.asarray(temp, dtype=float), np.asarray(seed)]
    start = np.zeros(n_rows, dtype=bool)
    start[0] = True
    for a in raw:
        start[1:] |= a[1:] != a[:-1]
    heads = np.flatnonzero(start)
    run_id = np.cumsum(start, dtype=np.int32) - 1
    del start
    head_vals = [head_values(annotations[c], r, heads) for c, r in zip(("model", "prompt"), raw[:2])] + \
        [pd.Series(raw[2][heads]), pd.Series(raw[3][heads])]
    parts = [sorted_codes(v) for v in head_vals]
    head_codes, conf_uniques = combine_codes(parts)
    conf_codes = head_codes[run_id]
    del run_id, raw
    n_conf = len(conf_uniques)
    rest = conf_uniques.astype(np.int64)
    cols = {}
    for name, (codes, uniques) in zip(reversed(CONFIG_COLUMNS), reversed(parts)):
        cols[name] = uniques[rest % len(uniques)]
        rest = rest // len(uniques)
    configs = pd.DataFrame({"config_id": np.arange(n_conf, dtype=np.int32),
                            "model": [str(v) for v in cols["model"]],
                            "prompt": [str(v) for v in cols["prompt"]],
                            "temperature": np.asarray(cols["temperature"], dtype=float),
                            "seed": cols["seed"]})
    configs["n_rows"] = np.bincount(conf_codes, minlength=n_conf)
    return conf_codes, configs


def _label_codes(lab: pd.Series, class_index: pd.Index, fold_index, issues: Collector) -> np.ndarray:
    """Class code of every annotation label: -1 for a label that is not a gold class, -2 for a missing one.

    A label equal to a gold class up to case or spaces is that class (reported by :func:`.labels.fold_unmatched`).
    """
    if isinstance(lab.dtype, pd.CategoricalDtype):
        cat_str = str_values(pd.Series(lab.cat.categories.to_numpy()))
        exact = class_index.get_indexer(cat_str.fillna("\0missing")).astype(np.int8)
        counts = np.bincount(lab.cat.codes.to_numpy() + 1, minlength=len(cat_str) + 1)[1:]
        exact = _fold_unmatched(exact, cat_str, fold_index, issues, "label", weights=counts)
        lut = np.append(exact, -2).astype(np.int8)
        return lut[lab.cat.codes.to_numpy()]  # NA code -1 -> lut[-1] = -2
    ls = str_values(lab)
    label = class_index.get_indexer(ls.fillna("\0missing")).astype(np.int8)
    label = _fold_unmatched(label, ls, fold_index, issues, "label")
    label[ls.isna().to_numpy()] = -2
    return label


def _valid_labels(lab: pd.Series, label: np.ndarray, ok_item: np.ndarray, classes: tuple[str, ...],
                  issues: Collector, what_annotations: str) -> np.ndarray:
    """Rows of kept items with a gold-class label; reports missing and invalid labels.

    Refused when no label of a kept item matches a gold class.
    """
    missing = label == -2
    invalid = label == -1
    n_missing = int((missing & ok_item).sum())
    n_invalid = int((invalid & ok_item).sum())
    if n_invalid:
        bad_vals = (lab.cat.codes[invalid & ok_item].map(dict(enumerate(lab.cat.categories.astype(str))))
                    if isinstance(lab.dtype, pd.CategoricalDtype) else lab[invalid & ok_item].astype(str)
                    ).value_counts().head(3)
        detail = "; ".join(f"'{k}' x{v}" for k, v in bad_vals.items())
    else:
        detail = ""
    issues.add("missing_labels", n_missing, "NA labels are left out of that configuration's tests and quality")
    issues.add("invalid_labels", n_invalid, "labels that are not gold classes are treated like missing labels",
               detail=detail)
    valid = ok_item & (label >= 0)
    if not valid.any():
        raise no_label_matches(lab.astype(str)[ok_item & invalid] if n_invalid else None, classes, what_annotations)
    return valid


def _without_duplicate_annotations(valid: np.ndarray, conf_codes: np.ndarray, item_pos: np.ndarray,
                                   ok_item: np.ndarray, n_conf: int, n_items: int, issues: Collector) -> np.ndarray:
    """``valid`` without the second and later rows for the same item x configuration (the first is kept)."""
    n_rows = len(conf_codes)
    key = conf_codes.astype(np.int64) * n_items + item_pos
    n_ok = int(ok_item.sum())
    if n_conf * n_items <= 8 * max(n_rows, 1) + 1_000_000:
        seen = np.zeros(n_conf * n_items, dtype=bool)
        seen[key[ok_item]] = True
        has_dup = int(np.count_nonzero(seen)) < n_ok
        del seen
    else:
        has_dup = True
    if not has_dup:
        return valid
    dup_rows = np.zeros(n_rows, dtype=bool)
    dup_rows[ok_item] = pd.Series(key[ok_item]).duplicated(keep="first").to_numpy()
    n_dup = int(dup_rows.sum())
    issues.add("duplicate_annotations", n_dup,
               "a second row for the same item x configuration is left out (the first row is kept)")
    return valid & ~dup_rows


def _configuration_coverage(configs: pd.DataFrame, conf_codes: np.ndarray, valid: np.ndarray, n_items: int,
                            issues: Collector) -> tuple[pd.DataFrame, np.ndarray]:
    """Configurations with their valid-label counts and coverage, and the configuration id of every row.

    Configurations without a valid label are left out and the rest renumbered.
    """
    n_valid_conf = np.bincount(conf_codes[valid], minlength=len(configs))
    configs["n_valid"] = n_valid_conf
    configs["coverage"] = n_valid_conf / n_items
    keep_conf = n_valid_conf > 0
    if not keep_conf.all():
        empty = configs.loc[~keep_conf]
        issues.add("configurations_without_labels", len(empty),
                   "configurations with no valid label are left out of every analysis",
                   detail="; ".join(f"{r.model}/{r.prompt}/{r.temperature:g}/{r.seed}" for r in empty.head(3).itertuples()))
        remap = (np.cumsum(keep_conf) - 1).astype(np.int32)
        conf_codes = remap[conf_codes]
        configs = configs.loc[keep_conf].reset_index(drop=True)
        configs["config_id"] = np.arange(len(configs), dtype=np.int32)
    partial = int((configs["n_valid"] < n_items).sum())
    issues.add("partial_coverage", partial,
               "configurations with valid labels for only some items are tested on the items they label",
               detail=f"lowest coverage {configs['coverage'].min():.3f}" if partial else "")
    return configs, conf_codes
