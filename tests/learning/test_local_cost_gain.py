"""The broadcast step gain that follows the cost (OnChipConfig.cost_gain_reference): every
junction's and chain's step is multiplied by min(1, C / C_ref), C the running mean of the cost the
chip broadcasts (Polyak's step size: steps shrink as the chip nears a good state)."""
import numpy as np
import pytest

from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.train import COST_DECAY, OnChipConfig, train_on_chip
from small_chip import CONTINUOUS, frequencies, handed_requests, small_chip



class _SpyRule(PerturbativeRule):
    """The rule's own requests, before any gain."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = []

    def update(self, view):
        out = super().update(view)
        self.asked.append(np.array(out))
        return out


def _run(monkeypatch, reference, windows=6):
    handed = handed_requests(monkeypatch)
    net, x, y = small_chip()
    rule = _SpyRule(learning_rate=0.05, steps=8, bias_dither=1e-4, bias_learning_rate=1e-8)
    config = OnChipConfig(windows=windows, batch_size=8, evaluate_every=1, seed=2, cost_gain_reference=reference)
    result = train_on_chip(net, x, y, rule, config, CONTINUOUS)
    return rule, handed, result


@pytest.mark.parametrize("reference", [0.5, 50.0])
def test_every_step_is_the_rules_times_the_running_cost_over_the_reference(monkeypatch, reference):
    rule, handed, result = _run(monkeypatch, reference)
    costs = result.curve.cost[1:]                 # one window per evaluation point: each window's cost
    running, gains = None, []
    for c in costs:
        running = c if running is None else COST_DECAY * running + (1 - COST_DECAY) * c
        gains.append(min(1.0, running / reference))
    assert len(handed) == len(rule.asked) == len(costs)
    for asked, got, gain in zip(rule.asked, handed, gains):
        assert np.allclose(got, gain * asked, rtol=1e-12, atol=0)
    if reference == 50.0:               # costs below 2.5: every step at least 20x smaller than the rule asks
        assert max(gains) < 0.05
    else:                               # both regimes: below the reference, and capped at 1
        assert min(gains) < 0.9 and max(gains) == 1.0


def test_with_a_large_reference_the_chip_barely_moves_and_the_biases_scale_too(monkeypatch):
    _, _, plain = _run(monkeypatch, 0.0, windows=3)
    plain_f = frequencies(plain.network)
    plain_b = np.concatenate([l.bias_voltage.ravel() for l in plain.network.layers])
    net0, _, _ = small_chip()
    f0 = frequencies(net0)
    b0 = np.concatenate([l.bias_voltage.ravel() for l in net0.layers])
    _, _, slowed = _run(monkeypatch, 1e3, windows=3)
    slow_f = frequencies(slowed.network)
    slow_b = np.concatenate([l.bias_voltage.ravel() for l in slowed.network.layers])
    # costs below 2.5, reference 1000: every move at least 400x smaller
    assert np.abs(plain_f - f0).max() > 0
    assert np.abs(slow_f - f0).max() < 3e-3 * np.abs(plain_f - f0).max()
    assert np.abs(slow_b - b0).max() < 3e-3 * np.abs(plain_b - b0).max()
