"""The human-rated sentiment data of Hutto & Gilbert (ICWSM 2014): fetch, verify, parse.

Hutto, C.J. & Gilbert, E.E. (2014). *VADER: A Parsimonious Rule-based Model for
Sentiment Analysis of Social Media Text.* Eighth International Conference on
Weblogs and Social Media (ICWSM-14), Ann Arbor, MI.

The data ship inside the source distribution of the PyPI package
``vaderSentiment`` 3.3.2 (MIT licence) as
``additional_resources/hutto_ICWSM_2014.tar.gz``: 23,703 short texts from four
sources, each with the mean of about 20 independent ratings on -4..4
(``<source>_GroundTruth.txt``: ``ID<TAB>MEAN<TAB>TEXT``) and every individual
rating (``<source>_anonDataRatings.txt``: ``ID<TAB>MEAN<TAB>SD<TAB>[r1, r2, ...]``).

How it is obtained (never committed, never downloaded at analysis time by
anything but the ordinary package client):

1. ``python -m pip download vaderSentiment==3.3.2 --no-deps --no-binary :all:``
   into ``<cache>/sentiment_real/downloads/`` (or a copy given by the user),
2. the sdist's SHA-256 is checked against :data:`VADER_SDIST_SHA256`,
3. the inner archive is extracted (regular files only) into
   ``<cache>/sentiment_real/hutto_ICWSM_2014/``, where ``<cache>`` is
   :func:`studykit.files.paths.cache_dir` (``.cache/``, git-ignored).

Parsing rules (each counted and returned in :class:`HuttoData.issues`):

- *Encoding*: every file is read as bytes; a UTF-8 byte-order mark is
  dropped; each line is decoded as UTF-8 and, if that fails, as Windows-1252
  (the code page such stray bytes come from in files of this age), counted as
  ``non_utf8_lines``. In 3.3.2 every line is valid UTF-8 (one BOM, in
  ``amazonReviewSnippets_anonDataRatings.txt``).
- *Fields*: a line is split on its first two (GroundTruth) or three
  (ratings) tab characters, so a tab inside a text stays in the text.
- *HTML entities* (``&amp;``, ``&quot;``, ...) left over from the web sources
  are unescaped with :func:`html.unescape` (the raters saw rendered text);
  the number of texts changed is ``html_entities_unescaped``.
- *Gold*: the mean rating of ``<source>_GroundTruth.txt`` (the published gold
  standard). For 199 tweets the mean of the individual ratings in
  ``tweets_anonDataRatings.txt`` differs from it (same sign in every case,
  ratio of the two means 0.73-1.64, median 1.07); they are counted as
  ``ratings_mean_mismatch``, the gold keeps the published mean and the
  single-rater label still draws from the individual ratings.
- Duplicate texts within a source (2 movie, 11 Amazon, 71 NYT snippets) are
  distinct rated items and are kept (``duplicate_texts``).
"""
from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from studykit.contract.errors import InputError
from studykit.files.fileio import building_dir, sha256_file
from studykit.files.folders import folder_lock
from studykit.files.paths import cache_dir

if TYPE_CHECKING:  # numpy and pandas when the corpus is parsed: fetching and checking it stays light
    import pandas as pd

VADER_VERSION = "3.3.2"
VADER_SDIST = f"vaderSentiment-{VADER_VERSION}.tar.gz"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
INNER_ARCHIVE = f"vaderSentiment-{VADER_VERSION}/additional_resources/hutto_ICWSM_2014.tar.gz"
DATA_FOLDER = "hutto_ICWSM_2014"

#: file stem in the archive -> source name used as the ``source`` covariate, with the expected count
SOURCES: dict[str, tuple[str, int]] = {
    "tweets": ("tweets", 4200),
    "movieReviewSnippets": ("movie_reviews", 10605),
    "amazonReviewSnippets": ("amazon_reviews", 3708),
    "nytEditorialSnippets": ("nyt_editorials", 5190),
}
RATING_MIN, RATING_MAX = -4, 4
ENV_SDIST = "STUDYKIT_VADER_SDIST"  # path of a local copy of the sdist (offline machines)


def sentiment_cache_root() -> Path:
    """``<cache>/sentiment_real``: downloads, the extracted data and cached annotations."""
    return cache_dir() / "sentiment_real"


def data_folder() -> Path:
    """Where the extracted ``hutto_ICWSM_2014`` files live."""
    return sentiment_cache_root() / DATA_FOLDER


def _expected_files() -> list[str]:
    return [f"{stem}_{kind}.txt" for stem in SOURCES for kind in ("GroundTruth", "anonDataRatings")]


def is_available(folder: Path | None = None) -> bool:
    folder = folder or data_folder()
    return (folder / ".complete").is_file() and all((folder / f).is_file() for f in _expected_files())


def _fail(reason: str) -> InputError:
    return InputError(
        f"sentiment_real: cannot obtain the Hutto & Gilbert (2014) data ({reason}); run "
        f"'python scripts/fetch_sentiment_data.py' on a machine that reaches PyPI, or set {ENV_SDIST} "
        f"to a local copy of {VADER_SDIST}")


def download_sdist(dest: Path, *, timeout: float = 300.0) -> Path:
    """``pip download vaderSentiment==3.3.2 --no-deps --no-binary :all:`` into ``dest``; return the file."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", f"vaderSentiment=={VADER_VERSION}", "--no-deps",
           "--no-binary", ":all:", "--no-build-isolation", "--disable-pip-version-check", "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _fail(f"pip download did not finish: {type(exc).__name__}") from None
    target = dest / VADER_SDIST
    if proc.returncode != 0 or not target.is_file():
        lines = [ln for ln in (proc.stderr or proc.stdout or "").strip().splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        if proc.returncode == 0:
            last = f"pip did not save {VADER_SDIST} (got {sorted(p.name for p in dest.iterdir())})"
        raise _fail(f"pip download failed: {last[:200]}")
    return target


def verify_sdist(path: Path) -> None:
    """Raise a one-line InputError unless ``path`` has the published SHA-256."""
    if not path.is_file():
        raise _fail(f"{path} not found")
    digest = sha256_file(path)
    if digest != VADER_SDIST_SHA256:
        raise _fail(f"{path} has sha256 {digest[:16]}..., expected {VADER_SDIST_SHA256[:16]}...")


def _extract_inner(sdist: Path, target: Path) -> None:
    """Extract the regular files of the inner archive into ``target`` (no links, no absolute paths)."""
    with tarfile.open(sdist, "r:gz") as outer:
        try:
            member = outer.getmember(INNER_ARCHIVE)
        except KeyError:
            raise _fail(f"{sdist.name} has no {INNER_ARCHIVE}") from None
        blob = outer.extractfile(member).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as inner:
        for m in inner.getmembers():
            if not m.isfile():
                continue
            parts = Path(m.name).parts
            if m.name.startswith("/") or ".." in parts or not parts or parts[0] != DATA_FOLDER:
                continue
            out = target.joinpath(*parts[1:])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(inner.extractfile(m).read())  # type: ignore[union-attr]


def ensure_data(*, sdist: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Return the folder with the extracted data, fetching and verifying it once.

    ``sdist`` (or the environment variable ``STUDYKIT_VADER_SDIST``) names a
    local copy of ``vaderSentiment-3.3.2.tar.gz``; otherwise the cached
    download is used, or ``pip download`` fetches it when ``download``.
    The folder appears atomically (extracted to a temporary folder, renamed);
    callers in parallel processes (test workers, ``run all --jobs``) fetch it once.
    """
    folder = data_folder()
    if is_available(folder):
        return folder
    with folder_lock(folder):
        if is_available(folder):  # another process fetched it while this one waited
            return folder
        return _fetch(folder, sdist, download)


def _fetch(folder: Path, sdist: str | os.PathLike | None, download: bool) -> Path:
    root = sentiment_cache_root()
    sdist = sdist or os.environ.get(ENV_SDIST)
    if sdist:
        path = Path(sdist).expanduser()
    else:
        path = root / "downloads" / VADER_SDIST
        if not path.is_file():
            if not download:
                raise _fail(f"{path} not found and download=False")
            path = download_sdist(path.parent)
    verify_sdist(path)
    root.mkdir(parents=True, exist_ok=True)
    with building_dir(folder) as tmp:
        _extract_inner(path, tmp)
        missing = [f for f in _expected_files() if not (tmp / f).is_file()]
        if missing:
            raise _fail(f"the archive lacks {missing[0]}")
        (tmp / ".complete").write_text(f"{VADER_SDIST} sha256={VADER_SDIST_SHA256}\n", encoding="utf-8")
    return folder


# ---------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HuttoData:
    """Parsed corpus.

    ``items``: one row per text, in canonical order (sources in :data:`SOURCES`
    order, lines in file order): ``item_id`` (``<source>:<ID>``), ``source``,
    ``source_id``, ``text``, ``rating_mean`` (published gold mean),
    ``rating_sd``, ``n_raters``, ``ratings_mean`` (mean of the individual
    ratings). ``ratings``: long table ``item_id, rater, rating`` (``rater`` is
    the position in the item's list; raters are anonymous and not linked
    across items). ``issues``: check -> (count, rule).
    """

    items: pd.DataFrame
    ratings: pd.DataFrame
    issues: dict[str, tuple[int, str]] = field(default_factory=dict)


def _decode_lines(path: Path) -> tuple[list[str], int]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines, bad = [], 0
    for bline in raw.splitlines():
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError:
            line = bline.decode("cp1252", errors="replace")
            bad += 1
        if line.strip():
            lines.append(line)
    return lines, bad


_INT_RE = re.compile(r"-?\d+")


def parse_folder(folder: str | os.PathLike, *, check_counts: bool = True) -> HuttoData:
    """Parse the eight files of ``hutto_ICWSM_2014`` into :class:`HuttoData` (see module rules).

    ``check_counts`` checks each source's number of texts against the published
    counts (4,200 / 10,605 / 3,708 / 5,190), so another data version fails loudly.
    """
    import numpy as np
    import pandas as pd

    folder = Path(folder)
    item_rows: list[tuple] = []
    rating_ids: list[str] = []
    rating_pos: list[int] = []
    rating_vals: list[int] = []
    non_utf8 = unescaped = mismatch = dupes = 0
    for stem, (source, expected) in SOURCES.items():
        gt_path = folder / f"{stem}_GroundTruth.txt"
        ar_path = folder / f"{stem}_anonDataRatings.txt"
        for p in (gt_path, ar_path):
            if not p.is_file():
                raise InputError(f"sentiment_real: data file not found: {p}")
        gt_lines, bad1 = _decode_lines(gt_path)
        ar_lines, bad2 = _decode_lines(ar_path)
        non_utf8 += bad1 + bad2
        ratings_by_id: dict[str, tuple[float, float, list[int]]] = {}
        for n, line in enumerate(ar_lines, 1):
            parts = line.rstrip("\r\n").split("\t", 3)
            if len(parts) != 4:
                raise InputError(f"{ar_path.name} line {n}: expected 4 tab-separated fields, got {len(parts)}")
            rid, mean_s, sd_s, lst = parts
            vals = [int(v) for v in _INT_RE.findall(lst)]
            if not vals:
                raise InputError(f"{ar_path.name} line {n}: no ratings in field 4")
            if min(vals) < RATING_MIN or max(vals) > RATING_MAX:
                raise InputError(f"{ar_path.name} line {n}: a rating outside {RATING_MIN}..{RATING_MAX}")
            if rid.strip() in ratings_by_id:
                raise InputError(f"{ar_path.name} line {n}: duplicate ID {rid.strip()!r}")
            ratings_by_id[rid.strip()] = (float(sd_s), float(mean_s), vals)
        seen_ids: set[str] = set()
        seen_texts: set[str] = set()
        for n, line in enumerate(gt_lines, 1):
            parts = line.rstrip("\r\n").split("\t", 2)
            if len(parts) != 3:
                raise InputError(f"{gt_path.name} line {n}: expected 3 tab-separated fields, got {len(parts)}")
            sid, mean_s, text = parts[0].strip(), parts[1], parts[2].strip()
            if sid in seen_ids:
                raise InputError(f"{gt_path.name} line {n}: duplicate ID {sid!r}")
            seen_ids.add(sid)
            if sid not in ratings_by_id:
                raise InputError(f"{gt_path.name} line {n}: ID {sid!r} has no row in {ar_path.name}")
            try:
                mean = float(mean_s)
            except ValueError:
                raise InputError(f"{gt_path.name} line {n}: mean rating {mean_s!r} is not a number") from None
            clean = html.unescape(text)
            unescaped += clean != text
            dupes += clean in seen_texts
            seen_texts.add(clean)
            sd, _, vals = ratings_by_id[sid]
            rmean = float(np.mean(vals))
            mismatch += abs(rmean - mean) > 1e-6
            item_id = f"{source}:{sid}"
            item_rows.append((item_id, source, sid, clean, mean, sd, len(vals), rmean))
            rating_ids.extend([item_id] * len(vals))
            rating_pos.extend(range(len(vals)))
            rating_vals.extend(vals)
        if len(seen_ids) != len(ratings_by_id):
            extra = sorted(set(ratings_by_id) - seen_ids)[:1]
            raise InputError(f"{ar_path.name}: ID {extra[0]!r} has no text in {gt_path.name}")
        if check_counts and len(seen_ids) != expected:
            raise InputError(f"{gt_path.name}: {len(seen_ids)} texts, expected {expected} (wrong data version?)")
    items = pd.DataFrame(item_rows, columns=["item_id", "source", "source_id", "text", "rating_mean", "rating_sd",
                                             "n_raters", "ratings_mean"])
    ratings = pd.DataFrame({"item_id": rating_ids, "rater": np.asarray(rating_pos, dtype=np.int32),
                            "rating": np.asarray(rating_vals, dtype=np.int8)})
    issues = {
        "non_utf8_lines": (non_utf8, "decoded as Windows-1252"),
        "html_entities_unescaped": (unescaped, "texts with HTML entities (&amp; ...) unescaped with html.unescape"),
        "ratings_mean_mismatch": (mismatch, "mean of the individual ratings differs from the published mean: gold "
                                            "keeps the published mean; single-rater labels still use the ratings"),
        "duplicate_texts": (dupes, "identical texts within a source kept as distinct rated items"),
    }
    return HuttoData(items=items, ratings=ratings, issues=issues)


def load_corpus(*, fetch: bool = True) -> HuttoData:
    """Fetch (when needed and ``fetch``) and parse the corpus."""
    folder = ensure_data(download=fetch) if fetch else data_folder()
    if not is_available(folder):
        raise _fail(f"{folder} is not there")
    return parse_folder(folder)
