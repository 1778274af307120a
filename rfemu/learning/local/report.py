"""Learning you can watch: an on-chip learning run as an xarray Dataset and as figures.

The Dataset (:func:`dataset`, saved as netCDF with :func:`rfemu.engines.event.save_traces`)
holds the learning curve against simulated time and writes, the followed junctions' frequency
trajectories (where each sits: layer, chain, junction), every write (time, junction, requested
and obtained frequency, energy) and the writes per junction. :func:`figures` draws accuracy
against simulated time and against writes, the trajectories and the histogram of writes per
junction.

A run folder holds the same variables with a prefix (``on_chip_`` for the local rules,
``in_situ_`` for the writes of chip-in-the-loop fine-tuning: :func:`run_traces`,
:func:`writes_dataset`) inside its ``trace.nc``; the figures are drawn from those variables
(:func:`draw_learning`, called by :func:`rfemu.plots.draw_all`), so ``rfemu plot RUN_DIR``
redraws them from the folder alone.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["dataset", "run_traces", "writes_dataset", "with_prefix", "junction_places", "learning_curve_figure",
           "trajectories_figure", "writes_histogram_figure", "draw_learning", "figures"]


def _parts(run):
    """(curve, write log arrays, junction offsets per layer, network) of an OnChipResult or an
    EventLearning."""
    if hasattr(run, "states"):
        return run.curve, run.states.log.arrays(), np.asarray(run.states.offsets), run.network
    return run.curve, run.log.arrays(), np.asarray(run.offsets), run.network


def junction_places(network, offsets, index):
    """(layer, chain, junction in its chain) of global junction indices ``index`` (junctions are
    numbered layer after layer, chain after chain)."""
    index = np.asarray(index, dtype=np.int64)
    layer = np.searchsorted(offsets, index, side="right") - 1
    per_chain = np.array([lay.n_junctions for lay in network.layers], dtype=np.int64)
    local = index - np.asarray(offsets)[layer]
    return layer, local // per_chain[layer], local % per_chain[layer]


def _write_variables(log, n_junctions):
    """The write log's variables (dimension ``write``) and the writes per junction."""
    return {
        "write_time": (("write",), log["time"], {"units": "s", "long_name": "simulated time of the write"}),
        "write_junction": (("write",), log["junction"], {"units": "1", "long_name": "global junction index"}),
        "write_requested": (("write",), log["requested"], {"units": "Hz",
                                                          "long_name": "resonance frequency asked for"}),
        "write_obtained": (("write",), log["obtained"], {"units": "Hz",
                                                        "long_name": "resonance frequency after the write"}),
        "write_pulse_energy": (("write",), log["energy"], {"units": "J", "long_name": "energy of the write"}),
        "writes_per_junction": (("junction",), np.bincount(log["junction"], minlength=n_junctions),
                                {"units": "1", "long_name": "writes of each junction"}),
    }


def dataset(run):
    """The run as an :class:`xarray.Dataset` (SI units in each variable's ``units``)."""
    import xarray as xr
    curve, log, offsets, network = _parts(run)
    n = int(offsets[-1])
    freq = np.array(curve.frequency) if curve.frequency else np.zeros((0, 0))
    followed = np.asarray(curve.followed if curve.followed is not None else [], np.int64)
    layer, chain, index = junction_places(network, offsets, followed)
    data = {
        "time": (("evaluation",), np.asarray(curve.time, float), {"units": "s", "long_name": "simulated time"}),
        "window": (("evaluation",), np.asarray(curve.window, np.int64), {"units": "1",
                                                                        "long_name": "learning windows so far"}),
        "writes": (("evaluation",), np.asarray(curve.writes, np.int64), {"units": "1", "long_name": "writes so far"}),
        "write_energy": (("evaluation",), np.asarray(curve.energy, float),
                         {"units": "J", "long_name": "write energy so far"}),
        "cost": (("evaluation",), np.asarray(curve.cost, float),
                 {"units": "1", "long_name": "cross-entropy of the windows since the last point"}),
        "accuracy": (("evaluation",), np.asarray(curve.accuracy, float), {"units": "1"}),
        "frequency": (("evaluation", "followed"), freq, {"units": "Hz", "long_name": "resonance frequency"}),
        "followed_junction": (("followed",), followed, {"units": "1", "long_name": "global junction index"}),
        "followed_layer": (("followed",), layer, {"units": "1"}),
        "followed_chain": (("followed",), chain, {"units": "1"}),
        "followed_index": (("followed",), index, {"units": "1", "long_name": "junction in its chain"}),
        **_write_variables(log, n),
    }
    return xr.Dataset({k: xr.Variable(*v) for k, v in data.items()})


def with_prefix(ds, prefix):
    """``ds`` with every variable and dimension named ``PREFIX_name`` (to sit in a run's traces
    beside other variables)."""
    names = {str(k): f"{prefix}_{k}" for k in list(ds.data_vars) + list(ds.dims) + list(ds.coords)}
    return ds.rename(names)


def run_traces(run, prefix="on_chip", **attrs):
    """:func:`dataset` of ``run`` with its names prefixed (``on_chip_accuracy``,
    ``on_chip_evaluation``, ...) and ``attrs`` on the curve's variables (e.g. the rule and on
    which samples the accuracy was measured)."""
    ds = with_prefix(dataset(run), prefix)
    ds[f"{prefix}_accuracy"].attrs.update(attrs)
    return ds


def writes_dataset(log, n_junctions, prefix="in_situ"):
    """The writes of a :class:`~rfemu.learning.local.state.WriteLog` over ``n_junctions``
    junctions as a Dataset, names prefixed (``in_situ_write_time``, ...)."""
    import xarray as xr
    data = _write_variables(log.arrays(), int(n_junctions))
    return with_prefix(xr.Dataset({k: xr.Variable(*v) for k, v in data.items()}), prefix)


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def learning_curve_figure(traces, prefix="on_chip", title=None, rule=None):
    """Accuracy and cost against simulated time and against the number of writes (top: accuracy,
    bottom: cost; left: simulated time, right: writes), from :func:`run_traces`' variables;
    titled with the rule, the writes, their energy and the simulated time."""
    plt = _plt()
    p = prefix
    time_ms = traces[f"{p}_time"].values * 1e3
    writes = traces[f"{p}_writes"].values
    accuracy = 100 * traces[f"{p}_accuracy"].values
    cost = traces[f"{p}_cost"].values
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex="col")
    axes[0, 0].plot(time_ms, accuracy, marker=".")
    axes[0, 1].plot(writes, accuracy, marker=".")
    axes[1, 0].plot(time_ms, cost, marker=".", color="tab:red")
    axes[1, 1].plot(writes, cost, marker=".", color="tab:red")
    measured_on = traces[f"{p}_accuracy"].attrs.get("measured_on", "")
    for ax in axes[0]:
        ax.set_ylabel(f"accuracy on the {measured_on} (%)" if measured_on else "accuracy (%)", fontsize=8)
    for ax in axes[1]:
        ax.set_ylabel("cost (cross-entropy)")
    axes[1, 0].set_xlabel("simulated time (ms)")
    axes[1, 1].set_xlabel("writes (all junctions)")
    energy = float(traces[f"{p}_write_energy"].values[-1]) if traces.sizes.get(f"{p}_evaluation") else 0.0
    what = "on-chip learning" + (f" ({rule} rule)" if rule else "")
    fig.suptitle(title or f"{what}: {int(writes[-1]) if writes.size else 0} writes, "
                 f"{energy:.3g} J of writes, {time_ms[-1] if time_ms.size else 0:.3g} ms simulated",
                 fontsize=9)
    fig.tight_layout()
    return fig


def trajectories_figure(traces, prefix="on_chip"):
    """The followed junctions' resonance frequencies (minus their start) against simulated time,
    coloured by layer."""
    plt = _plt()
    p = prefix
    f = traces[f"{p}_frequency"].values
    layers = traces[f"{p}_followed_layer"].values
    time_ms = traces[f"{p}_time"].values * 1e3
    fig, ax = plt.subplots(figsize=(9, 4))
    cmap = plt.get_cmap("tab10")
    for k in range(f.shape[1]):
        ax.plot(time_ms, (f[:, k] - f[0, k]) / 1e6, lw=0.8, color=cmap(int(layers[k]) % 10), alpha=0.8)
    for layer in sorted(set(int(v) for v in layers)):
        ax.plot([], [], color=cmap(layer % 10), label=f"layer {layer}")
    n_all = traces.sizes[f"{p}_junction"]
    ax.set_xlabel("simulated time (ms)")
    ax.set_ylabel("f_r - f_r(start)  (MHz)")
    ax.set_title(f"resonance frequencies of {f.shape[1]} of {n_all} junctions while the chip learns",
                 fontsize=9)
    if layers.size:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def writes_histogram_figure(traces, prefix="on_chip"):
    """How many junctions wrote how many times (every junction of the chip)."""
    plt = _plt()
    per_junction = traces[f"{prefix}_writes_per_junction"].values
    fig, ax = plt.subplots(figsize=(6, 3.5))
    top = int(per_junction.max(initial=0))
    bins = np.arange(top + 2) - 0.5 if top <= 60 else 40
    ax.hist(per_junction, bins=bins)
    ax.set_xlabel("writes per junction")
    ax.set_ylabel("junctions")
    energy = float(traces[f"{prefix}_write_pulse_energy"].values.sum())
    what = {"on_chip": "on-chip learning", "in_situ": "in-situ fine-tuning"}.get(prefix, prefix)
    ax.set_title(f"{what}: {int(per_junction.sum())} writes over {per_junction.size} junctions "
                 f"({energy:.3g} J)", fontsize=9)
    fig.tight_layout()
    return fig


def draw_learning(traces, folder, prefix="on_chip"):
    """Draw the learning figures of :func:`run_traces`' variables into ``folder``: learning
    curve, trajectories (when junctions were followed), writes per junction. Returns the paths
    ``folder/{prefix}_learning_curve.png``, ..."""
    plt = _plt()
    os.makedirs(folder, exist_ok=True)
    jobs = [("learning_curve", learning_curve_figure)]
    if traces.sizes.get(f"{prefix}_followed"):
        jobs.append(("frequency_trajectories", trajectories_figure))
    jobs.append(("writes_per_junction", writes_histogram_figure))
    paths = []
    for name, make in jobs:
        fig = make(traces, prefix)
        path = os.path.join(folder, f"{prefix}_{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def figures(run, folder, prefix="on_chip"):
    """Draw the run's figures into ``folder`` (PNG); returns their paths."""
    return draw_learning(run_traces(run, prefix), folder, prefix=prefix)
