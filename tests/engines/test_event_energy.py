"""Energy accounting of the event engine and the seed's 20 nm projection (docs/physics.md#energy)."""
import math

import numpy as np
import pytest

import settling_theory
from rfemu.devices import oscillator as osc
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine
from rfemu.learning.backprop import calibrate_bias
from rfemu.network import build_graph, write_back
from rfemu.network.compile import compile_graph
from rfemu.study.energy import (SEED_NEURON_ENERGY, SEED_SYNAPSE_ENERGY, EnergyModel, per_operation,
                                projection_20nm, projection_20nm_description)


def test_projection_devices_follow_from_their_stated_scaling():
    proj = projection_20nm()
    p = proj["oscillator"]
    area = math.pi * (10e-9) ** 2
    assert p.resistance == pytest.approx(1e-12 / area)               # RA = 1 Ohm um^2
    assert p.threshold_current == pytest.approx(1e11 * area)          # J_c = 1e11 A/m^2
    # "a 5 GHz uniform-mode oscillator settles in a few ns": 1 / (2 G_p) at 2 I_th
    tau = 1.0 / float(osc.relaxation_rate(2 * p.threshold_current, p))
    assert tau == pytest.approx(1.0 / (2 * 0.01 * 2 * math.pi * 5e9), rel=1e-12)
    assert 1e-9 < tau < 5e-9


def test_per_operation_splits_energy_by_device_kind():
    e = {"oscillator": 8e-13, "junction": 1e-13, "amplifier": 1e-12, "write": 0.0}
    out = per_operation(e, n_neurons=8, n_junctions=100)
    assert out["per_neuron"] == pytest.approx(1e-13, rel=1e-12, abs=0)   # (default abs 1e-12 J: anything)
    assert out["per_synapse"] == pytest.approx(1.1e-14, rel=1e-12, abs=0)
    assert out["per_neuron_vs_seed"] == pytest.approx(1e-13 / SEED_NEURON_ENERGY)
    assert out["per_synapse_vs_seed"] == pytest.approx(1.1e-14 / SEED_SYNAPSE_ENERGY)
    with pytest.raises(ValueError, match="amplifier_efficiency"):
        EnergyModel(amplifier_efficiency=0.0)


@pytest.fixture(scope="module")
def projection_run():
    """The 20 nm projection's devices in a 16-8-4 chip whose hidden biases are trimmed so that each
    neuron's mean current over the inputs is mid-window (2.5 I_th), three random inputs run on the
    event engine with causal delivery and emissions every 1e-4 of full power, and the figures
    expected from the device formulas (tests/engines/settling_theory.py)."""
    G = build_graph(projection_20nm_description((16, 8, 4)), seed=0)
    x = np.random.default_rng(0).random((3, 16))
    net = compile_graph(G)
    calibrate_bias(CompiledEngine(net, n_threads=1), x)
    write_back(G, net)
    model = projection_20nm()["energy_model"]
    cfg = EventConfig(emission_tolerance=1e-4, causal_delivery=True)
    engine = EventEngine(G, config=cfg, energy_model=model)
    run = engine.run(x)
    return G, x, engine, run, settling_theory.predict(G, x, cfg, model)


def test_20nm_projection_per_operation_is_the_device_physics_over_the_theoretical_settling(projection_run):
    G, x, engine, run, expected = projection_run
    n_neurons, n_junctions = len(engine.neurons), len(engine.junctions)
    measured = per_operation({k: float(np.mean(v)) for k, v in run.energy.items()}, n_neurons, n_junctions)
    model = projection_20nm()["energy_model"]
    theory = per_operation({"oscillator": np.mean([e["oscillator"] for e in expected]),
                            "junction": np.mean([e["junction"] for e in expected]),
                            "amplifier": np.mean([e["junction"] for e in expected]) / model.amplifier_efficiency},
                           n_neurons, n_junctions)
    # the emission lag (1e-4 of full power) allows ~3-5 %; measured within 2 %
    assert measured["per_neuron"] == pytest.approx(theory["per_neuron"], rel=0.03)
    assert measured["per_synapse"] == pytest.approx(theory["per_synapse"], rel=0.03)
    for item, e in zip(run.items, expected):
        assert e["early"] <= item.latency <= e["late"]


def test_20nm_projection_against_the_seed_figures(projection_run):
    """The seed's figures are this physics at its operating point: a 5 GHz neuron driven at 2 I_th
    settles (to 1e-3) in ln(1e3) / (2 G_G (xi - 1)) = 11 ns and draws R (2 I_th)^2 = 12.6 uW: 138 fJ
    (the seed: 100 fJ, "settles in a few ns"); a junction passes its line's 16 tones (0.5 uW each
    on average) for that time, absorbing 1 % of them, restored by amplifiers of efficiency 0.1:
    9.7 fJ (the seed: 10 fJ). The emulated chip costs more by what it adds to that operating
    point, each factor computed here: its neurons' drive (I / 2 I_th)^2 at their currents, and its
    settling: both lines' spin-diode responses 1 / (2 pi alpha f_r) (8 ns each at 2 GHz) and its
    slowest neurons (2 GHz: 2.5 times slower than 5 GHz) instead of 11 ns."""
    G, x, engine, run, expected = projection_run
    proj = projection_20nm()
    p, model = proj["oscillator"], proj["energy_model"]
    g_5ghz = 0.01 * 2 * math.pi * 5e9
    t_seed = math.log(1e3) / (2 * g_5ghz * (2 - 1))
    neuron_seed_point = p.resistance * (2 * p.threshold_current) ** 2 * t_seed
    synapse_seed_point = model.junction_absorption * 16 * 0.5e-6 * t_seed * (1 + 1 / model.amplifier_efficiency)
    assert 1.0 < neuron_seed_point / SEED_NEURON_ENERGY < 1.5
    assert 0.8 < synapse_seed_point / SEED_SYNAPSE_ENERGY < 1.2
    n_neurons, n_junctions = len(engine.neurons), len(engine.junctions)
    measured = per_operation({k: float(np.mean(v)) for k, v in run.energy.items()}, n_neurons, n_junctions)
    # the factors of the emulated operating point, from the compiled currents and the theory's settling
    current = CompiledEngine(G, n_threads=1).forward(x, keep=True).layers[0].current
    drive = (current / (2 * p.threshold_current)) ** 2
    settle = np.array([e["latency"] for e in expected]) / t_seed
    delays = (expected[0]["d0"] + expected[0]["d1"]) / t_seed
    assert 1.0 < drive.min() and drive.max() < 2.0          # neurons at 2.2-2.7 I_th
    assert delays > 1.0 and settle.min() > delays           # the lines' responses alone outlast 11 ns
    # between the least and the most driven neuron held over the shortest and the longest settling
    ratio = measured["per_neuron"] / neuron_seed_point
    assert drive.min() * settle.min() < ratio < drive.max() * settle.max(), (ratio, drive, settle)
    # the synapses: their line's tones' total power over the settling (line 0 carries most of it)
    tones = x.sum(axis=1) * 1e-6 / (16 * 0.5e-6)
    ratio = measured["per_synapse"] / synapse_seed_point
    assert 0.5 * (tones * settle).min() < ratio < 1.5 * (tones * settle).max(), (ratio, tones * settle)
    # and so against the seed's own figures: 6-7 x per neuron, 2-3 x per synapse at this operating point
    assert 4 < measured["per_neuron_vs_seed"] < 10 and 1.5 < measured["per_synapse_vs_seed"] < 4


def test_20nm_projection_report_runs_a_chip_whose_neurons_are_on():
    G = build_graph(projection_20nm_description((16, 8, 4)), seed=0)
    x = np.random.default_rng(0).random((3, 16))
    current = CompiledEngine(G, n_threads=1).forward(x, keep=True).layers[0].current
    assert np.mean(current > projection_20nm()["oscillator"].threshold_current) > 0.5
    # and the report's chip, trimmed over its inputs: every neuron on, mean drive mid-window
    from rfemu.study.energy import projection_20nm_report
    report = projection_20nm_report((16, 8, 4), n_samples=3)
    assert report["neurons_on_fraction"] > 0.9
    assert report["mean_drive_over_threshold"] == pytest.approx(2.5, rel=0.02)
