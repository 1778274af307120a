"""The chains' homeostatic bias trim before on-chip learning (rfemu.learning.local.train.trim_biases,
training.on_chip.initial_trim): each chain sets its own bias from its own mean over the training
samples: an output chain's mean voltage to zero, a hidden neuron's mean current mid-way between
threshold and saturation."""
import copy

import numpy as np
import pytest

from rfemu.learning.local.chip import LearningChip
from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import OnChipConfig, train_on_chip, trim_biases
from rfemu.tasks import circles


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_puts_every_neuron_mid_window_and_every_output_chain_at_zero_mean(seed, ross_chip):
    net = ross_chip(seed, bias_range="active", graph_seed=13)[1]
    x = circles(n_train=200, n_test=2, seed=seed).x_train
    chip = LearningChip(net)
    chip.thermal_noise = True
    power = chip.engine.input_power(x)
    assert trim_biases(chip, power, "all") == 2 * len(x)
    hidden, out = net.layers[0], net.layers[1]
    fwd = chip.engine.forward(power=power, keep=True)
    mid = 0.5 * (hidden.oscillator.threshold_current + hidden.oscillator.max_current)
    assert np.allclose(fwd.layers[0].current.mean(axis=0), mid, rtol=1e-9)
    # the output chains' mean voltage as the noisy chip senses it (noise-averaged scores)
    assert np.allclose(chip.scores(power, chip.resonances())[0].mean(axis=0), 0.0, atol=1e-12)
    assert np.ptp(out.bias_voltage) > 0                          # each chain its own


def test_outputs_leaves_the_neurons_and_each_output_chain_reads_only_itself(ross_chip):
    net = ross_chip(3, bias_range="active", graph_seed=13)[1]
    x = circles(n_train=200, n_test=2, seed=3).x_train
    hidden_bias = net.layers[0].bias_voltage.copy()
    other = copy.deepcopy(net)
    other.layers[1].tuning[1] += 2e6                  # move a junction of output chain 1 only
    trimmed = []
    for n in (net, other):
        chip = LearningChip(n)
        trim_biases(chip, chip.engine.input_power(x), "outputs")
        trimmed.append(n.layers[1].bias_voltage.copy())
        assert np.array_equal(n.layers[0].bias_voltage, hidden_bias)
    assert trimmed[0][0] == trimmed[1][0]             # chain 0 did not see chain 1's change
    assert trimmed[0][1] != trimmed[1][1]


def test_learning_trims_before_its_first_window_and_only_then(ross_chip):
    net = ross_chip(4, bias_range="active", graph_seed=13)[1]
    task = circles(n_train=64, n_test=2, seed=4)
    config = OnChipConfig(windows=1, batch_size=8, evaluate_every=1, seed=0, initial_trim="outputs")
    result = train_on_chip(net, task.x_train, task.y_train, PerturbativeRule(learning_rate=1e-6, steps=4), config, WriteSettings())
    chip = LearningChip(net)
    voltage = chip.scores(chip.engine.input_power(task.x_train), chip.resonances())[0]
    # no bias learning here (bias_dither 0): the output chains stay as trimmed, means ~0
    # (the one window's small step moved the junctions a little)
    assert np.all(np.abs(voltage.mean(axis=0)) < 0.01 * voltage.std(axis=0))
    # the trim's presentations are on the simulated clock: 64 samples + 5 x 8 of the window
    assert result.simulated_time >= (64 + 5 * 8) * config.sample_time
    with pytest.raises(ValueError, match="initial_trim"):
        OnChipConfig(initial_trim="middle")
