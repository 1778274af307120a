"""Running a sweep (``rfemu sweep``): the scenario's points through :func:`rfemu.api.run`.

What a sweep is (the ``sweep:`` section, its axes, sampling and repeats) is
:mod:`rfemu.study.sweep`, a study definition below the api; running one sits beside the api,
since every point is a whole run (docs/architecture.md#layers).

- :mod:`rfemu.sweep.plan`: a scenario file to the points to run, and running a point;
- :mod:`rfemu.sweep.executor`: a local process pool or a Dask cluster, batching, retries;
- :mod:`rfemu.sweep.store`: the sweep folder (a file per finished point, ``sweep.nc``);
- :mod:`rfemu.sweep.figures`: the figures of a sweep;
- :mod:`rfemu.sweep.runner`: :func:`run_sweep`, all of the above in order;
- :mod:`rfemu.sweep.cli`: the ``rfemu sweep`` subcommand.
"""
__all__ = ["run_sweep"]


def __getattr__(name):
    if name == "run_sweep":
        from rfemu.sweep.runner import run_sweep
        return run_sweep
    raise AttributeError(name)
