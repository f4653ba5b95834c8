"""Japanese text to lemmas: Markdown stripping, MeCab tokenisation, UniDic lemmas and UPOS tags.

Japanese is written without spaces, so the regular-expression tokenizer of
:mod:`.text` cannot split it. For ``ja`` the study uses MeCab (Kudo et al.
2004) through ``fugashi`` (McCann 2020) with the ``unidic-lite`` dictionary
(UniDic 2.1.2; both PyPI packages, the dictionary ships inside the wheel, so
nothing is downloaded at run time).

Cleaning (before tokenising)
----------------------------
Technical articles are full of code; counting identifiers as words would
make ``print`` an "AI word". :func:`strip_markdown` removes, in this order:
fenced code blocks (```` ``` ```` or ``~~~``, with their contents), HTML
comments and tags, images ``![alt](url)`` (alt text kept), link targets
``[text](url)`` (text kept), inline code ```x```, bare URLs
(``https?://...``), and heading/list/quote markers at line starts.

Lemma
-----
The UniDic lemma (``feature.lemma``, the dictionary form in its standard
orthography: できる -> 出来る, 様々な -> 様々). For loanwords UniDic appends
the English source after a hyphen (``タスク-task``); the part before the
hyphen is the lemma and the English part is kept as the word's gloss
(:func:`gloss_of`). Tokens the dictionary does not know (``feature.lemma`` is
empty, e.g. ``AI``, ``Docker``) keep their surface form. Latin letters are
lowercased (``Docker`` and ``docker`` are one word).

UPOS
----
UniDic's first POS level mapped to Universal Dependencies tags, following
the UD Japanese conventions (Asahara et al. 2018): 名詞 NOUN (固有名詞 PROPN,
数詞 NUM), 動詞 VERB (the light and auxiliary verbs of :data:`LIGHT_VERBS`, such as
為る, 居る, 出来る, AUX), 形容詞 ADJ, 形状詞 ADJ, 副詞 ADV,
代名詞 PRON, 連体詞 DET, 接続詞 CCONJ, 感動詞 INTJ, 助詞 ADP, 助動詞 AUX,
接頭辞 and 接尾辞 PART (affixes never count as words on their own),
補助記号 PUNCT, 記号 SYM, 空白 X; anything else X. With
``content_filter: upos`` the study counts NOUN, VERB, ADJ and ADV lemmas, so
particles, auxiliaries, affixes, symbols and proper nouns are left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["strip_markdown", "analyse", "Analysed", "gloss_of", "UPOS_OF", "LIGHT_VERBS", "tagger_version"]

UPOS_OF = {
    "名詞": "NOUN", "動詞": "VERB", "形容詞": "ADJ", "形状詞": "ADJ", "副詞": "ADV", "代名詞": "PRON",
    "連体詞": "DET", "接続詞": "CCONJ", "感動詞": "INTJ", "助詞": "ADP", "助動詞": "AUX",
    "接頭辞": "PART", "接尾辞": "PART", "補助記号": "PUNCT", "記号": "SYM", "空白": "X",
}

#: verbs that UniDic marks 非自立可能 and that mostly serve as auxiliaries or light verbs
#: (する, いる, ある, なる, できる, くる, いく, みる, おく, しまう, もらう, くれる, やる, くださる, いただく,
#: あげる); other 非自立可能 verbs such as 果たす stay VERB
LIGHT_VERBS = frozenset({"為る", "居る", "有る", "成る", "出来る", "来る", "行く", "見る", "置く", "仕舞う", "貰う",
                         "呉れる", "遣る", "下さる", "頂く", "上げる"})

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[^\n]*$", re.M | re.S)
_UNCLOSED_FENCE = re.compile(r"^[ \t]*(```|~~~).*\Z", re.M | re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_INLINE_CODE = re.compile(r"`+[^`\n]*`+")
_URL = re.compile(r"https?://[^\s)\]>\"'、。]+")
_LINE_MARKERS = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d+\.[ \t]+|>[ \t]?)", re.M)


def strip_markdown(text: str) -> str:
    """The prose of a Markdown article: code blocks, inline code, URLs and markup removed.

    See the module docstring for the rules, applied in order. An unclosed
    fence removes everything after it (as a Markdown renderer shows it as code).

    >>> strip_markdown("# 見出し\\n本文 `x = 1` です。\\n```py\\nprint(1)\\n```\\n詳細は[こちら](https://a.b)")
    '見出し\\n本文  です。\\n\\n詳細はこちら'
    """
    text = text.replace("\r\n", "\n")
    text = _FENCE.sub("", text)
    text = _UNCLOSED_FENCE.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _INLINE_CODE.sub("", text)
    text = _URL.sub("", text)
    text = _LINE_MARKERS.sub("", text)
    return text


@lru_cache(maxsize=1)
def _tagger():
    import fugashi

    return fugashi.Tagger()


def tagger_version() -> str:
    """``fugashi <version> / unidic-lite <version>``: part of the token cache key."""
    from importlib.metadata import version

    return f"fugashi {version('fugashi')} / unidic-lite {version('unidic-lite')}"


def _split_lemma(lemma: str | None, surface: str) -> tuple[str, str]:
    """(lemma, English gloss or '') from UniDic's lemma field (see the module docstring)."""
    if not lemma or lemma == "*":
        return surface.lower(), ""
    head, sep, tail = lemma.partition("-")
    if sep and head and tail.isascii():
        return head.lower(), tail
    return lemma.lower(), ""


def _upos(pos1: str, pos2: str, lemma: str) -> str:
    if pos1 == "名詞":
        if pos2 == "固有名詞":
            return "PROPN"
        if pos2 == "数詞":
            return "NUM"
    if pos1 == "動詞" and lemma in LIGHT_VERBS:
        return "AUX"
    return UPOS_OF.get(pos1, "X")


@dataclass(frozen=True)
class Analysed:
    """One text's lemmas and UPOS tags (aligned), and the loanword glosses met."""

    lemmas: tuple[str, ...]
    upos: tuple[str, ...]
    glosses: tuple[tuple[str, str], ...]


def analyse(text: str, *, clean: bool = True) -> Analysed:
    """Lemmas and UPOS tags of a Japanese text (Markdown stripped first when ``clean``).

    Whitespace-only tokens are skipped; a lemma never contains a space, so
    the lemmas can be stored space-joined (the study's ``tokens`` column).

    >>> a = analyse("様々なタスクを実行できます。")
    >>> list(zip(a.lemmas, a.upos))[:4]
    [('様々', 'ADJ'), ('だ', 'AUX'), ('タスク', 'NOUN'), ('を', 'ADP')]
    """
    if clean:
        text = strip_markdown(text)
    lemmas: list[str] = []
    tags: list[str] = []
    glosses: dict[str, str] = {}
    for word in _tagger()(text):
        surface = word.surface
        if not surface or surface.isspace():
            continue
        feature = word.feature
        lemma, gloss = _split_lemma(getattr(feature, "lemma", None), surface)
        lemma = "".join(lemma.split())
        if not lemma:
            continue
        lemmas.append(lemma)
        tags.append(_upos(feature.pos1, feature.pos2, lemma))
        if gloss:
            glosses.setdefault(lemma, gloss)
    return Analysed(tuple(lemmas), tuple(tags), tuple(sorted(glosses.items())))


def gloss_of(lemma: str, glosses: dict[str, str]) -> str:
    """The English gloss of ``lemma`` from UniDic's loanword glosses, or ''."""
    return glosses.get(lemma, "")
