"""Local rules against the analytic gradient (offline backprop's): the perturbative rule's
direction converges to it; feedback alignment is exact on output chains, aligns on hidden ones,
and moves a junction the right way on either side of its resonance line."""
import numpy as np
import pytest

from rfemu.devices import resonator as res
from rfemu.learning.local import (FeedbackAlignmentRule, JunctionStates, LearningChip, LocalView,
                                  PerturbativeRule, WriteSettings, backprop_gradient, sense)
from rfemu.network import build_graph, compile_graph, spin_mlp
from rfemu.tasks import circles


def _cosine(a, b):
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


def _estimate(rule, view):
    """The rule's estimate of dC/df (its step divided by -learning_rate D^2)."""
    return -rule.update(view) / (rule.learning_rate * view.half_width ** 2)


@pytest.fixture
def small():
    net = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))     # 12 + 6 junctions
    rng = np.random.default_rng(0)
    return net, rng.random((16, 4)), rng.integers(0, 2, 16)


@pytest.mark.parametrize("code,steps", [("sinusoid", 64), ("random", 4096), ("sequential", 18)])
def test_perturbative_update_points_along_the_analytic_gradient(small, code, steps):
    net, x, y = small
    chip = LearningChip(net)
    rule = PerturbativeRule(steps=steps, code=code, dither_fraction=0.01)
    rule.prepare(net, 1)
    view, measured, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    assert measured == (steps + 1) * len(y)
    assert _cosine(_estimate(rule, view), backprop_gradient(net, x, y, 1e3)) >= 0.9


def test_random_code_estimate_improves_with_integration_time(small):
    """With +-1 codes the estimate's noise falls as 1/sqrt(steps): the cosine with the gradient
    grows towards 1 with the integration window (mean over 5 windows each)."""
    net, x, y = small
    chip = LearningChip(net)
    g = backprop_gradient(net, x, y, 1e3)
    means = []
    for steps in (16, 256, 4096):
        rule = PerturbativeRule(steps=steps, code="random", dither_fraction=0.01)
        rule.prepare(net, 2)
        p = chip.engine.input_power(x)
        means.append(np.mean([_cosine(_estimate(rule, sense(chip, rule, p, y, 1e3)[0]), g) for _ in range(5)]))
    assert means[0] < means[1] < means[2]
    assert means[2] >= 0.95


def test_dither_is_volatile_only_commits_write(small):
    net, x, y = small
    chip = LearningChip(net)
    tuning = [layer.tuning.copy() for layer in net.layers]
    rule = PerturbativeRule(steps=64)
    rule.prepare(net, 0)
    sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    assert all(np.array_equal(a, layer.tuning) for a, layer in zip(tuning, net.layers))


def test_feedback_alignment_is_gradient_descent_on_output_chains(small):
    net, x, y = small
    chip = LearningChip(net)
    rule = FeedbackAlignmentRule()
    rule.prepare(net, 0)
    view, _, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3)
    g = backprop_gradient(net, x, y, 1e3)
    out = slice(net.layers[0].tuning.size, None)
    assert np.allclose(_estimate(rule, view)[out], g[out], rtol=1e-9, atol=1e-12 * np.abs(g).max())


def test_feedback_alignment_hidden_updates_align_with_the_gradient_after_training():
    """Circles on a 2-16-2 network: the hidden layer's update (random feedback) has a positive
    projection on the true gradient of the same batch once the output layer has adapted (mean
    cosine over windows 150-250 > 0.2; measured 0.3-0.77 over three seeds)."""
    task = circles(n_train=512, n_test=10, seed=0)
    net = compile_graph(build_graph(spin_mlp((2, 16, 2)), seed=0))
    chip = LearningChip(net)
    rule = FeedbackAlignmentRule(0.3)
    rule.prepare(net, 0)
    states = JunctionStates(net, WriteSettings(step=1e3), seed=0)
    rng = np.random.default_rng(0)
    hidden = slice(0, net.layers[0].tuning.size)
    cosines = []
    for window in range(250):
        idx = rng.choice(len(task.y_train), 32, replace=False)
        view, _, _ = sense(chip, rule, chip.engine.input_power(task.x_train[idx]), task.y_train[idx], 1e3)
        step = rule.update(view)
        if window >= 150:
            g = backprop_gradient(net, task.x_train[idx], task.y_train[idx], 1e3)
            cosines.append(_cosine(-step[hidden], g[hidden]))
        states.accumulate(step)
        states.commit(float(window))
    assert np.mean(cosines) > 0.2


@pytest.mark.parametrize("offset", [-2.0, -0.5, 0.5, 2.0])
def test_a_junction_moves_to_a_larger_weight_on_either_side_of_its_line(offset):
    """One tone at f_t through one junction at f_t - offset D (|offset| > 1: the outer side of
    the line, < 1: the inner side). When the cost wants |V| to grow (the chain error has the sign
    opposite to V), the feedback-alignment step increases |W(f_t - f_j)|."""
    f_t, damping, power = 300e6, 0.01, 1e-6
    f_j = f_t / (1 + offset * damping)              # f_t - f_j = offset D with D = alpha f_j
    width = damping * f_j
    def voltage(f):
        return float(res.rectified_voltage(f_t, power, f, damping * f))
    v = voltage(f_j)
    slope = float(res.d_rectified_voltage_d_resonance(f_t, power, f_j, width, half_width_slope=damping))
    view = LocalView("feedback", resonance_frequency=[f_j], half_width=[width], series_sign=[1.0],
                     voltage_slope=[[slope]], chain_error=[[-np.sign(v) * 1e3]])
    rule = FeedbackAlignmentRule(learning_rate=1e-3)
    step = float(rule.update(view)[0])
    assert abs(step) < 0.1 * width
    assert abs(voltage(f_j + step)) > abs(v)
    # outer side: towards the tone; inner side: away from it
    assert np.sign(step) == (np.sign(offset) if abs(offset) > 1 else -np.sign(offset))


def test_perturbative_bias_estimate_points_along_the_bias_gradient(small):
    """Chains dithering their biases with their own codes (after the junctions' codes) estimate
    dC/dV_bias: cosine >= 0.9 with backprop's bias gradient; the junctions' estimate is still
    the tuning gradient."""
    from rfemu.engines.compiled import CompiledEngine
    from rfemu.learning.backprop import backward, softmax_cross_entropy
    net, x, y = small
    chip = LearningChip(net)
    rule = PerturbativeRule(steps=128, code="sinusoid", dither_fraction=0.01, bias_dither=1e-5,
                            bias_learning_rate=1e-8)
    rule.prepare(net, 0)
    chains = []
    view, _, _ = sense(chip, rule, chip.engine.input_power(x), y, 1e3, chains)
    engine = CompiledEngine(net, n_threads=1)
    fwd = engine.forward(x, keep=True)
    _, g = softmax_cross_entropy(1e3 * fwd.scores, y)
    g_tuning, g_bias = backward(engine, fwd, 1e3 * g)
    assert _cosine(PerturbativeRule.estimate(chains[0]), np.concatenate(g_bias)) >= 0.9
    assert _cosine(_estimate(rule, view), np.concatenate([a.ravel() for a in g_tuning])) >= 0.9
    step = rule.update_bias(chains[0])
    assert np.allclose(step, -1e-8 * PerturbativeRule.estimate(chains[0]))


def test_perturbative_estimate_integrates_away_readout_noise(small):
    """1 mV rms on every reading of the output chains (the class scores are a few mV): over 64
    dither steps the estimate is poor, over 8192 it points along the gradient again (measured
    cosines 0.49 and 0.99)."""
    net, x, y = small
    chip = LearningChip(net)
    g = backprop_gradient(net, x, y, 1e3)
    cosines = []
    for steps in (64, 8192):
        chip.readout_noise, chip.noise_rng = 1e-3, np.random.default_rng(1)
        rule = PerturbativeRule(steps=steps, dither_fraction=0.01)
        rule.prepare(net, 0)
        cosines.append(_cosine(_estimate(rule, sense(chip, rule, chip.engine.input_power(x), y, 1e3)[0]), g))
    assert cosines[0] < 0.8 and cosines[1] >= 0.95
