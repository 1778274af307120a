"""Energy accounting of an emulated chip, per inference and per device kind (docs/physics.md#energy).

rfemu computes energy from its own device parameters, not from the seed's projection:

- ``oscillator``: Joule power ``R I^2`` of each neuron's DC drive (the current through the junction,
  ``0 <= I <= I_max``), integrated over time;
- ``junction``: RF power absorbed by each junction: a fraction ``junction_absorption`` of the power
  of every tone passing it (every tone on its line reaches it, times its power gain);
- ``amplifier``: the power the line amplifiers supply to restore what the junctions absorbed,
  divided by their efficiency (the seed assumes the power is preserved along a chain);
- ``write``: the energy of the non-volatile frequency writes (``FrequencyState.write``).

The seed projects junctions scaled to 20 nm at 10 fJ per synaptic operation and 100 fJ per neuron
operation; :func:`projection_20nm` builds a device set for that projection so an event run reports
the same figures from the physics (:func:`per_operation`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EnergyModel", "EnergyLedger", "per_operation", "projection_20nm", "projection_20nm_description",
           "projection_20nm_report", "SEED_SYNAPSE_ENERGY", "SEED_NEURON_ENERGY"]

#: the seed's projection at 20 nm, J per synaptic operation
SEED_SYNAPSE_ENERGY = 10e-15
#: the seed's projection at 20 nm, J per neuron operation
SEED_NEURON_ENERGY = 100e-15


@dataclass(frozen=True)
class EnergyModel:
    """Parameters of the energy account.

    Parameters
    ----------
    junction_absorption : float
        Fraction (0..1) of the RF power passing a junction that the junction dissipates.
    amplifier_efficiency : float
        Efficiency (0..1] of the amplifiers that restore the absorbed RF power.
    """

    junction_absorption: float = 0.01
    amplifier_efficiency: float = 0.1

    def __post_init__(self):
        if not (0.0 <= self.junction_absorption <= 1.0):
            raise ValueError(f"junction_absorption must be in [0, 1], got {self.junction_absorption!r}")
        if not (0.0 < self.amplifier_efficiency <= 1.0):
            raise ValueError(f"amplifier_efficiency must be in (0, 1], got {self.amplifier_efficiency!r}")


def _integrate_steps(log, t0, t1):
    """Integral over [t0, t1] of a piecewise-constant signal given as sorted (t, value) changes;
    the value before the first change is the first entry's value."""
    if t1 <= t0 or not log:
        return 0.0
    total = 0.0
    value = log[0][1]
    t_prev = t0
    for t, v in log:
        if t <= t0:
            value = v
            continue
        if t >= t1:
            break
        total += value * (t - t_prev)
        t_prev, value = t, v
    total += value * (t1 - t_prev)
    return total


class EnergyLedger:
    """Collects what an event run spends; :meth:`finish` turns one inference into joules by kind."""

    def __init__(self):
        self._current = {}      # neuron -> [(t, I)]
        self._extra = {}        # kind -> J since start

    def start(self, engine, t):
        """Begin an inference at time ``t``: keep only the state in force at ``t``."""
        for n in engine.neurons:
            log = self._current.get(n.node)
            self._current[n.node] = [(t, log[-1][1] if log else n.current)]
        for line in engine.lines:
            last = line.power_log[-1][1] if line.power_log else float(line.medium.tone_power.sum())
            line.power_log[:] = [(t, last)]
        self._extra = {}

    def neuron_current(self, n, t, current):
        """A neuron's DC drive changes to ``current`` (A) at time ``t``."""
        self._current.setdefault(n.node, []).append((t, current))

    def add(self, kind, joules):
        self._extra[kind] = self._extra.get(kind, 0.0) + float(joules)

    def finish(self, engine, t0, t1) -> dict:
        """Energy (J) by kind spent over [t0, t1]."""
        model = engine.energy_model
        e_osc = 0.0
        for n in engine.neurons:
            fixed = self._current.get(n.node, [(t0, n.current)])
            current = np.clip(np.array([i for _, i in fixed]), 0.0, float(n.params.max_current))
            joule = [(t, float(n.params.resistance) * c * c) for (t, _), c in zip(fixed, current.tolist())]
            e_osc += _integrate_steps(joule, t0, t1)
            self._current[n.node] = [(fixed[-1][0], fixed[-1][1])]
        e_junction = 0.0
        for line in engine.lines:
            gain = float(line.medium.power_gain.sum())
            e_junction += model.junction_absorption * gain * _integrate_steps(line.power_log, t0, t1)
        out = {"oscillator": e_osc, "junction": e_junction,
               "amplifier": e_junction / model.amplifier_efficiency}
        out.update(self._extra)
        out.setdefault("write", 0.0)
        return out


def per_operation(energy: dict, n_neurons: int, n_junctions: int) -> dict:
    """Energy per neuron operation and per synaptic operation of one inference (J).

    The synapse share counts what the junctions absorb and what the amplifiers spend to restore
    it; the neuron share is the oscillators' Joule energy.
    """
    synapse = (energy.get("junction", 0.0) + energy.get("amplifier", 0.0)) / max(n_junctions, 1)
    neuron = energy.get("oscillator", 0.0) / max(n_neurons, 1)
    return {"per_synapse": synapse, "per_neuron": neuron,
            "per_synapse_vs_seed": synapse / SEED_SYNAPSE_ENERGY,
            "per_neuron_vs_seed": neuron / SEED_NEURON_ENERGY}


def projection_20nm():
    """Device parameters of the seed's 20 nm projection (a configuration, not a measurement).

    A 20 nm junction (area pi (10 nm)^2) with a resistance-area product of 1 Ohm um^2 has
    R = 3.2 kOhm; a critical current density of 1e11 A/m^2 gives I_th = 31 uA; a uniform-mode
    oscillator at 5 GHz with alpha = 0.01 relaxes in 1 / (2 G_p) = 1.6 ns at I = 2 I_th (the seed's
    "a 5 GHz uniform-mode oscillator settles in a few ns"). The synapses' tones carry 1 uW at
    most; the junctions absorb 1 % of the power passing them.

    Returns
    -------
    dict
        ``oscillator`` (OscillatorParameters), ``transconductance`` (A/V), ``max_power`` (W),
        ``band`` (Hz, Hz), ``energy_model`` (EnergyModel).
    """
    from rfemu.devices.oscillator import OscillatorParameters

    area = math.pi * (10e-9) ** 2
    resistance = 1e-12 / area
    threshold = 1e11 * area
    oscillator = OscillatorParameters(natural_frequency=5e9, damping=0.01, threshold_current=threshold,
                                      max_current=4 * threshold, resistance=resistance,
                                      max_output_power=1e-6)
    return {"oscillator": oscillator, "transconductance": threshold / 3e-3, "max_power": 1e-6,
            "band": (2e9, 8e9), "energy_model": EnergyModel(junction_absorption=0.01, amplifier_efficiency=0.1)}


def projection_20nm_description(sizes=(256, 128, 10)):
    """A spintronic MLP of the given sizes built from :func:`projection_20nm` devices.

    Input tones and junctions on a linear grid over the projection's band; the hidden layer's
    neurons and the output junctions on a geometric grid over the same band. The hidden chains
    are biased to drive the neurons at 2 I_th with no input.
    """
    from rfemu.devices.resonator import ResonatorParameters
    from rfemu.network.description import spin_mlp

    proj = projection_20nm()
    gm = proj["transconductance"]
    bias = 2.0 * float(proj["oscillator"].threshold_current) / gm
    return spin_mlp(sizes, input_band=proj["band"], hidden_band=proj["band"], bias_voltage=bias,
                    transconductance=gm, oscillator=proj["oscillator"], resonator=ResonatorParameters(),
                    initial_bias_spread=0.0)


def projection_20nm_report(sizes=(256, 128, 10), n_samples=5, seed=0) -> dict:
    """Run the 20 nm projection in the event engine (noise off) on random inputs in [0, 1] and
    report the energy per synaptic and per neuron operation against the seed's 10 fJ and 100 fJ.

    An operation lasts one inference (input applied to outputs settled, the engine's latency).
    """
    from rfemu.engines.event import EventEngine
    from rfemu.network.graph import build_graph

    G = build_graph(projection_20nm_description(sizes), seed=seed)
    engine = EventEngine(G, energy_model=projection_20nm()["energy_model"])
    x = np.random.default_rng(seed).random((n_samples, sizes[0]))
    run = engine.run(x)
    n_junctions = len(engine.junctions)
    n_neurons = len(engine.neurons)
    energy = {k: float(np.mean(v)) for k, v in run.energy.items()}
    report = per_operation(energy, n_neurons, n_junctions)
    report.update({"latency_s": float(np.mean(run.latency)), "energy_per_inference_J": energy,
                   "n_junctions": n_junctions, "n_neurons": n_neurons})
    return report
