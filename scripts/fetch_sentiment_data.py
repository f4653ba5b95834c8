#!/usr/bin/env python
"""Set-up step of the annotation_robustness ``sentiment_real`` profile.

Obtains the human-rated sentences of Hutto & Gilbert (ICWSM 2014) from the
source distribution of vaderSentiment 3.3.2 with the ordinary package client
(``pip download vaderSentiment==3.3.2 --no-deps --no-binary :all:``), checks its
SHA-256, and extracts ``additional_resources/hutto_ICWSM_2014.tar.gz`` into the
git-ignored cache (``.cache/sentiment_real/hutto_ICWSM_2014``), then parses it once
and prints its size. Idempotent: a second call only checks that the extracted
files are there (milliseconds, so a warm ``make reproduce`` stays fast); ``--check``
parses them again.

Usage::

    .venv/bin/python scripts/fetch_sentiment_data.py            # fetch and check the data
    .venv/bin/python scripts/fetch_sentiment_data.py --sdist F  # use a local copy of the sdist
    .venv/bin/python scripts/fetch_sentiment_data.py --annotate # also label all texts once (cached)
    .venv/bin/python scripts/fetch_sentiment_data.py --check    # parse the extracted files again

Exit status 0 on success, 2 with a one-line message when the data cannot be obtained.
"""
from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--sdist", help="local copy of vaderSentiment-3.3.2.tar.gz (checked against its sha256)")
    ap.add_argument("--annotate", action="store_true",
                    help="also build the cached annotations of the full sentiment_real profile")
    ap.add_argument("--check", action="store_true", help="parse the data again even if it was extracted before")
    args = ap.parse_args(argv)

    from studykit.contract.errors import StudykitError
    from studykit.studies.annotation_robustness import hutto_data

    try:
        t0 = time.perf_counter()
        there = hutto_data.is_available()
        folder = hutto_data.ensure_data(sdist=args.sdist)
        if there and not args.check:
            print(f"sentiment_real data: in {folder} (fetched and checked earlier; --check parses it again)")
        else:
            data = hutto_data.parse_folder(folder)
            by_source = data.items.groupby("source").size().to_dict()
            print(f"sentiment_real data: {len(data.items):,} texts {by_source}, {len(data.ratings):,} ratings "
                  f"in {folder} ({time.perf_counter() - t0:.1f} s)")
        if args.annotate:
            from studykit.studies.annotation_robustness import Params

            t1 = time.perf_counter()
            p = Params(dataset="sentiment_real").prepare()
            print(f"annotations: {p.annotations_path} ({time.perf_counter() - t1:.1f} s)")
    except StudykitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
