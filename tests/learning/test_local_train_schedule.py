"""The learning circuit's broadcast step gain (OnChipConfig.final_step_fraction): every junction's
requested change is the rule's times a cosine gain from 1 (first window) to the final fraction
(last window); 1 leaves the rule's steps as they are."""
import numpy as np
import pytest

from rfemu.learning.local.rules import PerturbativeRule
from rfemu.learning.local.state import WriteSettings
from rfemu.learning.local.train import OnChipConfig, train_on_chip
from rfemu.network import build_graph, compile_graph, spin_mlp
from small_chip import handed_requests


class _Constant(PerturbativeRule):
    """Asks every junction for +1 kHz and every chain for +1 uV, every window."""

    def update(self, view):
        return np.full(view.n_junctions, 1e3)

    def update_bias(self, view):
        return np.full(view.n_junctions, 1e-6)


@pytest.mark.parametrize("final", [1.0, 0.1])
def test_requests_follow_the_broadcast_gain(monkeypatch, final):
    requested = handed_requests(monkeypatch)
    net = compile_graph(build_graph(spin_mlp((4, 3, 2)), seed=0))
    bias0 = [layer.bias_voltage.copy() for layer in net.layers]
    rng = np.random.default_rng(0)
    config = OnChipConfig(windows=5, batch_size=4, evaluate_every=5, final_step_fraction=final, seed=0)
    train_on_chip(net, rng.random((8, 4)), rng.integers(0, 2, 8),
                  _Constant(steps=4, bias_dither=1e-4, bias_learning_rate=1.0), config, WriteSettings(step=1e3))
    gains = [r[0] / 1e3 for r in requested]
    expected = final + (1 - final) * 0.5 * (1 + np.cos(np.pi * np.arange(5) / 4))
    assert np.allclose(gains, expected, rtol=1e-12)
    assert all(np.all(r == r[0]) for r in requested)
    for layer, b0 in zip(net.layers, bias0):              # the chains' steps take the same gain
        assert np.allclose(layer.bias_voltage - b0, 1e-6 * expected.sum(), rtol=1e-9)
