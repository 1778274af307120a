"""Build the networkx graph of a network from its description (variability drawn from a seed).

The graph is a plain ``networkx.DiGraph``; node and edge attribute names are the constants of
:mod:`rfemu.network.schema`. Every device parameter is a node attribute *after* device-to-device
variability has been drawn, so both engines read the same devices.

Random streams (numpy ``SeedSequence`` children of the seed, one per purpose) keep the draws
independent: the initial tuning states and biases do not depend on the variability spreads, so an
ideal network and its perturbed twin built from the same seed start from the same trainable state.
"""
from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np

from rfemu.devices import variability as var
from rfemu.devices.oscillator import OscillatorParameters
from rfemu.medium import tap_power_gain
from rfemu.network import schema as S
from rfemu.network.conv import add_conv_nodes
from rfemu.network.description import NetworkDescription

#: the random streams, in the order they are spawned from the seed
STREAMS = ("initial_tuning", "initial_bias", "source_frequency", "resonance_frequency",
           "oscillator_frequency", "oscillator_power", "sensitivity", "damping",
           "oscillator_threshold", "conv")   # appended last: the other streams stay the same


def _streams(seed):
    """One Generator per purpose in :data:`STREAMS`, spawned from ``seed``."""
    if isinstance(seed, np.random.Generator):
        children = seed.spawn(len(STREAMS))
        return dict(zip(STREAMS, children))
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        ss = np.random.SeedSequence(None if seed is None else int(seed))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)))}


def layer_shapes(description: NetworkDescription):
    """[(tones T, chains C, junctions per chain J)] of every layer."""
    shapes = []
    n_tones = description.inputs.size
    for layer in description.layers:
        j = layer.junctions_per_chain or n_tones
        shapes.append((n_tones, layer.size, j))
        n_tones = layer.size
    return shapes


def build_graph(description: NetworkDescription, seed=None) -> nx.DiGraph:
    """The network as a ``networkx.DiGraph`` (see :mod:`rfemu.network.schema` for the layout).

    Parameters
    ----------
    description : NetworkDescription
    seed : None, int, SeedSequence or Generator, optional
        Seed of the variability draws and of the initial trainable state; default
        ``description.seed``.

    Returns
    -------
    networkx.DiGraph
        ``G.graph`` holds :data:`schema.SEED`, :data:`schema.N_LAYERS`, :data:`schema.LINEWIDTHS`
        and the description.

    Examples
    --------
    >>> from rfemu.network.description import spin_mlp
    >>> G = build_graph(spin_mlp((3, 2, 2)), seed=0)
    >>> G.nodes[("resonator", 0, 1, 2)]["kind"], G.edges[("resonator", 0, 1, 2), ("chain", 0, 1)]["sign"]
    ('resonator', -1.0)
    """
    if not isinstance(description, NetworkDescription):
        raise TypeError(f"description must be a NetworkDescription, not {type(description).__name__}")
    if seed is None:
        seed = description.seed
    rng = _streams(seed)
    spread = description.variability
    G = nx.DiGraph()
    G.graph[S.SEED] = seed if isinstance(seed, (int, np.integer)) or seed is None else repr(seed)
    G.graph[S.N_LAYERS] = len(description.layers)
    G.graph[S.DESCRIPTION] = description
    G.graph[S.LINEWIDTHS] = bool(description.linewidths)

    # ---- sources on line 0
    inp = description.inputs
    nominal = inp.frequency_plan.frequencies(inp.size)
    freq = var.draw(nominal, spread.source_frequency, seed=rng["source_frequency"])
    if np.any(freq <= 0):
        raise ValueError("variability.source_frequency drew a non-positive input frequency; reduce the spread")
    G.add_node(S.line_node(0), **{S.KIND: S.LINE, S.LAYER: 0, S.INDEX: 0})
    for i in range(inp.size):
        node = S.source_node(i)
        G.add_node(node, **{S.KIND: S.SOURCE, S.LAYER: -1, S.INDEX: i, S.FREQUENCY: float(freq[i]),
                            S.NOMINAL_FREQUENCY: float(nominal[i]), S.LINEWIDTH: float(inp.linewidth),
                            S.MAX_POWER: float(inp.max_power)})
        G.add_edge(node, S.line_node(0), **{S.KIND: S.EMITS})

    shapes = layer_shapes(description)
    n_layers = len(description.layers)
    for l, (layer, (n_tones, n_chains, n_junctions)) in enumerate(zip(description.layers, shapes)):
        line = S.line_node(l)
        signs = layer.signs(n_junctions)
        res = layer.resonator
        base_nominal = np.broadcast_to(layer.resonance_plan.frequencies(n_junctions), (n_chains, n_junctions))
        base = var.draw(base_nominal, spread.resonance_frequency, seed=rng["resonance_frequency"])
        damping = var.draw(np.full((n_chains, n_junctions), res.damping), spread.damping,
                           seed=rng["damping"], law="lognormal")
        sensitivity = var.draw(np.full((n_chains, n_junctions), res.sensitivity), spread.sensitivity,
                               seed=rng["sensitivity"], law="lognormal")
        lo, hi = (float(v) for v in layer.tuning_window)
        if np.any(base + lo <= 0):
            raise ValueError(f"layers[{l}].tuning_window low {lo!r} Hz lets a resonance frequency reach 0 "
                             f"(lowest f_base {base.min():g} Hz)")
        t_spread = layer.initial_tuning_spread
        if t_spread is None:
            t_spread = 1e6 / np.sqrt(n_junctions)
        tuning = np.clip(rng["initial_tuning"].normal(0.0, t_spread, (n_chains, n_junctions)), lo, hi)
        b_spread = layer.initial_bias_spread
        if b_spread is None:
            b_spread = 0.01 / np.sqrt(n_chains)
        bias = layer.bias_voltage + rng["initial_bias"].normal(0.0, b_spread, n_chains)
        # every junction of the layer sits line_length down the line, after k taps of its chain
        gain = tap_power_gain(np.arange(n_junctions), position=layer.line_length,
                              loss_per_tap_db=layer.tap_loss_db,
                              loss_per_length_db=layer.loss_per_length_db)

        hidden = l < n_layers - 1
        for c in range(n_chains):
            chain = S.chain_node(l, c)
            G.add_node(chain, **{S.KIND: S.CHAIN, S.LAYER: l, S.INDEX: c, S.BIAS_VOLTAGE: float(bias[c])})
            nodes = [S.resonator_node(l, c, j) for j in range(n_junctions)]
            G.add_nodes_from(
                (nodes[j], {S.KIND: S.RESONATOR, S.LAYER: l, S.CHAIN_INDEX: c, S.INDEX: j,
                            S.BASE_FREQUENCY: float(base[c, j]),
                            S.NOMINAL_BASE_FREQUENCY: float(base_nominal[c, j]),
                            S.TUNING: float(tuning[c, j]), S.TUNING_MIN: lo, S.TUNING_MAX: hi,
                            S.DAMPING: float(damping[c, j]), S.SENSITIVITY: float(sensitivity[c, j]),
                            S.ANTISYMMETRIC: float(res.antisymmetric), S.SYMMETRIC: float(res.symmetric),
                            S.POWER_GAIN: float(gain[j])})
                for j in range(n_junctions))
            G.add_edges_from((line, node, {S.KIND: S.FEEDS}) for node in nodes)
            G.add_edges_from((node, chain, {S.KIND: S.SERIES, S.SIGN: float(signs[j])})
                             for j, node in enumerate(nodes))

        if hidden:
            next_layer = description.layers[l + 1]
            plan = layer.emission_plan or next_layer.resonance_plan
            channel_nominal = plan.frequencies(n_chains)
            channel = var.draw(channel_nominal, spread.oscillator_frequency, seed=rng["oscillator_frequency"])
            power = var.draw(np.full(n_chains, layer.oscillator.max_output_power), spread.oscillator_power,
                             seed=rng["oscillator_power"], law="lognormal")
            threshold = var.draw(np.full(n_chains, layer.oscillator.threshold_current),
                                 spread.oscillator_threshold, seed=rng["oscillator_threshold"],
                                 law="lognormal")
            if np.any(threshold >= layer.oscillator.max_current):
                raise ValueError("variability.oscillator_threshold drew a threshold current at or above "
                                 "max_current; reduce the spread")
            if np.any(channel <= 0):
                raise ValueError("variability.oscillator_frequency drew a non-positive channel; reduce the spread")
            next_line = S.line_node(l + 1)
            G.add_node(next_line, **{S.KIND: S.LINE, S.LAYER: l + 1, S.INDEX: 0})
            for c in range(n_chains):
                osc = S.oscillator_node(l, c)
                params = dataclasses.replace(layer.oscillator, natural_frequency=float(channel[c]),
                                             max_output_power=float(power[c]),
                                             threshold_current=float(threshold[c]))
                G.add_node(osc, **{S.KIND: S.OSCILLATOR, S.LAYER: l, S.INDEX: c,
                                   S.OSCILLATOR_PARAMETERS: params, S.EMISSION: layer.emission,
                                   S.CHANNEL_FREQUENCY: float(channel[c]),
                                   S.NOMINAL_FREQUENCY: float(channel_nominal[c]),
                                   S.LINEWIDTH: float(layer.tone_linewidth)})
                G.add_edge(S.chain_node(l, c), osc, **{S.KIND: S.DRIVES,
                                                       S.TRANSCONDUCTANCE: float(layer.transconductance)})
                G.add_edge(osc, next_line, **{S.KIND: S.EMITS})
        else:
            for c in range(n_chains):
                out = S.readout_node(c)
                G.add_node(out, **{S.KIND: S.READOUT, S.LAYER: l, S.INDEX: c, S.CLASS_INDEX: c})
                G.add_edge(S.chain_node(l, c), out, **{S.KIND: S.READS})
    if description.conv is not None:    # a convolution whose pooled maps are the sources
        add_conv_nodes(G, description.conv, description.image_shape, seed=rng["conv"],
                       base_spread=spread.resonance_frequency)
    return G


def nodes_of_kind(G: nx.DiGraph, kind: str) -> list:
    """All nodes of one kind, sorted by identifier."""
    return sorted(n for n, k in G.nodes(data=S.KIND) if k == kind)


def oscillator_parameters_array(params_list) -> OscillatorParameters:
    """Stack per-device :class:`OscillatorParameters` into one whose fields are float64 arrays."""
    fields = [f.name for f in dataclasses.fields(OscillatorParameters)]
    return OscillatorParameters(**{name: np.array([getattr(p, name) for p in params_list], dtype=float)
                                   for name in fields})
