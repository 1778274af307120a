"""The spintronic CNN in the compiled engine (rfemu.engines.conv.SpinCNN): analytic gradients of a
cross-entropy through the dense head, pooling, the oscillators and the convolution's chains
against central finite differences, in both arrangements."""
import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.conv import SpinCNN
from rfemu.learning.backprop import softmax_cross_entropy
from rfemu.network import build_graph, conv, spin_mlp
from rfemu.network.frequency import FrequencyPlan

SCALE = 1e-3          # V: the scores' unit in the loss's logits


def _cnn(arrangement, pool):
    g = conv.ConvGeometry(in_channels=2, height=6, width=6, kernel_size=3, padding=1)
    tones = conv.patch_tone_frequencies(FrequencyPlan("geometric", 20e6, 120e6), g)
    layer = conv.conv_layer(g, 2, tones, arrangement=arrangement, bias_voltage=7e-3, seed=1)
    layer.tuning = layer.tuning + np.random.default_rng(2).normal(0.0, 0.2e6, layer.tuning.shape)
    head = build_graph(spin_mlp((18, 5, 3)), seed=3)
    return SpinCNN(layer, head, pool_size=2, pool=pool, input_max_power=0.3e-6)


@pytest.mark.parametrize("pool", ["average", "max"])
@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_cnn_gradients_equal_central_finite_differences(arrangement, pool):
    cnn = _cnn(arrangement, pool)
    rng = np.random.default_rng(4)
    x = rng.random((6, 2, 6, 6))
    labels = rng.integers(0, 3, 6)

    def loss():
        return softmax_cross_entropy(cnn.forward(x).scores / SCALE, labels)[0]

    fwd = cnn.forward(x, keep=True)
    current = fwd.conv.voltage * cnn.transconductance
    params = OscillatorParameters()
    inside = (current > params.threshold_current) & (current < params.max_current)
    assert inside.mean() > 0.3                          # the neurons work in their active range
    _, g_scores = softmax_cross_entropy(fwd.scores / SCALE, labels)
    grad = cnn.backward(fwd, g_scores / SCALE)

    arrays = [(cnn.conv.tuning, grad.conv.tuning, 50.0), (cnn.conv.bias_voltage, grad.conv.bias_voltage, 1e-8)]
    for layer, gt, gb in zip(cnn.head.network.layers, grad.head_tuning, grad.head_bias):
        arrays += [(layer.tuning, gt, 50.0), (layer.bias_voltage, gb, 1e-8)]
    n_checked = 0
    for array, analytic, step in arrays:
        assert analytic.shape == array.shape
        flat = np.flatnonzero(np.abs(analytic) > 1e-3 * np.abs(analytic).max())
        for i in rng.choice(flat, size=min(4, flat.size), replace=False):
            idx = np.unravel_index(i, array.shape)
            old = array[idx]
            array[idx] = old + step
            up = loss()
            array[idx] = old - step
            down = loss()
            array[idx] = old
            assert analytic[idx] == pytest.approx((up - down) / (2 * step), rel=1e-5)
            n_checked += 1
    assert n_checked >= 20


def test_head_must_take_the_pooled_maps():
    g = conv.ConvGeometry(in_channels=1, height=6, width=6, kernel_size=3)
    layer = conv.conv_layer(g, 2, np.linspace(20e6, 120e6, 9), seed=0)
    with pytest.raises(ValueError, match="8"):
        SpinCNN(layer, build_graph(spin_mlp((9, 3)), seed=0), pool_size=2)
