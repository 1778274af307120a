"""Turn a network graph into per-layer float64 arrays with a stored node order.

:func:`compile_graph` is the one step both engines (compiled and event) use to read a graph. It
returns a :class:`CompiledNetwork`: for every layer ``l`` a :class:`CompiledLayer` whose arrays are
indexed by

- ``t`` in ``range(T)``: the tones on line ``l``, in the order of ``tone_nodes`` (input sources for
  ``l = 0``, else the oscillators of layer ``l - 1``, by chain index);
- ``c`` in ``range(C)``: the chains of layer ``l``, in the order of ``chain_nodes``;
- ``(c, j)``: junction ``j`` of chain ``c``, node ``resonator_nodes[c][j]``.

Array shapes (all float64, C-contiguous):

=======================  ========  ==================================================
name                     shape     meaning (SI)
=======================  ========  ==================================================
tone_frequency           (T,)      Hz, carrier of each tone (fixed channels; for
                                   ``emission == "current"`` the channel at zero drive)
tone_linewidth           (T,)      Hz, half width of each tone's own line
nominal_tone_frequency   (T,)      Hz, the tone plan's value before variability
nominal_base_frequency   (C, J)    Hz, the resonance plan's value before variability
base_frequency           (C, J)    Hz, as-fabricated resonance f_base
tuning                   (C, J)    Hz, tuning state s (f_r = f_base + s), trainable
tuning_min, tuning_max   (C, J)    Hz, tuning window of s
damping                  (C, J)    Gilbert damping alpha (half width alpha f_r)
sensitivity              (C, J)    V/W, spin-diode sensitivity K
antisymmetric, symmetric (C, J)    line-shape weights
power_gain               (C, J)    power factor reaching each junction (line loss)
sign                     (C, J)    +-1, series sign in the chain
bias_voltage             (C,)      V, series bias of each chain, trainable
transconductance         (C,)      A/V, g_m chain -> oscillator (hidden layers; NaN
                                   for the output layer)
channel_frequency        (C,)      Hz, the neurons' channels (hidden layers)
neuron_linewidth         (C,)      Hz, the neurons' fixed-mode tone half widths
=======================  ========  ==================================================

``linewidths`` (on :class:`CompiledNetwork` and every :class:`CompiledLayer`) is the graph's
:data:`~rfemu.network.schema.LINEWIDTHS` flag: when False, ``tone_linewidth`` and
``neuron_linewidth`` are zero (pure tones) and the engines give the f(I) neurons' tones zero width
too, whatever the devices' linewidths.

``oscillator`` is an :class:`~rfemu.devices.oscillator.OscillatorParameters` whose fields are
arrays of shape (C,) (hidden layers; None for the output layer). ``emission`` is the layer's
neurons' emission mode ("fixed" or "current"; None for the output layer).

``CompiledNetwork.position`` maps every node to where it sits: ``("tone", l, t)`` for sources and
oscillators as tones of line ``l`` (an oscillator of layer l is tone of line l + 1), ``("chain", l,
c)``, ``("resonator", l, c, j)``, ``("output", l, c)`` for oscillators/readouts as outputs of layer l.

Trainable state lives in the arrays (``tuning``, ``bias_voltage``); :func:`write_back` copies it
into the graph's node attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.network import schema as S
from rfemu.network.graph import oscillator_parameters_array


@dataclass
class CompiledLayer:
    """Arrays of one layer (see the module docstring for shapes and meanings)."""

    index: int
    tone_nodes: list
    chain_nodes: list
    resonator_nodes: list
    output_nodes: list
    output_kind: str                 # "oscillator" (hidden layer) or "readout" (last layer)
    tone_frequency: np.ndarray
    tone_linewidth: np.ndarray
    base_frequency: np.ndarray
    tuning: np.ndarray
    tuning_min: np.ndarray
    tuning_max: np.ndarray
    damping: np.ndarray
    sensitivity: np.ndarray
    antisymmetric: np.ndarray
    symmetric: np.ndarray
    power_gain: np.ndarray
    sign: np.ndarray
    bias_voltage: np.ndarray
    transconductance: np.ndarray
    channel_frequency: np.ndarray
    neuron_linewidth: np.ndarray
    oscillator: OscillatorParameters | None
    emission: str | None
    tone_emission: str                # how the tones of this line move: "fixed" or "current"
    nominal_tone_frequency: np.ndarray | None = None    # (T,) Hz, the plan's, before variability
    nominal_base_frequency: np.ndarray | None = None    # (C, J) Hz, the plan's, before variability
    linewidths: bool = True           # False: every tone is a pure tone (the graph's LINEWIDTHS)

    @property
    def n_tones(self) -> int:
        return self.tone_frequency.shape[0]

    @property
    def n_chains(self) -> int:
        return self.base_frequency.shape[0]

    @property
    def n_junctions(self) -> int:
        return self.base_frequency.shape[1]

    @property
    def resonance_frequency(self) -> np.ndarray:
        """f_r = f_base + s, Hz, (C, J)."""
        return self.base_frequency + self.tuning

    @property
    def is_hidden(self) -> bool:
        return self.output_kind == S.OSCILLATOR

    def copy(self) -> "CompiledLayer":
        """A copy whose trainable arrays (tuning, bias_voltage) are independent."""
        new = CompiledLayer(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        new.tuning = self.tuning.copy()
        new.bias_voltage = self.bias_voltage.copy()
        return new


@dataclass
class CompiledNetwork:
    """All layers of a compiled graph, with the maps from nodes to array positions."""

    layers: list
    source_nodes: list
    source_max_power: np.ndarray          # (T0,) W, power of a tone for a feature of 1
    position: dict = field(repr=False)
    linewidths: bool = True               # False: every tone is a pure tone (the graph's LINEWIDTHS)

    @property
    def n_inputs(self) -> int:
        return len(self.source_nodes)

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_chains

    @property
    def sizes(self) -> tuple:
        return (self.n_inputs,) + tuple(layer.n_chains for layer in self.layers)

    @property
    def n_junctions(self) -> int:
        return sum(layer.n_chains * layer.n_junctions for layer in self.layers)

    def copy(self) -> "CompiledNetwork":
        """A copy with independent trainable state (device arrays are shared, read-only use)."""
        return CompiledNetwork([layer.copy() for layer in self.layers], self.source_nodes,
                               self.source_max_power, self.position, self.linewidths)

    def trainable_state(self) -> dict:
        """Copies of the trainable arrays: {"tuning": [(C, J)...], "bias_voltage": [(C,)...]}."""
        return {"tuning": [layer.tuning.copy() for layer in self.layers],
                "bias_voltage": [layer.bias_voltage.copy() for layer in self.layers]}

    def set_trainable_state(self, state: dict) -> None:
        """Set the trainable arrays from :meth:`trainable_state` output (clipped to the windows)."""
        for layer, s, b in zip(self.layers, state["tuning"], state["bias_voltage"]):
            layer.tuning = np.clip(np.asarray(s, dtype=float), layer.tuning_min, layer.tuning_max)
            layer.bias_voltage = np.asarray(b, dtype=float).copy()


def _sort_key(node):
    return tuple(node[1:])


def compile_graph(G: nx.DiGraph) -> CompiledNetwork:
    """Per-layer float64 arrays of a network graph, with a stored node order and index maps.

    Parameters
    ----------
    G : networkx.DiGraph
        A graph from :func:`rfemu.network.build_graph` (or one of the same layout).

    Returns
    -------
    CompiledNetwork

    Raises
    ------
    ValueError
        If a chain of a layer has a different number of junctions than the others, a line has no
        tones, or a chain drives neither an oscillator nor a readout.

    Examples
    --------
    >>> from rfemu.network import build_graph, spin_mlp
    >>> net = compile_graph(build_graph(spin_mlp((3, 2, 2)), seed=0))
    >>> net.layers[0].base_frequency.shape, net.layers[1].tone_nodes
    ((2, 3), [('oscillator', 0, 0), ('oscillator', 0, 1)])
    """
    kinds = nx.get_node_attributes(G, S.KIND)
    lines = sorted((n for n, k in kinds.items() if k == S.LINE), key=lambda n: G.nodes[n][S.LAYER])
    sources = sorted((n for n, k in kinds.items() if k == S.SOURCE), key=lambda n: G.nodes[n][S.INDEX])
    if not lines:
        raise ValueError("the graph has no RF line node")
    linewidths = bool(G.graph.get(S.LINEWIDTHS, True))
    position = {}
    for t, node in enumerate(sources):
        position[node] = ("tone", 0, t)
    layers = []
    for line in lines:
        l = G.nodes[line][S.LAYER]
        position[line] = ("line", l)
        tone_nodes = sorted((u for u in G.predecessors(line) if G.edges[u, line][S.KIND] == S.EMITS),
                            key=lambda n: G.nodes[n][S.INDEX])
        if not tone_nodes:
            raise ValueError(f"line {line!r} carries no tone (no 'emits' edge into it)")
        resonators = [v for v in G.successors(line) if G.edges[line, v][S.KIND] == S.FEEDS]
        chains = {}
        for r in resonators:
            (chain,) = [v for v in G.successors(r) if G.edges[r, v][S.KIND] == S.SERIES]
            chains.setdefault(chain, []).append(r)
        chain_nodes = sorted(chains, key=lambda n: G.nodes[n][S.INDEX])
        res_nodes = [sorted(chains[c], key=lambda n: G.nodes[n][S.INDEX]) for c in chain_nodes]
        n_j = {len(r) for r in res_nodes}
        if len(n_j) != 1:
            raise ValueError(f"the chains of layer {l} have different numbers of junctions {sorted(n_j)}; "
                             "the compiled engine needs one (C, J) array per layer")
        C, J = len(chain_nodes), n_j.pop()

        def grid(attr, _res=res_nodes):
            return np.array([[G.nodes[r][attr] for r in row] for row in _res], dtype=float)

        sign = np.array([[G.edges[r, c][S.SIGN] for r in row] for row, c in zip(res_nodes, chain_nodes)], dtype=float)

        # tones
        tone_kinds = {G.nodes[n][S.KIND] for n in tone_nodes}
        if tone_kinds == {S.SOURCE}:
            tone_frequency = np.array([G.nodes[n][S.FREQUENCY] for n in tone_nodes], dtype=float)
            tone_emission = S.EMISSION_FIXED
        elif tone_kinds == {S.OSCILLATOR}:
            tone_frequency = np.array([G.nodes[n][S.CHANNEL_FREQUENCY] for n in tone_nodes], dtype=float)
            modes = {G.nodes[n][S.EMISSION] for n in tone_nodes}
            if len(modes) != 1:
                raise ValueError(f"the oscillators on line {line!r} mix emission modes {sorted(modes)}")
            tone_emission = modes.pop()
        else:
            raise ValueError(f"line {line!r} mixes tone kinds {sorted(tone_kinds)}")
        tone_linewidth = np.array([G.nodes[n][S.LINEWIDTH] for n in tone_nodes], dtype=float)
        if not linewidths:
            tone_linewidth = np.zeros_like(tone_linewidth)
        nominal_tone = np.array([G.nodes[n].get(S.NOMINAL_FREQUENCY, np.nan) for n in tone_nodes], dtype=float)
        for t, n in enumerate(tone_nodes):
            position[n] = ("tone", l, t)

        # outputs of the chains
        outputs, kinds_out, gm = [], set(), []
        for c in chain_nodes:
            succ = [v for v in G.successors(c) if G.edges[c, v][S.KIND] in (S.DRIVES, S.READS)]
            if len(succ) != 1:
                raise ValueError(f"chain {c!r} must drive exactly one oscillator or readout, found {succ!r}")
            v = succ[0]
            outputs.append(v)
            kinds_out.add(G.nodes[v][S.KIND])
            gm.append(G.edges[c, v].get(S.TRANSCONDUCTANCE, np.nan))
        if len(kinds_out) != 1:
            raise ValueError(f"the chains of layer {l} mix outputs {sorted(kinds_out)}")
        output_kind = kinds_out.pop()
        if output_kind == S.OSCILLATOR:
            oscillator = oscillator_parameters_array([G.nodes[v][S.OSCILLATOR_PARAMETERS] for v in outputs])
            channel = np.array([G.nodes[v][S.CHANNEL_FREQUENCY] for v in outputs], dtype=float)
            neuron_lw = np.array([G.nodes[v][S.LINEWIDTH] for v in outputs], dtype=float)
            if not linewidths:
                neuron_lw = np.zeros_like(neuron_lw)
            modes = {G.nodes[v][S.EMISSION] for v in outputs}
            if len(modes) != 1:
                raise ValueError(f"the oscillators of layer {l} mix emission modes {sorted(modes)}")
            emission = modes.pop()
        else:
            oscillator, emission = None, None
            channel = np.full(C, np.nan)
            neuron_lw = np.full(C, np.nan)
        for c, (cn, v) in enumerate(zip(chain_nodes, outputs)):
            position[cn] = ("chain", l, c)
            position[v] = ("output", l, c)
            for j, r in enumerate(res_nodes[c]):
                position[r] = ("resonator", l, c, j)

        layers.append(CompiledLayer(
            index=l, tone_nodes=tone_nodes, chain_nodes=chain_nodes, resonator_nodes=res_nodes,
            output_nodes=outputs, output_kind=output_kind,
            tone_frequency=tone_frequency, tone_linewidth=tone_linewidth,
            base_frequency=grid(S.BASE_FREQUENCY), tuning=grid(S.TUNING),
            tuning_min=grid(S.TUNING_MIN), tuning_max=grid(S.TUNING_MAX), damping=grid(S.DAMPING),
            sensitivity=grid(S.SENSITIVITY), antisymmetric=grid(S.ANTISYMMETRIC),
            symmetric=grid(S.SYMMETRIC), power_gain=grid(S.POWER_GAIN), sign=sign,
            bias_voltage=np.array([G.nodes[c][S.BIAS_VOLTAGE] for c in chain_nodes], dtype=float),
            transconductance=np.array(gm, dtype=float), channel_frequency=channel,
            neuron_linewidth=neuron_lw, oscillator=oscillator, emission=emission,
            tone_emission=tone_emission, nominal_tone_frequency=nominal_tone,
            nominal_base_frequency=np.array([[G.nodes[r].get(S.NOMINAL_BASE_FREQUENCY, np.nan) for r in row]
                                             for row in res_nodes], dtype=float),
            linewidths=linewidths))
    # consistency: the tones of line l+1 are the outputs of layer l
    for a, b in zip(layers, layers[1:]):
        if a.output_nodes != b.tone_nodes:
            raise ValueError(f"the oscillators of layer {a.index} are not the tones of line {b.index}")
    source_power = np.array([G.nodes[n][S.MAX_POWER] for n in sources], dtype=float)
    return CompiledNetwork(layers=layers, source_nodes=sources, source_max_power=source_power,
                           position=position, linewidths=linewidths)


def write_back(G: nx.DiGraph, network: CompiledNetwork) -> None:
    """Copy the compiled network's trainable state (tuning, bias voltages) into the graph."""
    for layer in network.layers:
        for c, row in enumerate(layer.resonator_nodes):
            for j, r in enumerate(row):
                G.nodes[r][S.TUNING] = float(layer.tuning[c, j])
        for c, node in enumerate(layer.chain_nodes):
            G.nodes[node][S.BIAS_VOLTAGE] = float(layer.bias_voltage[c])
