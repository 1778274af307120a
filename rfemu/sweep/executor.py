"""Running a sweep's points on a local process pool or on a Dask distributed cluster.

Both backends run the same function (:func:`rfemu.sweep.plan.run_batch`) on batches of points,
so a point's values do not depend on the backend or on the number of workers. The driver keeps
about two batches per worker in flight. The first batches hold one point each; once points have
been timed, a batch holds as many as fill :data:`TASK_SECONDS` (short points are batched so a
task lasts long enough to hide the scheduling overhead), but never more than an even share of
what is left. The driver stores each point as its batch comes back.

A worker that dies takes its batch with it: the pool is started again (process pool) or the
scheduler moves the task (Dask) and the batch's points run again; a batch lost
:data:`MAX_ATTEMPTS` times records its points as failed. A point that raises records its error
and the others go on.
"""
from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import time
from collections import deque

from rfemu.sweep.plan import run_batch

__all__ = ["PoolBackend", "DaskBackend", "BackendUnavailable", "execute", "TASK_SECONDS",
           "MAX_ATTEMPTS"]

#: a batch of short points is sized to last about this long (s)
TASK_SECONDS = 0.5
#: a batch whose worker died this many times records its points as failed
MAX_ATTEMPTS = 3


#: imported by every worker before its first point (the first run would pay for them)
WARM_MODULES = ("rfemu.api", "rfemu.sweep.plan", "rfemu.tasks", "sklearn.datasets")


def _warm(*_):
    """Import what a point needs and hold BLAS and OpenMP to one thread per worker process
    (each worker is one of the parallel tasks: more threads only fight for the cores; a
    scenario's engine.n_threads still sets the kernel's threads inside a run)."""
    import importlib

    from threadpoolctl import threadpool_limits
    for name in WARM_MODULES:
        importlib.import_module(name)
    global _LIMITS
    _LIMITS = threadpool_limits(1)
    return True


_LIMITS = None


class BackendUnavailable(RuntimeError):
    """The backend asked for cannot start (Dask not installed)."""


class PoolBackend:
    """A local pool of ``workers`` processes (forkserver start, rfemu imported once)."""

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        methods = multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods
                                                    else "spawn")
        if "forkserver" in methods:
            self._context.set_forkserver_preload(list(WARM_MODULES))
        self._pool = None

    def _ensure(self):
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=self._context,
                                                initializer=_warm)
        return self._pool

    def submit(self, payload, batch):
        return self._ensure().submit(run_batch, payload, batch)

    def wait(self, futures):
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return done

    @staticmethod
    def lost(exc) -> bool:
        """Whether ``exc`` says the worker died (the batch can run again)."""
        return isinstance(exc, cf.process.BrokenProcessPool)

    def after_loss(self):
        """A dead worker breaks the pool: start a new one for the next batches."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskBackend:
    """Points sent to a Dask distributed scheduler.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:PORT``).
    workers : int
        Without ``scheduler``: start a local cluster of this many one-thread worker processes
        on the loopback interface (closed with the backend).
    """

    def __init__(self, scheduler=None, workers: int = 1):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise BackendUnavailable("Dask distributed is not installed: pip install "
                                     "'rfemu[distributed]' (or run without --dask/--scheduler "
                                     "on the local process pool)") from None
        self._cluster = None
        if scheduler is None:
            self._cluster = LocalCluster(n_workers=max(1, int(workers)), threads_per_worker=1,
                                         processes=True, host="127.0.0.1",
                                         dashboard_address=None)
            scheduler = self._cluster
        self.client = Client(scheduler)
        self.client.run(_warm)
        n = len(self.client.scheduler_info().get("workers", {}))
        self.workers = max(1, n)

    def submit(self, payload, batch):
        return self.client.submit(run_batch, payload, batch, pure=False)

    def wait(self, futures):
        from distributed import wait
        done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return done

    @staticmethod
    def lost(exc) -> bool:
        return type(exc).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError")

    def after_loss(self):
        return None

    def close(self):
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _batch_size(point_seconds: list, remaining: int, workers: int) -> int:
    if not point_seconds:
        return 1
    mean = sum(point_seconds[-200:]) / len(point_seconds[-200:])
    fill = max(1, int(TASK_SECONDS / max(mean, 1e-6)))
    share = max(1, math.ceil(remaining / (2 * workers)))
    return min(fill, share)


def execute(backend, payload, todo: list, on_record, on_progress=None) -> None:
    """Run ``todo`` (``[(key, overrides), ...]``) on ``backend``.

    Parameters
    ----------
    on_record : callable
        Called with each point's record as its batch comes back (the driver stores it).
    on_progress : callable, optional
        Called with the number of points just finished.
    """
    pending = deque(todo)
    attempts: dict = {}
    inflight: dict = {}
    seconds: list = []

    def fail(batch, why):
        for key, overrides in batch:
            on_record({"key": key, "overrides": list(overrides), "metrics": {}, "axis_si": [],
                       "error": why, "seconds": float("nan")})
        if on_progress:
            on_progress(len(batch))

    while pending or inflight:
        while pending and len(inflight) < 2 * backend.workers:
            n = _batch_size(seconds, len(pending), backend.workers)
            batch = [pending.popleft() for _ in range(min(n, len(pending)))]
            inflight[backend.submit(payload, batch)] = batch
        for future in backend.wait(inflight):
            batch = inflight.pop(future)
            try:
                records = future.result()
            except Exception as exc:  # noqa: BLE001 (the worker's end, not the point's)
                if not backend.lost(exc):
                    fail(batch, f"{type(exc).__name__}: {exc}")
                    continue
                backend.after_loss()
                tries = max(attempts.get(key, 0) for key, _ in batch) + 1
                if tries >= MAX_ATTEMPTS:
                    fail(batch, f"the worker running this point died {tries} times")
                    continue
                for key, _ in batch:
                    attempts[key] = tries
                pending.extendleft(reversed(batch))   # re-batched: lost points come first
                continue
            for record in records:
                seconds.append(record["seconds"])
                on_record(record)
            if on_progress:
                on_progress(len(records))
        if isinstance(backend, PoolBackend):
            _requeue_broken(backend, inflight, pending, attempts)


def _requeue_broken(backend, inflight, pending, attempts):
    """After a pool restart the other in-flight futures of the dead pool never finish well:
    put their batches back (they did not fail, so their attempts are not counted)."""
    if backend._pool is not None:
        return
    for future in list(inflight):
        batch = inflight.pop(future)
        future.cancel()
        pending.extendleft(reversed(batch))


def run_with_timing(backend, payload, todo, on_record, on_progress=None) -> float:
    """:func:`execute` and its wall time (s)."""
    t0 = time.perf_counter()
    execute(backend, payload, todo, on_record, on_progress)
    return time.perf_counter() - t0
