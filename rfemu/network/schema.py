"""Names of the node kinds, edge kinds and attributes of an rfemu network graph.

The graph (a plain ``networkx.DiGraph``) is the single source of truth for a network. Every
attribute name used on its nodes and edges is a constant of this module: code that reads or writes
the graph uses these names, never string literals.

Node identifiers are tuples whose first element is the node kind:

=================  ==========================================  ==============================
node kind          identifier                                   meaning
=================  ==========================================  ==============================
``source``         ``("source", i)``                            input tone ``i`` (a feature)
``line``           ``("line", l)``                              the shared RF line of layer l
``resonator``      ``("resonator", l, c, j)``                   junction j of chain c, layer l
``chain``          ``("chain", l, c)``                          DC series chain c of layer l
``oscillator``     ``("oscillator", l, c)``                     neuron driven by chain (l, c)
``readout``        ``("readout", c)``                           class score c (output chain)
=================  ==========================================  ==============================

A network with a convolution before its layers (:mod:`rfemu.network.conv`) also holds the
:data:`CONV_NODE_KINDS`: ``("patch_tone", t)`` emitting on every ``("conv_line", k)`` (one line, or
one per position in the parallel arrangement), ``("conv_resonator", k, f, j)`` fed by line ``k``
in series in ``("conv_chain", k, f)``, which drives ``("conv_oscillator", f)``; a ``pools`` edge
goes from each filter's oscillator to every source (pooled value) its maps feed.

Edges (attribute :data:`KIND` on every edge):

- ``emits``: source or oscillator -> line (the tone goes onto that line);
- ``feeds``: line -> resonator (every junction on a line sees every tone of the line);
- ``series``: resonator -> chain, with :data:`SIGN` (+1 or -1, head-to-tail connection);
- ``drives``: chain -> oscillator, with :data:`TRANSCONDUCTANCE` (A/V);
- ``reads``: chain -> readout.

All values are SI (Hz, W, V, A, Ohm, s).
"""
from __future__ import annotations

# ---- node kinds -------------------------------------------------------------------------------
SOURCE = "source"
LINE = "line"
RESONATOR = "resonator"
CHAIN = "chain"
OSCILLATOR = "oscillator"
READOUT = "readout"
NODE_KINDS = (SOURCE, LINE, RESONATOR, CHAIN, OSCILLATOR, READOUT)

# ---- a convolution before the layers (rfemu.network.conv; the pooled maps are the sources) ---
PATCH_TONE = "patch_tone"            # ("patch_tone", t): tone t of every patch (t = (c_in k + ky) k + kx)
CONV_LINE = "conv_line"              # ("conv_line", k): the line of copy k (one; parallel: one per position)
CONV_RESONATOR = "conv_resonator"    # ("conv_resonator", k, f, j): junction j of filter f's chain, copy k
CONV_CHAIN = "conv_chain"            # ("conv_chain", k, f): filter f's chain, copy k
CONV_OSCILLATOR = "conv_oscillator"  # ("conv_oscillator", f): filter f's neurons (one per position)
CONV_NODE_KINDS = (PATCH_TONE, CONV_LINE, CONV_RESONATOR, CONV_CHAIN, CONV_OSCILLATOR)
POOLS = "pools"                      # edge conv_oscillator -> source: the pooled value it feeds

# ---- edge kinds -------------------------------------------------------------------------------
EMITS = "emits"
FEEDS = "feeds"
SERIES = "series"
DRIVES = "drives"
READS = "reads"
EDGE_KINDS = (EMITS, FEEDS, SERIES, DRIVES, READS)

# ---- attributes common to nodes and edges ----------------------------------------------------
KIND = "kind"              # node or edge kind (one of the above)
LAYER = "layer"            # layer index l (sources: -1, readouts: index of the output layer)
INDEX = "index"            # position inside its layer (tone i, chain c, junction j)
CHAIN_INDEX = "chain"      # resonators: chain index c inside the layer

# ---- graph attributes (G.graph) -------------------------------------------------------------
SEED = "seed"              # the seed the variability was drawn from (int or None)
N_LAYERS = "n_layers"      # number of resonator layers
DESCRIPTION = "description"  # the NetworkDescription the graph was built from
LINEWIDTHS = "linewidths"  # bool: False makes every tone a pure tone (zero half width) on every
                           # line: the LINEWIDTH attributes and the f(I) neurons' own linewidth are
                           # ignored by compile_graph and both engines (absent: True)

# ---- source (input tone) --------------------------------------------------------------------
FREQUENCY = "frequency"              # Hz: a tone's carrier frequency (sources; fixed-channel oscillators)
NOMINAL_FREQUENCY = "nominal_frequency"  # Hz: the frequency plan's value before variability
LINEWIDTH = "linewidth"              # Hz: half width of the tone's own Lorentzian line
MAX_POWER = "max_power"              # W: power of the tone for a feature equal to 1

# ---- resonator (synapse junction) -----------------------------------------------------------
BASE_FREQUENCY = "base_frequency"    # Hz: f_base, the as-fabricated resonance (variability drawn)
NOMINAL_BASE_FREQUENCY = "nominal_base_frequency"  # Hz: f_base of the plan, before variability
TUNING = "tuning"                    # Hz: s, the non-volatile tuning state; f_r = f_base + s
TUNING_MIN = "tuning_min"            # Hz: lower bound of s (tuning window)
TUNING_MAX = "tuning_max"            # Hz: upper bound of s
DAMPING = "damping"                  # Gilbert damping alpha; half width D_r = alpha * f_r
SENSITIVITY = "sensitivity"          # V/W: spin-diode sensitivity K
ANTISYMMETRIC = "antisymmetric"      # weight a of the antisymmetric line shape
SYMMETRIC = "symmetric"              # weight s of the symmetric line shape
POWER_GAIN = "power_gain"            # linear power factor reaching the junction (line loss per tap and
                                     # per length, amplifiers): rfemu.medium.tap_power_gain

# ---- edges resonator -> chain ----------------------------------------------------------------
SIGN = "sign"                        # +1 / -1: series orientation of the junction in its chain

# ---- chain -----------------------------------------------------------------------------------
BIAS_VOLTAGE = "bias_voltage"        # V: DC bias in series with the chain (trainable)

# ---- edges chain -> oscillator ---------------------------------------------------------------
TRANSCONDUCTANCE = "transconductance"  # A/V: g_m, I = (V_chain + V_bias) g_m

# ---- oscillator (neuron) ---------------------------------------------------------------------
OSCILLATOR_PARAMETERS = "parameters"   # rfemu.devices.oscillator.OscillatorParameters (drawn)
EMISSION = "emission"                  # "fixed" (channel frequency) or "current" (f(I) of the device)
CHANNEL_FREQUENCY = "channel_frequency"  # Hz: the fixed channel (emission "fixed")
EMISSION_FIXED = "fixed"
EMISSION_CURRENT = "current"
EMISSION_MODES = (EMISSION_FIXED, EMISSION_CURRENT)

# ---- readout ---------------------------------------------------------------------------------
CLASS_INDEX = "class_index"

# ---- convolution ----------------------------------------------------------------------------
COPY = "copy"                        # conv nodes: copy index k (the position in the parallel arrangement)
FILTER = "filter"                    # conv nodes: filter index f
TARGET_TUNING = "target_tuning"      # Hz: the shared target a conv junction's copy is programmed toward
IMAGE_SHAPE = "image_shape"          # graph attribute: (channels, height, width) of the input images


def source_node(i: int) -> tuple:
    """Identifier of input tone ``i``."""
    return (SOURCE, int(i))


def line_node(layer: int) -> tuple:
    """Identifier of the RF line that feeds layer ``layer``."""
    return (LINE, int(layer))


def resonator_node(layer: int, chain: int, junction: int) -> tuple:
    """Identifier of junction ``junction`` of chain ``chain`` in layer ``layer``."""
    return (RESONATOR, int(layer), int(chain), int(junction))


def chain_node(layer: int, chain: int) -> tuple:
    """Identifier of chain ``chain`` of layer ``layer``."""
    return (CHAIN, int(layer), int(chain))


def oscillator_node(layer: int, chain: int) -> tuple:
    """Identifier of the oscillator (neuron) driven by chain ``chain`` of layer ``layer``."""
    return (OSCILLATOR, int(layer), int(chain))


def readout_node(chain: int) -> tuple:
    """Identifier of the readout of output chain ``chain`` (class score ``chain``)."""
    return (READOUT, int(chain))


def node_kind(node) -> str:
    """The kind of a node identifier (its first element)."""
    return node[0]
