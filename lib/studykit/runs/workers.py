"""How many worker processes this machine can take: the one cap for every jobs/workers setting.

A parameter such as ``n_workers`` (``lexical_prevalence``) or a command-line
``--jobs N`` (``run all``, ``sweep``, ``mine``) asks for N processes. Asking
for more than the machine has only makes the run slower and can exhaust memory
(16 counting workers on 2 cores took 3.9 GB), so every such request is capped
by :func:`cap_workers` at

- the CPU cores this process may use (``os.sched_getaffinity``, else
  ``os.cpu_count()``), and
- the memory available now divided by :data:`MEMORY_PER_WORKER` (Linux
  ``/proc/meminfo`` ``MemAvailable``; elsewhere the physical memory is not
  checked),

and never below 1. A capped request is reported with one note naming what was
asked, what is used and why; results do not depend on the number of workers.
A Dask cluster (``--dask``) is not capped: its workers are on other machines.
"""
from __future__ import annotations

import os

#: the memory budget of one worker process (the measured counting worker peaked at about 240 MB)
MEMORY_PER_WORKER = 300 * 1024**2


def cpu_cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes of memory available for new processes (None when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_limit() -> tuple[int, str]:
    """The largest number of workers this machine takes now, and the reason in words."""
    cores = cpu_cores()
    mem = available_memory()
    by_mem = max(1, mem // MEMORY_PER_WORKER) if mem is not None else None
    reason = f"{cores} CPU core{'s' if cores != 1 else ''}"
    if mem is not None:
        reason += f" and {mem / 1024**3:.1f} GB of available memory"
    return (min(cores, by_mem) if by_mem is not None else cores), reason


def cap_workers(requested: int, what: str) -> tuple[int, str | None]:
    """``requested`` capped by :func:`worker_limit`, and the note to report (None when not capped)."""
    requested = max(1, int(requested))
    limit, reason = worker_limit()
    if requested <= limit:
        return requested, None
    return limit, f"note: {what} {requested} capped to {limit} (this machine has {reason})"


__all__ = ["MEMORY_PER_WORKER", "cpu_cores", "available_memory", "worker_limit", "cap_workers"]
