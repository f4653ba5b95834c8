"""Read-only git plumbing for the miner: repository checks, diff parsing, path unquoting.

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
from typing import Iterator

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


class DiffParser:
    """Incremental parser of ``--unified=0`` patch text, one file at a time.

    ``feed(line)`` consumes one output line (bytes with its newline) and
    returns True when the line belonged to the diff; ``finish()`` returns the
    list of :class:`FileDiff` collected since the last ``finish()``.
    ``keep_text=False`` skips the added lines' text (merge resolution needs
    only positions).
    """

    __slots__ = ("files", "cur", "rem_old", "rem_new", "keep_text", "_hdr_a", "_hdr_b")

    def __init__(self, keep_text: bool = True):
        self.files: list[FileDiff] = []
        self.cur: FileDiff | None = None
        self.rem_old = 0
        self.rem_new = 0
        self.keep_text = keep_text

    def feed(self, line: bytes) -> None:
        cur = self.cur
        if self.rem_old or self.rem_new:
            c = line[:1]
            if c == b"+":
                self.rem_new -= 1
                if self.keep_text:
                    cur.added.append(line[1:])
                return
            if c == b"-":
                self.rem_old -= 1
                cur.n_deleted += 1
                return
            if c == b"\\":
                return
            self.rem_old = self.rem_new = 0  # malformed; fall through
        if line.startswith(b"@@ "):
            m = HUNK_RE.match(line)
            if m is None or cur is None:
                return
            a, b, c, d = m.groups()
            b = 1 if b is None else int(b)
            d = 1 if d is None else int(d)
            cur.hunks.append((int(a), b, int(c), d))
            self.rem_old, self.rem_new = b, d
            return
        if line.startswith(b"\\"):
            return
        if line.startswith(b"diff --git "):
            rest = line[11:].rstrip(b"\n")
            a, b = _split_diff_git(rest)
            self.cur = FileDiff(decode_path(a), decode_path(b))
            self.files.append(self.cur)
            return
        if cur is None:
            return
        if line.startswith(b"--- "):
            p = line[4:].rstrip(b"\n")
            if p.endswith(b"\t"):  # git appends a TAB when the path has a space
                p = p[:-1]
            cur.old_path = None if p == b"/dev/null" else decode_path(unquote_path(p)[2:])
        elif line.startswith(b"+++ "):
            p = line[4:].rstrip(b"\n")
            if p.endswith(b"\t"):  # git appends a TAB when the path has a space
                p = p[:-1]
            cur.new_path = None if p == b"/dev/null" else decode_path(unquote_path(p)[2:])
        elif line.startswith(b"new file mode"):
            cur.old_path = None
            if b"160000" in line or b"120000" in line:
                cur.special = True
        elif line.startswith(b"deleted file mode"):
            cur.new_path = None
            if b"160000" in line or b"120000" in line:
                cur.special = True
        elif line.startswith(b"rename from "):
            cur.old_path = decode_path(unquote_path(line[12:].rstrip(b"\n")))
        elif line.startswith(b"rename to "):
            cur.new_path = decode_path(unquote_path(line[10:].rstrip(b"\n")))
        elif line.startswith(b"Binary files ") or line.startswith(b"GIT binary patch"):
            cur.binary = True
        elif line.startswith(b"index ") or line.startswith(b"old mode") or line.startswith(b"new mode"):
            if b"160000" in line or b"120000" in line:
                cur.special = True

    def finish(self) -> list[FileDiff]:
        out = self.files
        self.files = []
        self.cur = None
        self.rem_old = self.rem_new = 0
        return out


def parse_records(lines: Iterator[bytes], *, keep_text: bool = True, hexlen: int = 0
                  ) -> Iterator[tuple[bytes, list[FileDiff]]]:
    """Split a patch stream into (record header, file diffs) pairs.

    Two header styles: the miner's ``git log`` format (a header starts with
    ``\\0C\\0`` and ends at ``\\0E\\0``, possibly over several lines) and, with
    ``hexlen > 0``, ``git diff-tree --stdin --always`` (a line of ``hexlen``
    hex digits). Hunk bodies are consumed by counting the lines each hunk
    header announces, so content lines are never mistaken for headers.
    This is the hot loop of the miner: state lives in local variables and
    only the lines outside hunk bodies go through :class:`DiffParser`.
    """
    parser = DiffParser(keep_text=keep_text)
    feed = parser.feed
    header: bytes | None = None
    acc: bytes | None = None
    ro = rn = 0
    add = None
    hunk_match = HUNK_RE.match
    for line in lines:
        if ro or rn:
            c = line[0]
            if c == 43:  # '+'
                rn -= 1
                if add is not None:
                    add(line[1:])
                continue
            if c == 45:  # '-'
                ro -= 1
                parser.cur.n_deleted += 1
                continue
            if c == 92:  # '\\ No newline at end of file'
                continue
            ro = rn = 0
        if acc is not None:
            acc += line
            if b"\x00E\x00" in line:
                header, acc = acc, None
            continue
        c = line[:1]
        if c == b"@":
            m = hunk_match(line)
            if m is not None and parser.cur is not None:
                a, b, cc, d = m.groups()
                ro = 1 if b is None else int(b)
                rn = 1 if d is None else int(d)
                parser.cur.hunks.append((int(a), ro, int(cc), rn))
                add = parser.cur.added.append if keep_text else None
            continue
        if c == b"\x00" and line.startswith(b"\x00C\x00"):
            if header is not None:
                yield header, parser.finish()
            if b"\x00E\x00" in line:
                header = line
            else:
                acc = line
            continue
        if hexlen and len(line) == hexlen + 1 and _is_hex(line[:-1]):
            if header is not None:
                yield header, parser.finish()
            header = line
            continue
        feed(line)
    if header is not None:
        yield header, parser.finish()


def _is_hex(b: bytes) -> bool:
    try:
        int(b, 16)
    except ValueError:
        return False
    return True


def iter_lines(cmd: list[str], stdin: bytes | None = None) -> Iterator[bytes]:
    """Stream stdout lines of a git command (bytes); InputError with git's last stderr line on failure."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            env=git_env(), bufsize=1 << 20)
    import threading

    err_chunks: list[bytes] = []
    t_err = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    t_err.start()
    if stdin is not None:
        def _write() -> None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:  # pragma: no cover
                pass
        threading.Thread(target=_write, daemon=True).start()
    try:
        yield from proc.stdout
    finally:
        proc.stdout.close()
        rc = proc.wait()
        t_err.join()
    if rc != 0:
        err = b"".join(err_chunks).decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {cmd[len(GIT_CONFIG) + 3]} failed: {err[-1] if err else 'exit ' + str(rc)}")
