"""The on-chip learning scenarios' claims, on a reduced learning budget, run from the scenario
files themselves (scenarios/onchip_variability.yaml, scenarios/onchip_drift.yaml,
scenarios/onchip_xor.yaml).

The first two start from the same offline-trained chip state (scenarios/onchip_digits_offline.npz: the
digits chip's resonance frequencies and biases found by backpropagation on the spread-free chip).
"""
from pathlib import Path

import numpy as np
import pytest

from rfemu.api import run
from rfemu.learning.rules import TrainingContext, get_rule
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import xor_quadrants

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SPREAD_FREE = ("variability.sensitivity=0", "variability.damping=0")


def _test_accuracy(name, *overrides):
    result = run(SCENARIOS / name, write=False, progress=False, overrides=list(overrides))
    return result.metrics["test_accuracy"]


def test_offline_frequencies_lose_accuracy_on_a_spread_chip_and_on_chip_learning_recovers_it():
    """Measured: spread-free 96.2 %, transferred to the 5 % spread chip 89.8 %, after 300 windows
    of feedback alignment on that chip 95.8 % (1,500 windows in the scenario: 95.6 %)."""
    free = _test_accuracy("onchip_variability.yaml", *SPREAD_FREE, "training.rule=none")
    transferred = _test_accuracy("onchip_variability.yaml", "training.rule=none")
    learned = _test_accuracy("onchip_variability.yaml", "training.on_chip.windows=300",
                             "training.on_chip.evaluate_every=300")
    assert free > 0.95
    assert transferred < free - 0.04                  # the spread costs accuracy
    assert learned > free - 0.02                      # learning on chip recovers it


def test_learning_left_on_holds_accuracy_while_the_resonances_drift_and_without_it_falls():
    """The scenario's drift of 0.64 MHz, twice as fast (2 MHz/s over the 0.32 s of 1,000 windows,
    learning rate x 2), with learning off (the chip held, engine.hold_time) and on."""
    start = _test_accuracy("onchip_drift.yaml", "training.rule=none")
    faster = ("devices.frequency_state.drift_rate=2 MHz/s",)
    off = _test_accuracy("onchip_drift.yaml", *faster, "training.rule=none", "engine.hold_time=0.32 s")
    on = _test_accuracy("onchip_drift.yaml", *faster, "training.on_chip.windows=1000",
                        "training.on_chip.learning_rate=0.06", "training.on_chip.evaluate_every=1000")
    assert off < start - 0.10
    assert on > start - 0.02


def test_the_ross_chip_learns_xor_on_chip_beyond_chance():
    """Perturbative learning (junction and bias dithers, adaptive steps with a gain that follows
    the cost, homeostatic bias trim, recall of the best state, the cost sharpening in the
    survivor's round, sensing with thermal noise) from 4 random programmings (hidden biases in
    the neurons' active windows) screened by halving (4 x 50, 2 x 100 windows, the survivor 300
    more): measured 89.2 % of the scenario's 1,000 test samples on the static model, its 4
    programmings at 86/61/60/88 % validation (chance 50 %; seeds 1/2/3: 88.1/89.5/90.9 %, so the
    bar keeps 13 points below the worst; on the former 200 test samples 90.0 %, seeds 1/2/3
    85.0/91.5/91.0 %; with 100-window first rounds and a constant score scale: 89.5 %, seeds
    1/2/3 84.0/93.0/92.5 %; before the small dithers, adaptive steps and trim: 87.0 %, seeds
    1/2/3 88.5/70.0/87.0 %; the scenario's 128 programmings, 45,800 windows: see its header). A rule whose
    estimate had the wrong sign or no signal stays near chance."""
    result = run(SCENARIOS / "onchip_xor.yaml", engine="compiled", write=False, progress=False,
                 overrides=["training.restarts=4", "training.on_chip.windows=300",
                            "training.on_chip.evaluate_every=300"])
    scores = result.metrics["on_chip_restart_validation_accuracy"]
    assert len(scores) == 4
    assert result.metrics["test_accuracy"] > 0.75


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_active_initial_biases_start_every_hidden_neuron_on_and_unsaturated(seed):
    """training.initial_bias: active draws each on-chip restart's hidden biases over the neuron's
    active window [I_th, I_max] / g_m (2.95-11.8 mV here); uniform over [0, initial_bias_max]
    (2 mV: every neuron below threshold). The biases are not learned (bias_learning_rate 0), so
    the kept chip shows the draw."""
    task = xor_quadrants(n_train=100, n_test=8, seed=0)
    kept = {}
    for initial_bias in ("active", "uniform"):
        net = compile_graph(build_graph(spin_mlp((2, 3, 2)), seed=seed))
        settings = {"restarts": 4, "initial_state": "uniform", "initial_bias_max": 0.002,
                    "initial_bias": initial_bias,
                    "on_chip": {"windows": 1, "evaluate_every": 1, "steps": 16, "score_scale": 3e3}}
        streams = {"training": np.random.SeedSequence(seed), "restarts": np.random.SeedSequence(seed + 1)}
        get_rule("perturbative").train(TrainingContext(net, task.x_train, task.y_train, settings,
                                                       streams=streams, n_threads=1))
        hidden = net.layers[0]
        kept[initial_bias] = hidden.bias_voltage * hidden.transconductance      # zero-input current
        i_th, i_max = hidden.oscillator.threshold_current, hidden.oscillator.max_current
    assert np.all((kept["active"] > i_th) & (kept["active"] < i_max))
    assert np.all(kept["uniform"] < i_th)
