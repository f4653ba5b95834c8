"""One way to reach a Dask cluster: ``--dask ADDRESS`` of ``studykit sweep`` and ``studykit mine``.

``connect(dask)`` takes a scheduler address (``tcp://host:8786``; start a cluster with ``dask scheduler`` and
``dask worker tcp://host:8786`` on machines that have studykit installed) or an existing
``distributed.Client`` (tests pass a ``LocalCluster``'s client), and yields a client; a client it opened
itself is closed on exit. An unreachable scheduler is a one-line :class:`~studykit.contract.errors.ParamError`.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from studykit.contract.errors import ParamError

__all__ = ["connect"]


@contextmanager
def connect(dask: Any, timeout: str = "20s") -> Iterator[Any]:
    """A ``distributed.Client`` for ``dask`` (an address or a client); see the module docstring."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is in the core lock
        raise ParamError("--dask needs the 'distributed' package") from None
    if isinstance(dask, Client):
        yield dask
        return
    try:
        client = Client(dask, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        last = [ln for ln in str(exc).splitlines() if ln.strip()]
        raise ParamError(f"--dask {dask}: cannot reach the scheduler ({last[-1].strip() if last else exc})") from None
    try:
        yield client
    finally:
        client.close()
