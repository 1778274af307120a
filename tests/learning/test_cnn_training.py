"""Training the spintronic CNN through the compiled engine (rfemu.learning.cnn): in the parallel
arrangement the copies' gradients accumulate into one shared target (for ideal copies exactly the
sequential chain's gradient), the copies' targets stay identical and differ from their tunings
only by the write noise; the training learns a small image task; the registry entry trains a CNN."""
import numpy as np
import pytest

from rfemu.engines.conv import SpinCNN, rearranged
from rfemu.learning import cnn as lc
from rfemu.learning.backprop import softmax_cross_entropy
from rfemu.learning.rules import SettingError, TrainingContext, get_rule
from rfemu.network import build_graph, conv
from rfemu.network.frequency import FrequencyPlan
from rfemu.devices.oscillator import OscillatorParameters

from bar_images import bars

IMAGE = (1, 8, 8)


def _cnn(arrangement="sequential", seed=0):
    c = conv.ConvDescription(filters=4, kernel_size=3, pool_size=2, pool="max", arrangement=arrangement,
                             patch_plan=FrequencyPlan("geometric", 20e6, 120e6),
                             oscillator=OscillatorParameters(max_output_power=0.2e-6))
    return SpinCNN.from_graph(build_graph(conv.cnn_description(c, IMAGE, (12,), 3), seed=seed))


def test_shared_gradient_of_ideal_parallel_copies_is_the_sequential_gradient():
    seq = _cnn()
    lc.calibrate_cnn_bias(seq, bars(50, 1)[0])
    par = rearranged(seq, conv.PARALLEL)
    x, y = bars(20, 2)
    grads = []
    for net in (seq, par):
        fwd = net.forward(x, keep=True)
        _, g = softmax_cross_entropy(fwd.scores * 40.0, y)
        grads.append(net.backward(fwd, g * 40.0))
    shared = conv.shared_gradient(grads[1].conv)
    assert grads[1].conv.tuning.shape[0] == 36
    assert np.ptp(grads[1].conv.tuning, axis=0).max() > 0          # each copy its own gradient ...
    np.testing.assert_allclose(shared.tuning[0], grads[0].conv.tuning[0], rtol=1e-9,
                               atol=1e-9 * np.abs(grads[0].conv.tuning).max())  # ... their sum: the chain's
    np.testing.assert_allclose(shared.bias_voltage[0], grads[0].conv.bias_voltage[0], rtol=1e-9)
    for a, b in zip(grads[1].head_tuning, grads[0].head_tuning):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * np.abs(b).max())


def test_parallel_training_keeps_the_copies_targets_identical_differing_by_write_noise_only():
    net = rearranged(_cnn(), conv.PARALLEL, base_spread=0.01, seed=3)
    x, y = bars(200, 4)
    noise = 3e3
    start = net.conv.target_tuning.copy()
    lc.train_cnn(net, x, y, lc.CNNTrainingConfig(epochs=1, batch_size=50, write_noise=noise, seed=5))
    layer = net.conv
    assert np.abs(layer.target_tuning - start).max() > 1e4                  # the target moved
    assert np.ptp(layer.target_tuning, axis=0).max() == 0.0                 # identical in every copy
    assert np.ptp(layer.bias_voltage, axis=0).max() == 0.0
    error = (layer.tuning - layer.target_tuning).ravel()                    # blind writes: noise only
    inside = (layer.tuning > layer.tuning_min) & (layer.tuning < layer.tuning_max)
    assert inside.mean() > 0.99
    assert np.std(error) == pytest.approx(noise, rel=0.05)
    assert abs(np.mean(error)) < 4 * noise / np.sqrt(error.size)


def test_training_learns_orientedbars():
    net = _cnn(seed=1)
    x, y = bars(600, 6)
    xt, yt = bars(300, 7)
    before = lc.cnn_accuracy(net, xt, yt)
    result = lc.train_cnn(net, x, y, lc.CNNTrainingConfig(epochs=12, batch_size=50, shift_augmentation=0, seed=0))
    assert result.train_loss[-1] < result.train_loss[0]
    assert lc.cnn_accuracy(net, xt, yt) > max(0.95, before + 0.3)     # measured 1.0


def test_registry_entry_trains_a_cnn_and_refuses_a_network_without_convolution():
    rule = get_rule("cnn_backprop")
    net = _cnn(seed=2)
    x, y = bars(200, 8)
    settings = {"epochs": 2, "batch_size": 50, "relative_frequency_learning_rate": 0.1,
                "frequency_learning_rate": 6.6e3, "bias_learning_rate": 1e-5, "score_scale": 40.0,
                "learning_rate_schedule": "cosine", "final_learning_rate_fraction": 0.0,
                "validation_fraction": 0.0, "shift_augmentation": 0, "calibrate_bias": True,
                "beta1": 0.9, "beta2": 0.999, "adam_epsilon": 1e-8}
    streams = {"training": np.random.SeedSequence(0)}
    before = net.conv.target_tuning.copy()
    outcome = rule.train(TrainingContext(network=net, features=x.reshape(len(x), -1), labels=y,
                                         settings=settings, streams=streams))
    assert outcome.metrics["epochs_run"] == 2 and len(outcome.history.train_loss) == 2
    assert np.abs(net.conv.target_tuning - before).max() > 0
    with pytest.raises(SettingError, match="convolution"):
        rule.train(TrainingContext(network=net.head.network, features=x.reshape(len(x), -1), labels=y,
                                   settings=settings, streams=streams))


def test_held_out_images_choose_the_kept_epoch():
    net = _cnn(seed=3)
    x, y = bars(240, 9)
    result = lc.train_cnn(net, x, y, lc.CNNTrainingConfig(epochs=3, batch_size=40, validation_fraction=0.25,
                                                          shift_augmentation=0, seed=1))
    acc = np.array(result.validation_accuracy)
    assert acc.shape == (3,) and np.all(np.isfinite(acc))
    assert result.best_epoch == int(np.argmax(acc))
    # the kept state is the best epoch's: its accuracy on the same held-out images comes back
    rng = np.random.default_rng(1)
    from rfemu.learning.backprop import stratified_split
    _, va = stratified_split(y, 0.25, seed=rng)
    assert lc.cnn_accuracy(net, x[va], y[va]) == pytest.approx(acc.max())
