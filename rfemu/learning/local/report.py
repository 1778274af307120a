"""Learning you can watch: an on-chip learning run as an xarray Dataset and as figures.

The Dataset (:func:`dataset`, saved as netCDF with
:func:`rfemu.engines.event.save_traces`) holds the learning curve against simulated time and
writes, the followed junctions' frequency trajectories, every write (time, junction, requested
and obtained frequency, energy) and the writes per junction. :func:`figures` draws accuracy
against simulated time and against writes, the trajectories and the histogram of writes per
junction.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["dataset", "figures"]


def _parts(run):
    """(curve, write log arrays, number of junctions) of an OnChipResult or an EventLearning."""
    if hasattr(run, "states"):
        return run.curve, run.states.log.arrays(), run.states.n_junctions
    return run.curve, run.log.arrays(), int(run.offsets[-1])


def dataset(run):
    """The run as an :class:`xarray.Dataset` (SI units in each variable's ``units``)."""
    import xarray as xr
    curve, log, n = _parts(run)
    per_junction = np.bincount(log["junction"], minlength=n)
    freq = np.array(curve.frequency) if curve.frequency else np.zeros((0, 0))
    data = {
        "time": (("evaluation",), np.asarray(curve.time, float), {"units": "s", "long_name": "simulated time"}),
        "window": (("evaluation",), np.asarray(curve.window, np.int64), {"units": "1"}),
        "writes": (("evaluation",), np.asarray(curve.writes, np.int64), {"units": "1", "long_name": "writes so far"}),
        "write_energy": (("evaluation",), np.asarray(curve.energy, float), {"units": "J"}),
        "cost": (("evaluation",), np.asarray(curve.cost, float), {"units": "1", "long_name": "cross-entropy"}),
        "accuracy": (("evaluation",), np.asarray(curve.accuracy, float), {"units": "1"}),
        "frequency": (("evaluation", "followed"), freq, {"units": "Hz", "long_name": "resonance frequency"}),
        "followed_junction": (("followed",), np.asarray(curve.followed, np.int64), {"units": "1"}),
        "write_time": (("write",), log["time"], {"units": "s"}),
        "write_junction": (("write",), log["junction"], {"units": "1"}),
        "write_requested": (("write",), log["requested"], {"units": "Hz"}),
        "write_obtained": (("write",), log["obtained"], {"units": "Hz"}),
        "write_pulse_energy": (("write",), log["energy"], {"units": "J"}),
        "writes_per_junction": (("junction",), per_junction, {"units": "1"}),
    }
    return xr.Dataset({k: xr.Variable(*v) for k, v in data.items()})


def figures(run, folder, prefix="on_chip"):
    """Draw the run's figures into ``folder`` (PNG); returns their paths."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    curve, log, n = _parts(run)
    os.makedirs(folder, exist_ok=True)
    paths = []

    def save(fig, name):
        path = os.path.join(folder, f"{prefix}_{name}.png")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    axes[0].plot(np.asarray(curve.time) * 1e3, curve.accuracy, marker=".")
    axes[0].set_xlabel("simulated time (ms)")
    axes[0].set_ylabel("accuracy")
    axes[1].plot(curve.writes, curve.accuracy, marker=".")
    axes[1].set_xlabel("writes")
    save(fig, "learning_curve")

    if curve.frequency:
        freq = np.array(curve.frequency)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.asarray(curve.time) * 1e3, (freq - freq[0]) / 1e6, lw=0.8)
        ax.set_xlabel("simulated time (ms)")
        ax.set_ylabel("resonance - start (MHz)")
        ax.set_title(f"{freq.shape[1]} junctions")
        save(fig, "frequency_trajectories")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(np.bincount(log["junction"], minlength=n), bins=40)
    ax.set_xlabel("writes per junction")
    ax.set_ylabel("junctions")
    save(fig, "writes_per_junction")
    return paths
