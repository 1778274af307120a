"""``run_sweep``: a scenario's sweep from its file to ``sweep.nc`` and the figures.

The sweep folder (:mod:`rfemu.sweep.store`) keeps every finished point, so the same call after an
interruption runs only the missing points; the points run on a local process pool, in this
process (``workers=0``), or on Dask (:mod:`rfemu.sweep.executor`).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

__all__ = ["run_sweep", "SweepResult", "default_sweep_dir"]


@dataclass
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes
    ----------
    dataset : xarray.Dataset
        As in ``sweep.nc``.
    folder : Path
    computed : int
        Points run by this call (the others were found in the folder).
    failed : dict
        Point key -> error message, for the points that failed.
    figures : list of Path
    seconds : float
        Wall time of the points run by this call.
    """

    dataset: object
    folder: Path
    computed: int
    failed: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    seconds: float = 0.0


def default_sweep_dir(name: str) -> Path:
    """``sweeps/NAME`` under the current folder: the same command finds its folder again."""
    return Path("sweeps") / name


class _Inline:
    """Run the batches in this process (``workers=0``: debugging, tiny sweeps)."""

    workers = 1

    def submit(self, payload, batch):
        import concurrent.futures as cf

        from threadpoolctl import threadpool_limits

        from rfemu.sweep.plan import run_batch
        future = cf.Future()
        with threadpool_limits(1):          # as in the pool's and Dask's workers
            future.set_result(run_batch(payload, batch))
        return future

    def wait(self, futures):
        return set(futures)

    @staticmethod
    def lost(exc):
        return False

    def after_loss(self):
        return None

    def close(self):
        return None


def _backend(workers, scheduler, dask):
    from rfemu.sweep.executor import DaskBackend, PoolBackend
    if scheduler is not None:
        return DaskBackend(scheduler=scheduler)
    if workers is None:
        workers = os.cpu_count() or 1
    if dask:
        return DaskBackend(workers=max(1, workers))
    if workers == 0:
        return _Inline()
    return PoolBackend(workers)


def _plan_for(scenario, out, overrides):
    from rfemu.sweep.plan import load_plan
    from rfemu.sweep.store import SweepFolder
    plan = load_plan(scenario, overrides)
    folder = SweepFolder(out if out is not None else default_sweep_dir(plan.base.name))
    drawn = folder.drawn_seed()
    if plan.data.get("seed") != drawn and drawn is not None and _seed_is_null(scenario, overrides):
        plan = load_plan(scenario, overrides, seed=drawn)
    return plan, folder


def _seed_is_null(scenario, overrides) -> bool:
    from rfemu.scenario import _read_file, apply_override
    data, positions = _read_file(Path(scenario))
    for override in overrides or ():
        apply_override(data, positions, override)
    return data.get("seed") is None


def run_sweep(scenario, out=None, workers: Optional[int] = None, scheduler: Optional[str] = None,
              dask: bool = False, overrides=(), progress: bool = True,
              figures: bool = True, backend=None) -> SweepResult:
    """Run (or finish) the sweep of a scenario file.

    Parameters
    ----------
    scenario : str or Path
        A scenario file with a ``sweep:`` section.
    out : path, optional
        The sweep folder (default ``sweeps/NAME``); only files inside it are written.
    workers : int, optional
        Local worker processes (default: one per CPU); 0 runs the points in this process.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``): the points run there.
    dask : bool
        Start a local Dask cluster of ``workers`` processes (loopback only) instead of a pool.
    overrides : sequence of str
        ``KEY=VALUE`` applied to the scenario before the axes.
    progress : bool
        A progress bar over the points with the estimated time left.
    figures : bool
        Draw the figures.
    backend : object, optional
        An already started backend (:class:`rfemu.sweep.executor.PoolBackend` or
        ``DaskBackend``); it is left open.

    Raises
    ------
    rfemu.scenario.ScenarioError
        A bad scenario or sweep section (``FILE:LINE: key: ...``).
    rfemu.sweep.store.SweepFolderError
        ``out`` holds files rfemu did not write, or a sweep of another scenario.
    """
    import time

    from rfemu.sweep.executor import execute
    from rfemu.sweep.store import to_dataset, write_dataset
    plan, folder = _plan_for(scenario, out, overrides)
    folder.claim(plan)
    keys = [plan.key(p) for p in plan.points]
    records = folder.done(keys)
    todo = {k: p.overrides(plan.section.axes) for k, p in zip(keys, plan.points)
            if k not in records}         # two equal points (a value given twice) run once
    todo = list(todo.items())
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(set(keys)), initial=len(set(keys)) - len(todo), unit="point",
                   desc=f"sweep {plan.base.name}", file=sys.stderr)

    def store(record):
        folder.save_point(record)
        records[record["key"]] = record

    own = backend is None
    t0 = time.perf_counter()
    if todo:
        backend = backend or _backend(workers, scheduler, dask)
        try:
            execute(backend, plan.payload, todo, store, bar.update if bar else None)
        finally:
            if own:
                backend.close()
            if bar is not None:
                bar.close()
    seconds = time.perf_counter() - t0
    ds = to_dataset(plan, records)
    write_dataset(folder, ds)
    drawn = []
    if figures:
        from rfemu.sweep.figures import draw_sweep
        drawn = draw_sweep(ds, folder.root / "figures")
    failed = {k: r["error"] for k, r in records.items() if r.get("error")}
    return SweepResult(dataset=ds, folder=folder.root, computed=len(todo), failed=failed,
                       figures=drawn, seconds=seconds)
