"""The compiled engine equals a straightforward numpy implementation of docs/physics.md#compiled-engine, written here."""
import cmath
import math

import numpy as np
import pytest

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import ResonatorParameters
from rfemu.engines.compiled import CompiledEngine
from rfemu.network import (
    FrequencyPlan, InputDescription, LayerDescription, NetworkDescription, VariabilityDescription,
    build_graph, compile_graph, schema as S,
)


def reference_forward(G, features):
    """docs/physics.md#output-power-and-the-clamp and #line-shape, one junction, one tone at a time, read from the graph."""
    layers = G.graph[S.N_LAYERS]
    sources = sorted((n for n, k in G.nodes(data=S.KIND) if k == S.SOURCE), key=lambda n: n[1])
    tones = [(G.nodes[n][S.FREQUENCY], G.nodes[n][S.LINEWIDTH]) for n in sources]
    out = []
    for x in features:
        power = [xi * G.nodes[n][S.MAX_POWER] for xi, n in zip(x, sources)]
        freq_lw = list(tones)
        for l in range(layers):
            chains = sorted((n for n, k in G.nodes(data=S.KIND) if k == S.CHAIN and n[1] == l), key=lambda n: n[2])
            volts = []
            for ch in chains:
                v = 0.0
                for r in G.predecessors(ch):
                    a = G.nodes[r]
                    f_r = a[S.BASE_FREQUENCY] + a[S.TUNING]
                    D = a[S.DAMPING] * f_r
                    for (f, g), p in zip(freq_lw, power):
                        # L = 1 / (d - i (D + g)); V = K P D [2 a Re L + s Im L] (power reaching the tap)
                        L = 1.0 / complex(f - f_r, -(D + g))
                        v += G.edges[r, ch][S.SIGN] * a[S.SENSITIVITY] * a[S.POWER_GAIN] * p * D * (
                            2 * a[S.ANTISYMMETRIC] * L.real + a[S.SYMMETRIC] * L.imag)
                volts.append(v + G.nodes[ch][S.BIAS_VOLTAGE])
            nxt = [next(iter(G.successors(ch))) for ch in chains]
            if G.nodes[nxt[0]][S.KIND] == S.READOUT:
                out.append(volts)
                break
            power, freq_lw = [], []
            for ch, o, v in zip(chains, nxt, volts):
                q = G.nodes[o][S.OSCILLATOR_PARAMETERS]
                current = v * G.edges[ch, o][S.TRANSCONDUCTANCE]
                i = min(max(current, q.threshold_current), q.max_current)
                p0 = lambda i_: max(i_ / q.threshold_current - 1, 0) / (i_ / q.threshold_current + q.nonlinear_damping)
                k = (q.tmr * q.beta) ** 2
                scale = q.max_output_power / (p0(q.max_current) * k * q.resistance * q.max_current ** 2)
                power.append(scale * p0(i) * k * q.resistance * i * i)
                if G.nodes[o][S.EMISSION] == S.EMISSION_FIXED:
                    freq_lw.append((G.nodes[o][S.CHANNEL_FREQUENCY], G.nodes[o][S.LINEWIDTH]))
                else:
                    w0 = 2 * math.pi * q.natural_frequency
                    gg = q.damping * w0
                    xi = i / q.threshold_current
                    if xi > 1:
                        eta = 1.380649e-23 * q.temperature / q.oscillation_energy
                        diff = gg * (1 + q.nonlinear_damping * p0(i)) * eta
                        nu = q.nonlinear_frequency_shift * p0(i) / (gg * (xi - 1))
                        lw = diff / (2 * p0(i)) * (1 + nu * nu) / (2 * math.pi)
                    else:
                        lw = gg * (1 - xi) / (2 * math.pi)
                    freq_lw.append(((w0 + q.nonlinear_frequency_shift * p0(i)) / (2 * math.pi), lw))
    return np.array(out)


def random_description(rng, emission):
    res = ResonatorParameters(damping=rng.uniform(0.005, 0.02), sensitivity=rng.uniform(3e3, 3e4),
                              antisymmetric=rng.uniform(0.5, 1.5), symmetric=rng.uniform(-0.5, 0.5))
    oscp = OscillatorParameters(nonlinear_frequency_shift=rng.uniform(-2, 2) * 2 * math.pi * 5e6,
                                nonlinear_damping=rng.uniform(1, 3), temperature=300.0)
    common = dict(resonator=res, oscillator=oscp, emission=emission, tone_linewidth=rng.uniform(0, 2e5),
                  tap_loss_db=rng.uniform(0, 0.3), initial_tuning_spread=5e5, initial_bias_spread=5e-3,
                  transconductance=3.388e-3)
    layers = (
        LayerDescription(5, FrequencyPlan("linear", 20e6, 60e6), bias_voltage=0.011, **common),
        LayerDescription(4, FrequencyPlan("geometric", 30e6, 90e6), junctions_per_chain=6,
                         sign_pattern="alternate_plus_first", bias_voltage=0.011, **common),
        LayerDescription(3, FrequencyPlan("geometric", 25e6, 80e6), **common),
    )
    var = VariabilityDescription(source_frequency=0.01, resonance_frequency=0.01, oscillator_frequency=0.01,
                                 oscillator_power=0.05, sensitivity=0.05, damping=0.05)
    inputs = InputDescription(7, FrequencyPlan("linear", 20e6, 60e6), max_power=1e-6, linewidth=1e5)
    return NetworkDescription(inputs, layers, var)


@pytest.mark.parametrize("emission", [S.EMISSION_FIXED, S.EMISSION_CURRENT])
@pytest.mark.parametrize("seed", [0, 1])
def test_forward_equals_the_physics_written_out(emission, seed):
    rng = np.random.default_rng(100 + seed)
    G = build_graph(random_description(rng, emission), seed=seed)
    x = rng.random((6, 7))
    ref = reference_forward(G, x)
    got = CompiledEngine(G).forward(x).scores
    # the test is only meaningful if neurons sit in their active range for some samples
    hidden = CompiledEngine(G).forward(x, keep=True).layers[0].current
    assert np.any((hidden > 10e-6) & (hidden < 40e-6))
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_cached_chain_matrix_follows_the_tuning_state():
    rng = np.random.default_rng(3)
    G = build_graph(random_description(rng, S.EMISSION_FIXED), seed=3)
    net = compile_graph(G)
    engine = CompiledEngine(net)
    x = rng.random((4, 7))
    before = engine.forward(x).scores.copy()
    net.layers[0].tuning += 2e5                  # training moves the junctions
    for row, layer_row in zip(net.layers[0].resonator_nodes, net.layers[0].tuning):
        for r, s in zip(row, layer_row):
            G.nodes[r][S.TUNING] = s
    after = engine.forward(x).scores
    assert not np.allclose(after, before)
    assert np.allclose(after, reference_forward(G, x), rtol=1e-9, atol=1e-9 * np.abs(after).max())


def test_kernel_and_numpy_backends_agree_on_the_drone_shape():
    from rfemu.network import spin_mlp
    net = compile_graph(build_graph(spin_mlp((256, 32, 10)), seed=0))
    x = np.random.default_rng(0).random((8, 256)) * 0.1
    a = CompiledEngine(net, backend="kernel").forward(x).scores
    b = CompiledEngine(net, backend="numpy").forward(x).scores
    assert np.allclose(a, b, rtol=1e-12, atol=1e-15)


def test_no_chains_by_tones_by_junctions_tensor_is_built():
    """Peak memory of a forward + backward pass stays far below C x T x J doubles (33 MB here)."""
    import tracemalloc
    from rfemu.learning import backward, softmax_cross_entropy
    from rfemu.network import spin_mlp
    net = compile_graph(build_graph(spin_mlp((256, 64, 10)), seed=0))
    engine = CompiledEngine(net)
    x = np.random.default_rng(0).random((8, 256)) * 0.1
    tensor_bytes = 64 * 256 * 256 * 8
    tracemalloc.start()
    fwd = engine.forward(x, keep=True)
    _, g = softmax_cross_entropy(1e3 * fwd.scores, np.arange(8) % 10)
    backward(engine, fwd, 1e3 * g)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < tensor_bytes / 10
