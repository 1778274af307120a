"""Restarts from random programmings, and chip-in-the-loop (physics-aware) fine-tuning."""
import numpy as np
import pytest

from rfemu.engines.event import EventConfig
from rfemu.learning import TrainingConfig, train
from rfemu.learning.in_situ import InSituConfig, train_in_situ
from rfemu.learning.restarts import random_state, train_restarts
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import xor_quadrants


def _net(seed=0):
    return compile_graph(build_graph(spin_mlp((2, 3, 2)), seed=seed))


def test_random_state_fills_the_windows_uniformly_and_leaves_the_output_biases():
    net = compile_graph(build_graph(spin_mlp((16, 32, 4)), seed=0))
    out_bias = net.layers[-1].bias_voltage.copy()
    random_state(net, np.random.default_rng(1), bias_range=(0.002, 0.012))
    for layer in net.layers:
        lo = np.broadcast_to(layer.tuning_min, layer.tuning.shape)
        hi = np.broadcast_to(layer.tuning_max, layer.tuning.shape)
        u = (layer.tuning - lo) / (hi - lo)
        assert np.all((u >= 0) & (u <= 1))
        # uniform on [0, 1]: mean 1/2 and variance 1/12, within 5 standard errors
        n = u.size
        assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
        assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    b = net.layers[0].bias_voltage
    assert np.all((b >= 0.002) & (b <= 0.012))
    np.testing.assert_array_equal(net.layers[-1].bias_voltage, out_bias)
    with pytest.raises(ValueError, match="bias_range"):
        random_state(net, 0, bias_range=(0.01, 0.0))


def test_active_biases_start_every_neuron_on_and_unsaturated_at_zero_input():
    # "active": each hidden bias uniform over [I_th, I_max] / g_m, so that at zero input every
    # neuron's current I = g_m V_bias lies in its active window (on, below the clamp)
    from rfemu.engines.compiled import CompiledEngine

    net = compile_graph(build_graph(spin_mlp((4, 400, 2)), seed=0))
    random_state(net, np.random.default_rng(2), bias_range="active")
    layer = net.layers[0]
    i_th, i_max = np.asarray(layer.oscillator.threshold_current), np.asarray(layer.oscillator.max_current)
    u = (layer.bias_voltage * layer.transconductance - i_th) / (i_max - i_th)
    assert np.all((u >= 0) & (u <= 1))
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    current = CompiledEngine(net, n_threads=1).forward(np.zeros((1, 4)), keep=True).layers[0].current
    assert np.all((current >= i_th) & (current <= i_max))
    with pytest.raises(ValueError, match="active"):
        random_state(net, 0, bias_range="on")


def test_restarts_keep_the_best_validation_accuracy_and_leave_it_in_the_network():
    task = xor_quadrants(n_train=200, n_test=50, seed=0)
    cfg = TrainingConfig(epochs=15, batch_size=32, frequency_learning_rate=2e5, bias_learning_rate=2e-4,
                         validation_fraction=0.25, patience=None, early_stopping_metric="accuracy",
                         progress=False, seed=0, n_threads=1)
    net = _net()
    result, scores = train_restarts(net, task.x_train, task.y_train, cfg, restarts=4, seed=3)
    assert len(scores) == 4 and len(set(scores)) > 1           # the restarts really differ
    assert max(scores) == pytest.approx(np.nanmax(result.history.validation_accuracy))
    # the network passed in carries the kept state: the same predictions as the result's engine
    from rfemu.engines.compiled import CompiledEngine
    np.testing.assert_array_equal(CompiledEngine(net, n_threads=1).predict(task.x_test),
                                  result.engine.predict(task.x_test))
    with pytest.raises(ValueError, match="validation_fraction"):
        train_restarts(_net(), task.x_train, task.y_train,
                       TrainingConfig(epochs=1, validation_fraction=0.0, progress=False), restarts=2)


def test_in_situ_with_noise_off_takes_the_offline_training_steps():
    """Noise off, the chip's outputs are the static model's (to 1e-6): physics-aware training
    with full batches then takes the same Adam steps as offline backpropagation."""
    task = xor_quadrants(n_train=24, n_test=8, seed=0)
    a, b = _net(2), _net(2)
    kw = dict(frequency_learning_rate=1e5, bias_learning_rate=1e-4, score_scale=3e3)
    train(a, task.x_train, task.y_train,
          TrainingConfig(epochs=3, batch_size=24, validation_fraction=0.0, patience=None, progress=False,
                         n_threads=1, **kw))
    train_in_situ(b, task.x_train, task.y_train, EventConfig(noise=False),
                  InSituConfig(epochs=3, batch_size=24, final_learning_rate_fraction=1.0, progress=False, **kw))
    for la, lb in zip(a.layers, b.layers):
        np.testing.assert_allclose(lb.tuning, la.tuning, rtol=0, atol=1e-3 * kw["frequency_learning_rate"])
        np.testing.assert_allclose(lb.bias_voltage, la.bias_voltage, rtol=0, atol=1e-3 * kw["bias_learning_rate"])
    # and the steps were real: the state moved by more than one step
    start = _net(2)
    assert np.abs(b.layers[0].tuning - start.layers[0].tuning).max() > kw["frequency_learning_rate"]


def test_in_situ_config_rejects_impossible_values():
    with pytest.raises(ValueError, match="epochs"):
        InSituConfig(epochs=0)
    with pytest.raises(ValueError, match="score_scale"):
        InSituConfig(score_scale=-1.0)
    with pytest.raises(ValueError, match="labels"):
        train_in_situ(_net(), np.zeros((4, 2)), np.array([0, 1, 2, 0]), EventConfig(noise=False),
                      InSituConfig(progress=False))
