"""Agents that normalise their own steps (OnChipConfig.adaptive_step, adaptive_bias_step;
rfemu.learning.local.train.AdaptiveSteps): every junction moves by a fixed fraction of its own
half width in the direction its running mean of requests points, slowed where its requests
keep changing sign; every chain likewise by a fixed voltage. Only the agent's own history is read."""
import copy

import numpy as np
import pytest

from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.train import AdaptiveSteps, OnChipConfig, train_on_chip
from small_chip import CONTINUOUS, frequencies, handed_requests, small_chip



def test_the_first_step_of_every_junction_is_its_fraction_of_half_width_in_the_rules_direction(monkeypatch):
    seen = handed_requests(monkeypatch)
    net, x, y = small_chip()
    half_width = np.concatenate([(layer.damping * layer.resonance_frequency).ravel() for layer in net.layers])
    rule = PerturbativeRule(learning_rate=0.01, steps=16)
    config = OnChipConfig(windows=1, batch_size=8, evaluate_every=1, seed=0)
    train_on_chip(copy.deepcopy(net), x, y, rule, config, CONTINUOUS)
    plain = seen.pop()
    train_on_chip(net, x, y, PerturbativeRule(learning_rate=0.01, steps=16),
                  OnChipConfig(windows=1, batch_size=8, evaluate_every=1, seed=0, adaptive_step=0.02), CONTINUOUS)
    adaptive = seen.pop()
    moving = plain != 0
    assert moving.sum() >= 0.9 * plain.size
    assert np.allclose(np.abs(adaptive[moving]), 0.02 * half_width[moving], rtol=1e-9)
    assert np.array_equal(np.sign(adaptive), np.sign(plain))
    # the plain steps are spread over orders of magnitude; the normalised ones are not
    assert np.ptp(np.log10(np.abs(plain[moving]))) > 1.0


def test_the_rules_learning_rate_sets_nothing_once_steps_are_normalised():
    net, x, y = small_chip()
    ends = []
    for rate in (0.001, 0.1):
        n = copy.deepcopy(net)
        train_on_chip(n, x, y, PerturbativeRule(learning_rate=rate, steps=16, bias_dither=1e-4, bias_learning_rate=rate),
                      OnChipConfig(windows=6, batch_size=8, evaluate_every=6, seed=1, adaptive_step=0.01,
                                   adaptive_bias_step=1e-5), CONTINUOUS)
        ends.append(np.concatenate([frequencies(n)] + [layer.bias_voltage.ravel() for layer in n.layers]))
    moved = ends[0] - np.concatenate([frequencies(net)] + [layer.bias_voltage.ravel() for layer in net.layers])
    assert np.all(moved != 0)
    assert np.allclose(ends[0], ends[1], rtol=1e-9, atol=1e-12)


def test_an_agent_whose_requests_flip_sign_slows_down_and_a_steady_one_keeps_its_step():
    steps = AdaptiveSteps(0.05)
    half_width = np.array([2.5e6, 2.5e6])
    for k in range(200):
        out = steps(np.array([1e3, (-1) ** k * 1e3]), unit=half_width)
    assert out[0] == pytest.approx(0.05 * 2.5e6, rel=1e-3)          # steady: full step
    assert abs(out[1]) < 0.1 * 0.05 * 2.5e6                          # oscillating: < a tenth
    assert AdaptiveSteps(0.05)(np.zeros(3), unit=half_width[0]).tolist() == [0.0, 0.0, 0.0]


def test_the_chains_normalised_bias_steps_are_the_given_voltage_in_the_rules_direction():
    net, x, y = small_chip()
    before = [layer.bias_voltage.copy() for layer in net.layers]
    plain = copy.deepcopy(net)
    rule = dict(learning_rate=0.01, steps=16, bias_dither=1e-4, bias_learning_rate=1e-9)
    train_on_chip(plain, x, y, PerturbativeRule(**rule), OnChipConfig(windows=1, batch_size=8, evaluate_every=1, seed=0),
                  CONTINUOUS)
    train_on_chip(net, x, y, PerturbativeRule(**rule),
                  OnChipConfig(windows=1, batch_size=8, evaluate_every=1, seed=0, adaptive_bias_step=2e-4), CONTINUOUS)
    for layer, p, b0 in zip(net.layers, plain.layers, before):
        step, plain_step = layer.bias_voltage - b0, p.bias_voltage - b0
        assert np.allclose(np.abs(step), 2e-4, rtol=1e-9)
        assert np.array_equal(np.sign(step), np.sign(plain_step))


class _Saver:
    """A checkpoint that keeps the on-chip state offered after ``at`` windows (in memory)."""

    def __init__(self, at=None, saved=None):
        self.at, self.saved, self.offers = at, saved, 0

    def restore(self, loop):
        return self.saved

    def offer(self, loop, state):
        self.offers += 1
        if self.offers == self.at:
            self.saved = copy.deepcopy(state())


@pytest.mark.parametrize("more", [{"seed": 3}, {"seed": 0, "cost_gain_reference": 2.0, "recall_best": "end"}])
def test_learning_resumed_from_a_checkpoint_ends_where_learning_left_alone_does(more):
    """The agents' accumulators, the running cost and the best-state registers are checkpointed."""
    net, x, y = small_chip()
    config = OnChipConfig(windows=8, batch_size=8, evaluate_every=2, adaptive_step=0.02,
                          adaptive_bias_step=1e-5, **more)
    rule = dict(learning_rate=0.01, steps=8, code="random", bias_dither=1e-4, bias_learning_rate=1e-9)
    alone, killed = copy.deepcopy(net), copy.deepcopy(net)
    result = train_on_chip(alone, x, y, PerturbativeRule(**rule), config, CONTINUOUS)
    if "recall_best" in more:        # the window-0 state, saved in the checkpoint, is written back
        assert result.curve.window[-2:] == [8, 8] and result.curve.accuracy[-1] > result.curve.accuracy[-2]
    saver = _Saver(at=3)
    train_on_chip(killed, x, y, PerturbativeRule(**rule), config, CONTINUOUS, checkpoint=saver)
    assert saver.saved["adaptive"]["tuning"]["count"] == 3
    resumed = copy.deepcopy(net)
    train_on_chip(resumed, x, y, PerturbativeRule(**rule), config, CONTINUOUS, checkpoint=_Saver(saved=saver.saved))
    assert np.array_equal(frequencies(resumed), frequencies(alone))
    for a, b in zip(resumed.layers, alone.layers):
        assert np.array_equal(a.bias_voltage, b.bias_voltage)
