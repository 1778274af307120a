"""Offline backpropagation: analytic gradients against finite differences, Adam in the window,
early stopping, the two variability schemes."""
import math

import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import ResonatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.learning import TrainingConfig, softmax_cross_entropy, train
from rfemu.network import (
    FrequencyPlan, InputDescription, LayerDescription, NetworkDescription, VariabilityDescription,
    build_graph, compile_graph, schema as S, spin_mlp,
)
from rfemu.tasks import xor_quadrants


def small_network(emission, seed=0):
    res = ResonatorParameters(damping=0.01, symmetric=0.3)
    oscp = OscillatorParameters(nonlinear_frequency_shift=2 * math.pi * 4e6, temperature=300.0)
    common = dict(resonator=res, oscillator=oscp, emission=emission, tone_linewidth=1e5,
                  initial_tuning_spread=4e5, initial_bias_spread=4e-3)
    d = NetworkDescription(
        InputDescription(6, FrequencyPlan("linear", 20e6, 50e6), linewidth=5e4),
        (LayerDescription(5, FrequencyPlan("linear", 20e6, 50e6), bias_voltage=0.011, **common),
         LayerDescription(4, FrequencyPlan("geometric", 25e6, 60e6), bias_voltage=0.011, **common),
         LayerDescription(3, FrequencyPlan("geometric", 22e6, 70e6), **common)),
        VariabilityDescription(resonance_frequency=0.01, oscillator_power=0.05, source_frequency=0.01))
    return compile_graph(build_graph(d, seed=seed))


@pytest.mark.parametrize("emission", [S.EMISSION_FIXED, S.EMISSION_CURRENT])
def test_analytic_gradient_equals_finite_differences(emission, check_backprop_gradients):
    net = small_network(emission)
    engine = CompiledEngine(net)
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 6)), rng.integers(0, 3, 8)
    check_backprop_gradients(engine, x, y, extra_points=[(2, 1)])


def test_training_learns_xor_with_two_neurons():
    """The Ross et al. 2023 topology: 2 RF inputs -> 2 oscillator neurons -> 2 output chains."""
    task = xor_quadrants(n_train=300, n_test=300, seed=0)
    d = NetworkDescription(
        InputDescription(2, FrequencyPlan("linear", 200e6, 300e6)),
        (LayerDescription(4, FrequencyPlan("linear", 200e6, 300e6), junctions_per_chain=2, bias_voltage=0.008,
                          initial_tuning_spread=3e6),
         LayerDescription(2, FrequencyPlan("linear", 250e6, 350e6), initial_tuning_spread=3e6)))
    best = 0.0
    for seed in range(3):
        r = train(build_graph(d, seed=seed), task.x_train, task.y_train,
                  TrainingConfig(epochs=60, batch_size=32, frequency_learning_rate=2e5,
                                 bias_learning_rate=2e-4, validation_fraction=0.0, progress=False, seed=seed))
        best = max(best, r.accuracy(task.x_test, task.y_test))
        assert r.history.train_loss[-1] < r.history.train_loss[0]
    assert best >= 0.95


def test_tuning_stays_in_its_window():
    task = xor_quadrants(n_train=200, n_test=10, seed=1)
    d = spin_mlp((2, 3, 2), input_band=(100e6, 200e6), hidden_band=(100e6, 200e6),
                 tuning_window=(-2e5, 2e5))
    r = train(build_graph(d, seed=0), task.x_train, task.y_train,
              TrainingConfig(epochs=30, batch_size=20, frequency_learning_rate=5e4, validation_fraction=0.0,
                             progress=False))
    for layer in r.network.layers:
        assert np.all(layer.tuning >= -2e5) and np.all(layer.tuning <= 2e5)
    at_bound = sum(np.sum(np.isclose(np.abs(layer.tuning), 2e5)) for layer in r.network.layers)
    assert at_bound > 0                                  # the window did bind
    traj = np.array(r.history.snapshot_frequency)
    assert traj.shape == (31, len(r.history.snapshot_nodes))


def test_early_stopping_keeps_the_epoch_of_lowest_validation_loss():
    task = xor_quadrants(n_train=300, n_test=10, seed=2)
    G = build_graph(spin_mlp((2, 4, 2), input_band=(100e6, 200e6), hidden_band=(100e6, 200e6)), seed=0)
    r = train(G, task.x_train, task.y_train,
              TrainingConfig(epochs=200, batch_size=16, frequency_learning_rate=3e6, bias_learning_rate=3e-3,
                             validation_fraction=0.2, patience=3, progress=False))
    h = r.history
    assert r.stopped_early and len(h.train_loss) < 200
    assert r.best_epoch == int(np.argmin(h.validation_loss)) + 1
    assert len(h.train_loss) == r.best_epoch + 3
    # the kept state is the best epoch's: its validation loss is the recorded minimum
    from rfemu.learning import stratified_split
    from rfemu.rng import as_generator
    _, val = stratified_split(task.y_train, 0.2, as_generator(0))
    again = softmax_cross_entropy(1e3 * r.engine.forward(task.x_train[val]).scores, task.y_train[val])[0]
    assert again == pytest.approx(min(h.validation_loss), rel=1e-12)


def test_ideal_gradient_scheme_equals_perturbed_training_without_variability():
    task = xor_quadrants(n_train=100, n_test=10, seed=3)
    d = spin_mlp((2, 3, 2), input_band=(100e6, 200e6), hidden_band=(100e6, 200e6))
    cfg = dict(epochs=5, batch_size=25, validation_fraction=0.0, progress=False, frequency_learning_rate=1e5)
    a = train(build_graph(d, seed=4), task.x_train, task.y_train, TrainingConfig(**cfg))
    b = train(build_graph(d, seed=4), task.x_train, task.y_train,
              TrainingConfig(variability_mode="ideal_gradient", **cfg), ideal=build_graph(d, seed=4))
    for la, lb in zip(a.network.layers, b.network.layers):
        assert np.array_equal(la.tuning, lb.tuning) and np.array_equal(la.bias_voltage, lb.bias_voltage)


def test_ideal_gradient_scheme_differs_when_devices_vary():
    task = xor_quadrants(n_train=100, n_test=10, seed=3)
    d = spin_mlp((2, 3, 2), input_band=(100e6, 200e6), hidden_band=(100e6, 200e6))
    pert = d.with_variability(VariabilityDescription.uniform(0.01))
    cfg = dict(epochs=3, batch_size=25, validation_fraction=0.0, progress=False, frequency_learning_rate=1e5)
    a = train(build_graph(pert, seed=4), task.x_train, task.y_train, TrainingConfig(**cfg))
    b = train(build_graph(pert, seed=4), task.x_train, task.y_train,
              TrainingConfig(variability_mode="ideal_gradient", **cfg), ideal=build_graph(d, seed=4))
    assert not np.allclose(a.network.layers[0].tuning, b.network.layers[0].tuning)
    with pytest.raises(ValueError, match="ideal twin"):
        train(build_graph(pert, seed=4), task.x_train, task.y_train, TrainingConfig(variability_mode="ideal_gradient"))


def test_bad_labels_raise_a_clear_error():
    G = build_graph(spin_mlp((2, 3, 2)), seed=0)
    with pytest.raises(ValueError, match="labels must lie in"):
        train(G, np.zeros((4, 2)), np.array([0, 1, 2, 1]), TrainingConfig(epochs=1, progress=False))


def test_bias_calibration_puts_every_neuron_mid_window():
    from rfemu.learning import calibrate_bias
    net = compile_graph(build_graph(spin_mlp((12, 6, 5, 3)), seed=0))
    engine = CompiledEngine(net)
    x = np.random.default_rng(0).random((50, 12))
    before = engine.forward(x, keep=True)
    calibrate_bias(engine, x)
    after = engine.forward(x, keep=True)
    for l in (0, 1):
        osc = net.layers[l].oscillator
        mid = 0.5 * (osc.threshold_current + osc.max_current)
        assert np.allclose(after.layers[l].current.mean(axis=0), mid, rtol=1e-9)
        assert not np.allclose(before.layers[l].current.mean(axis=0), mid, rtol=1e-3)
    assert np.array_equal(net.layers[2].bias_voltage, compile_graph(build_graph(spin_mlp((12, 6, 5, 3)), seed=0)).layers[2].bias_voltage)


def test_resonance_calibration_puts_perturbed_junctions_where_the_ideal_ones_are():
    from rfemu.learning import calibrate_resonances
    d = spin_mlp((16, 8, 3))
    ideal = compile_graph(build_graph(d, seed=2))
    pert = compile_graph(build_graph(d.with_variability(VariabilityDescription(resonance_frequency=0.01)), seed=2))
    assert np.abs(pert.layers[0].resonance_frequency - ideal.layers[0].resonance_frequency).max() > 1e5
    calibrate_resonances(pert)
    for a, b in zip(ideal.layers, pert.layers):
        assert np.allclose(b.resonance_frequency, a.resonance_frequency, rtol=1e-14, atol=0)
        assert not np.allclose(b.tuning, a.tuning)
