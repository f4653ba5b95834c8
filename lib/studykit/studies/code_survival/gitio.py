"""Read-only git plumbing for the miner: repository checks, the diff record type, path unquoting.

The diff streams themselves are parsed by :mod:`._logparse`.

Every command goes through :mod:`studykit.files.gitsafe` (hardened against a repository's configuration: no hook,
fsmonitor, pager, external diff, textconv, filter or transport command runs; the repository is read through
a :class:`~studykit.files.gitsafe.RepoView` of its objects, never its working tree or index) and, on top, pins the
settings that would change the output format (:data:`GIT_CONFIG`): ``core.quotepath=off``,
``diff.algorithm=myers``, ``diff.indentHeuristic=true``, ``diff.interHunkContext=0`` (a repository setting
would otherwise put context lines into ``--unified=0`` hunks), ``diff.renameLimit=4000``,
``diff.submodule=short``, ``log.showRoot=true`` (otherwise the root commit's lines would be missing),
``core.bigFileThreshold=512m``; and the diff options :data:`DIFF_OPTS` (``--no-color --src-prefix=a/
--dst-prefix=b/ --no-relative --unified=0 -M``). Only commands that never write are used (``rev-parse``,
``rev-list``, ``log``, ``diff-tree``, ``ls-tree``, ``cat-file``, ``config`` to read, ``blame``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from studykit.contract.errors import InputError
from studykit.files.gitsafe import Discovered, RepoView, discover, git_argv, hardened_env, run

GIT_CONFIG = ("core.quotepath=off", "diff.algorithm=myers", "diff.indentHeuristic=true", "diff.interHunkContext=0",
              "diff.renameLimit=4000", "diff.submodule=short", "log.showRoot=true", "core.bigFileThreshold=512m",
              "diff.noprefix=false", "diff.mnemonicPrefix=false", "diff.relative=false", "diff.suppressBlankEmpty=false")
DIFF_OPTS = ("--no-color", "--src-prefix=a/", "--dst-prefix=b/", "--no-relative", "--unified=0", "-M")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def git_cmd(view: RepoView, *args: str) -> list[str]:
    """The hardened argv of a read-only command on ``view``'s repository, with the format pins."""
    return view.argv(*args, config=GIT_CONFIG)


def run_git(view: RepoView, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    """Run a read-only git command on ``view`` and return stdout; a one-line InputError on failure."""
    return view.run(*args, input=input, check=check, config=GIT_CONFIG)


@dataclass(frozen=True)
class RepoInfo:
    path: Path
    name: str
    head: str
    shallow: bool
    shallow_roots: frozenset[str]
    found: Discovered

    def view(self) -> RepoView:
        """A read-only view of the repository's objects (use as a context manager)."""
        return RepoView(self.found)


def check_repository(path: str | os.PathLike, name: str | None = None) -> RepoInfo:
    """Validate that ``path`` is a git repository with at least one commit.

    Raises InputError (one line) for a missing path, a folder that is not a
    git repository (or only a subfolder of one), and an empty repository.
    Shallow clones are reported in :attr:`RepoInfo.shallow`; the caller
    decides (the miner refuses them unless ``allow_shallow``).
    """
    found = discover(path)
    p = found.path
    env = hardened_env({"GIT_DIR": str(found.git_dir)})
    head = run(git_argv("rev-parse", "--verify", "--quiet", "HEAD^{commit}"), env=env, cwd=found.git_dir,
               check=False)
    if head.returncode != 0 or not head.stdout.strip():
        raise InputError(f"repository has no commits (empty repository): {p}")
    shallow = run(git_argv("rev-parse", "--is-shallow-repository"), env=env, cwd=found.git_dir,
                  what=str(p)).stdout.strip() == b"true"
    roots: frozenset[str] = frozenset()
    if shallow:
        sf = found.git_dir / "shallow"
        roots = frozenset(sf.read_text().split()) if sf.is_file() else frozenset()
    return RepoInfo(p, name or p.resolve().name, head.stdout.decode().strip(), shallow, roots, found)


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of a path (``"a\\tb"``, octal ``\\303\\251``)."""
    if not raw.startswith(b'"'):
        return raw
    s = raw[1:-1] if raw.endswith(b'"') else raw[1:]
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 92 and i + 1 < len(s):  # backslash
            nxt = chr(s[i + 1])
            if nxt in "01234567" and i + 3 < len(s) + 0 and all(chr(x) in "01234567" for x in s[i + 1:i + 4]):
                out.append(int(s[i + 1:i + 4], 8))
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        out.append(c)
        i += 1
    return bytes(out)


def decode_path(raw: bytes) -> str:
    """Bytes path -> str; undecodable bytes kept by surrogateescape (round-trips, stays unique)."""
    return raw.decode("utf-8", "surrogateescape")


def display_path(path: str) -> str:
    """A path for tables: undecodable bytes shown as U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _split_diff_git(rest: bytes) -> tuple[bytes, bytes]:
    """Paths of ``diff --git a/X b/Y`` (used only when no ---/+++ or rename lines follow)."""
    if rest.startswith(b'"'):
        end = 1
        while True:
            end = rest.index(b'"', end)
            if rest[end - 1:end] != b"\\" or rest[end - 2:end] == b"\\\\":
                break
            end += 1
        a = unquote_path(rest[:end + 1])
        b = unquote_path(rest[end + 2:])
        return a[2:], b[2:]
    if rest.endswith(b'"'):
        start = rest.rindex(b' "')
        return rest[2:start], unquote_path(rest[start + 1:])[2:]
    # unquoted, not renamed: "a/P b/P"
    n = (len(rest) - 5) // 2
    return rest[2:2 + n], rest[-n:] if n > 0 else b""


@dataclass
class FileDiff:
    """One file's part of a diff. Paths are None for /dev/null (added / deleted files)."""

    old_path: str | None
    new_path: str | None
    hunks: list[tuple[int, int, int, int]] = field(default_factory=list)
    added: list[bytes] = field(default_factory=list)
    binary: bool = False
    special: bool = False  # submodule (gitlink) or symlink
    n_deleted: int = 0


def _is_hex(b: bytes) -> bool:
    try:
        int(b, 16)
    except ValueError:
        return False
    return True
