"""Read and check the raw data; encode it as integer arrays for the counting hot path.

Every problem in the raw data is either a one-line :class:`~studykit.errors.InputError`
(a missing column, a duplicated item, an unknown group column) or a
:class:`~studykit.issues.DataIssue` with a documented rule, returned beside the data
(``encode`` and ``load`` return ``(result, issues)``) for ``out.note_issues``:

=========================  =======================================================================
check                      rule
=========================  =======================================================================
duplicate_items            an item row repeated exactly is kept once (repeated with other values: refused)
missing_gold               items without a gold label are left out of every analysis
unknown_items              annotation rows whose item_id is not in items are left out
duplicate_annotations      a second row for the same item x configuration is left out (first kept)
missing_labels             NA labels are left out of that configuration's tests and quality scores
label_case_folded          a label equal to a gold class up to case or spaces is that class (.labels)
invalid_labels             labels that are not gold classes are treated like missing labels
partial_coverage           configurations that label only some items are tested on those items
non_numeric_group_value    in a group column whose levels are mostly numbers (e.g. years), a value
                           that is not a number is treated as missing
missing_group_value        items with NA in a group column belong to no group of that column
group_column_single_level  a group column with fewer than two levels yields no hypothesis
no_seed_column             without a ``seed`` column every configuration gets seed 0
duplicate_hypotheses       a hypotheses row repeating an earlier one's label, column, levels: left out
embeddings_not_run         sentiment_real without the embeddings extra: 3 of 5 annotator families run
=========================  =======================================================================

Refused with an InputError: a missing column, an item_id repeated with different values, gold classes
differing only in case, no annotation label matching a gold class, NA in item_id, model, prompt,
temperature or seed, a temperature that is not a number in [0, :data:`~.columns.MAX_TEMPERATURE`], fewer
than two gold classes, no annotation rows, and a hypotheses file with no rows, missing values or a repeated
hypothesis_id.

Raw files are only read, never modified.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studykit.errors import InputError
from studykit.issues import DataIssue, Issues, examples
from studykit.paths import resolve
from studykit.tables import check_unique_columns, read_table, require_columns

from .labels import fold_unmatched as _fold_unmatched, folded_classes, no_label_matches
from .sentiment_inputs import embeddings_left_out
from .columns import ANNOTATION_COLUMNS, CONFIG_COLUMNS, HYPOTHESIS_COLUMNS, ITEM_COLUMNS, MAX_TEMPERATURE


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

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_configs(self) -> int:
        return len(self.configs)


def _str_values(s: pd.Series) -> pd.Series:
    """Values as strings with NA kept (integers without a trailing .0)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_float_dtype(s) and s.dropna().apply(float.is_integer).all():
        s = s.astype("Int64")
    out = s.astype("string")
    return out


def _rank_codes(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes so that uniques are sorted (as strings for objects); -1 stays -1."""
    keyed = np.asarray([str(u) for u in uniques]) if uniques.dtype == object else uniques
    order = np.argsort(keyed, kind="stable")
    rank = np.empty(len(uniques) + 1, dtype=np.int32)
    rank[order] = np.arange(len(uniques), dtype=np.int32)
    rank[-1] = -1
    return rank[codes], uniques[order]


def _codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted factorisation (codes int32, uniques); NA -> -1. Linear time: hash, then rank the uniques."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _rank_codes(s.cat.codes.to_numpy().astype(np.int32), np.asarray(s.cat.categories, dtype=object))
    codes, uniques = pd.factorize(s, sort=False, use_na_sentinel=True)
    return _rank_codes(codes.astype(np.int32), np.asarray(uniques))


def _raw_codes(s: pd.Series) -> np.ndarray:
    """Integer codes (any order) of a column: categorical codes as they are, others hashed."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy()
    return pd.factorize(s, use_na_sentinel=True)[0]


def _head_values(s: pd.Series, raw: np.ndarray, heads: np.ndarray) -> pd.Series:
    """The values of column ``s`` at the run heads, as strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = np.asarray(s.cat.categories.astype(str), dtype=object)
        return pd.Series(cats[raw[heads]], dtype=object)
    return pd.Series(s.to_numpy()[heads]).astype(str)


def _combine(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Mixed-radix combination of sorted codes -> (dense sorted codes, used combined values)."""
    n = len(parts[0][0])
    size = 1
    for _, u in parts:
        size *= max(len(u), 1)
    combo = np.zeros(n, dtype=np.int64)
    for codes, uniques in parts:
        combo *= len(uniques)
        combo += codes
    if size <= 50_000_000:
        used = np.bincount(combo, minlength=size) > 0
        rank = (np.cumsum(used) - 1).astype(np.int32)
        return rank[combo], np.flatnonzero(used)
    codes, uniques = pd.factorize(combo, sort=True)
    return codes.astype(np.int32), uniques


def read_items(path: str | Path) -> pd.DataFrame:
    df = read_table(path, what="items")
    require_columns(df, ITEM_COLUMNS, what=f"items file {resolve(path)}")
    return df


def _arrow_to_frame(table) -> pd.DataFrame:
    """Arrow table -> DataFrame; dictionary columns become categoricals without a per-row Python step."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type) and col.num_chunks > 0:
            col = col.unify_dictionaries()
            cats = col.chunk(0).dictionary.to_pylist()
            codes = np.concatenate([(pc.fill_null(ch.indices, -1) if ch.null_count else ch.indices)
                                    .to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
                                    for ch in col.chunks])
            cols[name] = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object), validate=False)
        else:
            cols[name] = col.to_numpy() if col.null_count == 0 else col.to_pandas()
    return pd.DataFrame(cols, copy=False)


def read_annotations(path: str | Path) -> pd.DataFrame:
    """Read annotations; Parquet string columns are read as categoricals (no Python object per row)."""
    p = resolve(path)
    if p.suffix.lower() in (".parquet", ".pq") and p.is_file():
        import pyarrow.parquet as pq

        check_unique_columns(p, "annotations")

        try:
            schema = pq.read_schema(p)
            want = [c for c in (*ANNOTATION_COLUMNS, "seed") if c in schema.names]
            strings = [c for c in want if str(schema.field(c).type) in ("string", "large_string")]
            # one column at a time: the Arrow buffers of a column are freed once it is converted
            df = pd.concat([_arrow_to_frame(pq.read_table(p, columns=[c], read_dictionary=[c] if c in strings else None))
                            for c in want], axis=1, copy=False)
        except Exception as exc:
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise InputError(f"annotations file {p}: cannot be read as parquet: {last}") from None
    else:
        df = read_table(p, what="annotations", columns=[*ANNOTATION_COLUMNS, "seed"])
    require_columns(df, ANNOTATION_COLUMNS, what=f"annotations file {p}")
    return df


def read_hypotheses(path: str | Path) -> tuple[pd.DataFrame, Issues]:
    """Read an explicit hypotheses file; returns ``(hypotheses, issues)`` (rules: module docstring)."""
    where = f"hypotheses file {resolve(path)}"
    df = read_table(path, what="hypotheses")
    require_columns(df, HYPOTHESIS_COLUMNS, what=where)
    df = df[list(HYPOTHESIS_COLUMNS)].copy()
    if df.empty:
        raise InputError(f"{where}: no rows")
    for c in HYPOTHESIS_COLUMNS:
        df[c] = _str_values(df[c])
        if df[c].isna().any():
            raise InputError(f"{where}: column '{c}' has {int(df[c].isna().sum())} missing values")
    dup = df["hypothesis_id"].duplicated()
    if dup.any():
        raise InputError(f"{where}: hypothesis_id '{df['hypothesis_id'][dup].iloc[0]}' appears more than once")
    issues = _Collector()
    repeated = df.duplicated(subset=list(HYPOTHESIS_COLUMNS[1:]), keep="first")
    issues.add("duplicate_hypotheses", int(repeated.sum()), "a hypotheses row repeating the label, column and "
               "levels of an earlier row is left out", detail=examples(df.loc[repeated, "hypothesis_id"]))
    return df.loc[~repeated].reset_index(drop=True), issues.as_tuple()


class _Collector:
    """Collects the data issues of one call; a check with count 0 is not an issue."""

    def __init__(self) -> None:
        self.found: list[DataIssue] = []

    def add(self, check: str, count: int, rule: str, detail: str = "") -> None:
        if count:
            self.found.append(DataIssue(check, int(count), rule, detail))

    def as_tuple(self) -> Issues:
        return tuple(self.found)


def _numeric_levels_only(values: pd.Series, column: str, issues: "_Collector") -> pd.Series:
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


def _int_lookup(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``keys`` (-1 if absent); a dense table when the ids are compact."""
    keys = keys.astype(np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    vmin, vmax = int(values.min()), int(values.max())
    if hi - lo <= 8 * len(keys) + 1_000_000:
        lut = np.full(hi - lo + 1, -1, dtype=np.int32)
        lut[keys - lo] = np.arange(len(keys), dtype=np.int32)
        if vmin >= lo and vmax <= hi:  # all in range: one gather, no int64 copy
            return lut[values - values.dtype.type(lo)] if lo else lut[values]
        v = values.astype(np.int64) - lo
        out = np.full(len(values), -1, dtype=np.int32)
        inside = (v >= 0) & (v <= hi - lo)
        out[inside] = lut[v[inside]]
        return out
    return pd.Index(keys).get_indexer(values).astype(np.int32)


def encode(items: pd.DataFrame, annotations: pd.DataFrame, group_columns: list[str],
           *, what_items: str = "items", what_annotations: str = "annotations") -> tuple[AnnotationData, Issues]:
    """Check raw tables and encode them; returns ``(data, issues)`` (rules: the module docstring)."""
    issues = _Collector()
    require_columns(items, ITEM_COLUMNS, what=what_items)
    require_columns(annotations, ANNOTATION_COLUMNS, what=what_annotations)
    for col in group_columns:
        if col not in items.columns:
            raise InputError(f"{what_items}: missing group column '{col}' (named in group_columns)")
    if items["item_id"].isna().any():
        raise InputError(f"{what_items}: column 'item_id' has missing values")
    ids = _str_values(items["item_id"])
    if ids.duplicated().any():
        exact = items.duplicated(keep="first").to_numpy()
        conflicting = ids[~exact].duplicated()
        if conflicting.any():
            raise InputError(f"{what_items}: item_id '{ids[~exact][conflicting].iloc[0]}' appears more than once "
                             "with different values")
        issues.add("duplicate_items", int(exact.sum()), "an item row repeated exactly is kept once",
                   detail=examples(ids[exact]))
        items = items.loc[~exact].reset_index(drop=True)
        ids = _str_values(items["item_id"])

    gold_s = _str_values(items["gold"])
    no_gold = gold_s.isna().to_numpy()
    issues.add("missing_gold", no_gold.sum(), "items without a gold label are left out of every analysis")
    keep = ~no_gold
    it = pd.DataFrame({"item_id": ids[keep].to_numpy(), "gold": gold_s[keep].to_numpy()})
    for col in group_columns:
        it[col] = _str_values(items[col])[keep].to_numpy()
    classes = tuple(sorted(it["gold"].unique()))
    if len(classes) < 2:
        raise InputError(f"{what_items}: column 'gold' needs at least two classes, found {len(classes)}")
    fold_index = folded_classes(classes, what_items)
    class_index = pd.Index(classes)
    gold = class_index.get_indexer(it["gold"]).astype(np.int8)

    human = None
    if "human_single" in items.columns:
        hs = _str_values(items["human_single"])[keep].to_numpy()
        it["human_single"] = hs
        human = class_index.get_indexer(pd.Series(hs, dtype="string").fillna("\0missing")).astype(np.int8)
        human = _fold_unmatched(human, pd.Series(hs, dtype="string"), fold_index, issues, "human_single")
        bad = int(((human < 0) & pd.notna(hs)).sum())
        issues.add("invalid_human_single", bad, "human_single values that are not gold classes are treated as "
                   "missing; such items are left out of the single-rater subsample")
        issues.add("missing_human_single", int(pd.isna(hs).sum()),
                   "items without human_single are left out of the single-rater subsample")

    for col in group_columns:
        it[col] = _numeric_levels_only(it[col], col, issues)
    groups: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for col in group_columns:
        codes, levels = _codes(it[col])
        n_na = int((codes < 0).sum())
        issues.add("missing_group_value", n_na, "items with NA in a group column belong to no group of it",
                   detail=col)
        codes = np.where(codes < 0, len(levels), codes).astype(np.int32)
        groups[col] = (codes, tuple(str(v) for v in levels))
        if len(levels) < 2:
            issues.add("group_column_single_level", 1, "a group column with fewer than two levels yields no "
                       "hypothesis", detail=f"{col}: {examples(levels) or 'no level'}")

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

    # item positions: compare as strings unless both sides are integers
    ann_ids = annotations["item_id"]
    if pd.api.types.is_integer_dtype(ann_ids) and pd.api.types.is_integer_dtype(items["item_id"]):
        item_pos = _int_lookup(items["item_id"].to_numpy()[keep], ann_ids.to_numpy())
    elif isinstance(ann_ids.dtype, pd.CategoricalDtype):  # look up each distinct id once
        index = pd.Index(it["item_id"].to_numpy())
        cat_ids = _str_values(pd.Series(ann_ids.cat.categories.to_numpy())).to_numpy(dtype=object, na_value=None)
        lut = np.append(index.get_indexer(cat_ids), -1).astype(np.int32)
        item_pos = lut[ann_ids.cat.codes.to_numpy()]
    else:
        index = pd.Index(it["item_id"].to_numpy())
        item_pos = index.get_indexer(_str_values(ann_ids).to_numpy(dtype=object, na_value=None))
    item_pos = item_pos.astype(np.int32)
    unknown = item_pos < 0
    if no_gold.any():
        # rows of items that exist but lack gold are not "unknown"; count them apart
        all_ids = pd.Index(ids.to_numpy())
        exists = all_ids.get_indexer(_str_values(ann_ids).to_numpy(dtype=object, na_value=None)) >= 0
        n_no_gold_rows = int((unknown & exists).sum())
        issues.add("annotations_of_items_without_gold", n_no_gold_rows,
                   "annotation rows of items without a gold label are left out")
        issues.add("unknown_items", int((unknown & ~exists).sum()),
                   "annotation rows whose item_id is not in items are left out")
    else:
        issues.add("unknown_items", int(unknown.sum()), "annotation rows whose item_id is not in items are left out")

    # configuration ids, sorted by (model, prompt, temperature, seed): annotation files are
    # usually sorted by configuration, so only the first row of every run of equal keys is
    # factorised (linear, a few cheap passes over the rows), then the runs are expanded.
    raw = [_raw_codes(annotations["model"]), _raw_codes(annotations["prompt"]), np.asarray(temp, dtype=float), np.asarray(seed)]
    start = np.zeros(n_rows, dtype=bool)
    start[0] = True
    for a in raw:
        start[1:] |= a[1:] != a[:-1]
    heads = np.flatnonzero(start)
    run_id = np.cumsum(start, dtype=np.int32) - 1
    del start
    head_vals = [_head_values(annotations[c], r, heads) for c, r in zip(("model", "prompt"), raw[:2])] + \
        [pd.Series(raw[2][heads]), pd.Series(raw[3][heads])]
    parts = [_codes(v) for v in head_vals]
    head_codes, conf_uniques = _combine(parts)
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
    n_rows_conf = np.bincount(conf_codes, minlength=n_conf)

    # labels -> class codes
    lab = annotations["label"]
    if isinstance(lab.dtype, pd.CategoricalDtype):
        cat_str = _str_values(pd.Series(lab.cat.categories.to_numpy()))
        exact = class_index.get_indexer(cat_str.fillna("\0missing")).astype(np.int8)
        counts = np.bincount(lab.cat.codes.to_numpy() + 1, minlength=len(cat_str) + 1)[1:]
        exact = _fold_unmatched(exact, cat_str, fold_index, issues, "label", weights=counts)
        lut = np.append(exact, -2).astype(np.int8)
        label = lut[lab.cat.codes.to_numpy()]  # NA code -1 -> lut[-1] = -2
    else:
        ls = _str_values(lab)
        label = class_index.get_indexer(ls.fillna("\0missing")).astype(np.int8)
        label = _fold_unmatched(label, ls, fold_index, issues, "label")
        label[ls.isna().to_numpy()] = -2
    missing = label == -2
    invalid = label == -1
    ok_item = ~unknown
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
    # duplicates of item x configuration
    n_items = len(it)
    key = conf_codes.astype(np.int64) * n_items + item_pos
    n_ok = int(ok_item.sum())
    if n_conf * n_items <= 8 * max(n_rows, 1) + 1_000_000:
        seen = np.zeros(n_conf * n_items, dtype=bool)
        seen[key[ok_item]] = True
        has_dup = int(np.count_nonzero(seen)) < n_ok
        del seen
    else:
        has_dup = True
    if has_dup:
        dup_rows = np.zeros(n_rows, dtype=bool)
        dup_rows[ok_item] = pd.Series(key[ok_item]).duplicated(keep="first").to_numpy()
        n_dup = int(dup_rows.sum())
        issues.add("duplicate_annotations", n_dup,
                   "a second row for the same item x configuration is left out (the first row is kept)")
        valid &= ~dup_rows
    n_valid_conf = np.bincount(conf_codes[valid], minlength=n_conf)
    configs["n_rows"] = n_rows_conf
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

    data = AnnotationData(
        items=it, classes=classes, gold=gold, human=human, groups=groups, configs=configs,
        ann_item=item_pos[valid], ann_config=conf_codes[valid], ann_label=label[valid].astype(np.int8),
    )
    return data, issues.as_tuple()


def load(params) -> tuple[tuple[AnnotationData, pd.DataFrame | None], Issues]:
    """Read and encode the inputs named by ``params``: ``((data, hypotheses), issues)``.

    ``hypotheses`` is None when ``params.hypotheses_path`` is not given.
    """
    items = read_items(params.items_path)
    annotations = read_annotations(params.annotations_path)
    data, issues = encode(items, annotations, list(params.group_columns),
                  what_items=f"items file {resolve(params.items_path)}",
                  what_annotations=f"annotations file {resolve(params.annotations_path)}")
    hyps = None
    if params.hypotheses_path:
        hyps, hypothesis_issues = read_hypotheses(params.hypotheses_path)
        issues = issues + hypothesis_issues
    return (data, hyps), issues + embeddings_left_out(params)

