"""`read_table` and the header checks every study reader uses: one-line errors naming the column and file.

Unit: one input file per case (CSV, TSV, gzipped CSV, Parquet, JSONL), written by the test.
"""
from __future__ import annotations

import gzip
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from studykit.contract.errors import InputError
from studykit.files.tables import check_unique_columns, header_columns, read_table


def _write(path, names, rows):
    kind = path.name.split(".", 1)[1]
    if kind == "parquet":
        pq.write_table(pa.table([pa.array([r[i] for r in rows]) for i in range(len(names))], names=names), path)
    elif kind == "jsonl":
        path.write_text("\n".join("{" + ", ".join(f'"{n}": {json.dumps(v)}' for n, v in zip(names, r)) + "}"
                                  for r in rows) + "\n")
    else:
        sep = "\t" if kind == "tsv" else ","
        text = "\n".join([sep.join(names)] + [sep.join(str(v) for v in r) for r in rows]) + "\n"
        if kind.endswith(".gz"):
            with gzip.open(path, "wt") as fh:
                fh.write(text)
        else:
            path.write_text(text)


@pytest.mark.parametrize("suffix", ["csv", "tsv", "csv.gz", "parquet", "jsonl"])
def test_duplicated_column_names_are_refused_in_every_format(tmp_path, suffix):
    path = tmp_path / f"t.{suffix}"
    _write(path, ["a", "score", "score"], [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(InputError) as exc:
        read_table(path, what="scores")
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg and "column 'score' appears 2 times" in msg
    assert msg.startswith("scores file ")


def test_a_key_repeated_in_one_jsonl_record_deep_in_the_file(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"a": i, "b": i}) + "\n" for i in range(500)) + '{"a": 1, "b": 2, "a": 3}\n')
    with pytest.raises(InputError, match=r"column 'a' appears 2 times in the object on line 501"):
        read_table(path)


def test_neighbours_that_are_not_duplicates(tmp_path):
    # quoted names with the separator inside, names differing in case or spaces, pandas' own "x.1" name
    path = tmp_path / "t.csv"
    path.write_text('"a,b",A,a, a,x,x.1\n1,2,3,4,5,6\n')
    assert header_columns(path) == ["a,b", "A", "a", " a", "x", "x.1"]
    check_unique_columns(path)
    assert list(read_table(path).columns) == ["a,b", "A", "a", " a", "x", "x.1"]
    # a UTF-8 byte-order mark is not part of the first name
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    assert header_columns(bom) == ["a", "b"]
    # an empty file and a header-only file are handled by the reader's own errors / empty table
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="cannot be read as csv"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "head.csv").write_text("a,b\n")
    assert read_table(tmp_path / "head.csv").empty
    # JSONL records with different keys are not duplicates
    j = tmp_path / "t.jsonl"
    j.write_text('{"a": 1}\n{"b": 2}\n')
    check_unique_columns(j)
    pd.testing.assert_frame_equal(read_table(j), pd.DataFrame({"a": [1.0, None], "b": [None, 2.0]}))


def test_every_studys_reader_refuses_a_duplicated_column(tmp_path):
    """One reader per study (those that do not go through read_table check the header themselves)."""
    from studykit.studies.annotation_robustness.load import read_annotations
    from studykit.studies.code_survival.load import load_line_events
    from studykit.studies.counterfactual_baselines.load import read_long
    from studykit.studies.lexical_prevalence.reading import iter_batches, peek_columns

    cases = []
    p = tmp_path / "ann.parquet"
    _write(p, ["item_id", "model", "prompt", "temperature", "label", "label"], [["i", "m", "p", 0.0, "x", "y"]])
    cases.append((lambda: read_annotations(p), "label"))
    c = tmp_path / "events.csv"
    _write(c, ["unit_id", "repo", "event", "event"], [["u", "r", 0, 1]])
    cases.append((lambda: load_line_events(c), "event"))
    f = tmp_path / "long.tsv"
    _write(f, ["item_id", "variant", "prediction", "prediction"], [["i", "v", "a", "b"]])
    cases.append((lambda: read_long(f), "prediction"))
    q = tmp_path / "corpus.parquet"
    _write(q, ["text", "language", "text"], [["a", "en", "b"]])
    cases.append((lambda: peek_columns(q), "text"))
    j = tmp_path / "corpus.jsonl"
    j.write_text('{"text": "a", "language": "en"}\n{"text": "b", "language": "en", "text": "c"}\n')
    cases.append((lambda: list(iter_batches(j, ["text", "language"], 10)), "text"))
    for call, col in cases:
        with pytest.raises(InputError) as exc:
            call()
        assert f"column '{col}' appears 2 times" in str(exc.value) and "\n" not in str(exc.value)
