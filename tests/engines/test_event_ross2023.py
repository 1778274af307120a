"""The seed's experiment (Ross et al., Nat. Nanotechnol. 18, 1273 (2023), 97.7 %): the chip's two
oscillator neurons, trained offline with the compiled engine from random programmings of the chip,
classify XOR quadrants at >= 97 % (half of four seeds, each the best of 12 restarts on its own
validation split), also when run as hardware (vortex linewidths) in the event engine with thermal
noise on (examples/ross2023_two_layer.py runs all three tasks).

A vortex neuron's frequency moves with its current, so its contribution P(I) W(f(I)) to an
output chain crosses the sign change of the junction's antisymmetric Lorentzian: a bump-shaped
activation (tested below), which also makes the loss landscape rugged: most restarts end in a
band minimum at 86-94 % (rfemu/learning/restarts.py: why, and the measured rate of restarts that
reach 97 %, about one in sixteen). With noise on, the chip's outputs are offset from the static
model's (in proportion to eta): physics-aware fine-tuning on the noisy chip (circles; the chip
found by a rule, not picked: CIRCLES_BAR) brings it to >= 97 %, as its static model."""
import importlib.util
import pathlib

import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventConfig, EventEngine
from rfemu.learning.backprop import TrainingConfig, train
from rfemu.learning.restarts import random_state
from rfemu.network import build_graph, write_back
from rfemu.network.compile import compile_graph

_EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ross2023_two_layer.py"


#: seeds of the XOR claim: each decides all its restarts (programmings, initial spreads, shuffling)
SEEDS = (0, 1, 2, 3)
#: random programmings per seed. Few reach 97 %: measured 15 of 245 restarts (6 %; 5 of 29 with
#: one random stream per restart, 5 of 96 and 2 of 48 with 320 / 160 training samples), the rest
#: end in a band minimum at 86-94 % or, with biases drawn over 0-20 mV, with a neuron off or
#: saturated (rfemu/learning/restarts.py says why). With 12 a seed finds one with probability
#: ~0.5 (measured, 0.75 CPU s a restart: seeds 1 and 3 did, 98.25 / 99.25 % on the test set, the
#: same kept restarts, 0 and 7, as with 24; seeds 0 and 2 ended at 91.0 / 92.25 %; with 8 seed 2
#: ends at 89.25 %), so the claim is the upper median of four seeds (two of them at 97 % or more:
#: probability ~0.7 for a harmless change of the random streams, ~0.9 with 24 restarts at twice
#: the CPU); every seed at 97 % needs ~60-70 restarts each (measured on circles too: 2 of 48).
RESTARTS = 12
#: passes per restart over the 320 training samples (cosine schedule). The outcome of a restart
#: is the same with 100 or 400 epochs, and with 320 or 640 training samples (measured on 10
#: programmings): its start decides it
EPOCHS = 100


def _example():
    spec = importlib.util.spec_from_file_location("ross2023_two_layer", _EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(task):
    """(training, validation) samples: the validation fifth is the first fifth of the training set."""
    n_val = len(task.x_train) // 5
    return (task.x_train[n_val:], task.y_train[n_val:]), (task.x_train[:n_val], task.y_train[:n_val])


def restart(ex, model, train_set, seed, k, epochs=EPOCHS):
    """Restart ``k`` of ``seed``: a random programming of the chip's training model (tunings
    uniform in their windows, hidden biases uniform over the neurons' active windows [I_th,
    I_max] / g_m) trained offline ``epochs`` passes. Returns the trained CompiledNetwork."""
    x_tr, y_tr = train_set
    net = compile_graph(build_graph(model, seed=1000 * seed + k))
    random_state(net, np.random.default_rng([seed, k]), "active")
    train(net, x_tr, y_tr, TrainingConfig(epochs=epochs, batch_size=32, frequency_learning_rate=1e5,
                                          bias_learning_rate=1e-4, validation_fraction=0.0, patience=None,
                                          progress=False, seed=k, learn_score_scale=True,
                                          learning_rate_schedule="cosine", final_learning_rate_fraction=0.05,
                                          n_threads=1))
    return net


def chip_of(ex, net, seed):
    """The chip's own neurons (E0 = 2e-18 J, devices drawn with ``seed``) carrying ``net``'s state."""
    chip = build_graph(ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY), seed=seed)
    programmed = compile_graph(chip)
    programmed.set_trainable_state(net.trainable_state())
    write_back(chip, programmed)
    return chip


def train_best(ex, task, seed, restarts=RESTARTS, epochs=EPOCHS):
    """The best of ``restarts`` restarts of ``seed`` (:func:`restart`), kept on the validation
    fifth of the training samples, on the chip's own neurons. Returns (validation accuracy, graph)."""
    model = ex.description(hidden=2, oscillation_energy=ex.TRAINING_OSCILLATION_ENERGY)
    train_set, (x_va, y_va) = _split(task)
    best = None
    for k in range(restarts):
        net = restart(ex, model, train_set, seed, k, epochs)
        acc = CompiledEngine(net, n_threads=1).accuracy(x_va, y_va)
        if best is None or acc > best[0]:
            best = (acc, net)
    acc, net = best
    return acc, chip_of(ex, net, seed)


@pytest.fixture(scope="module")
def xor_chips():
    ex = _example()
    task = ex.TASKS["xor"](n_train=400, n_test=400, seed=0)
    return ex, task, {seed: train_best(ex, task, seed)[1] for seed in SEEDS}


def test_offline_training_reaches_97_percent_on_xor_for_half_the_seeds(xor_chips):
    """The chip's static model, trained offline from the best of 12 random programmings, on 400
    test samples: half the seeds (the upper median) >= 97 % (the published 97.7 %); every seed's
    kept chip has both neurons working (>= 90 %: the band minimum, not a dead neuron's 50-75 %)."""
    ex, task, chips = xor_chips
    chip = next(iter(chips.values()))
    assert ex.description().layers[0].size == 2 and compile_graph(chip).layers[0].emission == "current"
    # the chip's vortex neurons: eta = k_B T / E0 = 2e-3, half linewidths of 0.1-0.7 MHz
    assert 1e-3 < ex.description().layers[0].oscillator.noise_ratio < 3e-3
    accuracy = [CompiledEngine(g, n_threads=1).accuracy(task.x_test, task.y_test) for g in chips.values()]
    assert sorted(accuracy)[len(accuracy) // 2] >= 0.97, accuracy
    assert min(accuracy) >= 0.90, accuracy


def test_two_neuron_chip_classifies_xor_at_97_percent_in_the_noisy_event_engine(xor_chips):
    """The same chips run as hardware in the event engine with thermal noise on (64 test samples
    each, the chip's own seed for its noise): >= 97 % pooled over the seeds whose static model
    reaches 97 %, and the noise really acts (outputs differ from the noise-free ones, a little)."""
    ex, task, chips = xor_chips
    x, y = task.x_test[:64], task.y_test[:64]
    correct, total = 0, 0
    for seed, G in chips.items():
        if CompiledEngine(G, n_threads=1).accuracy(task.x_test, task.y_test) < 0.97:
            continue
        engine = EventEngine(G, config=EventConfig(**ex.EVENT_CONFIG), seed=seed)
        assert engine.config.noise
        run = engine.run(x)
        correct += int(np.sum(np.argmax(run.outputs, axis=1) == y))
        total += len(y)
        ref = CompiledEngine(G, n_threads=1).forward(x).scores
        diff = np.abs(run.outputs - ref)
        assert np.all(diff > 0)
        # (measured: 6 % of the median score on seed 1's chip; the offset grows with eta)
        assert np.median(diff) < 0.1 * np.median(np.abs(ref))
    assert total >= 2 * len(y)
    assert correct / total >= 0.97, (correct, total)


def test_trained_neurons_sweep_across_their_output_junctions_resonances(xor_chips):
    """A trained neuron's frequency moves with its current by more than an output half width
    (alpha f = 4-5 MHz), and on every chip at 97 % at least one neuron crosses an output
    junction's resonance: the difference of the two output chains' weights it sees,
    W_0(f(I)) - W_1(f(I)), takes both signs over the inputs that switch it on (a non-monotonic
    activation; measured: one neuron of one chip stays on one side)."""
    ex, task, chips = xor_chips
    x = task.x_test[:200]
    for G in chips.values():
        if CompiledEngine(G, n_threads=1).accuracy(task.x_test, task.y_test) < 0.97:
            continue
        fwd = CompiledEngine(G, n_threads=1).forward(x, keep=True)
        hidden, output = fwd.layers
        dw = output.chain_matrix[:, 0, :] - output.chain_matrix[:, 1, :]     # (B, neurons) V/W
        crossing = []
        for n in range(2):
            on = hidden.output_power[:, n] > 0
            assert on.sum() > 100
            assert np.ptp(output.tone_frequency[on, n]) > 5e6
            largest = np.abs(dw[on, n]).max()
            crossing.append(dw[on, n].min() < -0.1 * largest and dw[on, n].max() > 0.1 * largest)
        assert any(crossing)


# ----------------------------------------------------------------------------- circles, in situ

#: the circles chip: the first restart (:func:`restart`), in a fixed order (restart 0 of seeds
#: 0, 1, 2, 3, then restart 1 of each, ...), whose chip (its own neurons, E0 = 2e-18 J, devices
#: drawn with the restart's seed) classifies all 400 training samples (its validation fifth
#: included; no test sample) at CIRCLES_BAR or better in its static model. The chip's own
#: linewidths are wider than the training model's, so its accuracy is checked, not assumed:
#: seed 0's restart 26 reaches 97.5 % on its validation fifth but 96.5 % on all 400 (93.0 % on
#: the test samples, and after fine-tuning 92.5 %: below the claim). Measured: 2 of 107
#: restarts pass (seed 0: none of 64; seed 2's restart 1, static test 99.0 %, and seed 3's
#: restart 4, 100 %; seed 1's first good one is restart 59): about one in 50, 0.8-1.0 CPU s
#: each; in this order the 7th passes. The bound (256 restarts) is < 1 % likely to be reached.
CIRCLES_BAR = 0.97
CIRCLES_SEEDS, CIRCLES_RESTARTS = (0, 1, 2, 3), 64


@pytest.fixture(scope="module")
def circles_chip():
    """The two-neuron chip trained offline on concentric circles (320 training samples, 100
    epochs) by the rule of CIRCLES_BAR: no restart picked by hand. Returns the example, the task,
    the seed (it draws the chip's devices) and the trained graph of the training model (E0 =
    2e-17 J), to be given the chip's own neurons (``ex.on_chip``)."""
    ex = _example()
    task = ex.TASKS["circles"](n_train=400, n_test=400, seed=0)
    model = ex.description(hidden=2, oscillation_energy=ex.TRAINING_OSCILLATION_ENERGY)
    chip_model = ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY)
    train_set, _ = _split(task)
    for k in range(CIRCLES_RESTARTS):
        for seed in CIRCLES_SEEDS:
            net = restart(ex, model, train_set, seed, k)
            G = build_graph(model, seed=1000 * seed + k)
            write_back(G, net)
            chip = ex.on_chip(G, chip_model, seed)
            if CompiledEngine(chip, n_threads=1).accuracy(task.x_train, task.y_train) >= CIRCLES_BAR:
                return ex, task, seed, G
    pytest.fail(f"no restart of {CIRCLES_RESTARTS} x seeds {CIRCLES_SEEDS} reaches {CIRCLES_BAR:.1%} "
                "on the training samples (expected about one in 50)")


def test_noisy_chip_outputs_are_offset_from_the_static_model_in_proportion_to_eta(circles_chip):
    """With noise on, a neuron's power and frequency fluctuate together (f follows p through
    N), and the mean of P W(f) through the non-linear line shape is not P0 W(f0): an offset of
    second order in the fluctuations, i.e. proportional to eta = k_B T / E0. Ten times the
    oscillation energy, a tenth of the offset. Measured on the rule's chip (seed 2, restart 1),
    100 calibration samples, noise seeds 3 / 4 / 5: differences -0.141 / -0.123 / -0.145 mV,
    ratios 11.8 / 15.0 / 9.3 (with 50 samples a ratio of 78: the offset at 2e-17 J, ~0.01 mV,
    drowns in the noise, so 100 are kept)."""
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


#: Hz: the chip in the loop reads its outputs at 1 MHz while it trains (the tests read at
#: 100 kHz): 1.5 us of noisy dynamics per training sample instead of 10.5 us, ~7x cheaper (the
#: offset is the same mean, only noisier per sample). Measured, 6 passes over 160 samples: the
#: first chips of seeds 1, 2 and 3 that pass CIRCLES_BAR (restarts 59, 1, 4) end at 100 / 100 /
#: 100 % (31-39 CPU s of tuning; ~200 s at 100 kHz), seed 0's restart 26 (static 93.0 %, fails
#: the bar) at 92.5 % (at 100 kHz, 4 passes over 64 samples in batches of 16: 93.0 %)
IN_LOOP_BANDWIDTH = 1e6


def test_physics_aware_fine_tuning_on_the_noisy_chip_reaches_97_percent_on_circles(circles_chip):
    """A few passes of physics-aware training (forward on the noisy event engine, gradient
    through the static model) bring the noisy chip to >= 97 % in the noisy event engine.

    What the noise takes depends on the chip's margins: measured on 200 test samples, the noisy
    chip classifies 50.0 % on seed 0's restart 26 (static 93.0 %; offset -0.46 mV), 100 % on
    the chips of seeds 2 and 3 that pass CIRCLES_BAR (static 99.0 / 100 %; seed 2's offset
    -0.14 mV). The old claim that the noisy chip loses >= 5 points held for the restart picked by
    hand, not in general, and is not asserted. Fine-tuning brings the noisy chip to its static
    model's accuracy (seed 0: 50.0 -> 92.5 %), not beyond it: hence the chip's static model is
    what the rule checks."""
    ex, task, seed, G = circles_chip
    chip = ex.on_chip(G, ex.description(hidden=2, oscillation_energy=ex.VORTEX_OSCILLATION_ENERGY), seed)
    x, y = task.x_test[:200], task.y_test[:200]
    assert CompiledEngine(chip).accuracy(x, y) >= 0.97      # the static model of the chip classifies well
    tuned = ex.fine_tune_on_chip(chip.copy(), task, seed, epochs=6, samples=160,
                                 event_config={**ex.EVENT_CONFIG, "readout_bandwidth": IN_LOOP_BANDWIDTH})
    moved = [np.abs(a - b).max() for a, b in zip(compile_graph(tuned).trainable_state()["tuning"],
                                                  compile_graph(chip).trainable_state()["tuning"])]
    assert max(moved) > 0                                    # the chip in the loop did train it
    after = EventEngine(tuned, config=EventConfig(**ex.EVENT_CONFIG), seed=seed + 1).run(x)
    assert after.accuracy(y) >= 0.97
