"""Observability of an event run: what it records (:class:`TraceConfig`), the recorder
(:class:`Tracer`, an xarray Dataset with units) and :func:`save_traces` (netCDF)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TRACE_VARIABLES", "TraceConfig", "Tracer", "save_traces"]


TRACE_VARIABLES = ("tones", "chains", "neurons", "junctions")


@dataclass(frozen=True)
class TraceConfig:
    """What an :class:`EventEngine` records.

    Parameters
    ----------
    variables : tuple of str
        Any of ``"tones"`` (frequency, power, linewidth of every tone of each line, at each line
        delivery), ``"chains"`` (chain voltages at each delivery), ``"neurons"`` (each neuron's
        emitted power and frequency), ``"junctions"`` (resonance frequencies, at each write).
    every : float
        Decimation, s: records of one series closer than this to the previous kept record
        replace it (sample-and-hold: the latest state is always kept). 0 keeps every event.
    layers : tuple of int, optional
        Only these layers (default all).
    """

    variables: tuple = TRACE_VARIABLES
    every: float = 0.0
    layers: tuple | None = None

    def __post_init__(self):
        bad = [v for v in self.variables if v not in TRACE_VARIABLES]
        if bad:
            raise ValueError(f"TraceConfig.variables must be among {TRACE_VARIABLES}, got {bad!r}")
        if not (self.every >= 0 and math.isfinite(self.every)):
            raise ValueError(f"TraceConfig.every must be finite and >= 0 s, got {self.every!r}")


class Tracer:
    """Records the chosen variables of an event run (called by the engine at its event points)."""

    def __init__(self, config, network):
        self.config = config
        self.network = network
        self.layers = set(range(len(network.layers)) if config.layers is None else config.layers)
        self.want = set(config.variables)
        self.series = {}     # key -> list of (t, payload)
        self.initial_junctions = {l: (cl.base_frequency + cl.tuning).ravel().copy()
                                  for l, cl in enumerate(network.layers)}

    def _keep(self, key, t, payload):
        # within one decimation window keep its first record and its latest one
        rows = self.series.setdefault(key, [])
        every = self.config.every
        if every > 0 and len(rows) > 1 and t - rows[-2][0] < every:
            rows[-1] = (t, payload)
        else:
            rows.append((t, payload))

    def line(self, t, layer, medium, v):
        if layer not in self.layers:
            return
        if "tones" in self.want:
            self._keep(("tones", layer), t, (medium.tone_frequency.copy(), medium.tone_power.copy(),
                                              medium.tone_linewidth.copy()))
        if "chains" in self.want:
            self._keep(("chains", layer), t, np.array(v, copy=True))

    def neuron(self, t, n, p, f):
        if n.layer in self.layers and "neurons" in self.want:
            self.series.setdefault(("neurons", n.layer), []).append((t, (n.chain, p, f)))

    def junctions(self, t, layer, flat, f):
        if layer in self.layers and "junctions" in self.want:
            self.series.setdefault(("junctions", layer), []).append((t, (np.array(flat), np.array(f))))

    def state(self) -> dict:
        """What has been recorded so far as plain arrays (:meth:`load_state` puts it back: a run
        resumed from :mod:`rfemu.engines.event.state` records on from there)."""
        out = []
        for (variable, layer), rows in self.series.items():
            entry = {"variable": variable, "layer": int(layer), "t": np.array([r[0] for r in rows], dtype=float)}
            payload = [r[1] for r in rows]
            if variable == "tones":
                for k, name in enumerate(("frequency", "power", "linewidth")):
                    entry[name] = np.array([p[k] for p in payload], dtype=float).reshape(len(rows), -1)
            elif variable == "chains":
                entry["voltage"] = np.array(payload, dtype=float).reshape(len(rows), -1)
            elif variable == "neurons":
                entry["chain"] = np.array([p[0] for p in payload], dtype=np.int64)
                entry["power"] = np.array([p[1] for p in payload], dtype=float)
                entry["frequency"] = np.array([p[2] for p in payload], dtype=float)
            else:
                entry["flat"] = [np.asarray(p[0]) for p in payload]
                entry["frequency"] = [np.asarray(p[1]) for p in payload]
            out.append(entry)
        return {"series": out}

    def load_state(self, state: dict) -> None:
        """Replace the records by those :meth:`state` saved."""
        self.series = {}
        for entry in state["series"]:
            variable, t = entry["variable"], np.asarray(entry["t"]).tolist()
            if variable == "tones":
                payload = list(zip(*(list(np.asarray(entry[name])) for name in ("frequency", "power", "linewidth"))))
            elif variable == "chains":
                payload = list(np.asarray(entry["voltage"]))
            elif variable == "neurons":
                payload = list(zip(np.asarray(entry["chain"]).tolist(), np.asarray(entry["power"]).tolist(),
                                   np.asarray(entry["frequency"]).tolist()))
            else:
                payload = list(zip(entry["flat"], entry["frequency"]))
            self.series[(variable, int(entry["layer"]))] = list(zip(t, payload))

    def dataset(self, t_now):
        """An xarray Dataset of every recorded series (units in each variable's attrs)."""
        import xarray as xr

        data, coords = {}, {}
        for l in sorted(self.layers):
            cl = self.network.layers[l]
            tone_ids = [str(n) for n in cl.tone_nodes]
            chain_ids = [str(n) for n in cl.chain_nodes]
            rows = self.series.get(("tones", l), [])
            if rows:
                td = f"time_line{l}"
                coords[td] = ((td,), np.array([r[0] for r in rows]), {"units": "s"})
                coords[f"tone_line{l}"] = ((f"tone_line{l}",), tone_ids)
                for k, (name, unit) in enumerate((("tone_frequency", "Hz"), ("tone_power", "W"),
                                                  ("tone_linewidth", "Hz"))):
                    data[f"{name}_line{l}"] = ((td, f"tone_line{l}"), np.array([r[1][k] for r in rows]),
                                               {"units": unit, "long_name": f"{name.replace('_', ' ')} on line {l}"})
            rows = self.series.get(("chains", l), [])
            if rows:
                td = f"time_chains{l}"
                coords[td] = ((td,), np.array([r[0] for r in rows]), {"units": "s"})
                coords[f"chain_layer{l}"] = ((f"chain_layer{l}",), chain_ids)
                data[f"chain_voltage_layer{l}"] = ((td, f"chain_layer{l}"), np.array([r[1] for r in rows]),
                                                   {"units": "V", "long_name": f"chain voltages of layer {l}"})
            rows = self.series.get(("neurons", l), [])
            if rows and cl.is_hidden:
                times, p, f = self._hold(rows, cl.n_chains, cl.channel_frequency)
                td = f"time_neurons{l}"
                coords[td] = ((td,), times, {"units": "s"})
                coords[f"neuron_layer{l}"] = ((f"neuron_layer{l}",), [str(n) for n in cl.output_nodes])
                data[f"neuron_power_layer{l}"] = ((td, f"neuron_layer{l}"), p,
                                                  {"units": "W", "long_name": f"emitted power of the neurons of layer {l}"})
                data[f"neuron_frequency_layer{l}"] = ((td, f"neuron_layer{l}"), f,
                                                      {"units": "Hz", "long_name": f"emitted frequency, layer {l}"})
            if "junctions" in self.want:
                rows = self.series.get(("junctions", l), [])
                state = self.initial_junctions[l].copy()
                times, values = [0.0], [state.copy()]
                for t, (flat, f) in rows:
                    state[flat] = f
                    times.append(t)
                    values.append(state.copy())
                td = f"time_junctions{l}"
                coords[td] = ((td,), np.array(times), {"units": "s"})
                coords[f"junction_layer{l}"] = ((f"junction_layer{l}",),
                                                [str(n) for row in cl.resonator_nodes for n in row])
                data[f"junction_frequency_layer{l}"] = ((td, f"junction_layer{l}"), np.array(values),
                                                        {"units": "Hz", "long_name": f"resonance frequencies, layer {l}"})
        ds = xr.Dataset({k: xr.Variable(*v) for k, v in data.items()},
                        coords={k: xr.Variable(*v) for k, v in coords.items()})
        ds.attrs["time_end_s"] = float(t_now)
        ds.attrs["decimation_s"] = float(self.config.every)
        return ds

    def _hold(self, rows, n, f0):
        """Sample-and-hold of per-neuron emissions on the union of their times (decimated)."""
        times, p_rows, f_rows = [], [], []
        p = np.zeros(n)
        f = np.array(f0, dtype=float)
        every = self.config.every
        for t, (c, pv, fv) in rows:
            p[c], f[c] = pv, fv
            if times and (t == times[-1] or (every > 0 and t - times[-1] < every and len(times) > 1)):
                p_rows[-1], f_rows[-1] = p.copy(), f.copy()
                continue
            times.append(t)
            p_rows.append(p.copy())
            f_rows.append(f.copy())
        return np.array(times), np.array(p_rows), np.array(f_rows)


def save_traces(dataset, path):
    """Write a trace Dataset to netCDF (h5netcdf engine), atomically (temp file, then rename)."""
    import os

    path = os.fspath(path)
    tmp = path + ".tmp"
    dataset.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return path
