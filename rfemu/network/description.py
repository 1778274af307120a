"""The description of a network: plain dataclasses, SI units, validated on construction.

A :class:`NetworkDescription` says *what* to build (layer sizes, frequency plans, chain signs,
device defaults, variability spreads, seed); :func:`rfemu.network.build_graph` turns it into the
networkx graph that both engines read. The scenario files (issue 5) read into these same classes.

Layer ``l`` is a set of ``size`` chains of junctions on RF line ``l``. The tones on line 0 are the
input sources; the tones on line ``l > 0`` are the oscillators (neurons) driven by the chains of
layer ``l - 1``. The chains of the last layer are read out as class scores.

Examples
--------
>>> d = spin_mlp((4, 3, 2))
>>> [layer.size for layer in d.layers], d.inputs.size
([3, 2], 4)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import ResonatorParameters
from rfemu.network import schema
from rfemu.network.frequency import GEOMETRIC, LINEAR, FrequencyPlan

#: g_m of the seed's drone network: 3.388 uA/mV, in A/V.
SEED_TRANSCONDUCTANCE = 3.388370758630916e-3
#: the seed's bias voltage of the hidden layer, V (tuned by the authors).
SEED_BIAS_VOLTAGE = 0.011084586710145186

#: series sign patterns of the junctions of a chain, k = 0, 1, ...
SIGN_PATTERNS = {
    "alternate_minus_first": lambda k: -((-1.0) ** k),   # (-1)^(k+1): the seed's "k+1"
    "alternate_plus_first": lambda k: (-1.0) ** k,       # (-1)^k
    "all_plus": lambda k: np.ones_like(k, dtype=float),
}


def _check(cond, message):
    if not cond:
        raise ValueError(message)


def _finite(name, value, low=None, strict=False):
    value = float(value)
    ok = math.isfinite(value) and (low is None or (value > low if strict else value >= low))
    cmp = ">" if strict else ">="
    _check(ok, f"{name} must be finite" + (f" and {cmp} {low}" if low is not None else "") + f", got {value!r}")
    return value


@dataclass(frozen=True)
class InputDescription:
    """The input tones (one per feature) on line 0.

    Parameters
    ----------
    size : int
        Number of input tones (features).
    frequency_plan : FrequencyPlan
        Where the tones sit (seed: linear, 20-120 MHz).
    max_power : float
        W: the power of a tone whose (normalised) feature is 1 (1 uW).
    linewidth : float
        Hz: half width of each input tone's own line (0: pure tones).
    """

    size: int = field(metadata={
        "scenario": False,
        "help": "one input tone per feature of the task"})
    frequency_plan: FrequencyPlan = field(default=FrequencyPlan(LINEAR, 20e6, 120e6), metadata={
        "help": "Channels of the input tones, one per feature."})
    max_power: float = field(default=1e-6, metadata={
        "unit": "W", "gt": 0,
        "help": "Power of a tone whose (normalised) feature is 1."})
    linewidth: float = field(default=0.0, metadata={
        "unit": "Hz", "ge": 0,
        "help": "Half width of each input tone's own line (0: pure tones)."})

    def __post_init__(self):
        _check(int(self.size) == self.size and self.size >= 1, f"inputs.size must be an integer >= 1, got {self.size!r}")
        _finite("inputs.max_power", self.max_power, 0.0, strict=True)
        _finite("inputs.linewidth", self.linewidth, 0.0)


@dataclass(frozen=True)
class LayerDescription:
    """One layer: ``size`` chains of junctions on one RF line, each chain driving a neuron
    (hidden layer) or read out as a class score (last layer).

    Parameters
    ----------
    size : int
        Number of chains (neurons, or classes for the last layer).
    resonance_plan : FrequencyPlan
        As-fabricated resonance frequencies of junctions 0..J-1 of every chain.
    junctions_per_chain : int, optional
        J; default: the number of tones on the layer's line (one junction per tone, the seed).
    sign_pattern : str or tuple of float
        Series signs of the junctions (a key of :data:`SIGN_PATTERNS`, or J explicit +-1 values).
        Seed: ``"alternate_minus_first"``, (-1)^(k+1).
    tuning_window : (float, float)
        Hz: bounds of the non-volatile tuning shift s (f_r = f_base + s).
    initial_tuning_spread : float, optional
        Hz: std of the initial tuning shifts (drawn from the seed). Default: the seed authors'
        1 MHz / sqrt(J).
    bias_voltage : float
        V: the layer's fixed series bias V_bias of every chain (seed hidden layer: 11.08 mV).
    initial_bias_spread : float, optional
        V: std of the trainable per-chain bias around ``bias_voltage``. Default 10 mV / sqrt(size)
        (the seed's initialisation).
    transconductance : float
        A/V: g_m of the V -> I conversion of a hidden layer (3.388 uA/mV).
    resonator : ResonatorParameters
        Junction defaults (damping, sensitivity, line-shape weights).
    oscillator : OscillatorParameters
        Neuron defaults of a hidden layer (unused for the last layer).
    emission : {"fixed", "current"}
        A neuron emits on a fixed channel, or at f(I) of its own device (natural frequency = the
        channel, moved by its non-linear frequency shift).
    emission_plan : FrequencyPlan, optional
        The neurons' channels; default: the next layer's ``resonance_plan`` (the seed).
    tone_linewidth : float
        Hz: half width of the neurons' tones with ``emission="fixed"`` (0 = pure tones). With
        ``emission="current"`` the device's own linewidth at its current is used.
    tap_loss_db : float
        dB of RF power lost at each junction along a chain (junction k sees the tone power
        times 10^(-k tap_loss_db / 10)); 0 = amplifiers preserve the power (the seed).
    line_length : float
        m: length of RF line a tone travels from its emitter to the layer's junctions. The
        junctions of a chain sit close together compared with it, so every junction of the layer
        is placed ``line_length`` down the line.
    loss_per_length_db : float
        dB/m: propagation loss of the line. Junction k then sees the tone power times
        10^(-(k tap_loss_db + line_length loss_per_length_db) / 10)
        (:func:`rfemu.medium.tap_power_gain`, stored as each junction's power gain, which both
        engines read).
    """

    size: int = field(metadata={
        "gt": 0,
        "help": "Chains: neurons of a hidden layer, classes of the last layer."})
    resonance_plan: FrequencyPlan = field(default=FrequencyPlan(LINEAR, 20e6, 120e6), metadata={
        "help": "As-fabricated resonance frequencies of junctions 0..J-1 of every chain."})
    junctions_per_chain: int | None = field(default=None, metadata={
        "gt": 0,
        "help": "J; null: one junction per tone on the layer's line."})
    sign_pattern: object = field(default="alternate_minus_first", metadata={
        "help": "Series signs of the junctions of a chain: alternate_minus_first ((-1)^(k+1), the "
                "seed), alternate_plus_first, all_plus, or a list of +1/-1."})
    tuning_window: tuple = field(default=(-15e6, 15e6), metadata={
        "unit": "Hz", "length": 2, "scenario_default": None,
        "help": "[low, high] shift of f_r from f_base; null: devices.frequency_state's window."})
    initial_tuning_spread: float | None = field(default=None, metadata={
        "unit": "Hz", "ge": 0,
        "help": "Std of the initial tuning shifts (null: the seed's 1 MHz / sqrt(J))."})
    bias_voltage: float = field(default=0.0, metadata={
        "unit": "V",
        "help": "Series bias of every chain (the seed's hidden layer: 11.08 mV; trained)."})
    initial_bias_spread: float | None = field(default=None, metadata={
        "unit": "V", "ge": 0,
        "help": "Std of the initial biases around bias_voltage (null: 10 mV / sqrt(size))."})
    transconductance: float = field(default=SEED_TRANSCONDUCTANCE, metadata={
        "unit": "S", "gt": 0,
        "help": "g_m of a hidden layer's V -> I conversion (A/V; '3.388 uA/mV')."})
    resonator: ResonatorParameters = field(default=ResonatorParameters(), metadata={
        "scenario_default": None,
        "help": "This layer's junctions; null: devices.resonator (keys given here override it)."})
    oscillator: OscillatorParameters = field(default=OscillatorParameters(), metadata={
        "scenario_default": None,
        "help": "This layer's neurons; null: devices.oscillator (keys given here override it)."})
    emission: str = field(default=schema.EMISSION_FIXED, metadata={
        "choices": ("fixed", "current"),
        "help": "A neuron emits on a fixed channel, or at f(I) of its own device."})
    emission_plan: FrequencyPlan | None = field(default=None, metadata={
        "help": "The neurons' channels; null: the next layer's resonance_plan."})
    tone_linewidth: float = field(default=0.0, metadata={
        "unit": "Hz", "ge": 0,
        "help": "Half width of the neurons' tones with emission: fixed."})
    tap_loss_db: float = field(default=0.0, metadata={
        "unit": "dB", "ge": 0, "key": "tap_loss", "scenario_default": None,
        "help": "RF power lost at each junction along a chain; null: medium.loss_per_tap."})
    line_length: float = field(default=0.0, metadata={
        "unit": "m", "ge": 0, "section": "medium",
        "help": "Length of RF line from the emitters (inputs, neurons) to the junctions of each "
                "line ('5 mm'); the junctions of a chain sit close together compared with it."})
    loss_per_length_db: float = field(default=0.0, metadata={
        "unit": "dB/m", "ge": 0, "section": "medium", "key": "loss_per_length",
        "help": "Propagation loss of every RF line ('0.1 dB/mm'). A tone reaches the junctions of "
                "its line after line_length of it: every junction's power gain is multiplied by "
                "10^(-loss_per_length x line_length / 10), in both engines."})

    def __post_init__(self):
        _check(int(self.size) == self.size and self.size >= 1, f"layer size must be an integer >= 1, got {self.size!r}")
        if self.junctions_per_chain is not None:
            _check(int(self.junctions_per_chain) == self.junctions_per_chain and self.junctions_per_chain >= 1,
                   f"junctions_per_chain must be an integer >= 1, got {self.junctions_per_chain!r}")
        if isinstance(self.sign_pattern, str):
            _check(self.sign_pattern in SIGN_PATTERNS,
                   f"sign_pattern must be one of {sorted(SIGN_PATTERNS)} or explicit signs, got {self.sign_pattern!r}")
        else:
            signs = np.asarray(self.sign_pattern, dtype=float)
            _check(signs.ndim == 1 and np.all(np.abs(signs) == 1),
                   f"explicit sign_pattern must be a sequence of +1/-1, got {self.sign_pattern!r}")
        lo, hi = (float(v) for v in self.tuning_window)
        _check(math.isfinite(lo) and math.isfinite(hi) and lo <= 0.0 <= hi,
               f"tuning_window must be finite (low, high) Hz with low <= 0 <= high, got {self.tuning_window!r}")
        if self.initial_tuning_spread is not None:
            _finite("initial_tuning_spread", self.initial_tuning_spread, 0.0)
        if self.initial_bias_spread is not None:
            _finite("initial_bias_spread", self.initial_bias_spread, 0.0)
        _finite("bias_voltage", self.bias_voltage)
        _finite("transconductance", self.transconductance, 0.0, strict=True)
        _check(self.emission in schema.EMISSION_MODES,
               f"emission must be one of {schema.EMISSION_MODES}, got {self.emission!r}")
        _finite("tone_linewidth", self.tone_linewidth, 0.0)
        _finite("tap_loss_db", self.tap_loss_db, 0.0)
        _finite("line_length", self.line_length, 0.0)
        _finite("loss_per_length_db", self.loss_per_length_db, 0.0)

    def signs(self, n_junctions: int) -> np.ndarray:
        """The series sign of junctions 0..n-1 (float64 +-1)."""
        if isinstance(self.sign_pattern, str):
            return np.asarray(SIGN_PATTERNS[self.sign_pattern](np.arange(n_junctions)), dtype=float)
        signs = np.asarray(self.sign_pattern, dtype=float)
        _check(signs.size == n_junctions,
               f"explicit sign_pattern has {signs.size} signs, the chains have {n_junctions} junctions")
        return signs.copy()


@dataclass(frozen=True)
class VariabilityDescription:
    """Device-to-device variability: relative standard deviations (0.01 = 1 %).

    Each perturbed quantity is ``nominal * (1 + spread * N(0, 1))`` (the seed papers' relative
    Gaussian); powers and sensitivities use the log-normal form so they keep their sign.

    Parameters
    ----------
    source_frequency : float
        Input tones' frequencies.
    resonance_frequency : float
        Junctions' as-fabricated resonance frequencies f_base.
    oscillator_frequency : float
        Neurons' channel (natural) frequencies.
    oscillator_power : float
        Neurons' output power scale (``max_output_power``).
    sensitivity : float
        Junctions' spin-diode sensitivity K.
    damping : float
        Junctions' Gilbert damping (hence their linewidths).
    oscillator_threshold : float
        Neurons' threshold current I_th (log-normal; their maximum drive current stays the
        circuit's, and must stay above every drawn threshold).
    """

    source_frequency: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Input tones' frequencies."})
    resonance_frequency: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Junctions' as-fabricated resonance frequencies."})
    oscillator_frequency: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Neurons' channel (natural) frequencies."})
    oscillator_power: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Neurons' output power scale (log-normal)."})
    sensitivity: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Junctions' sensitivity K (log-normal)."})
    damping: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Junctions' damping, hence their linewidths."})
    oscillator_threshold: float = field(default=0.0, metadata={
        "unit": "", "ge": 0,
        "help": "Neurons' threshold current (log-normal)."})

    def __post_init__(self):
        for name in ("source_frequency", "resonance_frequency", "oscillator_frequency",
                     "oscillator_power", "sensitivity", "damping", "oscillator_threshold"):
            _finite(f"variability.{name}", getattr(self, name), 0.0)

    @classmethod
    def uniform(cls, spread: float) -> "VariabilityDescription":
        """The issue's scenario: the same relative spread on input-tone frequencies, resonance
        frequencies, oscillator frequencies and oscillator powers."""
        return cls(source_frequency=spread, resonance_frequency=spread, oscillator_frequency=spread,
                   oscillator_power=spread)

    @property
    def any(self) -> bool:
        """True if any spread is non-zero."""
        return any(getattr(self, f) > 0 for f in ("source_frequency", "resonance_frequency",
                                                   "oscillator_frequency", "oscillator_power",
                                                   "sensitivity", "damping", "oscillator_threshold"))


@dataclass(frozen=True)
class NetworkDescription:
    """A whole network: inputs, layers, variability, seed.

    Parameters
    ----------
    inputs : InputDescription
    layers : tuple of LayerDescription
        Hidden layers first, the output layer (class scores) last.
    variability : VariabilityDescription
    seed : int or None
        Default seed of :func:`rfemu.network.build_graph` (variability and initial states).
    linewidths : bool
        True: each tone has its own Lorentzian line (the inputs' ``linewidth``, the layers'
        ``tone_linewidth``, an f(I) neuron's own linewidth at its current), which widens the
        junctions' response, L = 1 / (d - i (D_r + g_t)) (docs/physics.md#tone-linewidth). False: every
        tone is a pure tone (g_t = 0) in both engines.
    """

    inputs: InputDescription = field(metadata={
        "help": "The input tones."})
    layers: tuple = field(metadata={
        "help": "Hidden layers first; the last layer's chains are the class scores."})
    variability: VariabilityDescription = field(default_factory=VariabilityDescription, metadata={
        "section": "",
        "help": "Relative device-to-device spreads."})
    seed: int | None = field(default=None, metadata={
        "scenario": False,
        "help": "the run's graph random stream, spawned from the scenario seed"})
    linewidths: bool = field(default=True, metadata={
        "section": "medium",
        "help": "true: every tone has its own Lorentzian line (network.inputs.linewidth, the "
                "layers' tone_linewidth, an f(I) neuron's own linewidth at its current), which "
                "widens the junctions' response, L = 1 / (d - i (D_r + g_t)); false: every tone is"
                " a pure tone, in both engines."})
    conv: object = field(default=None, metadata={
        "scenario": False,
        "help": "a convolution before the layers (rfemu.network.conv.ConvDescription, the "
                "scenario's network.conv): its pooled maps are then the input tones"})
    image_shape: tuple | None = field(default=None, metadata={
        "scenario": False, "help": "(channels, height, width) of the images a convolution reads (the task's)"})

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        if self.conv is not None:
            _check(self.image_shape is not None and len(self.image_shape) == 3,
                   f"a convolution needs image_shape (channels, height, width), got {self.image_shape!r}")
            n_pooled = self.conv.n_pooled(*self.image_shape)
            _check(self.inputs.size == n_pooled,
                   f"inputs.size must be the pooled maps' {n_pooled} values, got {self.inputs.size}")
        _check(isinstance(self.linewidths, (bool, np.bool_)),
               f"linewidths must be True or False, got {self.linewidths!r}")
        _check(len(self.layers) >= 1, "a network needs at least one layer")
        for i, layer in enumerate(self.layers):
            _check(isinstance(layer, LayerDescription), f"layers[{i}] must be a LayerDescription, got {type(layer).__name__}")

    @property
    def sizes(self) -> tuple:
        """(inputs, layer 0 chains, layer 1 chains, ...)."""
        return (self.inputs.size,) + tuple(layer.size for layer in self.layers)

    def with_variability(self, variability: VariabilityDescription) -> "NetworkDescription":
        """The same network with other variability spreads."""
        return replace(self, variability=variability)

    def without_variability(self) -> "NetworkDescription":
        """The same network with ideal devices."""
        return replace(self, variability=VariabilityDescription())


def spin_mlp(sizes, *, input_band=(20e6, 120e6), hidden_band=(20e6, 120e6),
             bias_voltage=SEED_BIAS_VOLTAGE, transconductance=SEED_TRANSCONDUCTANCE,
             resonator=None, oscillator=None, variability=None, seed=None, **layer_options):
    """The seed authors' spintronic MLP: ``sizes = (inputs, hidden..., outputs)``.

    Input tones on a linear grid in ``input_band``; first-layer junctions on the same linear grid
    (one per tone); every later layer's junctions and the neurons feeding it on a geometric grid in
    ``hidden_band``; hidden chains biased by ``bias_voltage`` and converted by ``transconductance``;
    output chains unbiased. ``layer_options`` go to every :class:`LayerDescription`.

    Examples
    --------
    >>> d = spin_mlp((256, 128, 10))
    >>> d.layers[1].resonance_plan.kind
    'geometric'
    """
    sizes = tuple(int(s) for s in sizes)
    _check(len(sizes) >= 2, f"sizes must have at least (inputs, outputs), got {sizes!r}")
    resonator = resonator or ResonatorParameters()
    oscillator = oscillator or OscillatorParameters()
    inputs = InputDescription(size=sizes[0], frequency_plan=FrequencyPlan(LINEAR, *input_band))
    layers = []
    n_layers = len(sizes) - 1
    for l in range(n_layers):
        plan = FrequencyPlan(LINEAR, *input_band) if l == 0 else FrequencyPlan(GEOMETRIC, *hidden_band)
        hidden = l < n_layers - 1
        layers.append(LayerDescription(
            size=sizes[l + 1], resonance_plan=plan,
            bias_voltage=bias_voltage if hidden else 0.0, transconductance=transconductance,
            resonator=resonator, oscillator=oscillator, **layer_options))
    return NetworkDescription(inputs=inputs, layers=tuple(layers),
                              variability=variability or VariabilityDescription(), seed=seed)
