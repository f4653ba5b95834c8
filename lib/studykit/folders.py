"""Folders that studykit writes whole: marked, built beside the target, swapped in, locked.

A run folder, a report site and a generated cache entry are each built in a
temporary folder beside their target and then swapped into place with
:func:`replace_dir`, so a reader sees either the old complete folder or the new
complete one, never none and never half of one.

Ownership rule: studykit replaces or deletes only folders it wrote itself. Each
such folder holds a *marker file* written when its temporary folder is created
(:data:`RUN_MARKER` for run folders and their ``.failed`` siblings,
:data:`SITE_MARKER` for the report site). :func:`check_replaceable` refuses any
other non-empty folder (and any file or symbolic link) with a one-line
:class:`~studykit.errors.ParamError`, before anything is touched.

Temporary siblings are named ``.<name>.tmp-XXXX`` and ``.<name>.old-...``;
those left by a killed process are removed (or, for a folder renamed away whose
replacement never arrived, renamed back) by :func:`remove_stale_siblings`,
which a caller runs while holding :func:`folder_lock`. The lock file is removed
when the lock is released, so lock files do not pile up.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from studykit import paths
from studykit.errors import ParamError

RUN_MARKER = ".studykit-run.json"
SITE_MARKER = ".studykit-site"
CACHE_MARKER = ".studykit-cache"
MARKERS = (RUN_MARKER, SITE_MARKER, CACHE_MARKER)

_TMP_TAG = "tmp"
_OLD_TAG = "old"


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def has_marker(folder: str | os.PathLike, marker: str) -> bool:
    """True when ``folder`` is a real folder (not a link) holding the marker file ``marker``."""
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and (folder / marker).is_file()


def read_marker(folder: str | os.PathLike, marker: str = RUN_MARKER) -> dict[str, Any]:
    """The JSON content of a marker file ({} when absent, empty or not JSON)."""
    try:
        data = json.loads((Path(folder) / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_marker(folder: str | os.PathLike, marker: str, info: Mapping[str, Any] | None = None) -> Path:
    """Write ``marker`` into ``folder`` (JSON of ``info``; an empty object without it)."""
    path = Path(folder) / marker
    path.write_text(json.dumps(dict(info or {}), sort_keys=True) + "\n", encoding="utf-8")
    return path


def check_replaceable(
    folder: str | os.PathLike,
    marker: str,
    what: str = "folder",
    *,
    written_before_markers: Callable[[Path], bool] | None = None,
) -> None:
    """Raise :class:`ParamError` unless studykit may replace ``folder``.

    Replaceable: absent, an empty folder, or a folder holding ``marker``
    (``written_before_markers(folder)`` may also accept a folder that an older
    studykit wrote without a marker, by its exact content). Refused, with
    nothing touched: a file, a symbolic link, any other non-empty folder.
    """
    folder = Path(folder)
    if folder.is_symlink():
        raise ParamError(f"refusing to replace {folder}: it is a symbolic link, not a folder studykit wrote")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ParamError(f"refusing to replace {folder}: it is a file, not a folder studykit wrote")
    if has_marker(folder, marker) or not any(folder.iterdir()):
        return
    if written_before_markers is not None and written_before_markers(folder):
        return
    raise ParamError(
        f"refusing to replace {folder} ({what}): it is not empty and studykit did not write it "
        f"(no {marker}); choose another folder or empty it yourself"
    )


def temp_dir_beside(target: str | os.PathLike, marker: str | None = None,
                    info: Mapping[str, Any] | None = None) -> Path:
    """A new empty folder ``.<name>.tmp-XXXX`` beside ``target``, holding ``marker`` when given.

    Same filesystem as ``target``, so it can be renamed onto it; the usual
    folder permissions (``mkdtemp`` alone makes it owner-only).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_TMP_TAG}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    if marker is not None:
        write_marker(tmp, marker, info)
    return tmp


def replace_dir(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put folder ``new`` at ``target``; the previous ``target`` (if any) is deleted afterwards.

    The old folder is first renamed away to ``.<name>.old-<pid>-<ns>``, then
    ``new`` renamed in; if that second rename fails the old folder is renamed
    back, so ``target`` is never left missing by an error. Check ownership with
    :func:`check_replaceable` before calling this.
    """
    new, target = Path(new), Path(target)
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.{_OLD_TAG}-{os.getpid()}-{time.monotonic_ns()}"
        os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _siblings(target: Path, tag: str) -> list[Path]:
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.glob(f".{target.name}.{tag}-*")
                  if p.is_dir() and not p.is_symlink())


def remove_stale_siblings(target: str | os.PathLike, marker: str) -> list[Path]:
    """Clean up after a killed process that was replacing ``target``; return what was removed.

    Marked ``.<name>.tmp-*`` folders are deleted. A marked ``.<name>.old-*``
    folder is renamed back to ``target`` when ``target`` is missing (the process
    died between the two renames of :func:`replace_dir`), else deleted. Folders
    without ``marker`` are left alone. Call it only while holding
    :func:`folder_lock` for ``target``, so no live process owns these folders.
    """
    target = Path(target)
    removed = []
    olds = [p for p in _siblings(target, _OLD_TAG) if has_marker(p, marker)]
    if olds and not target.exists() and not target.is_symlink():
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        os.replace(newest, target)
        olds.remove(newest)
    for p in [*olds, *(p for p in _siblings(target, _TMP_TAG) if has_marker(p, marker))]:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def simulator_wrote(folder: Path) -> bool:
    """A folder of simulated data as a study's ``write_embedded`` leaves it: every file in it is
    ``SHA256SUMS`` or listed there (the embedded ``data/<study>/`` folders are such folders)."""
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return False
    listed = {parts[1].strip().lstrip("*") for parts in
              (line.split(maxsplit=1) for line in sums.read_text(encoding="utf-8", errors="replace").splitlines())
              if len(parts) == 2}
    return all(p.name == "SHA256SUMS" or (p.is_file() and p.name in listed) for p in folder.iterdir())


def check_data_folder(folder: str | os.PathLike) -> None:
    """Raise :class:`ParamError` unless a simulator may write into ``folder``: absent, empty, or a folder
    of simulated data (:func:`simulator_wrote`). Anything else is refused with nothing touched, so that
    ``studykit simulate --out`` never overwrites a user's ``personas.csv``."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ParamError(f"refusing to write simulated data into {folder}: it is not a folder")
    if not folder.exists() or not any(folder.iterdir()) or simulator_wrote(folder):
        return
    others = sorted(p.name for p in folder.iterdir() if p.name != "SHA256SUMS")[:3]
    raise ParamError(f"refusing to write simulated data into {folder}: it holds files a simulator did not write "
                     f"(e.g. {', '.join(others)}); choose a new or empty folder")


def _generated_by_studykit(folder: Path) -> bool:
    """A generated folder without a marker: one holding a ``.complete`` stamp, or one inside the cache.

    Every generator writes ``.complete`` last; the cache folder (``.cache/`` or
    ``STUDYKIT_CACHE``) holds only what studykit generated, and a generator may
    fill its temporary folder with a tool (``git clone``) that replaces the marker.
    """
    if (folder / ".complete").is_file():
        return True
    try:
        folder.resolve().relative_to(paths.cache_dir().resolve())
    except ValueError:
        return False
    return folder.resolve() != paths.cache_dir().resolve()


@contextmanager
def building_dir(target: str | os.PathLike, marker: str = CACHE_MARKER) -> Iterator[Path]:
    """Yield a new marked folder beside ``target``; on success it replaces ``target`` (:func:`replace_dir`).

    For generated folders (cached simulations, extracted downloads). An
    exception or an interrupt removes the half-built folder and leaves
    ``target`` as it was; a ``target`` that studykit did not write (no marker,
    no ``.complete`` stamp, outside the cache folder) is refused.
    """
    target = Path(target)
    check_replaceable(target, marker, "generated folder", written_before_markers=_generated_by_studykit)
    tmp = temp_dir_beside(target, marker)
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file of ``target``: ``.<name>.studykit-lock`` beside it (present only while locked)."""
    target = Path(target)
    return target.parent / f".{target.name}.studykit-lock"


@contextmanager
def folder_lock(target: str | os.PathLike, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock for ``target`` across processes; ``on_wait()`` is called once if it must wait.

    The lock file is deleted on release (while still locked); a waiter that then
    gets the lock on the deleted file notices that the path no longer names the
    file it locked and tries again, so two processes never both hold the lock.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
        yield
        return
    path = lock_path(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask applies
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                    on_wait = None
                fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            try:
                now = os.stat(path)
                same = (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev)
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            if os.fstat(fd).st_size == 0:  # a lock file holds nothing; a non-empty one is not ours
                os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(fd)


__all__ = [
    "RUN_MARKER", "SITE_MARKER", "CACHE_MARKER", "MARKERS", "has_marker", "read_marker", "write_marker",
    "check_replaceable", "temp_dir_beside", "replace_dir", "remove_stale_siblings", "building_dir",
    "lock_path", "folder_lock",
]
