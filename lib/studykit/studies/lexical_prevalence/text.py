"""Tokenising, lemmatising and the content-word filter, with memoised look-ups.

Tokenizer
---------
A token is a maximal run of Unicode letters with their combining marks,
optionally joined by single hyphens: ``\\p{L}[\\p{L}\\p{M}]*(?:-\\p{L}[\\p{L}\\p{M}]*)*``
(the ``regex`` module, a dependency of wordfreq). Digits, underscores,
punctuation and symbols never form tokens; apostrophes split (``l'homme`` ->
``l``, ``homme``; ``don't`` -> ``don``, ``t``). Text is lowercased with
``str.lower`` before matching. Combining marks matter for Indic scripts
(Hindi vowel signs), where Python's ``re`` ``\\w`` would split words.

Lemmatiser
----------
simplemma (Barbaresi 2023; dictionary look-up plus affix rules, 50+
languages, offline). Each (language, surface form) pair is lemmatised once
per process and memoised in a dict (:class:`LemmaMemo`), so the per-token cost
is one dict look-up. The raw look-ups are also kept on disk, in
``.cache/lexical_prevalence/lemmas/simplemma-<version>/<lang>.json``
(:func:`save_lemma_cache`), so a new process does not pay simplemma's
dictionary load (about a second per language) for forms seen before; the
cache holds only simplemma's own answers, so it never changes a result.
Lemmas are lowercased. Languages simplemma does not know
fall back to the lowercased surface form (reported by the caller).

Content-word filter
-------------------
``stopwords`` (default): a token is dropped when its surface form or its lemma
is in the language's stop-word list. The lists are a frozen snapshot of
spaCy 3.8's ``spacy/lang/<lang>/stop_words.py`` (MIT licence), stored in
``stopwords.json`` beside this module so results never change with the
installed spaCy; Serbo-Croatian (``sh``) is the union of spaCy's ``hr`` and
``sr`` lists. Languages without a list fall back to the 100 most frequent
forms of wordfreq's list when wordfreq has the language, else no filter
(reported). Single-letter tokens are also dropped (elision residue such as
``l``, ``d``, ``t``). ``upos``: with pre-tokenised input carrying an ``upos``
column, keep tokens tagged NOUN, VERB, ADJ, ADV (Universal Dependencies
content classes; PROPN excluded). ``none``: keep every token.
"""
from __future__ import annotations

import json
from functools import lru_cache
from itertools import chain
from pathlib import Path

import regex

TOKEN_PATTERN = r"\p{L}[\p{L}\p{M}]*(?:-\p{L}[\p{L}\p{M}]*)*"
TOKEN_RE = regex.compile(TOKEN_PATTERN)
CONTENT_UPOS = frozenset({"NOUN", "VERB", "ADJ", "ADV"})

#: data-language code -> simplemma language code (where they differ)
LEMMATIZER_CODES = {"sh": "hbs", "fil": "tl", "no": "nb"}


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of ``text`` (see the module docstring for the rule)."""
    return TOKEN_RE.findall(text.lower())


@lru_cache(maxsize=1)
def _stopword_file() -> dict[str, list[str]]:
    path = Path(__file__).with_name("stopwords.json")
    return json.loads(path.read_text(encoding="utf-8"))["languages"]


@lru_cache(maxsize=None)
def stopwords(language: str) -> tuple[frozenset[str], str]:
    """(stop-word set, source description) for ``language``."""
    lists = _stopword_file()
    if language in lists:
        return frozenset(lists[language]), "spaCy 3.8 snapshot"
    try:
        import wordfreq

        if language in wordfreq.available_languages():
            return frozenset(wordfreq.top_n_list(language, 100)), "wordfreq top-100 forms"
    except Exception:  # pragma: no cover - wordfreq missing
        pass
    return frozenset(), "none"


@lru_cache(maxsize=None)
def lemmatizer_language(language: str) -> str | None:
    """simplemma's code for ``language``, or None when simplemma does not know it."""
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    code = LEMMATIZER_CODES.get(language, language)
    return code if code in SUPPORTED_LANGUAGES else None


def _lemma_cache_file(code: str) -> Path:
    import simplemma

    from studykit.files.paths import cache_dir

    return cache_dir() / "lexical_prevalence" / "lemmas" / f"simplemma-{simplemma.__version__}" / f"{code}.json"


@lru_cache(maxsize=None)
def _load_lemma_cache(code: str) -> dict[str, str]:
    f = _lemma_cache_file(code)
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_lemma_cache(updates: dict[str, dict[str, str]]) -> None:
    """Merge new raw look-ups (simplemma code -> {form: lemma}) into the on-disk cache."""
    from studykit.files.fileio import write_text_atomic

    for code, new in updates.items():
        if not new:
            continue
        f = _lemma_cache_file(code)
        try:
            old = json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}
        except (OSError, ValueError):
            old = {}
        if all(k in old for k in new):
            continue
        old.update(new)
        try:
            write_text_atomic(f, json.dumps(old, ensure_ascii=False, sort_keys=True))
        except OSError:  # read-only cache: the memo still works in memory
            pass


class LemmaMemo(dict):
    """surface form -> content lemma ('' when filtered out), filled on first use.

    ``memo[token]`` lemmatises ``token`` once with simplemma and remembers
    the answer; a filtered token (stop word, single letter) maps to ``''`` so
    that ``filter(None, map(memo.__getitem__, tokens))`` keeps content
    lemmas in order at C speed.
    """

    def __init__(self, language: str, content_filter: str = "stopwords"):
        super().__init__()
        self.language = language
        self.content_filter = content_filter
        self.lemma_code = lemmatizer_language(language)
        self.known = self.lemma_code is not None
        self.stop = stopwords(language)[0] if content_filter == "stopwords" else frozenset()
        self.raw: dict[str, str] = dict(_load_lemma_cache(self.lemma_code)) if self.known else {}
        self.new: dict[str, str] = {}

    def lemma(self, token: str) -> str:
        """The lowercased lemma of ``token`` (the token itself when the language is unknown)."""
        if not self.known:
            return token
        r = self.raw.get(token)
        if r is None:
            import simplemma

            try:
                r = simplemma.lemmatize(token, lang=self.lemma_code).lower()
            except Exception:  # simplemma raises only on bad language codes; keep the form
                r = token
            self.raw[token] = r
            self.new[token] = r
        return r

    def take_new(self) -> dict[str, str]:
        """Look-ups made since the last call (for :func:`save_lemma_cache`)."""
        new, self.new = self.new, {}
        return new

    def __missing__(self, token: str) -> str:
        if self.content_filter == "stopwords" and (len(token) < 2 or token in self.stop):
            self[token] = ""
            return ""
        lem = self.lemma(token)
        if self.content_filter == "stopwords" and lem in self.stop:
            lem = ""
        self[token] = lem
        return lem


class TokenMemo(dict):
    """For pre-lemmatised input: token -> lowercased token, '' when filtered out."""

    def __init__(self, language: str, content_filter: str = "stopwords"):
        super().__init__()
        self.content_filter = content_filter
        self.stop = stopwords(language)[0] if content_filter == "stopwords" else frozenset()

    def __missing__(self, token: str) -> str:
        low = token.lower()
        keep = not (self.content_filter == "stopwords" and (len(low) < 2 or low in self.stop))
        if keep and not TOKEN_RE.fullmatch(low):  # punctuation / numbers in a token column
            keep = False
        self[token] = low if keep else ""
        return self[token]


class PieceMemo(dict):
    """whitespace-separated piece of raw text -> its content lemmas (a tuple), filled on first use;
    ``words[piece]`` is the piece's number of word tokens.

    No token spans whitespace (letters, marks and hyphens are never whitespace), and
    ``str.lower`` maps a text piece by piece (its only context rule, the Greek final sigma,
    looks no further than the next character that is neither case-ignorable nor part of
    the word, and whitespace is neither), so
    ``tokenize(text) == [t for piece in text.split() for t in tokenize(piece)]``. Raw pieces
    repeat (Zipf), so a text costs one dict look-up per piece instead of a regular-expression
    scan of its characters (:func:`text_lemmas`). The memo is cleared beyond ``max_size``
    entries to bound memory; that never changes a result.
    """

    def __init__(self, lemmas: LemmaMemo, max_size: int = 500_000):
        super().__init__()
        self.lemmas = lemmas
        self.words: dict[str, int] = {}
        self.max_size = max_size

    def __missing__(self, piece: str) -> tuple[str, ...]:
        if len(self) >= self.max_size:
            self.clear()
            self.words.clear()
        tokens = TOKEN_RE.findall(piece.lower())
        lem = tuple(filter(None, map(self.lemmas.__getitem__, tokens)))
        self[piece] = lem
        self.words[piece] = len(tokens)
        return lem


def text_lemmas(text: str, pieces: PieceMemo) -> tuple[list[str], int]:
    """(content lemmas of ``text`` in order, number of word tokens): the same as
    :func:`content_lemmas` and ``len(tokenize(text))``, through the piece memo."""
    split = text.split()
    lem = list(chain.from_iterable(map(pieces.__getitem__, split)))
    return lem, sum(map(pieces.words.__getitem__, split))


def content_lemmas(text: str, memo: LemmaMemo) -> list[str]:
    """Content lemmas of ``text`` in order (tokenise, lemmatise, filter)."""
    return list(filter(None, map(memo.__getitem__, TOKEN_RE.findall(text.lower()))))
