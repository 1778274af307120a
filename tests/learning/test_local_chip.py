"""The learning chip's batched physics: K dithered copies equal the compiled engine, and what a
junction senses (its own voltage and slope) adds up to its chain's voltage."""
import numpy as np
import pytest

from rfemu.engines.compiled import CompiledEngine
from rfemu.learning.local import LearningChip
from rfemu.network import build_graph, compile_graph, spin_mlp


@pytest.fixture(params=["fixed", "current"])
def net(request):
    return compile_graph(build_graph(spin_mlp((4, 3, 2), emission=request.param), seed=0))


def test_copies_are_the_compiled_engine(net):
    x = np.random.default_rng(0).random((7, 4))
    chip = LearningChip(net)
    engine = CompiledEngine(net.copy(), n_threads=1)
    dither = np.random.default_rng(1).normal(0.0, 200e3, (3, net.n_junctions))
    scores = chip.scores(chip.engine.input_power(x), chip.resonances(dither))
    for k in range(3):
        start = 0
        for layer in engine.network.layers:
            n = layer.tuning.size
            layer.tuning[...] = (net.layers[layer.index].tuning.ravel() + dither[k, start:start + n]).reshape(layer.tuning.shape)
            start += n
        expected = engine.forward(x).scores
        assert np.allclose(scores[k], expected, rtol=1e-12, atol=1e-18)
    # and no dither is the present chip
    assert np.allclose(chip.scores(chip.engine.input_power(x), chip.resonances())[0],
                       CompiledEngine(net, n_threads=1).forward(x).scores, rtol=1e-12, atol=1e-18)


def test_junction_voltages_sum_to_the_chain_voltage_and_the_slope_is_the_derivative(net):
    x = np.random.default_rng(2).random((5, 4))
    chip = LearningChip(net)
    fwd = chip.engine.forward(x, keep=True)
    h = 100.0
    for l, layer in enumerate(net.layers):
        v, slope = chip.junction_response(l, fwd.layers[l])
        # Kirchhoff: the chain is the signed series sum of its junctions
        assert np.allclose((v * layer.sign[None]).sum(axis=2), fwd.layers[l].chain_voltage, rtol=1e-10, atol=1e-15)
        # the slope is the derivative of the junction's own voltage with its own resonance
        layer.tuning += h
        up, _ = chip.junction_response(l, fwd.layers[l].__class__(**{**fwd.layers[l].__dict__,
                                                                      "resonance_frequency": None}))
        layer.tuning -= 2 * h
        down, _ = chip.junction_response(l, fwd.layers[l].__class__(**{**fwd.layers[l].__dict__,
                                                                        "resonance_frequency": None}))
        layer.tuning += h
        assert np.allclose(slope, (up - down) / (2 * h), rtol=1e-4, atol=1e-6 * np.abs(slope).max())


def test_junction_response_in_blocks_of_chains_is_the_same(net, monkeypatch):
    x = np.random.default_rng(3).random((4, 4))
    chip = LearningChip(net)
    fwd = chip.engine.forward(x, keep=True)
    whole = [chip.junction_response(l, fwd.layers[l]) for l in range(len(net.layers))]
    monkeypatch.setattr(LearningChip, "RESPONSE_BLOCK", 1)              # one chain at a time
    for l in range(len(net.layers)):
        v, s = chip.junction_response(l, fwd.layers[l])
        assert np.allclose(v, whole[l][0], rtol=1e-12, atol=0) and np.allclose(s, whole[l][1], rtol=1e-12, atol=0)
