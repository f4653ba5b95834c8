"""One process at a time per folder: the lock file ``.<name>.studykit-lock`` beside it, present only while held.

Used by the runner (one run per output folder); :mod:`studykit.files.folders` re-exports it.
Standard library only.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

# ------------------------------------------------------------------------------------------
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


__all__ = ["lock_path", "folder_lock"]
