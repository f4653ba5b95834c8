"""Atomic writes and content hashes.

Every output is written to a temporary file in the target folder and moved
into place with :func:`os.replace`, so a reader never sees half a file and a
crash never leaves one behind. Whole folders (run folders, the report site,
generated caches) are built and swapped in by :mod:`studykit.files.folders`, whose
:func:`~studykit.files.folders.building_dir` is also importable from here.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from studykit.files.folders import building_dir, current_umask

__all__ = ["atomic_path", "owned_file_path", "write_text_atomic", "write_bytes_atomic", "write_json_atomic", "dumps_json",
           "sha256_file", "sha256_tree", "building_dir"]


def _file_mode() -> int:
    """The mode a plain ``open(..., "w")`` would give: 0o666 less the process umask."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    The file gets the usual permissions (``mkstemp`` alone would make it owner-only).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, _file_mode())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _refuse_file(target: Path, what: str, why: str) -> None:
    from studykit.contract.errors import ParamError

    raise ParamError(f"{what} {target}: {why} (nothing was written)")


def check_owned_file(target: str | os.PathLike, owned: Callable[[Path], bool], what: str) -> bool:
    """The one-file form of studykit's folder rule: refuse (ParamError, one line) a ``target`` that is a
    symbolic link, a folder, or an existing file ``owned`` does not recognise as one studykit wrote; return
    whether it exists (then it may be replaced)."""
    target = Path(target)
    if target.is_symlink():
        _refuse_file(target, what, "it is a symbolic link; name a new file")
    if target.is_dir():
        _refuse_file(target, what, "it is a folder, not a file")
    if not target.exists():
        return False
    if not owned(target):
        _refuse_file(target, what, "it exists and studykit did not write it; choose a new name or move it")
    return True


@contextmanager
def owned_file_path(target: str | os.PathLike, owned: Callable[[Path], bool], what: str) -> Iterator[Path]:
    """Like :func:`atomic_path`, but never overwrites a file studykit did not write, checked again at the moment
    of writing: a ``target`` that did not exist is created with :func:`os.link` (which fails if a file
    appeared meanwhile), one that existed is replaced only if ``owned`` still recognises it."""
    target = Path(target)
    existed = check_owned_file(target, owned, what)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    staged = Path(tmp)
    try:
        yield staged
        os.chmod(staged, _file_mode())
        if existed:
            check_owned_file(target, owned, what)
            os.replace(staged, target)
        else:
            try:
                os.link(staged, target)
            except FileExistsError:
                _refuse_file(target, what, "a file of that name appeared while studykit worked; it was kept")
    finally:
        staged.unlink(missing_ok=True)


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def dumps_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed indentation, trailing newline, no NaN."""
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_json_atomic(target: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(target, dumps_json(obj))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def sha256_files(files: list[Path]) -> str | None:
    """One SHA-256 over the names and contents of ``files`` (None when there are none)."""
    files = [Path(f) for f in files if Path(f).is_file()]
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode() + b"\n")
    return h.hexdigest()


def sha256_tree(root: str | os.PathLike, exclude: tuple[str, ...] = (".git", "__pycache__")) -> str:
    """Hash of every file's relative path and content under ``root`` (sorted)."""
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in exclude for part in rel.parts) or not p.is_file():
            continue
        h.update(str(rel.as_posix()).encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()
