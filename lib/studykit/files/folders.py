"""The one rule for every folder studykit writes: listed, checked, built beside the target, swapped, locked.

Every folder studykit writes (a run folder and its ``.failed`` sibling, the
report site, the documentation site, a sweep folder, simulated data, a workshop
workspace, an offline bundle, a generated cache folder) carries one marker file,
:data:`MARKER` (``.studykit.json``): its ``kind`` and the *listing* of every file
and folder studykit wrote there. The rule, applied by :func:`check_folder` for
every writer:

- studykit writes into a folder that is absent, completely empty (not even
  dot-files), or marked with its kind **and holding nothing but what the
  listing names** (plus other studykit folders nested in it, each passing the
  same rule, and studykit's own temporary and lock files);
- anything else (a file, a symbolic link, a path through a file, a user's
  folder, a marked folder holding one unlisted file) is refused with one line,
  :class:`FolderRefused`, naming the folder and an example unlisted file, before
  anything is touched. The marker alone is never enough.

So studykit replaces or deletes only files it listed as its own; a user's
``notes.txt`` inside a run folder is never deleted but stops the run until it is
moved. Writers that build a folder beside its target and swap it in
(:func:`replace_dir`: runs, sites, caches) check again at the moment of the
swap, after renaming the old folder away, so a file saved into the folder while
a run executed stops the swap (the old folder is renamed back). A mount point
cannot be renamed, so those writers refuse one before doing any work.

A writer that only adds missing files (``workshop init``) accepts a marked folder
with other files in it (``adds_only``): it never replaces or deletes a file.

Temporary siblings are named ``.<name>.tmp-XXXX`` and ``.<name>.old-...``; those
left by a killed process are removed (or, for a folder renamed away whose
replacement never arrived, renamed back) by :func:`remove_stale_siblings`, which
a caller runs while holding :func:`folder_lock`. The lock file is removed when
the lock is released. :func:`os_error_text` turns an ``OSError`` (disk full,
read-only file system) into the one-line text every writer reports.

This module uses the standard library only (``scripts/offline_bundle.py`` loads
it on a bare Python).
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from studykit.contract.errors import ParamError
from studykit.files.locks import folder_lock, lock_path  # noqa: F401  (part of this module's interface)

MARKER = ".studykit.json"
#: every kind of folder studykit writes, with the words the refusal uses
KINDS = {
    "run": "run folder", "failed-run": "failed-run folder", "site": "report site",
    "docs": "documentation site", "sweep": "sweep folder", "data": "simulated data folder",
    "workspace": "workshop workspace", "bundle": "offline bundle", "cache": "generated folder",
}

_TMP_TAG = "tmp"
_OLD_TAG = "old"
#: studykit's own transient entries inside an owned folder (runs of a sweep's points, atomic writes)
_TRANSIENT_DIR = re.compile(r"^\..+\.(?:tmp|old)-.+$")
_LOCK_FILE = re.compile(r"^\..+\.studykit-lock$")
#: files a desktop writes into any folder it shows (view settings, thumbnails): never data, deleted with an
#: owned folder; they do not make an unmarked folder studykit's, and a folder holding one is not empty
OS_CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class FolderRefused(ParamError):
    """studykit will not write into a folder (the one wording of :func:`refusal`); exit code 2."""


def refusal(folder: str | os.PathLike, kind: str, reason: str) -> FolderRefused:
    """The one refusal: ``refusing to write into DIR (run folder): REASON; nothing was changed``."""
    return FolderRefused(f"refusing to write into {folder} ({KINDS.get(kind, kind)}): {reason}; nothing was changed")


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------------------------------
# The marker and its listing
# ------------------------------------------------------------------------------------------
def read_marker(folder: str | os.PathLike) -> dict[str, Any]:
    """The marker of ``folder`` ({} when absent, a link, empty or not a JSON object)."""
    path = Path(folder) / MARKER
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def marker_kind(folder: str | os.PathLike) -> str | None:
    """The kind a folder's marker names (None: no marker)."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return None
    kind = read_marker(folder).get("kind")
    return kind if isinstance(kind, str) else None


def _write_marker(folder: Path, data: Mapping[str, Any]) -> Path:
    path = folder / MARKER
    path.write_text(json.dumps(dict(data), sort_keys=True, indent=1) + "\n", encoding="utf-8")
    return path


def mark_building(folder: str | os.PathLike, kind: str, info: Mapping[str, Any] | None = None) -> Path:
    """Mark a folder studykit is filling (a temporary folder): ``kind``, ``info``, no listing yet."""
    return _write_marker(Path(folder), {**dict(info or {}), "kind": kind, "state": "building"})


def inventory(folder: str | os.PathLike) -> tuple[set[str], set[str]]:
    """(files, folders) under ``folder`` as relative POSIX paths; symbolic links count as files, never followed.

    The marker file itself is left out.
    """
    folder = Path(folder)
    files, dirs = set(), set()
    for here, subdirs, names in os.walk(folder, followlinks=False):
        rel = Path(here).relative_to(folder)
        for d in list(subdirs):
            p = Path(here) / d
            if p.is_symlink():
                files.add((rel / d).as_posix())
                subdirs.remove(d)
            else:
                dirs.add((rel / d).as_posix())
        files.update((rel / n).as_posix() for n in names)
    files.discard(MARKER)
    return files, dirs


def seal(folder: str | os.PathLike, kind: str, info: Mapping[str, Any] | None = None,
         files: Iterable[str] | None = None) -> Path:
    """Write ``folder``'s marker: ``kind``, ``info`` and the listing of what studykit wrote there.

    ``files`` (relative paths) is the listing of a writer that writes into a
    folder in place; without it every file and folder now in ``folder`` is
    listed (for a folder studykit built alone, e.g. a temporary one).
    """
    folder = Path(folder)
    if files is None:
        listed, dirs = inventory(folder)
    else:
        listed = {Path(f).as_posix() for f in files} - {MARKER}
        dirs = {p.as_posix() for f in listed for p in Path(f).parents if p.as_posix() != "."}
    return _write_marker(folder, {**dict(info or {}), "kind": kind, "state": "complete",
                                  "files": sorted(listed), "folders": sorted(dirs)})


def _listing(marker: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    files = {f for f in marker.get("files") or [] if isinstance(f, str)}
    dirs = {d for d in marker.get("folders") or [] if isinstance(d, str)}
    dirs |= {p.as_posix() for f in files for p in Path(f).parents if p.as_posix() != "."}
    return files, dirs


def _by_folder(files: set[str]) -> dict[str, set[str]]:
    """The listed file names of each listed folder (``"."`` for the top)."""
    out: dict[str, set[str]] = {}
    for f in files:
        parent, _, name = f.rpartition("/")
        out.setdefault(parent or ".", set()).add(name)
    return out


def _transient(path: Path, listed_here: set[str]) -> bool:
    """studykit's own short-lived entry (a marked ``.<x>.tmp-*``/``.<x>.old-*`` folder, a lock file
    ``.<x>.studykit-lock``, an atomic write's leftover ``.<listed file>.*tmp`` beside a listed file) or a
    desktop's :data:`OS_CLUTTER` file inside an owned folder."""
    name = path.name
    if path.is_symlink():
        return False
    if name in OS_CLUTTER and path.is_file():
        return True
    if path.is_dir():
        return bool(_TRANSIENT_DIR.match(name)) and (path / MARKER).is_file()
    if _LOCK_FILE.match(name):
        return True
    return name.startswith(".") and name.endswith("tmp") and any(name.startswith(f".{n}.") for n in listed_here)


def unlisted(folder: str | os.PathLike, marker: Mapping[str, Any] | None = None) -> str | None:
    """The first entry of a marked ``folder`` (relative path) that its listing does not name, or None.

    A sub-folder with its own marker is accepted when it passes the same rule;
    studykit's transient entries (:func:`_transient`) are accepted; symbolic
    links never are.
    """
    folder = Path(folder)
    files, dirs = _listing(marker if marker is not None else read_marker(folder))
    by_folder = _by_folder(files)
    for here, subdirs, names in os.walk(folder, followlinks=False):
        rel = Path(here).relative_to(folder)
        listed_here = by_folder.get(rel.as_posix(), set())
        for d in sorted(subdirs):
            p, r = Path(here) / d, (rel / d).as_posix()
            if p.is_symlink():
                return r
            if (p / MARKER).is_file() and r not in dirs:  # a nested studykit folder: its own rule
                if _transient(p, listed_here):
                    subdirs.remove(d)
                    continue
                inner = unlisted(p) if read_marker(p).get("state") == "complete" else "."
                if inner is not None:
                    return r if inner == "." else f"{r}/{inner}"
                subdirs.remove(d)
            elif r not in dirs:
                return r + "/"
        for n in sorted(names):
            p, r = Path(here) / n, (rel / n).as_posix()
            if r == MARKER or (r in files and not p.is_symlink()) or _transient(p, listed_here):
                continue
            return r
    return None


def _example(folder: Path) -> str:
    """One entry of a folder to name in a refusal (files before folders, sorted)."""
    entries = sorted(folder.iterdir(), key=lambda p: (p.is_dir() and not p.is_symlink(), p.name))
    if not entries:
        return ""
    p = entries[0]
    return p.name + ("/" if p.is_dir() and not p.is_symlink() else "")


@dataclass(frozen=True)
class Claim:
    """A folder studykit may write: ``state`` is ``new``, ``empty`` or ``owned`` (marked, nothing unlisted)."""

    folder: Path
    kind: str
    state: str
    files: frozenset[str] = frozenset()


def check_folder(folder: str | os.PathLike, kind: str, *, replace: bool = False, adds_only: bool = False,
                 shown: str | os.PathLike | None = None) -> Claim:
    """Apply the ownership rule (module docstring) to ``folder`` for a writer of ``kind``.

    ``replace``: the writer swaps a new folder in (:func:`replace_dir`), so a
    mount point is refused as well. ``adds_only``: the writer never replaces or
    deletes a file, so a marked folder may hold other files. ``shown`` is the
    path the refusal names (default ``folder``). Raises :class:`FolderRefused`.
    """
    folder = Path(folder)
    name = Path(shown) if shown is not None else folder
    if folder.is_symlink():
        raise refusal(name, kind, "it is a symbolic link")
    for parent in folder.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise refusal(name, kind, f"{parent} is a file, not a folder")
            if (replace or not folder.exists()) and not os.access(parent, os.W_OK | os.X_OK):
                raise refusal(name, kind, f"{parent} cannot be written ({_access_reason(parent)})")
            break
    if not folder.exists():
        return Claim(folder, kind, "new")
    if not folder.is_dir():
        raise refusal(name, kind, "it is a file")
    if replace and os.path.ismount(folder):
        raise refusal(name, kind, "it is a mount point, which studykit cannot replace (it builds a folder beside "
                                  "it and renames it into place); write into a folder inside it")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise refusal(name, kind, f"it cannot be written ({_access_reason(folder)})")
    if not any(folder.iterdir()):
        return Claim(folder, kind, "empty")
    marker = read_marker(folder)
    if not marker:
        raise refusal(name, kind, f"it is not empty and studykit did not write it (no {MARKER}; it holds "
                                  f"{_example(folder)}); choose a new or empty folder")
    if marker.get("kind") != kind:
        raise refusal(name, kind, f"studykit wrote it as a {KINDS.get(str(marker.get('kind')), 'other folder')}, "
                                  f"not as a {KINDS.get(kind, kind)}")
    files, _ = _listing(marker)
    if not adds_only:
        extra = unlisted(folder, marker)
        if extra is not None:
            raise refusal(name, kind, f"it holds {extra}, which studykit did not write (not listed in its {MARKER}); "
                                      "move it out or choose another folder")
    return Claim(folder, kind, "owned", frozenset(files))


def _access_reason(path: Path) -> str:
    try:
        st = os.statvfs(path)
        if st.f_flag & getattr(os, "ST_RDONLY", 1):
            return "read-only file system"
    except (OSError, AttributeError):
        pass
    return "permission denied"


# ------------------------------------------------------------------------------------------
# Writing: temporary folders, the swap, deleting only what is listed
# ------------------------------------------------------------------------------------------
def temp_dir_beside(target: str | os.PathLike, kind: str, info: Mapping[str, Any] | None = None) -> Path:
    """A new folder ``.<name>.tmp-XXXX`` beside ``target``, marked as building a ``kind`` folder.

    Same filesystem as ``target``, so it can be renamed onto it; the usual
    folder permissions (``mkdtemp`` alone makes it owner-only).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_TMP_TAG}-", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        mark_building(tmp, kind, info)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def delete_owned(folder: str | os.PathLike) -> list[str]:
    """Delete what ``folder``'s listing names (nested studykit folders by their own), the listed folders
    left empty and the marker; return what was left (entries studykit did not list, e.g. saved there at the
    last moment), which stays where it is, no longer marked."""
    folder = Path(folder)
    if folder.is_symlink() or not folder.is_dir():
        return []
    marker = read_marker(folder)
    files, dirs = _listing(marker)
    by_folder = _by_folder(files)
    for here, subdirs, names in os.walk(folder, topdown=True, followlinks=False):
        rel = Path(here).relative_to(folder)
        listed_here = by_folder.get(rel.as_posix(), set())
        for d in list(subdirs):
            p, r = Path(here) / d, (rel / d).as_posix()
            if (p / MARKER).is_file() and not p.is_symlink() and r not in dirs:
                subdirs.remove(d)
                if _transient(p, listed_here):
                    shutil.rmtree(p, ignore_errors=True)
                elif read_marker(p).get("state") == "complete":
                    delete_owned(p)
        for n in names:
            p, r = Path(here) / n, (rel / n).as_posix()
            if (r in files and not p.is_symlink()) or _transient(p, listed_here):
                p.unlink(missing_ok=True)
    for here, _, _ in sorted(os.walk(folder, followlinks=False), key=lambda t: -len(Path(t[0]).parts)):
        p = Path(here)
        if p != folder and p.relative_to(folder).as_posix() in dirs and not any(p.iterdir()):
            p.rmdir()
    (folder / MARKER).unlink(missing_ok=True)  # what is left (if anything) is not studykit's
    left = sorted(p.relative_to(folder).as_posix() for p in folder.iterdir())
    if not left:
        folder.rmdir()
    return left


def replace_dir(new: str | os.PathLike, target: str | os.PathLike, kind: str) -> None:
    """Put folder ``new`` at ``target``; the previous ``target``'s listed files are deleted afterwards.

    Ownership is checked again at the swap: the old folder is renamed away to
    ``.<name>.old-<pid>-<ns>`` and checked there (nothing can be added to it by
    its path any more); if it now holds something studykit did not list, or is
    no longer a folder, it is renamed back and :class:`FolderRefused` raised.
    Then ``new`` is renamed in; if that fails the old folder is renamed back, so
    ``target`` is never left missing by an error.
    """
    new, target = Path(new), Path(target)
    old = None
    if target.exists() or target.is_symlink():
        check_folder(target, kind, replace=True)
        old = target.parent / f".{target.name}.{_OLD_TAG}-{os.getpid()}-{time.monotonic_ns()}"
        os.replace(target, old)
        try:
            check_folder(old, kind, replace=True, shown=target)
        except BaseException:
            os.replace(old, target)
            raise
    try:
        os.replace(new, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
        raise
    if old is not None:
        delete_owned(old)


def _siblings(target: Path, tag: str) -> list[Path]:
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.glob(f".{target.name}.{tag}-*")
                  if p.is_dir() and not p.is_symlink())


def remove_stale_siblings(target: str | os.PathLike, kind: str) -> list[Path]:
    """Clean up after a killed process that was replacing ``target``; return what was removed.

    ``.<name>.tmp-*`` folders marked by a ``kind`` writer are deleted. A marked
    ``.<name>.old-*`` folder is renamed back to ``target`` when ``target`` is
    missing (the process died between the two renames of :func:`replace_dir`),
    else its listed files are deleted. Folders without such a marker are left
    alone. Call it only while holding :func:`folder_lock` for ``target``, so no
    live process owns these folders.
    """
    target = Path(target)
    removed = []
    olds = [p for p in _siblings(target, _OLD_TAG) if marker_kind(p) == kind]
    if olds and not target.exists() and not target.is_symlink():
        newest = max(olds, key=lambda p: p.stat().st_mtime_ns)
        os.replace(newest, target)
        olds.remove(newest)
    for p in olds:
        if not delete_owned(p):
            removed.append(p)
    for p in _siblings(target, _TMP_TAG):
        if marker_kind(p) == kind:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


@contextmanager
def building_dir(target: str | os.PathLike, kind: str = "cache", info: Mapping[str, Any] | None = None
                 ) -> Iterator[Path]:
    """Yield a new marked folder beside ``target``; on success it is sealed (with ``info``) and replaces ``target``.

    For folders written whole (cached simulations, extracted downloads, the docs
    site, simulated data). An exception or an interrupt removes the half-built
    folder and leaves ``target`` as it was; a ``target`` the rule refuses is
    refused first.
    """
    target = Path(target)
    check_folder(target, kind, replace=True)
    tmp = temp_dir_beside(target, kind, info)
    try:
        yield tmp
        seal(tmp, kind, info)
        replace_dir(tmp, target, kind)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ------------------------------------------------------------------------------------------
# Errors of the operating system, as one line
# ------------------------------------------------------------------------------------------
_ERRNO_TEXT = {
    errno.ENOSPC: "no space left on the device", errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder", errno.EISDIR: "it is a folder, not a file",
    errno.EBUSY: "busy (a mount point cannot be replaced)", errno.ENAMETOOLONG: "the name is too long",
    errno.EXDEV: "it is on another file system", errno.ENOTEMPTY: "the folder is not empty",
    getattr(errno, "EDQUOT", -1): "disk quota exceeded",
}


def os_error_text(exc: OSError) -> str:
    """``no space left on the device: /path`` (the path the system named, if any)."""
    text = _ERRNO_TEXT.get(exc.errno or 0) or (exc.strerror or type(exc).__name__).lower()
    where = exc.filename if exc.filename is not None else ""
    return f"{text}: {where}" if where else text


@contextmanager
def writing(target: str | os.PathLike, kind: str) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into one line naming ``target`` (a :class:`ParamError`)."""
    try:
        yield
    except FolderRefused:
        raise
    except OSError as exc:
        raise ParamError(f"could not write {KINDS.get(kind, kind)} {target}: {os_error_text(exc)}") from None


__all__ = [
    "MARKER", "KINDS", "FolderRefused", "Claim", "refusal", "check_folder", "read_marker", "marker_kind",
    "mark_building", "seal", "inventory", "unlisted", "temp_dir_beside", "replace_dir", "delete_owned",
    "remove_stale_siblings", "building_dir", "os_error_text", "writing", "lock_path", "folder_lock",
]
