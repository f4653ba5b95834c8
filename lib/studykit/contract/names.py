"""Safe names: names taken from data (models, agents, languages, hypothesis ids) that
become result keys, table names or file names.

Rule (documented in CONTRIBUTING.md and recorded per run in ``manifest.json``
under ``"names"``): a name made only of ASCII letters, digits and ``_ . -``,
starting with a letter, digit or ``_`` and at most :data:`MAX_LEN` characters,
is kept as it is. Any other name becomes its ASCII letters, digits and
``_ . -`` (every other run of characters replaced by one ``_``), cut to
:data:`MAX_LEN` - 9 characters, followed by ``-`` and the first 8 hex digits
of the SHA-256 of the original name, so that two different names never share a
slug and the same name always gets the same one.
"""
from __future__ import annotations

import hashlib
import re

__all__ = ["slug", "is_safe", "MAX_LEN"]

MAX_LEN = 64
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def is_safe(name: str) -> bool:
    """True when ``name`` is kept unchanged by :func:`slug`."""
    return bool(_SAFE.match(name)) and len(name) <= MAX_LEN and ".." not in name


def slug(name: object) -> str:
    """A key-, table- and file-safe version of ``name`` (see the module docstring).

    >>> slug("gpt-4o")
    'gpt-4o'
    >>> slug("claude@bot")
    'claude_bot-9b67b3f8'
    """
    text = str(name)
    if is_safe(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).replace("..", "_").strip("._-")
    base = base[: MAX_LEN - 9].rstrip("._-") or "x"
    return f"{base}-{digest}"


def cut(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters (a name quoted in a message, e.g. a parameter or a file's column)."""
    return text if len(text) <= width else text[: width - 1] + "…"
