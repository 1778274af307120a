"""The seed's experiment (Ross et al., Nat. Nanotechnol. 18, 1273 (2023), 97.7 %): the chip's two
oscillator neurons, trained offline with the compiled engine, classify XOR quadrants at >= 97 %
when run as hardware (vortex linewidths) in the event engine with thermal noise on (examples/ross2023_two_layer.py
runs all three tasks).

A vortex neuron's frequency moves with its current, so its contribution P(I) W(f(I)) to an
output chain crosses the sign change of the junction's antisymmetric Lorentzian: a bump-shaped
activation (tested below), which also makes the loss landscape rugged (restarts from random
programmings). With noise on, the chip's outputs are offset from the static model's (in
proportion to eta): physics-aware fine-tuning on the noisy chip closes the gap (circles)."""
import importlib.util
import pathlib

import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine

_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ross2023_two_layer.py"


def _example():
    spec = importlib.util.spec_from_file_location("ross2023_two_layer", _EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_neuron_chip_classifies_xor_at_97_percent_in_the_noisy_event_engine():
    ex = _example()
    task = ex.TASKS["xor"](n_train=800, n_test=400, seed=0)
    model = ex.description(hidden=2, oscillation_energy=ex.TRAINING_OSCILLATION_ENERGY)
    chip = ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY)
    assert chip.layers[0].size == 2 and chip.layers[0].emission == "current"
    # the chip's vortex neurons: eta = k_B T / E0 = 2e-3, half linewidths of 0.1-0.7 MHz
    assert 1e-3 < chip.layers[0].oscillator.noise_ratio < 3e-3
    # the best of 8 random programmings on the validation fifth (about one in ten reaches 100 %)
    _, seed, G = ex.train_best(task, model, seeds=range(8))
    G = ex.on_chip(G, chip, seed)
    x, y = task.x_test[:200], task.y_test[:200]
    compiled = CompiledEngine(G, n_threads=1).accuracy(x, y)
    engine = EventEngine(G, config=EventConfig(**ex.EVENT_CONFIG), seed=seed)
    assert engine.config.noise
    run = engine.run(x)
    assert compiled >= 0.97
    assert run.accuracy(y) >= 0.97
    # the noise really acts: outputs differ from the noise-free ones, a little
    ref = CompiledEngine(G, n_threads=1).forward(x).scores
    diff = np.abs(run.outputs - ref)
    assert np.all(diff > 0)
    assert np.median(diff) < 0.05 * np.median(np.abs(ref))

    # the trained neurons sweep across their output junctions' resonances: the difference of the
    # two output chains' weights seen by a neuron, W_0(f(I)) - W_1(f(I)), takes both signs over
    # the inputs that switch it on (a non-monotonic activation), its frequency moving by more
    # than an output half width (alpha f = 4-5 MHz)
    fwd = CompiledEngine(G, n_threads=1).forward(x, keep=True)
    hidden, output = fwd.layers
    dw = output.chain_matrix[:, 0, :] - output.chain_matrix[:, 1, :]     # (B, neurons) V/W
    for n in range(2):
        on = hidden.output_power[:, n] > 0
        assert on.sum() > 100
        assert np.ptp(output.tone_frequency[on, n]) > 5e6
        largest = np.abs(dw[on, n]).max()
        assert dw[on, n].min() < -0.1 * largest and dw[on, n].max() > 0.1 * largest


# ----------------------------------------------------------------------------- circles, in situ

@pytest.fixture(scope="module")
def circles_chip():
    """The two-neuron chip trained offline on concentric circles from one random programming
    (restart 16 of the example's, the one its validation split keeps; about one restart in ten
    reaches 97-100 % on circles), to be given the chip's own neurons (E0 = 2e-18 J)."""
    ex = _example()
    task = ex.TASKS["circles"](n_train=800, n_test=400, seed=0)
    model = ex.description(hidden=2, oscillation_energy=ex.TRAINING_OSCILLATION_ENERGY)
    _, seed, G = ex.train_best(task, model, seeds=[16])
    return ex, task, seed, G


def test_noisy_chip_outputs_are_offset_from_the_static_model_in_proportion_to_eta(circles_chip):
    """With noise on, a neuron's power and frequency fluctuate together (f follows p through
    N), and the mean of P W(f) through the non-linear line shape is not P0 W(f0): an offset of
    second order in the fluctuations, i.e. proportional to eta = k_B T / E0. Ten times the
    oscillation energy, a tenth of the offset."""
    ex, task, seed, G = circles_chip
    offsets = {}
    for energy in (2e-18, 2e-17):
        chip = ex.on_chip(G, ex.description(hidden=2, oscillation_energy=energy), seed)
        engine = EventEngine(chip, config=EventConfig(**ex.EVENT_CONFIG), seed=3)
        offsets[energy] = engine.calibrate_readout(task.x_train[:100])
        # the calibration moved the output biases by exactly the offsets
        ref = ex.on_chip(G, ex.description(hidden=2, oscillation_energy=energy), seed)
        np.testing.assert_allclose(CompiledEngine(ref).network.layers[-1].bias_voltage - offsets[energy],
                                   engine.network.layers[-1].bias_voltage, rtol=0, atol=1e-15)
    # the class decision follows the difference of the two output chains
    diff = {e: o[1] - o[0] for e, o in offsets.items()}
    assert abs(diff[2e-18]) > 0.05e-3                       # a tenth of a mV or so: comparable to the margins
    ratio = diff[2e-18] / diff[2e-17]
    assert 4 < ratio < 25, ratio


def test_noise_off_the_readout_calibration_finds_no_offset(circles_chip):
    ex, task, seed, G = circles_chip
    chip = ex.on_chip(G, ex.description(hidden=2, oscillation_energy=2e-18), seed)
    engine = EventEngine(chip, config=EventConfig(**{**ex.EVENT_CONFIG, "noise": False}), seed=3)
    offsets = engine.calibrate_readout(task.x_train[:20])
    scale = np.abs(CompiledEngine(chip).forward(task.x_train[:20]).scores).max()
    assert np.all(np.abs(offsets) < 1e-6 * scale)


def test_physics_aware_fine_tuning_on_the_noisy_chip_reaches_97_percent_on_circles(circles_chip):
    """Trained offline, the chip loses most of its margin to the noise-induced offset; a few
    passes of physics-aware training (forward on the noisy event engine, gradient through the
    static model) bring it to >= 97 % in the noisy event engine."""
    ex, task, seed, G = circles_chip
    chip = ex.on_chip(G, ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY), seed)
    x, y = task.x_test[:200], task.y_test[:200]
    static = CompiledEngine(chip).accuracy(x, y)
    before = EventEngine(chip, config=EventConfig(**ex.EVENT_CONFIG), seed=seed + 1).run(x)
    assert static >= 0.97                                   # the static model of the chip classifies well
    assert before.accuracy(y) < static - 0.05               # the noisy chip does not
    tuned = ex.fine_tune_on_chip(chip.copy(), task, seed, epochs=6, samples=160)
    after = EventEngine(tuned, config=EventConfig(**ex.EVENT_CONFIG), seed=seed + 1).run(x)
    assert after.accuracy(y) >= 0.97
