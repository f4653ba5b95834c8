"""Read and check the raw data; encode it as integer arrays for the counting hot path.

Every problem in the raw data is either a one-line :class:`~studykit.contract.errors.InputError`
(a missing column, a duplicated item, an unknown group column) or a
:class:`~studykit.contract.issues.DataIssue` with a documented rule, returned beside the data
(:func:`.encoding.encode` and ``load`` return ``(result, issues)``) for ``out.note_issues``:

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
invalid_gold_other_raters  a gold_without_single value that is not a gold class is treated as missing
=========================  =======================================================================

Refused with an InputError: a missing column, an item_id repeated with different values, gold classes
differing only in case, no annotation label matching a gold class, NA in item_id, model, prompt,
temperature or seed, a temperature that is not a number in [0, :data:`~.columns.MAX_TEMPERATURE`], fewer
than two gold classes, no annotation rows, and a hypotheses file with no rows, missing values or a repeated
hypothesis_id.

Raw files are only read, never modified.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studykit.contract.errors import InputError
from studykit.contract.issues import Issues, examples
from studykit.files.paths import resolve
from studykit.files.tables import check_unique_columns, read_table, require_columns

from .coding import str_values
from .columns import ANNOTATION_COLUMNS, HYPOTHESIS_COLUMNS, ITEM_COLUMNS
from .encoding import AnnotationData, Collector, encode
from .sentiment_inputs import embeddings_left_out

__all__ = ["AnnotationData", "encode", "load", "read_annotations", "read_hypotheses", "read_items"]


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
        df[c] = str_values(df[c])
        if df[c].isna().any():
            raise InputError(f"{where}: column '{c}' has {int(df[c].isna().sum())} missing values")
    dup = df["hypothesis_id"].duplicated()
    if dup.any():
        raise InputError(f"{where}: hypothesis_id '{df['hypothesis_id'][dup].iloc[0]}' appears more than once")
    issues = Collector()
    repeated = df.duplicated(subset=list(HYPOTHESIS_COLUMNS[1:]), keep="first")
    issues.add("duplicate_hypotheses", int(repeated.sum()), "a hypotheses row repeating the label, column and "
               "levels of an earlier row is left out", detail=examples(df.loc[repeated, "hypothesis_id"]))
    return df.loc[~repeated].reset_index(drop=True), issues.as_tuple()


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

