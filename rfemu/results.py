"""Run folders: what ``rfemu run`` writes, written atomically, and read back by ``rfemu plot``.

A run folder holds::

    scenario.yaml    the resolved scenario (defaults filled in, SI units, the seed used)
    metrics.json     test_accuracy, train_accuracy, energy_per_inference_J, latency_s,
                     wall_time_s, the engine's counters, ...
    trace.nc         an xarray Dataset (netCDF via h5netcdf), units in each variable's attrs
    figures/*.png    drawn by :mod:`rfemu.plots`

Everything is first written into a hidden temporary folder beside the destination and then
renamed into place, so a run that is killed leaves no half-written folder.

This module also holds :func:`static_energy_and_latency`, the compiled engine's energy and
latency per inference computed from the devices' own formulas (docs/physics.md#energy); the event
engine reports its own.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = ["Result", "RunFolderError", "default_run_dir", "write_run_folder", "read_run_folder",
           "redraw_figures", "print_summary", "summary_table", "static_energy_and_latency",
           "SETTLING_TOLERANCE"]

SCENARIO_FILE = "scenario.yaml"
METRICS_FILE = "metrics.json"

#: relative deviation of an oscillator's power from its steady state at which it counts as settled
SETTLING_TOLERANCE = 1e-3


class RunFolderError(Exception):
    """A run folder that cannot be read or written."""


@dataclass
class Result:
    """What :func:`rfemu.run` returns.

    Attributes
    ----------
    metrics : dict
        As in ``metrics.json``.
    traces : xarray.Dataset
        As in ``trace.nc``.
    figures : list of Path
        The figures drawn (empty without a run folder or with ``record.figures: false``).
    run_dir : Path or None
        The run folder (None when nothing was written).
    scenario : rfemu.scenario.Scenario
        The validated scenario that ran.
    resolved : dict
        The resolved scenario (what ``scenario.yaml`` holds).
    graph : networkx.DiGraph or None
        The network after training (tuning states written back).
    """

    metrics: dict
    traces: Any
    figures: list = field(default_factory=list)
    run_dir: Optional[Path] = None
    scenario: Any = None
    resolved: dict = field(default_factory=dict)
    graph: Any = None


# --------------------------------------------------------------------------------------------
# writing and reading
# --------------------------------------------------------------------------------------------


def _replace_dir(tmp: Path, dest: Path) -> None:
    """Put the finished folder ``tmp`` at ``dest`` by renames (an old ``dest`` is moved aside
    beside it first, then removed), so ``dest`` is never half-written."""
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{os.getpid()}"
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

def default_run_dir(name: str, base="runs") -> Path:
    """``runs/NAME-YYYYmmdd-HHMMSS`` (with ``-2``, ``-3``... if that exists already)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(base) / f"{name}-{stamp}"
    k = 2
    while path.exists():
        path = Path(base) / f"{name}-{stamp}-{k}"
        k += 1
    return path


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean_metrics(metrics: dict) -> dict:
    """NaN/inf are not JSON: write them as null."""
    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (float, np.floating)) and not math.isfinite(float(v)):
            return None
        return v
    return clean(metrics)


def write_run_folder(run_dir, resolved_yaml: str, metrics: dict, traces, figures_dir="figures",
                     trace_file="trace.nc", draw=None) -> list:
    """Write a run folder atomically; returns the figure paths (inside ``run_dir``).

    Parameters
    ----------
    run_dir : path
        The destination. An existing folder is replaced only once the new one is complete.
    resolved_yaml : str
        Text of the resolved scenario.
    metrics : dict
    traces : xarray.Dataset
    figures_dir, trace_file : str
        Relative paths inside the folder (validated by the scenario schema).
    draw : callable, optional
        ``draw(folder) -> list of paths`` draws the figures into ``folder``.
    """
    run_dir = Path(run_dir)
    parent = run_dir.parent if str(run_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{run_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        (tmp / SCENARIO_FILE).write_text(resolved_yaml, encoding="utf-8")
        (tmp / METRICS_FILE).write_text(
            json.dumps(_clean_metrics(metrics), indent=2, sort_keys=True, default=_json_default)
            + "\n", encoding="utf-8")
        trace_path = tmp / trace_file
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        traces.to_netcdf(trace_path, engine="h5netcdf")
        figures = []
        if draw is not None:
            fig_dir = tmp / figures_dir
            fig_dir.mkdir(parents=True, exist_ok=True)
            figures = [run_dir / Path(p).relative_to(tmp) for p in draw(fig_dir)]
        _replace_dir(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return figures


def read_run_folder(run_dir):
    """(resolved scenario dict, metrics dict, traces Dataset) of a finished run folder."""
    import xarray as xr
    import yaml
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError("not a folder")
    missing = [n for n in (SCENARIO_FILE, METRICS_FILE) if not (run_dir / n).is_file()]
    if missing:
        raise RunFolderError(f"not a run folder (missing {', '.join(missing)})")
    resolved = yaml.safe_load((run_dir / SCENARIO_FILE).read_text(encoding="utf-8"))
    metrics = json.loads((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    trace_file = (resolved.get("record") or {}).get("trace_file", "trace.nc")
    trace_path = run_dir / trace_file
    if not trace_path.is_file():
        raise RunFolderError(f"missing {trace_file}")
    with xr.open_dataset(trace_path, engine="h5netcdf") as ds:
        traces = ds.load()
    return resolved, metrics, traces


def redraw_figures(run_dir) -> list:
    """Draw the figures of a finished run folder again (``rfemu plot``); returns their paths."""
    from rfemu import plots
    run_dir = Path(run_dir)
    resolved, metrics, traces = read_run_folder(run_dir)
    figures_dir = (resolved.get("record") or {}).get("figures_dir", "figures")
    p = Path(figures_dir)
    if p.is_absolute() or ".." in p.parts:
        raise RunFolderError(f"figures_dir {figures_dir!r} leaves the run folder")
    out = run_dir / figures_dir
    tmp = run_dir / f".{p.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        names = [Path(f).name for f in plots.draw_all(traces, resolved, metrics, tmp)]
        out.parent.mkdir(parents=True, exist_ok=True)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / n for n in names]


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------

def _fmt(value, unit=""):
    if value is None:
        return "-"
    if isinstance(value, float):
        if unit == "%":
            return f"{100 * value:.2f} %"
        if unit:
            return _si(value, unit)
        return f"{value:.4g}"
    return str(value)


_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G")]


def _si(value: float, unit: str) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s:
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"


SUMMARY_ROWS = [("engine", "engine", ""), ("test_accuracy", "test accuracy", "%"),
                ("train_accuracy", "train accuracy", "%"),
                ("energy_per_inference_J", "energy / inference", "J"),
                ("latency_s", "latency", "s"), ("n_junctions", "synapse junctions", ""),
                ("n_oscillators", "oscillators", ""), ("epochs_run", "epochs", ""),
                ("wall_time_s", "wall time", "s")]


def summary_table(metrics: dict) -> str:
    """A short two-column table of the main metrics."""
    rows = []
    for key, label, unit in SUMMARY_ROWS:
        if key not in metrics:
            continue
        if key == "test_accuracy" and metrics.get("engine") == "event":
            rows.append((f"test accuracy (event, {metrics.get('event_samples')} samples)",
                         _fmt(metrics[key], unit)))
            rows.append(("test accuracy (compiled, all)",
                         _fmt(metrics.get("compiled_test_accuracy"), unit)))
            continue
        rows.append((label, _fmt(metrics.get(key), unit)))
    width = max(len(r[0]) for r in rows) if rows else 0
    return "\n".join(f"  {label:<{width}}  {value}" for label, value in rows)


def print_summary(result: Result) -> None:
    """Print the run folder and the summary table."""
    if result.run_dir is not None:
        print(f"run folder: {result.run_dir}")
    print(summary_table(result.metrics))


# --------------------------------------------------------------------------------------------
# energy and latency of the compiled engine (from the devices' formulas)
# --------------------------------------------------------------------------------------------

def static_energy_and_latency(network, forward, tolerance: float = SETTLING_TOLERANCE,
                              energy_model=None, min_relaxation_fraction: float = 0.02) -> dict:
    """Energy per inference and latency of a batch run by the compiled engine.

    The event engine integrates its energy over physical time (:mod:`rfemu.study.energy`); this
    is the static counterpart with the same kinds and the same :class:`EnergyModel`, every
    formula from :mod:`rfemu.devices.oscillator` and :mod:`rfemu.devices.resonator`:

    - latency of a sample, as the event engine times it: for each layer, the spin-diode
      response time of its slowest junction, ``1 / (2 pi D_r)`` with the half width
      D_r = alpha f_r of :func:`rfemu.devices.resonator.half_width`; then, for each hidden layer,
      the time its slowest oscillator takes for its power to settle within ``tolerance``
      (relative) of the steady state, ``ln(1 / tolerance) / rate`` with the device's
      ``relaxation_rate(I)`` (docs/physics.md#relaxation-rate: a deviation of p decays as exp(-2 G_G |xi - 1| t)),
      floored at ``min_relaxation_fraction * 2 G_G`` like the event engine's (critical slowing
      down at threshold is cut there); layers settle one after the other, so the times add;
    - powers of a sample, held for that latency: ``oscillator``, the neurons' Joule power
      ``R I^2`` (current clipped to [0, max_current]); ``junction``, the fraction
      ``junction_absorption`` of the power of every tone passing each junction (times its power
      gain); ``amplifier``, what the amplifiers spend restoring it (``junction /
      amplifier_efficiency``); ``write`` is 0 (no write during an inference).

    Parameters
    ----------
    network : rfemu.network.CompiledNetwork
    forward : ForwardResult
        From ``CompiledEngine.forward(..., keep=True)``.
    tolerance : float
    energy_model : rfemu.study.energy.EnergyModel, optional

    Returns
    -------
    dict
        ``latency_s`` and ``energy_per_inference_J`` (medians over the batch), the median
        energies by kind
        (``oscillator_J``, ``junction_J``, ``amplifier_J``, ``write_J``) and
        ``settling_tolerance``.
    """
    from rfemu.devices import oscillator as osc
    from rfemu.devices import resonator as res
    from rfemu.study.energy import EnergyModel
    model = energy_model or EnergyModel()
    states = forward.layers
    if not states:
        raise ValueError("forward must be run with keep=True")
    n = states[0].tone_power.shape[0]
    latency = np.zeros(n)
    joule = np.zeros(n)
    absorbed = np.zeros(n)
    log_tol = math.log(1.0 / tolerance)
    for layer, state in zip(network.layers, states):
        # the junctions' rectified voltage follows the drive as their resonance responds:
        # time 1 / (2 pi D_r), D_r = alpha f_r (the resonator's half width)
        half_width = np.asarray(res.half_width(layer.resonance_frequency, layer.damping))
        latency += 1.0 / (2.0 * math.pi * float(half_width.min()))
        absorbed += model.junction_absorption * float(np.sum(layer.power_gain)) * \
            state.tone_power.sum(axis=1)
        if not layer.is_hidden:
            continue
        params = layer.oscillator
        current = np.clip(state.current, 0.0, np.asarray(params.max_current, dtype=float))
        floor = min_relaxation_fraction * 2.0 * np.asarray(params.damping_rate, dtype=float)
        rate = np.maximum(np.asarray(osc.relaxation_rate(current, params), dtype=float), floor)
        latency += (log_tol / rate).max(axis=1)
        joule += (np.asarray(params.resistance, dtype=float) * current ** 2).sum(axis=1)
    amplifier = absorbed / model.amplifier_efficiency
    energy = {"oscillator_J": joule * latency, "junction_J": absorbed * latency,
              "amplifier_J": amplifier * latency}
    total = sum(energy.values())
    out = {"latency_s": float(np.median(latency)),
           "energy_per_inference_J": float(np.median(total))}
    out.update({k: float(np.median(v)) for k, v in energy.items()})
    out["write_J"] = 0.0
    out["settling_tolerance"] = tolerance
    out["energy_model"] = "rfemu.results.static_energy_and_latency"
    return out
