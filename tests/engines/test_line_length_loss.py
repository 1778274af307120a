"""Propagation loss along the RF line: a line of length L with a dB/m lowers every junction's
power, hence every chain voltage, by 10^(-a L / 10) in both engines (on top of the tap loss)."""
import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.medium import tap_power_gain
from rfemu.network import build_graph, compile_graph, spin_mlp

LENGTH = 0.03            # m
LOSS = 70.0              # dB/m: 2.1 dB over the line
FACTOR = 10.0 ** (-LOSS * LENGTH / 10.0)


def _graph(sizes, **line):
    # unbiased chains: the class scores are the chain voltages
    d = spin_mlp(sizes, bias_voltage=0.0, initial_bias_spread=0.0, tap_loss_db=0.5, **line)
    return build_graph(d, seed=7)


def test_the_junctions_power_gain_is_the_media_tap_gain_after_the_line():
    net = compile_graph(_graph((4, 3), line_length=LENGTH, loss_per_length_db=LOSS))
    (layer,) = net.layers
    expected = tap_power_gain(np.arange(4), position=LENGTH, loss_per_tap_db=0.5,
                              loss_per_length_db=LOSS)
    np.testing.assert_array_equal(layer.power_gain, np.broadcast_to(expected, (3, 4)))
    np.testing.assert_allclose(layer.power_gain[0, 0], FACTOR, rtol=1e-15)


def test_chain_voltages_drop_by_the_line_loss_in_both_engines():
    lossless = _graph((4, 3))
    lossy = _graph((4, 3), line_length=LENGTH, loss_per_length_db=LOSS)
    x = np.random.default_rng(0).random((4, 4))
    v0 = CompiledEngine(lossless, n_threads=1).forward(x).scores
    v1 = CompiledEngine(lossy, n_threads=1).forward(x).scores
    assert np.abs(v0).min() > 0
    np.testing.assert_allclose(v1, FACTOR * v0, rtol=1e-12)
    e0 = EventEngine(lossless).run(x).outputs
    e1 = EventEngine(lossy).run(x).outputs
    np.testing.assert_allclose(e0, v0, rtol=1e-9)
    np.testing.assert_allclose(e1, FACTOR * v0, rtol=1e-9)


def test_every_line_of_a_deep_network_loses_its_length():
    lossless = compile_graph(_graph((4, 3, 2)))
    lossy = compile_graph(_graph((4, 3, 2), line_length=LENGTH, loss_per_length_db=LOSS))
    for a, b in zip(lossless.layers, lossy.layers):
        np.testing.assert_allclose(b.power_gain, FACTOR * a.power_gain, rtol=1e-14)
    # the first line's chain voltages (before the neurons' non-linearity) scale exactly
    x = np.random.default_rng(1).random((5, 4))
    f0 = CompiledEngine(lossless, n_threads=1).forward(x, keep=True)
    f1 = CompiledEngine(lossy, n_threads=1).forward(x, keep=True)
    np.testing.assert_allclose(f1.layers[0].chain_voltage, FACTOR * f0.layers[0].chain_voltage,
                               rtol=1e-12)


@pytest.mark.parametrize("field, value", [("line_length", -1e-3), ("loss_per_length_db", -1.0),
                                          ("line_length", float("inf"))])
def test_negative_or_infinite_length_loss_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        spin_mlp((2, 2), **{field: value})
