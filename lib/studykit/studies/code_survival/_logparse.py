"""Parser of the miner's ``git log -p --unified=0`` and ``git diff-tree --stdin`` streams.

A stream is a sequence of records: a header (the miner's ``git log`` format,
which starts with ``\\0C\\0`` and ends at ``\\0E\\0``, possibly over several
lines; or, for ``diff-tree --stdin --always``, one line of ``hexlen`` hex
digits) followed by the diffs of that commit's files. Each record becomes
``(header bytes, [FileDiff, ...])``.

Rules:

- a hunk body is consumed by counting the lines its ``@@ -a,b +c,d @@``
  header announces (``b`` old lines, ``d`` new lines), so content lines that
  look like headers are never taken for headers; a line that is neither
  ``+``, ``-`` nor ``\\`` inside a body ends the body (malformed input) and
  is parsed as a header line;
- ``diff --git``, ``---``/``+++``, ``rename from/to``, ``new``/``deleted
  file mode`` give the paths (``None`` for /dev/null); ``Binary files`` and
  ``GIT binary patch`` mark binary files; mode 160000 (submodule) or 120000
  (symlink) marks special files;
- an unterminated header at the end of the stream is dropped.

Reading: git's stdout is read in chunks of up to 1 MiB (the pipe is enlarged
to match) and each chunk is split into lines with one ``bytes.split``; the
parser state (the record, the current file, the lines still due in a hunk
body) carries over between chunks. ``FileDiff.added`` holds each added line
*with* its leading ``+`` and *without* its newline, so that the miner decodes
all texts in one call at the end (``mining._decode_texts``).
"""
from __future__ import annotations

import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
from typing import Iterator

from studykit.contract.errors import InputError
from studykit.files.gitsafe import RepoView
from studykit.studies.code_survival.gitio import (
    GIT_CONFIG, HUNK_RE, FileDiff, _is_hex, _split_diff_git, decode_path, unquote_path,
)

_CHUNK = 1 << 20
_SPECIAL = (b"160000", b"120000")


def _strip_tab(p: bytes) -> bytes:
    return p[:-1] if p.endswith(b"\t") else p  # git appends a TAB when the path has a space


class _Parser:
    """Resumable state: the record being built, its files, the current file."""

    __slots__ = ("keep_text", "hexlen", "header", "acc", "files", "cur", "out", "ro", "rn")

    def __init__(self, keep_text: bool, hexlen: int):
        self.keep_text = keep_text
        self.hexlen = hexlen
        self.header: bytes | None = None
        self.acc: list[bytes] | None = None
        self.files: list[FileDiff] = []
        self.cur: FileDiff | None = None
        self.out: list[tuple[bytes, list[FileDiff]]] = []
        self.ro = self.rn = 0  # lines still due in the current hunk body (old side, new side)

    def _new_record(self, header: bytes) -> None:
        if self.header is not None:
            self.out.append((self.header, self.files))
        self.header = header
        self.files = []
        self.cur = None
        self.ro = self.rn = 0

    def _meta(self, line: bytes) -> None:
        """A line outside hunk bodies that is not a record or hunk header: paths, binary and special markers."""
        c = line[:1]
        if c == b"\\":
            return
        if c == b"d" and line.startswith(b"diff --git "):
            a, b = _split_diff_git(line[11:])
            self.cur = FileDiff(decode_path(a), decode_path(b))
            self.files.append(self.cur)
            return
        cur = self.cur
        if cur is None:
            return
        if c == b"-":
            if line.startswith(b"--- "):
                p = _strip_tab(line[4:])
                cur.old_path = None if p == b"/dev/null" else decode_path(unquote_path(p)[2:])
        elif c == b"+":
            if line.startswith(b"+++ "):
                p = _strip_tab(line[4:])
                cur.new_path = None if p == b"/dev/null" else decode_path(unquote_path(p)[2:])
        elif c == b"i":
            if line.startswith(b"index ") and (_SPECIAL[0] in line or _SPECIAL[1] in line):
                cur.special = True
        elif c == b"n":
            if line.startswith(b"new file mode"):
                cur.old_path = None
                if _SPECIAL[0] in line or _SPECIAL[1] in line:
                    cur.special = True
            elif line.startswith(b"new mode") and (_SPECIAL[0] in line or _SPECIAL[1] in line):
                cur.special = True
        elif c == b"d":
            if line.startswith(b"deleted file mode"):
                cur.new_path = None
                if _SPECIAL[0] in line or _SPECIAL[1] in line:
                    cur.special = True
        elif c == b"r":
            if line.startswith(b"rename from "):
                cur.old_path = decode_path(unquote_path(line[12:]))
            elif line.startswith(b"rename to "):
                cur.new_path = decode_path(unquote_path(line[10:]))
        elif c == b"B":
            if line.startswith(b"Binary files "):
                cur.binary = True
        elif c == b"G":
            if line.startswith(b"GIT binary patch"):
                cur.binary = True
        elif c == b"o":
            if line.startswith(b"old mode") and (_SPECIAL[0] in line or _SPECIAL[1] in line):
                cur.special = True

    def feed(self, lines: list[bytes]) -> None:
        """Parse ``lines`` (without newlines); a hunk body may continue in the next call."""
        n = len(lines)
        i = 0
        hunk_match = HUNK_RE.match
        keep_text = self.keep_text
        hexlen = self.hexlen
        meta = self._meta
        ro, rn = self.ro, self.rn
        cur = self.cur
        add = cur.added.append if (cur is not None and keep_text) else None
        while i < n:
            if ro or rn:  # hunk body: count the lines the header announced
                nd = 0
                while i < n:
                    line = lines[i]
                    c = line[:1]
                    if c == b"+":
                        rn -= 1
                        if add is not None:
                            add(line)
                    elif c == b"-":
                        ro -= 1
                        nd += 1
                    elif c != b"\\":
                        ro = rn = 0  # malformed: this line is parsed normally
                        break
                    i += 1
                    if not (ro or rn):
                        break
                cur.n_deleted += nd
                continue
            line = lines[i]
            i += 1
            acc = self.acc
            if acc is not None:
                acc.append(line)
                if b"\x00E\x00" in line:
                    self.acc = None
                    self.header = b"\n".join(acc) + b"\n"
                continue
            c = line[:1]
            if c == b"@":
                m = hunk_match(line)
                cur = self.cur
                if m is not None and cur is not None:
                    a, b, cc, d = m.groups()
                    ro = 1 if b is None else int(b)
                    rn = 1 if d is None else int(d)
                    cur.hunks.append((int(a), ro, int(cc), rn))
                    add = cur.added.append if keep_text else None
                continue
            if c == b"\x00" and line.startswith(b"\x00C\x00"):
                if b"\x00E\x00" in line:
                    self._new_record(line + b"\n")
                else:  # a multi-line header: the previous record ends here, the header is collected first
                    if self.header is not None:
                        self.out.append((self.header, self.files))
                    self.files = []
                    self.cur = None
                    self.acc = [line]
                continue
            if hexlen and len(line) == hexlen and _is_hex(line):
                self._new_record(line + b"\n")
                continue
            meta(line)
        self.ro, self.rn = ro, rn

    def close(self) -> None:
        self.acc = None  # an unterminated header is dropped
        if self.header is not None:
            self.out.append((self.header, self.files))
            self.header = None


class RecordStream:
    """A started git command whose (record header, file diffs) pairs are read by iterating.

    The process starts at construction (so git can work while the caller runs
    other commands); :meth:`close` stops it if the records are not all read.
    """

    def __init__(self, view: RepoView, args: tuple[str, ...], *, keep_text: bool = True, hexlen: int = 0,
                 stdin: bytes | None = None):
        self.subcommand = args[0]
        self.proc = view.popen(*args, stdin=stdin is not None, config=GIT_CONFIG)
        try:  # fewer, larger reads (Linux; the default pipe holds only 64 KiB)
            fcntl.fcntl(self.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, _CHUNK)
        except (AttributeError, OSError):  # pragma: no cover - other systems / limits
            pass
        self._err: list[bytes] = []
        self._t_err = threading.Thread(target=lambda: self._err.append(self.proc.stderr.read()), daemon=True)
        self._t_err.start()
        if stdin is not None:
            def _write() -> None:
                try:
                    self.proc.stdin.write(stdin)
                    self.proc.stdin.close()
                except (BrokenPipeError, ValueError):  # pragma: no cover - git exited early / closed
                    pass
            threading.Thread(target=_write, daemon=True).start()
        self.parser = _Parser(keep_text, hexlen)
        self._done = False

    def close(self) -> None:
        """Stop git (if still running) and release the pipes."""
        if not self._done:
            self._done = True
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.stdout.close()
            self.proc.wait()
            self._t_err.join()

    def __iter__(self) -> Iterator[tuple[bytes, list[FileDiff]]]:
        proc, parser = self.proc, self.parser
        read = proc.stdout.read1
        rest = b""  # bytes after the last newline read so far
        try:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                lines = (rest + chunk if rest else chunk).split(b"\n")
                rest = lines.pop()
                if lines:
                    parser.feed(lines)
                if parser.out:
                    out, parser.out = parser.out, []
                    yield from out
            if rest:  # a last line without newline is a line too
                parser.feed([rest])
            parser.close()
            out, parser.out = parser.out, []
            yield from out
        finally:
            rc = 0
            if not self._done:
                self._done = True
                proc.stdout.close()
                rc = proc.wait()
                self._t_err.join()
        if rc != 0:
            err = b"".join(self._err).decode("utf-8", "replace").strip().splitlines()
            raise InputError(f"git {self.subcommand} failed: {err[-1] if err else 'exit ' + str(rc)}")


def iter_records(view: RepoView, *args: str, keep_text: bool = True, hexlen: int = 0, stdin: bytes | None = None
                 ) -> RecordStream:
    """Start a read-only git command on ``view``; iterate the result for its (record header, file diffs) pairs."""
    return RecordStream(view, args, keep_text=keep_text, hexlen=hexlen, stdin=stdin)


def parse_bytes(data: bytes, *, keep_text: bool = True, hexlen: int = 0) -> list[tuple[bytes, list[FileDiff]]]:
    """All (record header, file diffs) of a complete git output held in memory."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    parser = _Parser(keep_text, hexlen)
    parser.feed(lines)
    parser.close()
    return parser.out
