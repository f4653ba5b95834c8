"""Where the chunks of a corpus are counted: a local process pool or a Dask cluster.

Both keep at most two chunks per worker in flight (bounded memory) and hand every
result to a callback as it arrives; the caller merges results by integer addition, so
the order of arrival never changes a count.
"""
from __future__ import annotations

from studykit.contract.errors import ParamError

from .kernel import n_rows


def run_processes(fn, tasks, cfg, n_workers, done) -> None:
    """Run ``fn(chunk, cfg, skip)`` for every task ``(index, chunk, skip)`` in a process pool, at most
    ``2 * n_workers`` chunks in flight; ``done(index, result, rows)`` receives each result."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        inflight: dict = {}
        for i, b, sk in tasks:
            inflight[pool.submit(fn, b, cfg, sk)] = (i, n_rows(b))
            if len(inflight) >= 2 * n_workers:
                finished, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for f in finished:
                    done(*_with_result(inflight.pop(f), f))
        for f in list(inflight):
            done(*_with_result(inflight.pop(f), f))


def _with_result(info: tuple[int, int], future) -> tuple[int, dict, int]:
    return info[0], future.result(), info[1]


def run_dask(fn, tasks, cfg, scheduler, n_workers, done) -> None:
    """The same on a Dask cluster (scheduler address or ``distributed.Client``), 2 chunks per worker in flight."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise ParamError("parameter 'dask_scheduler': the 'distributed' package is not installed") from None
    own = False
    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(str(scheduler), timeout="20s", set_as_default=False)
        except Exception as exc:
            raise ParamError(f"parameter 'dask_scheduler': cannot connect to {scheduler}: {exc}") from None
        own = True
    try:
        from distributed import as_completed

        n_cluster = max(1, len(client.scheduler_info().get("workers", {})))
        limit = 2 * n_cluster
        ac = as_completed(loop=client.loop)
        sizes: dict = {}
        for i, b, sk in tasks:
            fut = client.submit(fn, b, cfg, sk, pure=False)
            sizes[fut.key] = (i, n_rows(b))
            ac.add(fut)
            if ac.count() >= limit:
                f = next(ac)
                done(*_with_result(sizes.pop(f.key), f))
        for f in ac:
            done(*_with_result(sizes.pop(f.key), f))
    finally:
        if own:
            client.close()
