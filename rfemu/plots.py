"""Figures of a run, drawn from what the run folder holds (traces, resolved scenario, metrics).

Every function takes the run's xarray Dataset (and the resolved scenario as a dict where it needs
the network's shape), so ``rfemu plot RUN_DIR`` redraws them from the folder alone. Matplotlib
runs headless (Agg).

- :func:`network_graph`      the layers as a graph: tones -> lines -> chains -> neurons -> ...
- :func:`frequency_plans`    each layer's tones and junction resonance lines (overlaps visible)
- :func:`learning_curve`     loss and accuracy per epoch, titled by the training rule
- on-chip runs (``on_chip_*`` traces, :mod:`rfemu.learning.local.report`): accuracy and cost
  against simulated time and against writes, junction trajectories against simulated time,
  writes per junction; in-situ fine-tuning's writes per junction
- :func:`confusion_matrix`   test samples by true and predicted class
- :func:`resonance_trajectories`  junctions' resonance frequencies during training

Figures of a live event engine (for notebooks and examples, not drawn from a run folder):

- :func:`plot_line_spectrum`    a line's tones and junction resonances, now or as traced
- :func:`plot_neuron_settling`  neurons' emitted power against time, from the engine's traces
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["draw_all", "network_graph", "frequency_plans", "learning_curve", "confusion_matrix",
           "resonance_trajectories", "event_outputs", "neuron_settling", "plot_line_spectrum",
           "plot_neuron_settling"]


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _n_layers(traces) -> int:
    n = 0
    while f"tone_frequency_{n}" in traces:
        n += 1
    return n


def network_graph(traces, resolved: dict):
    """The network as a layered graph; large layers are drawn with a few nodes and a count."""
    import networkx as nx
    plt = _plt()
    n_layers = _n_layers(traces)
    sizes = [traces.sizes[f"tone_0"]] + [traces.sizes[f"chain_{l}"] for l in range(n_layers)]
    g = nx.DiGraph()
    pos, labels, colors = {}, {}, {}
    shown = 6

    def column(kind, x, n, color, name):
        picks = list(range(n)) if n <= shown else list(range(shown - 1)) + [n - 1]
        nodes = []
        for k, i in enumerate(picks):
            node = (kind, x, i)
            g.add_node(node)
            y = (len(picks) - 1) / 2 - k
            pos[node] = (x, y)
            colors[node] = color
            labels[node] = f"{name}{i}" if n <= shown or k < shown - 1 else f"{name}{i}"
            nodes.append(node)
        if n > shown:
            labels[nodes[-2]] = labels[nodes[-2]] + "\n..."
        return nodes

    x = 0
    prev = column("source", x, sizes[0], "#f4a261", "in")
    for l in range(n_layers):
        x += 1
        line = ("line", x, 0)
        g.add_node(line)
        pos[line] = (x, 0)
        colors[line] = "#8ecae6"
        labels[line] = f"line {l}"
        for node in prev:
            g.add_edge(node, line)
        x += 1
        last = l == n_layers - 1
        chains = column("chain", x, sizes[l + 1], "#adb5bd", "chain ")
        for node in chains:
            g.add_edge(line, node)
        x += 1
        outs = column("readout" if last else "osc", x, sizes[l + 1],
                      "#2a9d8f" if last else "#e76f51", "score " if last else "osc ")
        for a, b in zip(chains, outs):
            g.add_edge(a, b)
        prev = outs
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * x + 2), 4.5))
    nx.draw_networkx(g, pos, ax=ax, labels=labels, node_color=[colors[n] for n in g.nodes],
                     node_size=900, font_size=7, arrows=True, arrowsize=8, edge_color="#999999")
    n_junctions = sum(traces.sizes[f"chain_{l}"] * traces.sizes[f"junction_{l}"]
                      for l in range(n_layers))
    ax.set_title(f"{resolved.get('name', '')}: sizes {' -> '.join(map(str, sizes))}, "
                 f"{n_junctions} junctions (orange: input tones, blue: RF lines, grey: chains "
                 "of junctions, red: oscillators, green: class scores)", fontsize=8)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def frequency_plans(traces):
    """One panel per layer: its tones and its junctions' resonance lines after training."""
    from rfemu.network.frequency import plot_frequency_plan
    plt = _plt()
    n_layers = _n_layers(traces)
    fig, axes = plt.subplots(n_layers, 1, figsize=(9, 3.2 * n_layers), squeeze=False)
    for l in range(n_layers):
        tones = traces[f"tone_frequency_{l}"].values
        res = traces[f"resonance_frequency_{l}"].values
        linewidth = traces[f"tone_linewidth_{l}"].values
        plot_frequency_plan(tones, res, traces[f"damping_{l}"].values,
                            tone_linewidth=linewidth if np.any(linewidth > 0) else None,
                            ax=axes[l, 0],
                            title=f"layer {l}: {tones.size} tones, {res.shape[0]} chains x "
                                  f"{res.shape[1]} junctions (trained)")
    fig.tight_layout()
    return fig


#: what the generic learning curve of a rule shows: (title, unit of its x axis)
CURVE_LABELS = {
    "backprop": ("learning curve (offline backprop through the device models)", "epoch"),
    "in_situ": ("learning curve (chip-in-the-loop fine-tuning: forward on the event engine, gradient "
                "through the static model)", "pass over the training samples"),
}


def learning_curve(traces, rule: str = "backprop"):
    """Loss (left) and accuracy (right) per epoch, training and validation; the title and the
    x axis say what trained (``rule``, the run's ``training.rule``)."""
    plt = _plt()
    title, unit = CURVE_LABELS.get(rule, (f"learning curve (training rule {rule})", "evaluation"))
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    epoch = traces["epoch"].values
    a.plot(epoch, traces["train_loss"].values, label="train")
    if np.any(np.isfinite(traces["validation_loss"].values)):
        a.plot(epoch, traces["validation_loss"].values, label="validation")
    a.set_xlabel(unit)
    a.set_ylabel("cross-entropy")
    a.legend()
    b.plot(epoch, 100 * traces["train_accuracy"].values, label="train")
    if np.any(np.isfinite(traces["validation_accuracy"].values)):
        b.plot(epoch, 100 * traces["validation_accuracy"].values, label="validation")
    b.set_xlabel(unit)
    b.set_ylabel("accuracy (%)")
    b.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _learning_jobs(traces, rule: str) -> list:
    """The learning figures a run's traces allow: an on-chip run's (``on_chip_*`` variables:
    accuracy and cost against simulated time and writes, junction trajectories against
    simulated time, writes per junction; :mod:`rfemu.learning.local.report`), else the learning
    curve per epoch and the followed junctions per epoch; and the in-situ writes per junction."""
    from rfemu.learning.local import report
    jobs = []
    if "on_chip_accuracy" in traces:
        jobs.append(("learning_curve.png", lambda: report.learning_curve_figure(traces, "on_chip", rule=rule)))
        if traces.sizes.get("on_chip_followed"):
            jobs.append(("resonance_trajectories.png", lambda: report.trajectories_figure(traces, "on_chip")))
        jobs.append(("writes_per_junction.png", lambda: report.writes_histogram_figure(traces, "on_chip")))
    elif "train_loss" in traces:
        jobs.append(("learning_curve.png", lambda: learning_curve(traces, rule)))
        if "snapshot_resonance_frequency" in traces:
            jobs.append(("resonance_trajectories.png", lambda: resonance_trajectories(traces)))
    if "in_situ_writes_per_junction" in traces:
        jobs.append(("in_situ_writes_per_junction.png",
                     lambda: report.writes_histogram_figure(traces, "in_situ")))
    return jobs


def confusion_matrix(traces, metrics: dict | None = None):
    """Test samples by true (rows) and predicted (columns) class."""
    plt = _plt()
    m = traces["confusion"].values
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * m.shape[0] + 2, 1.2 + 0.45 * m.shape[0] + 1))
    im = ax.imshow(m, cmap="Blues")
    k = m.shape[0]
    if k <= 12:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    if "class_name" in traces and k <= 20:
        names = [str(v) for v in traces["class_name"].values]
        ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 2 else 0,
                      fontsize=7)
        ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = np.trace(m) / max(m.sum(), 1)
    ax.set_title(f"test confusion matrix (compiled engine), accuracy {100 * acc:.2f} %",
                 fontsize=8)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def resonance_trajectories(traces):
    """Followed junctions' resonance frequencies after each epoch (snapshot 0: before training)."""
    plt = _plt()
    f = traces["snapshot_resonance_frequency"].values
    layers = traces["followed_layer"].values
    fig, ax = plt.subplots(figsize=(9, 4))
    cmap = plt.get_cmap("tab10")
    for k in range(f.shape[1]):
        ax.plot(traces["snapshot"].values, (f[:, k] - f[0, k]) / 1e6, lw=0.8,
                color=cmap(int(layers[k]) % 10), alpha=0.8)
    for l in sorted(set(int(v) for v in layers)):
        ax.plot([], [], color=cmap(l % 10), label=f"layer {l}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("f_r - f_r(before training)  (MHz)")
    ax.set_title(f"resonance frequencies of {f.shape[1]} junctions during training", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def event_outputs(traces):
    """Event engine: latency of each inference."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(traces["event_sample"].values, 1e9 * traces["event_latency"].values, "o")
    ax.set_xlabel("test sample")
    ax.set_ylabel("latency (ns)")
    ax.set_title("event engine: input applied to outputs settled", fontsize=9)
    fig.tight_layout()
    return fig


def neuron_settling(traces):
    """Event engine: the neurons' emitted power against physical time, one panel per layer
    (drawn by :func:`plot_neuron_settling`)."""
    import xarray as xr
    plt = _plt()
    names = sorted(str(v) for v in traces.data_vars if str(v).startswith("event_neuron_power_layer"))
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 3.5 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        layer = int(name[len("event_neuron_power_layer"):])
        da = traces[name]
        ds = xr.Dataset({f"neuron_power_layer{layer}": da.rename(
            {d: d[len("event_"):] for d in da.dims})})
        n = da.shape[1]
        plot_neuron_settling(ds, layer=layer, neurons=range(min(n, 10)), ax=ax)
        ax.set_title(f"event engine: neurons of layer {layer} over the test inferences "
                     f"({min(n, 10)} of {n})", fontsize=9)
    fig.tight_layout()
    return fig


def draw_all(traces, resolved: dict, metrics: dict, folder) -> list:
    """Draw every figure the traces allow into ``folder``; returns the paths written."""
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [("network_graph.png", lambda: network_graph(traces, resolved)),
            ("frequency_plan.png", lambda: frequency_plans(traces)),
            ("confusion_matrix.png", lambda: confusion_matrix(traces, metrics))]
    jobs += _learning_jobs(traces, str((resolved.get("training") or {}).get("rule", "backprop")))
    if "event_latency" in traces:
        jobs.append(("event_latency.png", lambda: event_outputs(traces)))
    settling = sorted(v for v in traces.data_vars if str(v).startswith("event_neuron_power_layer"))
    if settling:
        jobs.append(("neuron_settling.png", lambda: neuron_settling(traces)))
    paths = []
    for name, make in jobs:
        fig = make()
        path = folder / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_line_spectrum(engine, layer, time=None, ax=None, n_points=4000):
    """Event engine: picture of line ``layer``: its tones (Lorentzians of their linewidths, height = power), the
    resonance lines of its junctions (colour = series sign in their chain), on one frequency axis.

    ``time`` (s): the line as traced at that time (the engine needs ``trace=TraceConfig(...)``
    with "tones"; junctions from the "junctions" trace when recorded); default: now.
    """
    plt = _plt()

    medium = engine.lines[layer].medium
    tf, tp, tg = medium.tone_frequency, medium.tone_power, medium.tone_linewidth
    fr = medium.resonance_frequency.ravel()
    t_shown = engine.env.now
    if time is not None:
        ds = engine.traces()
        name = f"tone_frequency_line{layer}"
        if name not in ds:
            raise ValueError(f"no tone trace of line {layer}: record with TraceConfig(variables=('tones', ...))")
        times = ds[f"time_line{layer}"].values
        k = int(np.searchsorted(times, time, side="right")) - 1
        if k < 0:
            raise ValueError(f"time {time!r} s is before the first trace record of line {layer} ({times[0]!r} s)")
        tf = ds[name].values[k]
        tp = ds[f"tone_power_line{layer}"].values[k]
        tg = ds[f"tone_linewidth_line{layer}"].values[k]
        jn = f"junction_frequency_layer{layer}"
        if jn in ds:
            jt = ds[f"time_junctions{layer}"].values
            fr = ds[jn].values[max(int(np.searchsorted(jt, time, side="right")) - 1, 0)]
        t_shown = float(time)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4))
    hw = (medium.damping.ravel() * fr)
    sign = medium.sign.ravel()
    f_lo = min(fr.min() - 5 * hw.max(), tf.min())
    f_hi = max(fr.max() + 5 * hw.max(), tf.max())
    f = np.linspace(f_lo, f_hi, n_points)
    for s_value, colour, label in ((1.0, "tab:red", "junction, sign +1"), (-1.0, "tab:blue", "junction, sign -1")):
        sel = sign == s_value
        if np.any(sel):
            ax.vlines(fr[sel] / 1e6, 0, 1, transform=ax.get_xaxis_transform(), colors=colour,
                      alpha=min(1.0, 20.0 / sel.sum() + 0.05), lw=0.6, label=label)
    ax2 = ax.twinx()
    for fk, pk, gk in zip(tf, tp, tg):
        if pk <= 0:
            continue
        if gk > 0:
            ax2.plot(f / 1e6, pk * gk ** 2 / ((f - fk) ** 2 + gk ** 2) * 1e6, color="k", lw=0.8)
        else:
            ax2.vlines(fk / 1e6, 0, pk * 1e6, color="k", lw=1.2)
    ax2.set_ylabel("tone power (uW)")
    ax.set_xlabel("frequency (MHz)")
    ax.set_yticks([])
    ax.set_title(f"line {layer} at t = {t_shown * 1e6:.3f} us: {int(np.sum(np.asarray(tp) > 0))} tones, "
                 f"{fr.size} junctions")
    ax.legend(loc="upper left", fontsize=8)
    return ax.figure


def plot_neuron_settling(dataset, layer=0, neurons=None, ax=None):
    """Emitted power of neurons of ``layer`` against time (from an event engine's trace Dataset,
    :meth:`rfemu.engines.event.EventEngine.traces`)."""
    plt = _plt()

    name = f"neuron_power_layer{layer}"
    if name not in dataset:
        raise ValueError(f"the traces hold no {name!r} (record with TraceConfig(variables=('neurons',)))")
    da = dataset[name]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    cols = range(da.shape[1]) if neurons is None else neurons
    t = da[da.dims[0]].values * 1e9
    for c in cols:
        ax.step(t, da.values[:, c] * 1e6, where="post", lw=1, label=str(da[da.dims[1]].values[c]))
    ax.set_xlabel("time (ns)")
    ax.set_ylabel("emitted power (uW)")
    ax.set_title(f"neurons of layer {layer} settling")
    if len(list(cols)) <= 10:
        ax.legend(fontsize=7)
    return ax.figure
