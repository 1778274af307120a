"""Energy projections of an emulated chip (docs/physics.md#energy).

The energy model itself (the power of each device kind, and the ledger the engines record into)
is :mod:`rfemu.devices.energy`; :class:`EnergyModel` and :class:`EnergyLedger` are re-exported
here. This module keeps what is built on top of it: the split per operation and the seed's
projection to junctions scaled to 20 nm (10 fJ per synaptic operation and 100 fJ per neuron
operation): :func:`projection_20nm` builds a device set for that projection so an event run
reports the same figures from the physics (:func:`per_operation`).
"""
from __future__ import annotations

import math

import numpy as np

from rfemu.devices.energy import EnergyLedger, EnergyModel

__all__ = ["EnergyModel", "EnergyLedger", "per_operation", "projection_20nm", "projection_20nm_description",
           "projection_20nm_report", "SEED_SYNAPSE_ENERGY", "SEED_NEURON_ENERGY"]

#: the seed's projection at 20 nm, J per synaptic operation
SEED_SYNAPSE_ENERGY = 10e-15
#: the seed's projection at 20 nm, J per neuron operation
SEED_NEURON_ENERGY = 100e-15


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


def projection_20nm_description(sizes=(256, 128, 10), drive_ratio=2.0):
    """A spintronic MLP of the given sizes built from :func:`projection_20nm` devices.

    Input tones and junctions on a linear grid over the projection's band; the hidden layer's
    neurons and the output junctions on a geometric grid over the same band. The hidden chains
    are biased so that a neuron is driven at ``drive_ratio`` I_th (the seed's operating point,
    2 I_th) under the mean input of :func:`projection_20nm_report` (every feature 0.5: inputs
    uniform in [0, 1]) with its junctions on their as-fabricated frequencies; the first hidden
    layer's bias is used for every hidden layer. (Biased at 2 I_th at ZERO input instead, the
    chains' rectified voltages under the inputs, negative on average, leave every neuron below
    threshold, and the chip's outputs are 0 V.)
    """
    from rfemu.devices.resonator import ResonatorParameters
    from rfemu.engines.compiled import CompiledEngine
    from rfemu.network.description import spin_mlp
    from rfemu.network.graph import build_graph

    proj = projection_20nm()
    gm = proj["transconductance"]
    options = dict(input_band=proj["band"], hidden_band=proj["band"], transconductance=gm,
                   oscillator=proj["oscillator"], resonator=ResonatorParameters(), initial_bias_spread=0.0)
    probe = spin_mlp(sizes, bias_voltage=0.0, initial_tuning_spread=0.0, **options)
    mean_input = np.full((1, sizes[0]), 0.5)
    chains = CompiledEngine(build_graph(probe, seed=0), n_threads=1).forward(mean_input, keep=True)
    voltage = float(np.mean(chains.layers[0].chain_voltage))
    bias = drive_ratio * float(proj["oscillator"].threshold_current) / gm - voltage
    return spin_mlp(sizes, bias_voltage=bias, **options)


def projection_20nm_report(sizes=(256, 128, 10), n_samples=5, seed=0) -> dict:
    """Run the 20 nm projection in the event engine (noise off) on random inputs in [0, 1] and
    report the energy per synaptic and per neuron operation against the seed's 10 fJ and 100 fJ.

    The hidden chains' biases are trimmed first (:func:`rfemu.learning.backprop.calibrate_bias`
    over the inputs): each neuron's mean current is the middle of its window, (I_th + I_max) / 2
    = 2.5 I_th, so the chip runs with its neurons on (``mean_drive_over_threshold`` reports it).

    An operation lasts one inference (input applied to outputs settled, the engine's latency).
    """
    from rfemu.engines.compiled import CompiledEngine
    from rfemu.engines.event import EventEngine
    from rfemu.learning.backprop import calibrate_bias
    from rfemu.network import write_back
    from rfemu.network.compile import compile_graph
    from rfemu.network.graph import build_graph

    G = build_graph(projection_20nm_description(sizes), seed=seed)
    x = np.random.default_rng(seed).random((n_samples, sizes[0]))
    network = compile_graph(G)                  # each hidden chain trimmed over these inputs, so
    calibrate_bias(CompiledEngine(network, n_threads=1), x)     # every neuron is on (mid-window)
    write_back(G, network)
    engine = EventEngine(G, energy_model=projection_20nm()["energy_model"])
    run = engine.run(x)
    n_junctions = len(engine.junctions)
    n_neurons = len(engine.neurons)
    energy = {k: float(np.mean(v)) for k, v in run.energy.items()}
    report = per_operation(energy, n_neurons, n_junctions)
    current = CompiledEngine(network, n_threads=1).forward(x, keep=True).layers[0].current
    report.update({"latency_s": float(np.mean(run.latency)), "energy_per_inference_J": energy,
                   "n_junctions": n_junctions, "n_neurons": n_neurons,
                   "mean_drive_over_threshold": float(np.mean(current) / projection_20nm()["oscillator"].threshold_current),
                   "neurons_on_fraction": float(np.mean(current > projection_20nm()["oscillator"].threshold_current))})
    return report
