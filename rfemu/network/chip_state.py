"""Chip-state files: the programmed chip's state, written by every run and read back by a scenario.

A chip state is a set of arrays named ``layer{l}_{quantity}`` (``l`` = resonator layer):

========================  ========  ============================================================
quantity                  shape     meaning (SI)
========================  ========  ============================================================
resonance_frequency       (C, J)    Hz, f_r = f_base + s of each junction
base_frequency            (C, J)    Hz, as fabricated (variability drawn)
tuning                    (C, J)    Hz, the non-volatile tuning state s
tuning_min, tuning_max    (C, J)    Hz, its window
damping, sensitivity,     (C, J)    the junction's parameters as drawn (V/W for the sensitivity)
antisymmetric, symmetric,
power_gain, sign
write_count               (C, J)    writes each junction took when programmed
stuck                     (C, J)    1 where a junction is stuck (endurance used up), else 0
bias_voltage              (C,)      V, the chain's series bias
transconductance          (C,)      A/V, chain -> oscillator (hidden layers)
channel_frequency,        (C,)      Hz, the neurons' channels and tone half widths
neuron_linewidth
source_frequency,         (T,)      layer 0 only: the input sources' carriers, half widths and
source_linewidth,                   powers for a feature of 1 (Hz, Hz, W)
source_max_power
oscillator_{field}        (C,)      each :class:`~rfemu.devices.oscillator.OscillatorParameters`
                                    field of the layer's neurons, as drawn
========================  ========  ============================================================

:func:`chip_state_dataset` makes an :class:`xarray.Dataset` of them (``chip_state.nc`` in a run
folder, units in each variable's ``units``); :func:`read_chip_state` reads such a netCDF file or an
``.npz`` made elsewhere (``np.savez("chip.npz", layer0_resonance_frequency=..., layer0_bias_voltage=...)``);
:func:`apply_chip_state` writes what a file holds into a graph built from the same description,
so that both engines start from it. An ``.npz`` may hold only resonance frequencies and biases:
the tuning state becomes ``f_r - f_base`` of the graph's junctions, which must lie in their window.
"""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import numpy as np

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.network import schema as S

__all__ = ["ChipStateError", "JUNCTION_ATTRIBUTES", "chip_state_dataset", "read_chip_state",
           "apply_chip_state", "resolve_path", "CHIP_STATE_FILE"]

#: the chip-state file of a run folder
CHIP_STATE_FILE = "chip_state.nc"

#: per-junction quantities stored as graph node attributes (name in the file -> attribute)
JUNCTION_ATTRIBUTES = {
    "base_frequency": S.BASE_FREQUENCY, "tuning": S.TUNING, "tuning_min": S.TUNING_MIN,
    "tuning_max": S.TUNING_MAX, "damping": S.DAMPING, "sensitivity": S.SENSITIVITY,
    "antisymmetric": S.ANTISYMMETRIC, "symmetric": S.SYMMETRIC, "power_gain": S.POWER_GAIN,
}
_UNITS = {"resonance_frequency": "Hz", "base_frequency": "Hz", "tuning": "Hz", "tuning_min": "Hz",
          "tuning_max": "Hz", "damping": "1", "sensitivity": "V/W", "antisymmetric": "1",
          "symmetric": "1", "power_gain": "1", "sign": "1", "write_count": "1", "stuck": "1",
          "bias_voltage": "V", "transconductance": "A/V", "channel_frequency": "Hz",
          "neuron_linewidth": "Hz", "source_frequency": "Hz", "source_linewidth": "Hz",
          "source_max_power": "W"}
_NAME = re.compile(r"^layer(\d+)_(\w+)$")


class ChipStateError(ValueError):
    """A chip-state file that cannot be read or does not fit the network (says which array)."""


def chip_state_dataset(G, network, frequency_states=None):
    """The chip's state as an :class:`xarray.Dataset` (see the module docstring).

    Parameters
    ----------
    G : networkx.DiGraph
        The graph (neurons' tone half widths are read from it, as drawn).
    network : rfemu.network.CompiledNetwork
        Its compiled arrays, holding the programmed tuning states and biases.
    frequency_states : list of FrequencyState, optional
        One per layer, as programmed: their write counters and stuck flags (zeros without).
    """
    import xarray as xr

    data = {}
    for layer in network.layers:
        l = layer.index
        cj, c = (f"chain_{l}", f"junction_{l}"), (f"chain_{l}",)

        def put(name, dims, values, _l=l):
            data[f"layer{_l}_{name}"] = (dims, np.asarray(values), {"units": _UNITS.get(name, "1")})

        put("resonance_frequency", cj, layer.resonance_frequency)
        for name in JUNCTION_ATTRIBUTES:
            put(name, cj, getattr(layer, name))
        put("sign", cj, layer.sign)
        state = frequency_states[l] if frequency_states is not None else None
        shape = layer.base_frequency.shape
        put("write_count", cj, np.zeros(shape, np.int64) if state is None
            else np.asarray(state.writes).reshape(shape))
        put("stuck", cj, np.zeros(shape, np.int8) if state is None
            else np.asarray(state.stuck).reshape(shape).astype(np.int8))
        put("bias_voltage", c, layer.bias_voltage)
        if l == 0:                       # the input sources, as drawn
            put("source_frequency", (f"tone_{l}",), layer.tone_frequency)
            put("source_linewidth", (f"tone_{l}",), [G.nodes[n][S.LINEWIDTH] for n in network.source_nodes])
            put("source_max_power", (f"tone_{l}",), network.source_max_power)
        if layer.is_hidden:
            put("transconductance", c, layer.transconductance)
            put("channel_frequency", c, layer.channel_frequency)
            put("neuron_linewidth", c, [G.nodes[v][S.LINEWIDTH] for v in layer.output_nodes])
            for f in dataclasses.fields(OscillatorParameters):
                put(f"oscillator_{f.name}", c, getattr(layer.oscillator, f.name))
    return xr.Dataset(data, attrs={"n_layers": len(network.layers),
                                   "sizes": list(network.sizes),
                                   "description": "rfemu chip state (rfemu.network.chip_state)"})


def resolve_path(value, base_dir=None) -> Path:
    """A scenario's ``network.chip_state``: ``~`` and ``$VARS`` expanded, relative to ``base_dir``."""
    p = Path(os.path.expandvars(os.path.expanduser(str(value))))
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def read_chip_state(path) -> dict:
    """``{layer: {quantity: array}}`` from a chip-state netCDF file or an ``.npz``."""
    path = Path(path)
    arrays = {}
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: np.asarray(npz[k]) for k in npz.files}
        else:
            import xarray as xr
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                arrays = {k: np.asarray(v.values) for k, v in ds.data_vars.items()}
    except (OSError, ValueError, KeyError) as exc:
        raise ChipStateError(f"{path}: cannot be read as a chip state ({type(exc).__name__}: {exc}); "
                             "expected a chip_state.nc of a run folder or an .npz of "
                             "layer{l}_resonance_frequency / layer{l}_bias_voltage arrays") from None
    out = {}
    for key, value in arrays.items():
        m = _NAME.match(key)
        if not m:
            raise ChipStateError(f"{path}: array {key!r} is not named layer<l>_<quantity> "
                                 "(e.g. layer0_resonance_frequency, layer0_bias_voltage)")
        if not np.all(np.isfinite(value.astype(float))):
            raise ChipStateError(f"{path}: {key} holds values that are not finite")
        out.setdefault(int(m.group(1)), {})[m.group(2)] = value
    if not out:
        raise ChipStateError(f"{path}: holds no layer<l>_<quantity> array")
    return out


def apply_chip_state(G, state: dict, network=None) -> None:
    """Write a chip state (:func:`read_chip_state`) into the graph ``G``, in place.

    ``network`` is ``compile_graph(G)`` (computed when not given): it gives each array's expected
    shape and the nodes in array order. Junction parameters, tuning states, biases, channels and
    neuron parameters present in ``state`` replace the graph's; a ``resonance_frequency`` without a
    ``tuning`` sets ``tuning = resonance_frequency - base_frequency``. Write counts and stuck flags
    are records, not applied. Raises :class:`ChipStateError` naming the array that does not fit.
    """
    from rfemu.network.compile import compile_graph

    network = network if network is not None else compile_graph(G)
    layers = {layer.index: layer for layer in network.layers}
    extra = sorted(set(state) - set(layers))
    if extra:
        raise ChipStateError(f"the chip state has layer{extra[0]} arrays but the network has "
                             f"{len(layers)} resonator layers (sizes {list(network.sizes)})")
    for l, arrays in state.items():
        _apply_layer(G, layers[l], arrays)


def _fit(arrays, l, name, shape):
    value = np.asarray(arrays[name], dtype=float)
    if value.shape != tuple(shape):
        raise ChipStateError(f"layer{l}_{name} has shape {value.shape}, the network's layer {l} "
                             f"needs {tuple(shape)}")
    return value


def _apply_layer(G, layer, arrays) -> None:
    l, cj = layer.index, layer.base_frequency.shape
    known = ({"resonance_frequency", "sign", "write_count", "stuck", "bias_voltage", "transconductance",
              "channel_frequency", "neuron_linewidth"} | set(_SOURCE_ATTRIBUTES) | set(JUNCTION_ATTRIBUTES)
             | {f"oscillator_{f.name}" for f in dataclasses.fields(OscillatorParameters)})
    unknown = sorted(set(arrays) - known)
    if unknown:
        raise ChipStateError(f"layer{l}_{unknown[0]} is not a chip-state quantity (expected "
                             "resonance_frequency, tuning, bias_voltage, ...)")
    values = {name: _fit(arrays, l, name, cj) for name in arrays
              if name in JUNCTION_ATTRIBUTES or name in ("resonance_frequency", "sign")}
    base = values.get("base_frequency", layer.base_frequency)
    if "resonance_frequency" in values and "tuning" not in values:
        values["tuning"] = values["resonance_frequency"] - base
        low = values.get("tuning_min", layer.tuning_min)
        high = values.get("tuning_max", layer.tuning_max)
        outside = np.argwhere((values["tuning"] < low - 1e-6) | (values["tuning"] > high + 1e-6))
        if len(outside):
            c, j = outside[0]
            raise ChipStateError(
                f"layer{l}_resonance_frequency[{c}, {j}] = {values['resonance_frequency'][c, j]:.6g} Hz "
                f"is outside junction ({c}, {j})'s reach [{base[c, j] + low[c, j]:.6g}, "
                f"{base[c, j] + high[c, j]:.6g}] Hz (f_base plus the tuning window); "
                f"{len(outside)} junction(s) of layer {l} are")
        values["tuning"] = np.clip(values["tuning"], low, high)
    for c, row in enumerate(layer.resonator_nodes):
        for j, node in enumerate(row):
            for name, attr in JUNCTION_ATTRIBUTES.items():
                if name in values:
                    G.nodes[node][attr] = float(values[name][c, j])
            if "sign" in values:
                G.edges[node, layer.chain_nodes[c]][S.SIGN] = float(values["sign"][c, j])
    _apply_chains(G, layer, arrays)
    sources = {name: _fit(arrays, l, name, (layer.n_tones,)) for name in _SOURCE_ATTRIBUTES if name in arrays}
    if sources and l != 0:
        raise ChipStateError(f"layer{l}: source_* arrays belong to layer 0 (the input sources)")
    for t, node in enumerate(layer.tone_nodes if sources else ()):
        for name, attr in _SOURCE_ATTRIBUTES.items():
            if name in sources:
                G.nodes[node][attr] = float(sources[name][t])


_SOURCE_ATTRIBUTES = {"source_frequency": S.FREQUENCY, "source_linewidth": S.LINEWIDTH,
                      "source_max_power": S.MAX_POWER}


def _apply_chains(G, layer, arrays) -> None:
    l, n = layer.index, (layer.n_chains,)
    chain = {name: _fit(arrays, l, name, n) for name in
             ("bias_voltage", "transconductance", "channel_frequency", "neuron_linewidth") if name in arrays}
    oscillator = {name[len("oscillator_"):]: _fit(arrays, l, name, n) for name in arrays
                  if name.startswith("oscillator_")}
    if (oscillator or "channel_frequency" in chain or "neuron_linewidth" in chain) and not layer.is_hidden:
        raise ChipStateError(f"layer{l} is the output layer: it has no neurons (no oscillator_*, "
                             "channel_frequency or neuron_linewidth arrays)")
    for c, (node, out) in enumerate(zip(layer.chain_nodes, layer.output_nodes)):
        if "bias_voltage" in chain:
            G.nodes[node][S.BIAS_VOLTAGE] = float(chain["bias_voltage"][c])
        if "transconductance" in chain and layer.is_hidden:
            G.edges[node, out][S.TRANSCONDUCTANCE] = float(chain["transconductance"][c])
        if "channel_frequency" in chain:
            G.nodes[out][S.CHANNEL_FREQUENCY] = float(chain["channel_frequency"][c])
            if S.FREQUENCY in G.nodes[out]:
                G.nodes[out][S.FREQUENCY] = float(chain["channel_frequency"][c])
        if "neuron_linewidth" in chain:
            G.nodes[out][S.LINEWIDTH] = float(chain["neuron_linewidth"][c])
        if oscillator:
            params = G.nodes[out][S.OSCILLATOR_PARAMETERS]
            G.nodes[out][S.OSCILLATOR_PARAMETERS] = dataclasses.replace(
                params, **{k: float(v[c]) for k, v in oscillator.items()})
