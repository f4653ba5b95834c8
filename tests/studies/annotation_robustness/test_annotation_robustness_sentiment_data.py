"""Fetching, verifying and parsing the Hutto & Gilbert (2014) data (synthetic files in the real formats).

Unit: one synthetic file in the real data's format, fetched, verified or parsed.
"""
from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from studykit.contract.errors import InputError
from studykit.studies.annotation_robustness import hutto_data


def _write_source(folder: Path, stem: str, rows, *, bom=False, crlf=True, raw_gt: bytes | None = None):
    """rows: (id, gt_mean, text, ratings); ratings-file mean is the mean of ratings."""
    nl = "\r\n" if crlf else "\n"
    gt = nl.join(f"{i}\t{m}\t{t}" for i, m, t, _ in rows) + nl
    ar = nl.join(f"{i}\t{np.mean(r):.9f}\t{np.std(r):.5f}\t{list(r)}" for i, _, _, r in rows) + nl
    (folder / f"{stem}_GroundTruth.txt").write_bytes(raw_gt if raw_gt is not None else gt.encode("utf-8"))
    (folder / f"{stem}_anonDataRatings.txt").write_bytes((b"\xef\xbb\xbf" if bom else b"") + ar.encode("utf-8"))


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "hutto_ICWSM_2014"
    d.mkdir()
    _write_source(d, "tweets", [
        ("1", 2.0, "Love it &amp; more", [2, 2, 2, 2]),
        ("2", -1.0, "Not\tgood", [-2, -2, -1, -3]),  # tab inside the text; gt mean differs from ratings
    ])
    _write_source(d, "movieReviewSnippets", [("1", 0.0, "A film.", [0, 1, -1]), ("2", 0.0, "A film.", [0, 0, 0])])
    # a Windows-1252 byte (0x93, a curly quote) in one line, BOM in the ratings file
    raw = b"1_1\t1.5\tgreat \x93stuff\x94\r\n1_2\t-3.0\tawful\r\n"
    _write_source(d, "amazonReviewSnippets", [("1_1", 1.5, "", [1, 2]), ("1_2", -3.0, "", [-3, -3])], bom=True,
                  raw_gt=raw)
    _write_source(d, "nytEditorialSnippets", [("1_1", 0.25, "Policy.", [0, 1, 0, 0])], crlf=False)
    return d


def test_parse_rules(folder):
    data = hutto_data.parse_folder(folder, check_counts=False)
    it = data.items.set_index("item_id")
    assert list(data.items["source"].unique()) == ["tweets", "movie_reviews", "amazon_reviews", "nyt_editorials"]
    assert it.loc["tweets:1", "text"] == "Love it & more"  # HTML entity unescaped
    assert it.loc["tweets:2", "text"] == "Not\tgood"  # split on the first two tabs only
    assert it.loc["amazon_reviews:1_1", "text"] == "great \u201cstuff\u201d"  # cp1252 fallback
    assert it.loc["tweets:2", "rating_mean"] == -1.0  # published mean kept
    assert it.loc["tweets:2", "ratings_mean"] == pytest.approx(-2.0)
    assert it.loc["nyt_editorials:1_1", "n_raters"] == 4
    issues = {k: c for k, (c, _) in data.issues.items()}
    assert issues == {"non_utf8_lines": 1, "html_entities_unescaped": 1, "ratings_mean_mismatch": 1,
                      "duplicate_texts": 1}
    # long ratings table in item order, one row per rating
    assert len(data.ratings) == data.items["n_raters"].sum()
    first = data.ratings[data.ratings["item_id"] == "tweets:2"]
    assert first["rating"].tolist() == [-2, -2, -1, -3] and first["rater"].tolist() == [0, 1, 2, 3]


def test_published_counts_checked(folder):
    with pytest.raises(InputError, match="tweets_GroundTruth.txt: 2 texts, expected 4200"):
        hutto_data.parse_folder(folder)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: (d / "tweets_anonDataRatings.txt").write_text("1\t2\t0\t[2, 9]\n2\t-2\t0\t[-2]\n"),
     "a rating outside -4..4"),
    (lambda d: (d / "tweets_anonDataRatings.txt").write_text("1\t2\t0\t[2]\n"), "ID '2' has no row"),
    (lambda d: (d / "tweets_GroundTruth.txt").write_text("1\tx\tLove\n2\t-1\tNo\n"), "mean rating 'x'"),
    (lambda d: (d / "tweets_GroundTruth.txt").write_text("1\t2.0\n"), "expected 3 tab-separated fields"),
    (lambda d: (d / "nytEditorialSnippets_GroundTruth.txt").unlink(), "data file not found"),
])
def test_bad_files_one_line_errors(folder, mutate, message):
    mutate(folder)
    with pytest.raises(InputError, match=message) as exc:
        hutto_data.parse_folder(folder, check_counts=False)
    assert "\n" not in str(exc.value)


def _fake_sdist(tmp_path: Path, inner_folder: Path, *, evil: bool = False) -> Path:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        for p in sorted(inner_folder.iterdir()):
            t.add(p, arcname=f"hutto_ICWSM_2014/{p.name}")
        if evil:
            info = tarfile.TarInfo("../../escape.txt")
            payload = b"x"
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))
    sdist = tmp_path / hutto_data.VADER_SDIST
    with tarfile.open(sdist, "w:gz") as t:
        info = tarfile.TarInfo(hutto_data.INNER_ARCHIVE)
        info.size = len(inner.getvalue())
        t.addfile(info, io.BytesIO(inner.getvalue()))
    return sdist


def test_ensure_data_verifies_and_extracts(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    sdist = _fake_sdist(tmp_path, folder, evil=True)
    # wrong checksum: a one-line error, nothing extracted
    with pytest.raises(InputError, match="sha256") as exc:
        hutto_data.ensure_data(sdist=sdist)
    assert "\n" not in str(exc.value) and not hutto_data.data_folder().exists()
    monkeypatch.setattr(hutto_data, "VADER_SDIST_SHA256", hashlib.sha256(sdist.read_bytes()).hexdigest())
    out = hutto_data.ensure_data(sdist=sdist)
    assert out == hutto_data.data_folder() and hutto_data.is_available(out)
    assert (out / "tweets_GroundTruth.txt").read_bytes() == (folder / "tweets_GroundTruth.txt").read_bytes()
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "cache" / "escape.txt").exists()
    # second call: no sdist needed
    assert hutto_data.ensure_data(sdist=tmp_path / "missing.tar.gz") == out


def test_download_failure_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(hutto_data.ENV_SDIST, raising=False)

    def fake_run(cmd, **kw):
        assert cmd[1:4] == ["-m", "pip", "download"] and "vaderSentiment==3.3.2" in cmd and "--no-deps" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for vaderSentiment\n")

    monkeypatch.setattr(hutto_data.subprocess, "run", fake_run)
    with pytest.raises(InputError) as exc:
        hutto_data.ensure_data()
    msg = str(exc.value)
    assert "No matching distribution" in msg and "fetch_sentiment_data.py" in msg and "\n" not in msg
    with pytest.raises(InputError, match="download=False"):
        hutto_data.ensure_data(download=False)


@pytest.fixture(scope="module")
def real_corpus():
    return hutto_data.load_corpus()  # fetches with pip on first use (needs the package registry once)


def test_real_corpus_matches_publication(real_corpus):
    it = real_corpus.items
    assert len(it) == 23_703
    assert it.groupby("source").size().to_dict() == {"tweets": 4200, "movie_reviews": 10605,
                                                     "amazon_reviews": 3708, "nyt_editorials": 5190}
    assert it["item_id"].is_unique and it["text"].str.len().min() > 0
    assert it["rating_mean"].between(-4, 4).all()
    assert real_corpus.ratings["rating"].between(-4, 4).all()
    # at least 20 raters for tweets, NYT and Amazon; 15 or more for the movie snippets (as published)
    nr = it.groupby("source")["n_raters"].min().to_dict()
    assert nr["tweets"] >= 20 and nr["amazon_reviews"] == 20 and nr["nyt_editorials"] == 20
    assert nr["movie_reviews"] >= 15
    counts = {k: c for k, (c, _) in real_corpus.issues.items()}
    assert counts["non_utf8_lines"] == 0 and counts["ratings_mean_mismatch"] == 199
    # the mismatches are all tweets, with the same sign as the published mean
    mm = it[(it["ratings_mean"] - it["rating_mean"]).abs() > 1e-6]
    assert set(mm["source"]) == {"tweets"} and (np.sign(mm["ratings_mean"]) == np.sign(mm["rating_mean"])).all()
