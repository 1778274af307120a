"""The network graph: structure, device attributes after variability, compile to arrays."""
import networkx as nx
import numpy as np
import pytest

from rfemu.network import (
    FrequencyPlan, LayerDescription, NetworkDescription, InputDescription, VariabilityDescription,
    build_graph, compile_graph, nodes_of_kind, schema as S, spin_mlp, write_back,
)


@pytest.fixture(scope="module")
def small():
    return build_graph(spin_mlp((6, 4, 3)), seed=3)


def test_every_junction_on_a_line_sees_every_tone_and_sits_in_one_chain(small):
    G = small
    assert isinstance(G, nx.DiGraph) and type(G) is nx.DiGraph
    counts = {k: len(nodes_of_kind(G, k)) for k in S.NODE_KINDS}
    assert counts == {S.SOURCE: 6, S.LINE: 2, S.RESONATOR: 4 * 6 + 3 * 4, S.CHAIN: 7, S.OSCILLATOR: 4, S.READOUT: 3}
    for r in nodes_of_kind(G, S.RESONATOR):
        l = G.nodes[r][S.LAYER]
        (line,) = G.predecessors(r)
        assert line == S.line_node(l) and G.edges[line, r][S.KIND] == S.FEEDS
        (chain,) = G.successors(r)
        assert G.edges[r, chain][S.KIND] == S.SERIES and chain == S.chain_node(l, G.nodes[r][S.CHAIN_INDEX])
    # tones of line 1 are exactly the oscillators driven by the chains of layer 0
    emitters = sorted(G.predecessors(S.line_node(1)))
    driven = sorted(v for c in nodes_of_kind(G, S.CHAIN) for v in G.successors(c) if G.nodes[v][S.KIND] == S.OSCILLATOR)
    assert emitters == driven == [S.oscillator_node(0, c) for c in range(4)]
    for c in range(4):
        e = G.edges[S.chain_node(0, c), S.oscillator_node(0, c)]
        assert e[S.KIND] == S.DRIVES and e[S.TRANSCONDUCTANCE] == pytest.approx(3.388e-3, rel=1e-3)


def test_series_signs_alternate_head_to_tail(small):
    signs = [small.edges[S.resonator_node(0, 2, j), S.chain_node(0, 2)][S.SIGN] for j in range(6)]
    assert signs == [(-1.0) ** (j + 1) for j in range(6)]


def test_variability_has_the_requested_relative_spread_and_keeps_the_trainable_start():
    d = spin_mlp((64, 32, 4))
    ideal = compile_graph(build_graph(d, seed=11))
    pert = compile_graph(build_graph(d.with_variability(VariabilityDescription.uniform(0.02)), seed=11))
    rel = pert.layers[0].base_frequency / ideal.layers[0].base_frequency - 1
    assert np.all(ideal.layers[0].base_frequency == np.linspace(20e6, 120e6, 64)[None, :])
    # 2048 draws: std of the sample std ~ 0.02 / sqrt(4096) = 3e-4
    assert rel.std() == pytest.approx(0.02, abs=2e-3) and abs(rel.mean()) < 2e-3
    p = pert.layers[0].oscillator.max_output_power / 1e-6
    assert np.all(p > 0) and p.std() == pytest.approx(0.02, abs=0.012)
    src = np.array([pert.layers[0].tone_frequency]) / ideal.layers[0].tone_frequency - 1
    assert 0.005 < src.std() < 0.04
    for a, b in zip(ideal.layers, pert.layers):
        assert np.array_equal(a.tuning, b.tuning) and np.array_equal(a.bias_voltage, b.bias_voltage)


def test_same_seed_same_devices_other_seed_other_devices():
    d = spin_mlp((8, 4, 2), variability=VariabilityDescription.uniform(0.01))
    a, b, c = (compile_graph(build_graph(d, seed=s)) for s in (5, 5, 6))
    assert np.array_equal(a.layers[0].base_frequency, b.layers[0].base_frequency)
    assert np.array_equal(a.layers[1].tuning, b.layers[1].tuning)
    assert not np.array_equal(a.layers[0].base_frequency, c.layers[0].base_frequency)


def test_compiled_arrays_map_back_to_their_nodes(small):
    net = compile_graph(small)
    rng = np.random.default_rng(0)
    for node in rng.permutation(np.array(list(small.nodes), dtype=object))[:40]:
        pos = net.position[tuple(node)]
        attrs = small.nodes[tuple(node)]
        if pos[0] == "resonator":
            _, l, c, j = pos
            layer = net.layers[l]
            assert layer.resonator_nodes[c][j] == tuple(node)
            assert layer.base_frequency[c, j] == attrs[S.BASE_FREQUENCY]
            assert layer.tuning[c, j] == attrs[S.TUNING]
            assert layer.resonance_frequency[c, j] == attrs[S.BASE_FREQUENCY] + attrs[S.TUNING]
            assert layer.sign[c, j] == small.edges[tuple(node), layer.chain_nodes[c]][S.SIGN]
        elif pos[0] == "chain":
            _, l, c = pos
            assert net.layers[l].bias_voltage[c] == attrs[S.BIAS_VOLTAGE]
        elif pos[0] == "tone" and attrs[S.KIND] == S.SOURCE:
            assert net.layers[0].tone_frequency[pos[2]] == attrs[S.FREQUENCY]
    assert net.layers[0].output_nodes == net.layers[1].tone_nodes
    assert net.layers[1].output_kind == S.READOUT and net.layers[0].oscillator.natural_frequency.shape == (4,)


def test_write_back_puts_the_trained_state_in_the_graph():
    G = build_graph(spin_mlp((5, 3, 2)), seed=1)
    net = compile_graph(G)
    net.layers[0].tuning += 1234.0
    net.layers[1].bias_voltage[:] = -0.5e-3
    write_back(G, net)
    again = compile_graph(G)
    assert np.array_equal(again.layers[0].tuning, net.layers[0].tuning)
    assert np.all(again.layers[1].bias_voltage == -0.5e-3)


def test_tap_loss_attenuates_along_the_chain():
    d = NetworkDescription(InputDescription(4), (LayerDescription(2, tap_loss_db=0.5),))
    net = compile_graph(build_graph(d, seed=0))
    assert np.allclose(10 * np.log10(net.layers[0].power_gain[1]), -0.5 * np.arange(4))


def test_bad_descriptions_raise_one_clear_error():
    with pytest.raises(ValueError, match="tuning_window"):
        LayerDescription(3, tuning_window=(1e6, 2e6))
    with pytest.raises(ValueError, match="emission"):
        LayerDescription(3, emission="sometimes")
    with pytest.raises(ValueError, match="variability.resonance_frequency"):
        VariabilityDescription(resonance_frequency=-0.1)
    with pytest.raises(ValueError, match="tuning_window low"):
        build_graph(NetworkDescription(InputDescription(2), (LayerDescription(
            2, resonance_plan=FrequencyPlan("linear", 1e6, 2e6), tuning_window=(-5e6, 5e6)),)), seed=0)


def test_unequal_chains_cannot_be_compiled():
    G = build_graph(spin_mlp((4, 2, 2)), seed=0)
    G.remove_node(S.resonator_node(0, 1, 3))
    with pytest.raises(ValueError, match="different numbers of junctions"):
        compile_graph(G)
