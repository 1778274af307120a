"""Studies over many runs: sweeps (``rfemu sweep``) and the energy account.

- :mod:`rfemu.study.sweep`: the ``sweep:`` section of a scenario (axes, sampling, repeats) and
  its points;
- :mod:`rfemu.study.plan`: a scenario file to the points to run, and running a point;
- :mod:`rfemu.study.executor`: a local process pool or a Dask cluster, batching, retries;
- :mod:`rfemu.study.store`: the sweep folder (a file per finished point, ``sweep.nc``);
- :mod:`rfemu.study.figures`: the figures of a sweep;
- :mod:`rfemu.study.energy`: energy per operation and the 20 nm projection (the energy model
  itself is :mod:`rfemu.devices.energy`).

Nothing heavy is imported here: the scenario schema imports :mod:`rfemu.study.sweep`.
"""
__all__ = ["run_sweep"]


def __getattr__(name):
    if name == "run_sweep":
        from rfemu.study.runner import run_sweep
        return run_sweep
    raise AttributeError(name)
