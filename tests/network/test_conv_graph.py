"""A convolution in the network graph (rfemu.network.conv.add_conv_nodes / compile_conv /
write_back_conv, rfemu.engines.conv.SpinCNN.from_graph): the graph holds every device of both
arrangements, compiles back to the layer it was drawn as, and an ideal parallel network is the
sequential one exactly."""
import numpy as np
import pytest

from rfemu.engines.conv import SpinCNN, rearranged
from rfemu.network import build_graph, conv
from rfemu.network import schema as S
from rfemu.network.description import VariabilityDescription
from rfemu.network.graph import _streams

IMAGE = (2, 8, 8)


def _description(arrangement="sequential", spread=0.0):
    c = conv.ConvDescription(filters=3, kernel_size=3, pool_size=2, pool="max", arrangement=arrangement)
    return conv.cnn_description(c, IMAGE, (6,), 4, variability=VariabilityDescription(resonance_frequency=spread))


def test_graph_holds_every_conv_device_and_compiles_back_to_the_drawn_layer():
    d = _description("parallel", spread=0.01)
    G = build_graph(d, seed=3)
    g = d.conv.geometry(*IMAGE)
    K, F, J = g.n_positions, 3, g.patch_size
    kinds = {k: sum(1 for _, v in G.nodes(data=S.KIND) if v == k) for k in S.CONV_NODE_KINDS}
    assert kinds == {S.PATCH_TONE: J, S.CONV_LINE: K, S.CONV_RESONATOR: K * F * J, S.CONV_CHAIN: K * F,
                     S.CONV_OSCILLATOR: F}
    # each filter's oscillators feed exactly its block of pooled values (the head's sources)
    pooled = [v for u, v, k in G.edges(data=S.KIND) if k == S.POOLS and u == (S.CONV_OSCILLATOR, 1)]
    assert sorted(pooled) == [S.source_node(i) for i in range(9, 18)]
    drawn = d.conv.build(*IMAGE, base_spread=0.01, seed=_streams(3)["conv"])
    layer = conv.compile_conv(G)
    for name in ("base_frequency", "nominal_base_frequency", "tuning", "target_tuning", "bias_voltage"):
        np.testing.assert_array_equal(getattr(layer, name), getattr(drawn, name))
    assert np.ptp(layer.base_frequency, axis=0).max() > 0          # the copies' devices differ
    np.testing.assert_array_equal(layer.tone_frequency, drawn.tone_frequency)
    x = np.random.default_rng(0).random((4,) + IMAGE) * 0.2e-6
    np.testing.assert_array_equal(layer.forward(x).voltage, drawn.forward(x).voltage)


def test_write_back_then_compile_returns_the_trained_state():
    G = build_graph(_description("parallel"), seed=1)
    layer = conv.compile_conv(G)
    rng = np.random.default_rng(2)
    layer.target_tuning = np.broadcast_to(rng.normal(0, 1e5, layer.target_tuning.shape[1:]),
                                          layer.target_tuning.shape).copy()
    layer.bias_voltage = rng.normal(0.01, 1e-3, layer.bias_voltage.shape)
    conv.program(layer, write_noise=2e4, rng=rng)
    conv.write_back_conv(G, layer)
    again = conv.compile_conv(G)
    for name in ("tuning", "target_tuning", "bias_voltage"):
        np.testing.assert_array_equal(getattr(again, name), getattr(layer, name))


def test_ideal_parallel_network_equals_the_sequential_one_and_spread_copies_differ():
    x = np.random.default_rng(4).random((5,) + IMAGE)
    seq = SpinCNN.from_graph(build_graph(_description("sequential"), seed=5))
    par = SpinCNN.from_graph(build_graph(_description("parallel"), seed=5))
    assert par.conv.n_copies == 36 and seq.conv.n_copies == 1
    np.testing.assert_allclose(par.forward(x).scores, seq.forward(x).scores, rtol=0, atol=1e-15)
    spread = rearranged(seq, conv.PARALLEL, base_spread=0.02, seed=0)
    assert np.abs(spread.forward(x).scores - seq.forward(x).scores).max() > 1e-6
    fixed = rearranged(seq, conv.PARALLEL, base_spread=0.02, calibrated=True, seed=0)
    # calibrated writes put every copy's resonance back on the nominal one (inside the window)
    np.testing.assert_allclose(fixed.conv.resonance_frequency,
                               np.broadcast_to(seq.conv.resonance_frequency, fixed.conv.base_frequency.shape),
                               rtol=1e-12)


def test_a_convolution_needs_the_pooled_maps_as_inputs():
    d = _description()
    with pytest.raises(ValueError, match="pooled maps' 27 values"):
        type(d)(inputs=type(d.inputs)(size=26), layers=d.layers, conv=d.conv, image_shape=IMAGE)
    with pytest.raises(ValueError, match="image_shape"):
        type(d)(inputs=d.inputs, layers=d.layers, conv=d.conv)
