"""Figures of a sweep, drawn from ``sweep.nc`` alone (``rfemu plot SWEEP_DIR`` redraws them).

- ``METRIC_vs_AXIS.png``: the metric against one axis: the mean over repeats (a line per value
  of the next other axis, the axes after it averaged), the spread over
  repeats as a band (min to max), and every repeat as a dot;
- ``METRIC_heatmap.png`` (two grid axes): the mean over repeats on the grid of the two axes;
- random sampling: the metric against each axis, one dot per run.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["draw_sweep"]


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _axes(ds) -> list:
    section = json.loads(ds.attrs["sweep"])
    return [(a.get("name") or a["key"], a) for a in section["axes"]], section


def _x(ds, label):
    values = ds[label].values
    if values.dtype.kind in "fiu":
        return values.astype(float), None
    return np.arange(len(values)), [str(v) for v in values]


def _log_spaced(x) -> bool:
    """Whether values are spaced more evenly on a log scale than on a linear one."""
    x = np.sort(np.asarray(x, dtype=float))
    if len(x) < 3 or np.any(x <= 0):
        return False

    def unevenness(v):
        d = np.diff(v)
        return np.std(d) / np.mean(d)
    return unevenness(np.log(x)) < unevenness(x)


def _vs_axis(plt, ds, metric, label, spec, others):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    x, ticks = _x(ds, label)
    da = ds[metric]
    if others and ds.sizes[others[0]] <= 8:     # a line per value of the next axis,
        rest = others[1:]                       # the axes after it averaged
        groups = [(f"{others[0]} = {v:.3g}" if isinstance(v, float) else f"{others[0]} = {v}",
                   da.isel({others[0]: i}).mean(rest) if rest else da.isel({others[0]: i}))
                  for i, v in enumerate(ds[others[0]].values.tolist())]
    else:
        groups = [(None, da.mean(others) if others else da)]
    for name, g in groups:
        g = g.transpose(label, "repeat").values
        mean = np.nanmean(g, axis=1) if np.isfinite(g).any() else np.full(len(x), np.nan)
        line, = ax.plot(x, mean, "o-", label=name)
        if g.shape[1] > 1:
            ax.fill_between(x, np.nanmin(g, axis=1), np.nanmax(g, axis=1), alpha=0.2,
                            color=line.get_color(), lw=0)
            for r in range(g.shape[1]):
                ax.plot(x, g[:, r], ".", color=line.get_color(), alpha=0.5, ms=4)
    if ticks is not None:
        ax.set_xticks(x, ticks)
    elif spec.get("log") is not None or _log_spaced(x):
        from matplotlib.ticker import NullFormatter
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{label} ({spec['key']})" if spec.get("key") not in (None, label) else label)
    ax.set_ylabel(metric)
    n = ds.sizes["repeat"]
    ax.set_title(f"{metric}: mean over {n} repeat{'s' if n > 1 else ''}"
                 + (" (band: min to max)" if n > 1 else ""), fontsize=9)
    if groups[0][0] is not None:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _heatmap(plt, ds, metric, labels):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    mean = ds[metric].mean("repeat").transpose(*labels).values
    (x, xt), (y, yt) = _x(ds, labels[1]), _x(ds, labels[0])
    im = ax.imshow(mean, origin="lower", aspect="auto", cmap="viridis")
    if mean.size <= 144:                        # the values written in the cells
        for (i, j), v in np.ndenumerate(mean):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7,
                    color="w" if v < np.nanmean(mean) else "k")
    ax.set_xticks(range(len(x)), xt or [f"{v:.3g}" for v in x], rotation=45, fontsize=7)
    ax.set_yticks(range(len(y)), yt or [f"{v:.3g}" for v in y], fontsize=7)
    ax.set_xlabel(labels[1])
    ax.set_ylabel(labels[0])
    fig.colorbar(im, ax=ax, label=f"{metric} (mean over repeats)")
    fig.tight_layout()
    return fig


def _scatter(plt, ds, metric, label):
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    x = np.repeat(ds[label].values[:, None], ds.sizes["repeat"], axis=1)
    ax.plot(x.ravel(), ds[metric].values.ravel(), ".", alpha=0.6)
    ax.set_xlabel(label)
    ax.set_ylabel(metric)
    fig.tight_layout()
    return fig


def draw_sweep(ds, folder) -> list:
    """Draw the sweep's figures into ``folder``; returns the paths written.

    The metrics drawn are the sweep section's ``figures`` that ``ds`` holds.
    """
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    axes, section = _axes(ds)
    metrics = [m for m in section.get("figures", []) if m in ds.data_vars]
    labels = [label for label, _ in axes]
    jobs = []
    for metric in metrics:
        for label, spec in axes:
            if section["sampling"] == "random":
                jobs.append((f"{metric}_vs_{label}.png",
                             lambda m=metric, l=label: _scatter(plt, ds, m, l)))
            else:
                others = [o for o in labels if o != label]
                jobs.append((f"{metric}_vs_{label}.png",
                             lambda m=metric, l=label, s=spec, o=others:
                             _vs_axis(plt, ds, m, l, s, o)))
        if section["sampling"] == "grid" and len(labels) == 2:
            jobs.append((f"{metric}_heatmap.png", lambda m=metric: _heatmap(plt, ds, m, labels)))
    paths = []
    for name, make in jobs:
        fig = make()
        path = folder / name
        tmp = folder / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        tmp.replace(path)
        paths.append(path)
    return paths


def redraw(folder) -> list:
    """Redraw the figures of a sweep folder from its ``sweep.nc``."""
    import xarray as xr
    folder = Path(folder)
    with xr.open_dataset(folder / "sweep.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    return draw_sweep(ds, folder / "figures")
