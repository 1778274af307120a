"""The network as a graph: description -> networkx graph -> per-layer arrays.

- :mod:`rfemu.network.description`  plain dataclasses describing a network (SI units)
- :mod:`rfemu.network.schema`       node/edge kinds and attribute names of the graph
- :mod:`rfemu.network.graph`        :func:`build_graph` (variability drawn from a seed)
- :mod:`rfemu.network.compile`      :func:`compile_graph` (arrays + node order for the engines)
- :mod:`rfemu.network.frequency`    frequency plans, channel counting, plan plots
"""
from rfemu.network import schema
from rfemu.network.compile import CompiledLayer, CompiledNetwork, compile_graph, write_back
from rfemu.network.description import (
    SEED_BIAS_VOLTAGE, SEED_TRANSCONDUCTANCE, SIGN_PATTERNS, InputDescription, LayerDescription,
    NetworkDescription, VariabilityDescription, spin_mlp,
)
from rfemu.network.frequency import (
    FrequencyPlan, channels_in_band, crosstalk, plot_frequency_plan, spacing_in_linewidths,
)
from rfemu.network.graph import build_graph, layer_shapes, nodes_of_kind

__all__ = [
    "schema", "CompiledLayer", "CompiledNetwork", "compile_graph", "write_back",
    "SEED_BIAS_VOLTAGE", "SEED_TRANSCONDUCTANCE", "SIGN_PATTERNS", "InputDescription",
    "LayerDescription", "NetworkDescription", "VariabilityDescription", "spin_mlp",
    "FrequencyPlan", "channels_in_band", "crosstalk", "plot_frequency_plan", "spacing_in_linewidths",
    "build_graph", "layer_shapes", "nodes_of_kind",
]
