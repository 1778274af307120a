"""A medium effect is written once, in rfemu.medium.LineResponse, and both engines see it.

The compiled engine (per layer) and the event engine (through medium.Line) take a line's response
from the same object. A new effect patched into that object alone (a reflection at every tap, a
widening of every tone's line) changes the outputs of both engines, and they still agree; the
line's loss per tap and per length, drawn at random, is seen equally by both."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.engines.event import EventEngine
from rfemu.medium import Line, LineResponse
from rfemu.network import build_graph, compile_graph, spin_mlp


def _graph(sizes, seed, *, emission="current", tap_loss_db=0.0, line_length=0.0, loss_per_length_db=0.0,
           linewidth=2e5):
    # N = 2 pi x 20 MHz: f(I) neurons move their tones with their input
    oscillator = OscillatorParameters(nonlinear_frequency_shift=2 * math.pi * 20e6)
    desc = spin_mlp(sizes, oscillator=oscillator, emission=emission, tone_linewidth=linewidth,
                    tap_loss_db=tap_loss_db, line_length=line_length,
                    loss_per_length_db=loss_per_length_db)
    return build_graph(desc, seed=seed)


def _both(G, x):
    compiled = CompiledEngine(G, n_threads=1).forward(x).scores
    event = EventEngine(G).run(x).outputs
    return compiled, event


def _agree(event, compiled):
    scale = np.max(np.abs(compiled))
    np.testing.assert_allclose(event, compiled, rtol=1e-9, atol=1e-9 * scale)


def _reflecting(reflection):
    """A new medium effect: each tap reflects a fraction of the power, so junction j of a chain
    gets (1 - reflection)^j of it on top of the line's loss."""
    plain = LineResponse.junction_power_gain

    def junction_power_gain(self):
        taps = np.arange(self.shape[1])
        return plain(self) * (1.0 - reflection) ** taps[None, :]
    return junction_power_gain


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_in=st.integers(1, 5), hidden=st.integers(1, 4), n_out=st.integers(1, 3),
       seed=st.integers(0, 2 ** 16), emission=st.sampled_from(["fixed", "current"]),
       tap_loss=st.floats(0.0, 1.0), length=st.floats(0.0, 0.05), loss_per_length=st.floats(0.0, 50.0))
def test_line_loss_is_seen_equally_by_both_engines(n_in, hidden, n_out, seed, emission, tap_loss,
                                                   length, loss_per_length):
    G = _graph((n_in, hidden, n_out), seed, emission=emission, tap_loss_db=tap_loss, line_length=length,
               loss_per_length_db=loss_per_length)
    x = np.random.default_rng(seed).random((3, n_in))
    compiled, event = _both(G, x)
    _agree(event, compiled)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 16), reflection=st.floats(0.05, 0.5),
       emission=st.sampled_from(["fixed", "current"]))
def test_a_new_medium_effect_written_once_is_seen_by_both_engines(seed, reflection, emission):
    G = _graph((4, 3, 2), seed, emission=emission, tap_loss_db=0.3)
    x = np.random.default_rng(seed).random((3, 4))
    before, _ = _both(G, x)
    # a chip whose hidden neurons stay below threshold for these inputs puts no tone on its output
    # line, and no line effect can show (seed 900: the outputs are the output chains' biases)
    bias = CompiledEngine(G, n_threads=1).network.layers[-1].bias_voltage
    assume(np.max(np.abs(before - bias)) > 1e-2 * np.max(np.abs(before)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LineResponse, "junction_power_gain", _reflecting(reflection))
        compiled, event = _both(G, x)
    assert np.max(np.abs(compiled - before)) > 1e-3 * np.max(np.abs(before))
    _agree(event, compiled)


def test_a_tone_widening_written_once_is_seen_by_both_engines():
    # a line that widens every tone's Lorentzian by 300 kHz (written in seen_linewidth alone)
    plain = LineResponse.seen_linewidth
    G = _graph((5, 3, 2), 4, emission="current", linewidth=1e5)
    x = np.random.default_rng(4).random((3, 5))
    before, _ = _both(G, x)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LineResponse, "seen_linewidth",
                   lambda self, f, g: np.asarray(plain(self, f, g)) + 3e5)
        compiled, event = _both(G, x)
    assert np.max(np.abs(compiled - before)) > 1e-3 * np.max(np.abs(before))
    _agree(event, compiled)


def test_the_line_and_the_compiled_engine_use_the_same_junction_arrays():
    net = compile_graph(_graph((4, 3), 1, tap_loss_db=0.7, line_length=0.02, loss_per_length_db=30.0))
    (layer,) = net.layers
    line = Line.from_layer(layer)
    response = CompiledEngine(net, n_threads=1)._chains(0)
    # the loss reaches the kernel as K * gain in both, equal to the last bit
    np.testing.assert_array_equal(line.response.junction_sensitivity(), response.junction_sensitivity())
    np.testing.assert_array_equal(response.junction_sensitivity(), layer.sensitivity * layer.power_gain)
    assert np.all(np.diff(layer.power_gain, axis=1) < 0)      # each tap loses power
    for slot, node in enumerate(layer.tone_nodes):
        line.set_tone(node, layer.tone_frequency[slot], 1e-6, layer.tone_linewidth[slot])
    np.testing.assert_allclose(line.response_matrix(), CompiledEngine(net, n_threads=1).chain_matrix(0),
                               rtol=1e-15)


def test_pure_tones_when_the_linewidths_are_off():
    response = LineResponse(np.ones((2, 3)), 100.0, 1.0, 0.2, 0.01, linewidths=False)
    f = np.array([40e6, 50e6])
    assert np.all(response.seen_linewidth(f, np.array([1e5, 2e5])) == 0)
    wide = LineResponse(np.ones((2, 3)), 100.0, 1.0, 0.2, 0.01)
    fr = np.full((2, 3), 45e6)
    np.testing.assert_array_equal(response.matrix(f, np.array([1e5, 2e5]), fr), wide.matrix(f, 0.0, fr))
    g = response.grad(np.ones((2, 2)), f, np.array([1e5, 2e5]), fr, tones=True)
    assert np.all(g.tone_linewidth == 0)
    assert np.any(wide.grad(np.ones((2, 2)), f, np.array([1e5, 2e5]), fr, tones=True).tone_linewidth != 0)


def test_line_response_refuses_a_negative_gain_and_a_non_boolean_switch():
    with pytest.raises(ValueError, match="power_gain"):
        LineResponse(np.ones((1, 2)), 100.0, 1.0, 0.0, 0.01, power_gain=[[1.0, -0.1]])
    with pytest.raises(ValueError, match="linewidths"):
        LineResponse(np.ones((1, 2)), 100.0, 1.0, 0.0, 0.01, linewidths="no")
