"""Read-only git plumbing for the miner: repository checks, the diff record type, path unquoting.

The diff streams themselves are parsed by :mod:`._logparse`.

Every command runs with a fixed, repository-independent configuration so that
user or repository settings cannot change the output format:
``--no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/
--no-relative --no-show-signature`` plus ``-c core.quotepath=off -c
diff.algorithm=myers -c diff.indentHeuristic=true``, and the environment has
``GIT_OPTIONAL_LOCKS=0`` (no opportunistic index refresh), ``LC_ALL=C`` and
no pager. Only commands that never write are used (``rev-parse``,
``rev-list``, ``log``, ``diff-tree``, ``blame``, ``ls-tree``).
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from studykit.errors import InputError

GIT_CONFIG = ("-c", "core.quotepath=off", "-c", "diff.algorithm=myers", "-c", "diff.indentHeuristic=true",
              "-c", "diff.renameLimit=4000", "-c", "log.showSignature=false", "-c", "core.pager=cat")
DIFF_OPTS = ("--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/",
             "--no-relative", "--unified=0", "-M")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    for k in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_NAMESPACE", "GIT_EXTERNAL_DIFF"):
        env.pop(k, None)
    env.update({"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_PAGER": "cat", "PAGER": "cat",
                "GIT_TERMINAL_PROMPT": "0"})
    return env


def git_cmd(repo: Path, *args: str) -> list[str]:
    return ["git", *GIT_CONFIG, "-C", str(repo), *args]


def run_git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    """Run a read-only git command and return stdout; a one-line InputError on failure."""
    try:
        res = subprocess.run(git_cmd(repo, *args), input=input, capture_output=True, env=git_env())
    except FileNotFoundError:  # pragma: no cover - git missing
        raise InputError("git is not installed or not on PATH") from None
    if check and res.returncode != 0:
        err = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{repo}: git {args[0]} failed: {err[-1] if err else 'exit ' + str(res.returncode)}")
    return res.stdout


@dataclass(frozen=True)
class RepoInfo:
    path: Path
    name: str
    head: str
    shallow: bool
    shallow_roots: frozenset[str]


def check_repository(path: str | os.PathLike, name: str | None = None) -> RepoInfo:
    """Validate that ``path`` is a git repository with at least one commit.

    Raises InputError (one line) for a missing path, a folder that is not a
    git repository (or only a subfolder of one), and an empty repository.
    Shallow clones are reported in :attr:`RepoInfo.shallow`; the caller
    decides (the miner refuses them unless ``allow_shallow``).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"repository not found: {p}")
    if not p.is_dir():
        raise InputError(f"not a git repository (not a folder): {p}")
    res = subprocess.run(git_cmd(p, "rev-parse", "--is-bare-repository", "--show-toplevel", "--git-dir"),
                         capture_output=True, env=git_env())
    if res.returncode != 0:
        raise InputError(f"not a git repository: {p}")
    lines = res.stdout.decode("utf-8", "replace").splitlines()
    bare = lines and lines[0] == "true"
    if not bare:
        top = Path(lines[1]).resolve() if len(lines) > 1 else None
        if top is not None and top != p.resolve():
            raise InputError(f"not a git repository: {p} (it is inside the repository {top}; pass that path)")
    head = subprocess.run(git_cmd(p, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"), capture_output=True,
                          env=git_env())
    if head.returncode != 0 or not head.stdout.strip():
        raise InputError(f"repository has no commits (empty repository): {p}")
    shallow = run_git(p, "rev-parse", "--is-shallow-repository").strip() == b"true"
    roots: frozenset[str] = frozenset()
    if shallow:
        gd = Path(run_git(p, "rev-parse", "--absolute-git-dir").decode().strip())
        sf = gd / "shallow"
        roots = frozenset(sf.read_text().split()) if sf.is_file() else frozenset()
    return RepoInfo(p, name or p.resolve().name, head.stdout.decode().strip(), shallow, roots)


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
