"""The network's linewidths switch: off, every tone is a pure tone in both engines (the inputs',
the fixed neurons' and the f(I) neurons' own linewidths), and the gradients stay exact."""
import math
from dataclasses import replace

import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import ResonatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.network import (
    FrequencyPlan, InputDescription, LayerDescription, NetworkDescription, VariabilityDescription,
    build_graph, compile_graph, schema as S,
)


def _description(emission, *, input_linewidth, tone_linewidth, temperature, linewidths=True):
    """Inputs -> 4 neurons -> 3 neurons -> 2 classes; N = 2 pi x 4 MHz moves f(I) tones."""
    res = ResonatorParameters(damping=0.01, symmetric=0.3)
    oscp = OscillatorParameters(nonlinear_frequency_shift=2 * math.pi * 4e6, temperature=temperature)
    common = dict(resonator=res, oscillator=oscp, emission=emission, tone_linewidth=tone_linewidth,
                  initial_tuning_spread=4e5, initial_bias_spread=4e-3)
    return NetworkDescription(
        InputDescription(5, FrequencyPlan("linear", 20e6, 40e6), linewidth=input_linewidth),
        (LayerDescription(4, FrequencyPlan("linear", 20e6, 40e6), bias_voltage=0.011, **common),
         LayerDescription(3, FrequencyPlan("geometric", 25e6, 45e6), bias_voltage=0.011, **common),
         LayerDescription(2, FrequencyPlan("geometric", 22e6, 50e6), **common)),
        VariabilityDescription(resonance_frequency=0.01, oscillator_power=0.05),
        linewidths=linewidths)


WIDE = dict(input_linewidth=5e4, tone_linewidth=2e5, temperature=300.0)
# at T = 0 an f(I) neuron's line above threshold is infinitely narrow: the pure-tone network
PURE = dict(input_linewidth=0.0, tone_linewidth=0.0, temperature=0.0)


@pytest.mark.parametrize("emission", [S.EMISSION_FIXED, S.EMISSION_CURRENT])
def test_linewidths_off_gives_exactly_the_pure_tone_network(emission):
    wide = build_graph(_description(emission, **WIDE), seed=4)
    off = build_graph(_description(emission, **WIDE, linewidths=False), seed=4)
    pure = build_graph(_description(emission, **PURE), seed=4)
    assert off.graph[S.LINEWIDTHS] is False and wide.graph[S.LINEWIDTHS] is True
    net_off = compile_graph(off)
    assert not net_off.linewidths and not any(layer.linewidths for layer in net_off.layers)
    for layer in net_off.layers:
        assert np.all(layer.tone_linewidth == 0.0)
    x = np.random.default_rng(2).random((6, 5))
    fwd_off = CompiledEngine(off, n_threads=1).forward(x, keep=True)
    fwd_pure = CompiledEngine(pure, n_threads=1).forward(x, keep=True)
    fwd_wide = CompiledEngine(wide, n_threads=1).forward(x, keep=True)
    cur = fwd_off.layers[0].current
    assert np.any((cur > 10e-6) & (cur < 40e-6)), "neurons must be in their active range"
    # the widening is large with the switch on ...
    scale = np.abs(fwd_pure.scores).max()
    assert np.abs(fwd_wide.scores - fwd_pure.scores).max() > 1e-2 * scale
    if emission == S.EMISSION_CURRENT:
        assert np.any(fwd_wide.layers[0].output_linewidth > 1e4)
        assert np.all(fwd_off.layers[0].output_linewidth == 0)
    # ... and gone, to the last bit, with it off
    np.testing.assert_array_equal(fwd_off.scores, fwd_pure.scores)
    for a, b in zip(fwd_off.layers, fwd_pure.layers):
        np.testing.assert_array_equal(a.chain_voltage, b.chain_voltage)
    # the event engine reads the same switch from the graph
    x3 = x[:3]
    ev_off = EventEngine(off).run(x3).outputs
    ev_pure = EventEngine(pure).run(x3).outputs
    np.testing.assert_allclose(ev_off, ev_pure, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(ev_off, fwd_pure.scores[:3], rtol=1e-6, atol=1e-6 * scale)
    for line in EventEngine(off).lines:
        assert np.all(line.medium.tone_linewidth == 0.0)


def test_gradient_equals_finite_differences_with_linewidths_off_in_f_of_i_mode(check_backprop_gradients):
    """The f(I) neurons' linewidth no longer moves with their current: no gradient through it."""
    net = compile_graph(build_graph(_description(S.EMISSION_CURRENT, **WIDE, linewidths=False), seed=0))
    engine = CompiledEngine(net, n_threads=1)
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 5)), rng.integers(0, 2, 8)
    check_backprop_gradients(engine, x, y)


def test_a_graph_without_the_flag_keeps_its_linewidths():
    G = build_graph(_description(S.EMISSION_FIXED, **WIDE), seed=0)
    del G.graph[S.LINEWIDTHS]
    net = compile_graph(G)
    assert net.linewidths
    np.testing.assert_array_equal(net.layers[0].tone_linewidth, 5e4)
    np.testing.assert_array_equal(net.layers[1].tone_linewidth, 2e5)


def test_linewidths_must_be_a_boolean():
    d = _description(S.EMISSION_FIXED, **WIDE)
    with pytest.raises(ValueError, match="linewidths"):
        replace(d, linewidths="no")
