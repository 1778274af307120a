"""Convolution layers of RF spintronic devices (Leroux et al., Neuromorph. Comput. Eng. 2, 034002, 2022).

A filter is a chain of ``J = in_channels * kernel_size**2`` junctions reading the tones that encode
one input patch: one tone per patch element and input channel, on a frequency plan that every
position reuses (:func:`patch_tone_frequencies`). Junction ``j`` of a filter nominally resonates
on tone ``j`` (one junction per tone, as a dense layer of the seed); its resonance frequency sets
the kernel's weights through the full Lorentzian line of every junction against every patch tone
(docs/physics.md#chains, docs/physics.md#line-shape). The chain matrix ``W`` (filters x patch
tones, V/W) comes from :class:`rfemu.medium.LineResponse`, the same path as the dense layers'.

Two arrangements (the paper's):

- ``sequential``: one chain per filter; the patches are rectified one after another in time, so
  every position sees the same ``W`` (``n_copies = 1``);
- ``parallel``: one chain per filter and position (``n_copies = n_positions``), each copy on its
  own line carrying one patch's tones; weight sharing is obtained by programming every copy toward
  the same target, so write noise and device-to-device spread make the copies differ.

Array axes: ``k`` copy (0 only in the sequential arrangement, else the position), ``f`` filter,
``j`` junction of a filter's chain, ``t`` patch tone (``t = (c_in * k + ky) * k + kx``), ``p``
output position (row-major over the output map). The forward pass is
``V[b, f, p] = sum_t patches[b, p, t] W[k(p), f, t] + V_bias[k(p), f]`` (volts), im2col then a
product; :meth:`ConvLayer.backward` returns the gradients with respect to every junction's
tuning shift (``f_r = f_base + s``), the chains' biases and the input tone powers.
:func:`oscillator_activation` and the pooling functions act on its output.

Examples
--------
>>> import numpy as np
>>> g = ConvGeometry(in_channels=1, height=4, width=4, kernel_size=3)
>>> layer = conv_layer(g, n_filters=2, tone_frequency=np.linspace(20e6, 120e6, 9), seed=0)
>>> layer.forward(np.full((5, 1, 4, 4), 1e-6)).voltage.shape
(5, 2, 2, 2)
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rfemu.devices import oscillator as osc
from rfemu.devices.oscillator import OscillatorParameters
from rfemu.devices.resonator import DEFAULT_SENSITIVITY, ResonatorParameters
from rfemu.medium import Line, LineResponse
from rfemu.network import schema as S
from rfemu.network.description import SEED_BIAS_VOLTAGE, SEED_TRANSCONDUCTANCE, SIGN_PATTERNS
from rfemu.network.frequency import GEOMETRIC, LINEAR, FrequencyPlan
from rfemu.rng import as_generator

__all__ = [
    "SEQUENTIAL", "PARALLEL", "ARRANGEMENTS",
    "ConvDescription", "POOLS", "ConvGeometry", "im2col", "col2im", "patch_tone_frequencies",
    "ConvLayer", "ConvResult", "ConvGradient", "conv_layer",
    "shared_gradient", "gradient_step", "program",
    "oscillator_activation", "average_pool", "average_pool_grad", "max_pool", "max_pool_grad",
    "add_conv_nodes", "compile_conv", "write_back_conv", "cnn_description",
]

SEQUENTIAL = "sequential"
PARALLEL = "parallel"
ARRANGEMENTS = (SEQUENTIAL, PARALLEL)
POOLS = ("average", "max")


# --------------------------------------------------------------------------------------------
# geometry: patches of an image
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConvGeometry:
    """Shape of a convolution: input maps (in_channels, height, width), square kernel, stride, zero padding."""

    in_channels: int
    height: int
    width: int
    kernel_size: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self):
        for name in ("in_channels", "height", "width", "kernel_size", "stride"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if int(self.padding) < 0:
            raise ValueError(f"padding must be >= 0, got {self.padding!r}")
        if self.out_height < 1 or self.out_width < 1:
            raise ValueError(f"a {self.kernel_size}x{self.kernel_size} kernel does not fit a "
                             f"{self.height}x{self.width} map padded by {self.padding}")

    @property
    def out_height(self) -> int:
        return (self.height + 2 * self.padding - self.kernel_size) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.width + 2 * self.padding - self.kernel_size) // self.stride + 1

    @property
    def n_positions(self) -> int:
        """Number of output positions (patches)."""
        return self.out_height * self.out_width

    @property
    def patch_size(self) -> int:
        """Tones of one patch: ``in_channels * kernel_size**2`` (the junctions of a filter's chain)."""
        return self.in_channels * self.kernel_size ** 2

    def _slices(self):
        """For every patch tone t = (c_in k + ky) k + kx: (c_in, rows, cols) of the padded map it reads
        at every output position (strided slices)."""
        k, s = self.kernel_size, self.stride
        for c in range(self.in_channels):
            for ky in range(k):
                for kx in range(k):
                    yield c, slice(ky, ky + s * (self.out_height - 1) + 1, s), \
                        slice(kx, kx + s * (self.out_width - 1) + 1, s)


def _check_maps(x, geometry, name):
    x = np.asarray(x, dtype=float)
    shape = (geometry.in_channels, geometry.height, geometry.width)
    if x.ndim != 4 or x.shape[1:] != shape:
        raise ValueError(f"{name} must have shape (samples, {', '.join(map(str, shape))}), got {x.shape}")
    return x


def im2col(maps, geometry: ConvGeometry) -> np.ndarray:
    """The patches of input maps (B, C_in, H, W) as rows: (B, P, T), ``t = (c_in k + ky) k + kx``."""
    x = _check_maps(maps, geometry, "maps")
    pad = geometry.padding
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k, s = geometry.kernel_size, geometry.stride
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    win = win[:, :, :geometry.out_height, :geometry.out_width]          # (B, C_in, OH, OW, k, k)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(x.shape[0], geometry.n_positions, geometry.patch_size)


def col2im(patches, geometry: ConvGeometry) -> np.ndarray:
    """The adjoint of :func:`im2col`: patch values (B, P, T) summed back onto the maps (B, C_in, H, W)."""
    g = np.asarray(patches, dtype=float)
    pad, b = geometry.padding, g.shape[0]
    out = np.zeros((b, geometry.in_channels, geometry.height + 2 * pad, geometry.width + 2 * pad))
    for t, (c, rows, cols) in enumerate(geometry._slices()):
        out[:, c, rows, cols] += g[:, :, t].reshape(b, geometry.out_height, geometry.out_width)
    return out[:, :, pad:pad + geometry.height, pad:pad + geometry.width]


def patch_tone_frequencies(plan: FrequencyPlan, geometry: ConvGeometry) -> np.ndarray:
    """The patch tones (T,), Hz: one channel of ``plan`` per patch element and input channel,
    reused at every position (docs/physics.md#frequency-plans)."""
    return plan.frequencies(geometry.patch_size)


# --------------------------------------------------------------------------------------------
# the layer
# --------------------------------------------------------------------------------------------

class ConvResult(NamedTuple):
    """A convolution of a batch: ``voltage`` (B, F, OH, OW) V (chain voltages plus bias),
    ``patches`` (B, P, T) W (the input tone powers of each patch), ``matrix`` (K, F, T) V/W."""

    voltage: np.ndarray
    patches: np.ndarray
    matrix: np.ndarray


class ConvGradient(NamedTuple):
    """dL/d of a convolution's parameters: ``tuning`` (K, F, J) Hz^-1, ``bias_voltage`` (K, F)
    V^-1, ``tone_power`` (B, C_in, H, W) W^-1 (None unless asked), ``matrix`` (K, F, T)."""

    tuning: np.ndarray
    bias_voltage: np.ndarray
    tone_power: np.ndarray | None
    matrix: np.ndarray


@dataclass
class ConvLayer:
    """The junction chains of a convolution layer: ``n_copies`` x ``n_filters`` chains of
    ``patch_size`` junctions against the patch tones (arrays ``(K, F, J)``, see the module docstring).

    Trainable state: ``tuning`` (K, F, J) Hz (the junctions' shifts, ``f_r = f_base + s``) and
    ``bias_voltage`` (K, F) V; ``target_tuning`` (K, F, J) is the shift each copy was last
    programmed toward, from the plan's resonance ``nominal_base_frequency`` (:func:`program`:
    ``tuning`` = target + write error, clipped to ``[tuning_min, tuning_max]``; calibrated, the
    write also cancels the copy's fabrication offset ``nominal - base``). Device
    arrays (``damping``, ``sensitivity``, ``antisymmetric``, ``symmetric``, ``power_gain``,
    ``sign``) broadcast to (K, F, J).
    """

    geometry: ConvGeometry
    arrangement: str
    tone_frequency: np.ndarray
    tone_linewidth: np.ndarray
    base_frequency: np.ndarray
    tuning: np.ndarray
    target_tuning: np.ndarray
    bias_voltage: np.ndarray
    tuning_min: float
    tuning_max: float
    damping: np.ndarray
    sensitivity: np.ndarray
    antisymmetric: np.ndarray
    symmetric: np.ndarray
    power_gain: np.ndarray
    sign: np.ndarray
    linewidths: bool = True
    nominal_base_frequency: np.ndarray | None = None     # (K, F, J) Hz, the plan's, before the spread

    def __post_init__(self):
        if self.arrangement not in ARRANGEMENTS:
            raise ValueError(f"arrangement must be one of {ARRANGEMENTS}, got {self.arrangement!r}")
        K = 1 if self.arrangement == SEQUENTIAL else self.geometry.n_positions
        shape = np.shape(self.base_frequency)
        if len(shape) != 3 or shape[0] != K or shape[2] != self.geometry.patch_size:
            raise ValueError(f"base_frequency must have shape ({K}, filters, {self.geometry.patch_size}) "
                             f"for the {self.arrangement} arrangement, got {shape}")
        if np.shape(self.tone_frequency) != (self.geometry.patch_size,):
            raise ValueError(f"tone_frequency must have shape ({self.geometry.patch_size},), got "
                             f"{np.shape(self.tone_frequency)}")
        if self.nominal_base_frequency is None:
            self.nominal_base_frequency = np.array(self.base_frequency, dtype=float)
        self._response = None

    def copy(self) -> "ConvLayer":
        """A copy whose trainable arrays (tuning, target_tuning, bias_voltage) are independent."""
        new = ConvLayer(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        new.tuning, new.target_tuning = self.tuning.copy(), self.target_tuning.copy()
        new.bias_voltage = self.bias_voltage.copy()
        return new

    def invalidate(self) -> None:
        """Forget the prepared line response: call after changing a device array (damping,
        sensitivity, line shape, power gain, signs); the tuning may change freely."""
        self._response = None

    @property
    def n_copies(self) -> int:
        return self.base_frequency.shape[0]

    @property
    def n_filters(self) -> int:
        return self.base_frequency.shape[1]

    @property
    def resonance_frequency(self) -> np.ndarray:
        """f_r = f_base + s, Hz, (K, F, J)."""
        return self.base_frequency + self.tuning

    def response(self) -> LineResponse:
        """The copies' chains as one :class:`rfemu.medium.LineResponse` of ``K F`` chains (built once)."""
        if self._response is None:
            shape = self.base_frequency.shape
            rows = (shape[0] * shape[1], shape[2])

            def flat(a):
                return np.broadcast_to(np.asarray(a, dtype=float), shape).reshape(rows)

            self._response = LineResponse(flat(self.sign), flat(self.sensitivity), flat(self.antisymmetric),
                                          flat(self.symmetric), flat(self.damping), flat(self.power_gain),
                                          self.linewidths)
        return self._response

    def line(self, copy=0, **options) -> Line:
        """The RF line of one copy's chains (:class:`rfemu.medium.Line`, the event engine's),
        carrying the patch tones silent (slot ``t`` = patch tone ``t``, source ``("patch", t)``);
        ``options`` as in :class:`rfemu.medium.Line` (noise, delay...). The sequential
        arrangement's scan sets the tones' powers of each patch in turn on ``line(0)``."""
        shape = self.base_frequency.shape[1:]

        def one(a):
            a = np.asarray(a, dtype=float)
            return np.broadcast_to(a, self.base_frequency.shape)[copy] if a.ndim == 3 else a

        line = Line(self.resonance_frequency[copy], one(self.damping), one(self.sign), one(self.sensitivity),
                    one(self.antisymmetric), one(self.symmetric),
                    power_gain=np.broadcast_to(one(self.power_gain), shape), linewidths=self.linewidths,
                    **options)
        for t, (f, w) in enumerate(zip(self.tone_frequency, self.tone_linewidth)):
            line.add_slot(("patch", t), f, w)
        return line

    def chain_matrix(self, *, backend="kernel", n_threads=1) -> np.ndarray:
        """W (K, F, T), V/W: every copy's chains against the patch tones."""
        K, F, J = self.base_frequency.shape
        w = self.response().matrix(self.tone_frequency, self.tone_linewidth,
                                   self.resonance_frequency.reshape(K * F, J),
                                   n_threads=n_threads, backend=backend)
        return w.reshape(K, F, -1)

    def forward(self, tone_power, *, backend="kernel", n_threads=1) -> ConvResult:
        """Chain voltages plus biases (B, F, OH, OW), V, of input tone powers (B, C_in, H, W), W."""
        g = self.geometry
        patches = im2col(tone_power, g)
        w = self.chain_matrix(backend=backend, n_threads=n_threads)
        if self.n_copies == 1:
            v = patches @ w[0].T + self.bias_voltage[0]
        else:       # one product per position: (P, B, T) @ (P, T, F)
            v = np.matmul(patches.transpose(1, 0, 2), w.transpose(0, 2, 1)).transpose(1, 0, 2) \
                + self.bias_voltage[None]
        voltage = np.ascontiguousarray(v.transpose(0, 2, 1)).reshape(-1, self.n_filters, g.out_height, g.out_width)
        return ConvResult(voltage, patches, w)

    def backward(self, grad_voltage, result: ConvResult, *, input_grad=False, backend="kernel",
                 n_threads=1) -> ConvGradient:
        """Back-propagate dL/dV (B, F, OH, OW) of :meth:`forward`'s ``result`` to every junction's
        tuning (each copy its own), the chains' biases and (``input_grad``) the input tone powers."""
        g = self.geometry
        K, F, J = self.base_frequency.shape
        gv = np.asarray(grad_voltage, dtype=float).reshape(-1, F, g.n_positions).transpose(0, 2, 1)  # (B,P,F)
        if K == 1:
            grad_w = (gv.reshape(-1, F).T @ result.patches.reshape(-1, result.patches.shape[2]))[None]
            grad_bias = gv.sum(axis=(0, 1))[None]
        else:       # (P, F, B) @ (P, B, T)
            grad_w = np.matmul(gv.transpose(1, 2, 0), result.patches.transpose(1, 0, 2))
            grad_bias = gv.sum(axis=0)
        gr = self.response().grad(grad_w.reshape(K * F, -1), self.tone_frequency, self.tone_linewidth,
                                  self.resonance_frequency.reshape(K * F, J), n_threads=n_threads,
                                  backend=backend)
        grad_input = None
        if input_grad:
            w = result.matrix
            cols = gv @ w[0] if K == 1 else np.matmul(gv.transpose(1, 0, 2), w).transpose(1, 0, 2)
            grad_input = col2im(cols, g)
        return ConvGradient(gr.resonance_frequency.reshape(K, F, J), grad_bias, grad_input, grad_w)


def conv_layer(geometry: ConvGeometry, n_filters: int, tone_frequency, *, arrangement=SEQUENTIAL,
               tone_linewidth=0.0, damping=0.01, sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0,
               symmetric=0.0, sign_pattern="alternate_minus_first", tuning_window=(-50e6, 50e6),
               initial_tuning_spread=None, bias_voltage=0.0, base_spread=0.0, linewidths=True,
               seed=None) -> ConvLayer:
    """A convolution layer whose junction ``j`` of every filter is fabricated on patch tone ``j``.

    Parameters
    ----------
    geometry : ConvGeometry
    n_filters : int
        Output channels F.
    tone_frequency : array (T,)
        The patch tones, Hz (:func:`patch_tone_frequencies`).
    arrangement : {"sequential", "parallel"}
    tone_linewidth : float or array (T,)
        Hz, half width of the patch tones.
    damping, sensitivity, antisymmetric, symmetric : float
        The junctions' defaults (docs/physics.md#line-shape).
    sign_pattern : str
        A key of :data:`rfemu.network.description.SIGN_PATTERNS` (series signs along a chain).
    tuning_window : (float, float)
        Hz, bounds of the tuning shift.
    initial_tuning_spread : float, optional
        Hz, std of the initial shared target (default 1 MHz / sqrt(J), as the dense layers).
    bias_voltage : float
        V, the chains' initial bias.
    base_spread : float
        Relative device-to-device spread of the as-fabricated resonances (Gaussian, per junction
        and copy: the parallel copies then differ).
    seed : None, int or Generator
        Draws of the initial target (one for all copies) and of the spread.
    """
    rng = as_generator(seed)
    tf = np.asarray(tone_frequency, dtype=float)
    T = geometry.patch_size
    K = 1 if arrangement == SEQUENTIAL else geometry.n_positions
    shape = (K, int(n_filters), T)
    spread = 1e6 / math.sqrt(T) if initial_tuning_spread is None else float(initial_tuning_spread)
    lo, hi = (float(v) for v in tuning_window)
    target = np.clip(rng.normal(0.0, spread, shape[1:]), lo, hi)
    base = np.broadcast_to(tf, shape) * (1.0 + base_spread * rng.standard_normal(shape))
    sign = np.broadcast_to(SIGN_PATTERNS[sign_pattern](np.arange(T)), shape)
    tuning = np.broadcast_to(target, shape).copy()
    return ConvLayer(geometry, arrangement, tf, np.broadcast_to(np.asarray(tone_linewidth, float), (T,)).copy(),
                     base, tuning, tuning.copy(), np.full(shape[:2], float(bias_voltage)), lo, hi,
                     np.asarray(damping, float), np.asarray(sensitivity, float), np.asarray(antisymmetric, float),
                     np.asarray(symmetric, float), np.asarray(1.0), sign.astype(float), linewidths,
                     np.broadcast_to(tf, shape).copy())


@dataclass(frozen=True)
class ConvDescription:
    """What a convolution layer is made of, in the style of
    :class:`rfemu.network.description.LayerDescription` (field metadata for the scenario files).

    :meth:`build` makes its :class:`ConvLayer` for input maps of a given shape; the oscillators
    (``transconductance``, ``oscillator``) and the pooling act on its output
    (:class:`rfemu.engines.conv.SpinCNN`).
    """

    filters: int = field(metadata={"gt": 0, "help": "Output channels F (one chain per filter, and per position when parallel)."})
    kernel_size: int = field(default=5, metadata={"gt": 0, "help": "Side k of the square kernel: a filter's chain has in_channels k^2 junctions."})
    stride: int = field(default=1, metadata={"gt": 0, "help": "Step between patches, pixels."})
    padding: int = field(default=0, metadata={"ge": 0, "help": "Zero padding of the input maps, pixels."})
    arrangement: str = field(default=SEQUENTIAL, metadata={
        "choices": ARRANGEMENTS,
        "help": "sequential: one chain per filter scans the positions in time; parallel: one chain "
                "per filter and position, every copy programmed toward the same target."})
    patch_plan: FrequencyPlan = field(default=FrequencyPlan(LINEAR, 20e6, 120e6), metadata={
        "help": "The patch tones (one per patch element and input channel, reused at every "
                "position); junction j of every filter is fabricated on tone j."})
    tone_linewidth: float = field(default=0.0, metadata={"unit": "Hz", "ge": 0, "help": "Half width of the patch tones."})
    sign_pattern: str = field(default="alternate_minus_first", metadata={
        "choices": tuple(SIGN_PATTERNS), "help": "Series signs of the junctions of a filter's chain."})
    tuning_window: tuple = field(default=(-15e6, 15e6), metadata={
        "unit": "Hz", "length": 2, "help": "[low, high] shift of f_r from f_base."})
    initial_tuning_spread: float | None = field(default=None, metadata={
        "unit": "Hz", "ge": 0, "help": "Std of the initial shared target (null: 1 MHz / sqrt(J))."})
    bias_voltage: float = field(default=SEED_BIAS_VOLTAGE, metadata={
        "unit": "V", "help": "Initial series bias of every chain (trained)."})
    max_power: float = field(default=0.2e-6, metadata={
        "unit": "W", "gt": 0, "help": "Power of a patch tone whose pixel is 1."})
    transconductance: float = field(default=SEED_TRANSCONDUCTANCE, metadata={
        "unit": "S", "gt": 0, "help": "g_m of the filters' V -> I conversion into their oscillators."})
    pool_size: int = field(default=2, metadata={"gt": 0, "help": "Side of the non-overlapping pooling windows (1: none)."})
    pool: str = field(default="average", metadata={"choices": POOLS, "help": "Pooling of the oscillators' powers."})
    resonator: ResonatorParameters = field(default=ResonatorParameters(), metadata={"help": "The junctions."})
    oscillator: OscillatorParameters = field(default=OscillatorParameters(), metadata={
        "help": "The filters' neurons (their pooled powers are the dense head's input tones)."})

    def __post_init__(self):
        for name in ("filters", "kernel_size", "stride", "pool_size"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if int(self.padding) != self.padding or self.padding < 0:
            raise ValueError(f"padding must be an integer >= 0, got {self.padding!r}")
        if self.arrangement not in ARRANGEMENTS:
            raise ValueError(f"arrangement must be one of {ARRANGEMENTS}, got {self.arrangement!r}")
        if self.pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {self.pool!r}")
        if self.sign_pattern not in SIGN_PATTERNS:
            raise ValueError(f"sign_pattern must be one of {sorted(SIGN_PATTERNS)}, got {self.sign_pattern!r}")
        lo, hi = (float(v) for v in self.tuning_window)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= 0.0 <= hi):
            raise ValueError(f"tuning_window must be finite (low, high) Hz with low <= 0 <= high, got {self.tuning_window!r}")
        if not (math.isfinite(self.max_power) and self.max_power > 0):
            raise ValueError(f"max_power must be a positive power in W, got {self.max_power!r}")
        if not (math.isfinite(self.transconductance) and self.transconductance > 0):
            raise ValueError(f"transconductance must be a positive conductance in S, got {self.transconductance!r}")

    def geometry(self, in_channels: int, height: int, width: int) -> ConvGeometry:
        """The convolution's shape on input maps (in_channels, height, width)."""
        return ConvGeometry(in_channels, height, width, self.kernel_size, self.stride, self.padding)

    def n_pooled(self, in_channels: int, height: int, width: int) -> int:
        """Values of the pooled maps: the dense head's input tones ``F * (OH // pool) * (OW // pool)``."""
        g = self.geometry(in_channels, height, width)
        return self.filters * (g.out_height // self.pool_size) * (g.out_width // self.pool_size)

    def build(self, in_channels: int, height: int, width: int, *, base_spread=0.0, seed=None) -> ConvLayer:
        """The layer's junctions (:func:`conv_layer`), ``base_spread`` the relative spread of their resonances."""
        g = self.geometry(in_channels, height, width)
        r = self.resonator
        return conv_layer(g, self.filters, patch_tone_frequencies(self.patch_plan, g),
                          arrangement=self.arrangement, tone_linewidth=self.tone_linewidth,
                          damping=r.damping, sensitivity=r.sensitivity, antisymmetric=r.antisymmetric,
                          symmetric=r.symmetric, sign_pattern=self.sign_pattern,
                          tuning_window=self.tuning_window, initial_tuning_spread=self.initial_tuning_spread,
                          bias_voltage=self.bias_voltage, base_spread=base_spread, seed=seed)


# --------------------------------------------------------------------------------------------
# weight sharing and a training step
# --------------------------------------------------------------------------------------------

def shared_gradient(grad: ConvGradient) -> ConvGradient:
    """The copies' gradients accumulated into one shared target: every copy gets the sum over
    copies (tuning (K, F, J), bias (K, F)); a sequential layer's gradient is already shared."""
    t = np.broadcast_to(grad.tuning.sum(axis=0, keepdims=True), grad.tuning.shape).copy()
    b = np.broadcast_to(grad.bias_voltage.sum(axis=0, keepdims=True), grad.bias_voltage.shape).copy()
    return ConvGradient(t, b, grad.tone_power, grad.matrix)


def gradient_step(layer: ConvLayer, grad: ConvGradient, learning_rate: float, bias_learning_rate: float,
                  *, share=True, calibrated=False, write_noise=0.0, rng=None) -> None:
    """One gradient step on the copies' targets, then :func:`program` every copy (in place).

    With ``share`` (weight sharing) the copies' gradients are accumulated into one target, so the
    copies' targets stay identical; the copies' tunings then differ by their write errors (and,
    ``calibrated``, their fabrication offsets).
    """
    if share:
        grad = shared_gradient(grad)
    layer.target_tuning = np.clip(layer.target_tuning - learning_rate * grad.tuning,
                                  layer.tuning_min, layer.tuning_max)
    layer.bias_voltage = layer.bias_voltage - bias_learning_rate * grad.bias_voltage
    program(layer, calibrated=calibrated, write_noise=write_noise, rng=rng)


def program(layer: ConvLayer, *, calibrated=False, write_noise=0.0, rng=None) -> None:
    """Write every copy's junctions toward their targets (in place): ``tuning = target_tuning +
    e`` with a Gaussian write error ``e`` of std ``write_noise`` (Hz, per junction, from ``rng``),
    clipped to the tuning window. ``calibrated``: the write reads each junction's resonance and
    aims at ``nominal_base_frequency + target``, cancelling its fabrication offset
    (``tuning = target + nominal - base + e``); otherwise the shift is written blind and the
    device-to-device spread stays in the resonances (docs/physics.md#variability)."""
    tuning = layer.target_tuning
    if calibrated:
        tuning = tuning + (layer.nominal_base_frequency - layer.base_frequency)
    if write_noise > 0:
        tuning = tuning + as_generator(rng).normal(0.0, write_noise, tuning.shape)
    layer.tuning = np.clip(tuning, layer.tuning_min, layer.tuning_max)


# --------------------------------------------------------------------------------------------
# activations and pooling
# --------------------------------------------------------------------------------------------

def _scalar_parameters(params) -> bool:
    p = params if params is not None else osc.OscillatorParameters()
    return all(np.ndim(getattr(p, f.name)) == 0 for f in dataclasses.fields(p))


@functools.lru_cache(maxsize=8)
def _transfer(params, n):
    """The kernel's compact output model of ``n`` neurons sharing ``params`` (prepared once)."""
    return osc.OutputTransfer(params, n)


def oscillator_activation(voltage, transconductance, params=None, *, derivative=False, backend="kernel"):
    """Output power (W) of oscillators driven by ``I = V g_m`` (V includes the chain's bias):
    :func:`rfemu.devices.oscillator.output_power`, and with ``derivative`` dP/dV (W/V).
    ``backend="kernel"``: the same compact model in one pass of the kernel
    (:class:`rfemu.devices.oscillator.OutputTransfer`, the filters' neurons sharing ``params``);
    ``"numpy"``: the reference functions."""
    current = np.asarray(voltage, dtype=float) * transconductance
    if backend == "kernel" and current.ndim >= 2 and _scalar_parameters(params):
        n = int(np.prod(current.shape[1:]))
        power, d_power = _transfer(params, n)(current.reshape(-1, n), derivative=derivative)
        power = power.reshape(current.shape)
        if d_power is not None:
            d_power = d_power.reshape(current.shape)
            d_power *= transconductance
        return power, d_power
    power = osc.output_power(current, params)
    if not derivative:
        return power, None
    return power, osc.d_output_power_d_current(current, params) * transconductance


def _windows(x, size):
    """(B, C, H//size, W//size, size*size) non-overlapping windows (the map cropped to whole windows)."""
    x = np.asarray(x, dtype=float)
    b, c, h, w = x.shape
    oh, ow = h // size, w // size
    x = x[:, :, :oh * size, :ow * size].reshape(b, c, oh, size, ow, size)
    return x.transpose(0, 1, 2, 4, 3, 5).reshape(b, c, oh, ow, size * size)


def _unwindows(g, shape, size):
    b, c, h, w = shape
    oh, ow = h // size, w // size
    out = np.zeros(shape)
    out[:, :, :oh * size, :ow * size] = g.reshape(b, c, oh, ow, size, size).transpose(
        0, 1, 2, 4, 3, 5).reshape(b, c, oh * size, ow * size)
    return out


def average_pool(x, size: int) -> np.ndarray:
    """Mean over non-overlapping ``size x size`` windows of maps (B, C, H, W)."""
    return _windows(x, size).mean(axis=-1)


def average_pool_grad(grad_out, input_shape, size: int) -> np.ndarray:
    """dL/dx of :func:`average_pool` (maps of ``input_shape``)."""
    g = np.repeat(np.asarray(grad_out, dtype=float)[..., None], size * size, axis=-1) / (size * size)
    return _unwindows(g, input_shape, size)


def max_pool(x, size: int):
    """Largest value over non-overlapping ``size x size`` windows, and the winner of each window."""
    win = _windows(x, size)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def max_pool_grad(grad_out, winner, input_shape, size: int) -> np.ndarray:
    """dL/dx of :func:`max_pool`: each window's gradient goes to its winner (one scatter)."""
    b, c, oh, ow = winner.shape
    out = np.zeros(input_shape)
    view = out[:, :, :oh * size, :ow * size].reshape(b, c, oh, size, ow, size)
    ib, ic, io, jo = np.ix_(range(b), range(c), range(oh), range(ow))
    view[ib, ic, io, winner // size, jo, winner % size] = grad_out
    if not np.shares_memory(view, out):
        out[:, :, :oh * size, :ow * size] = view.reshape(b, c, oh * size, ow * size)
    return out


# --------------------------------------------------------------------------------------------
# the convolution in the network graph (rfemu.network.schema's conv node kinds)
# --------------------------------------------------------------------------------------------

#: the conv junctions' attributes, as the graph's schema names them, and the ConvLayer arrays
_JUNCTION_ARRAYS = (("BASE_FREQUENCY", "base_frequency"), ("NOMINAL_BASE_FREQUENCY", "nominal_base_frequency"),
                    ("TUNING", "tuning"), ("TARGET_TUNING", "target_tuning"), ("DAMPING", "damping"),
                    ("SENSITIVITY", "sensitivity"), ("ANTISYMMETRIC", "antisymmetric"),
                    ("SYMMETRIC", "symmetric"), ("POWER_GAIN", "power_gain"))


def add_conv_nodes(G, description, image_shape, *, seed=None, base_spread=0.0) -> ConvLayer:
    """Add a convolution's devices to graph ``G`` (node kinds of :mod:`rfemu.network.schema`):
    the patch tones (emitting on every copy's line), every copy's junctions (fed by its line, in
    series in their filter's chain), the chains driving their filter's oscillators, and ``pools``
    edges from each filter's oscillators to the sources (the head's input tones) its pooled
    values feed. Returns the :class:`ConvLayer` drawn (``description.build``) that the nodes hold."""
    layer = description.build(*image_shape, base_spread=base_spread, seed=seed)
    K, F, J = layer.base_frequency.shape
    G.graph[S.IMAGE_SHAPE] = tuple(int(v) for v in image_shape)
    for t, (f, w) in enumerate(zip(layer.tone_frequency, layer.tone_linewidth)):
        G.add_node((S.PATCH_TONE, t), **{S.KIND: S.PATCH_TONE, S.INDEX: t, S.FREQUENCY: float(f),
                                          S.NOMINAL_FREQUENCY: float(f), S.LINEWIDTH: float(w),
                                          S.MAX_POWER: float(description.max_power)})
    arrays = {name: np.broadcast_to(np.asarray(getattr(layer, attr), float), (K, F, J))
              for name, attr in _JUNCTION_ARRAYS}
    sign = np.broadcast_to(layer.sign, (K, F, J))
    for f in range(F):
        G.add_node((S.CONV_OSCILLATOR, f), **{S.KIND: S.CONV_OSCILLATOR, S.FILTER: f, S.INDEX: f,
                                               S.OSCILLATOR_PARAMETERS: description.oscillator})
    for k in range(K):
        line = (S.CONV_LINE, k)
        G.add_node(line, **{S.KIND: S.CONV_LINE, S.COPY: k, S.INDEX: k})
        G.add_edges_from(((S.PATCH_TONE, t), line, {S.KIND: S.EMITS}) for t in range(J))
        for f in range(F):
            chain = (S.CONV_CHAIN, k, f)
            G.add_node(chain, **{S.KIND: S.CONV_CHAIN, S.COPY: k, S.FILTER: f, S.INDEX: f,
                                 S.BIAS_VOLTAGE: float(layer.bias_voltage[k, f])})
            G.add_edge(chain, (S.CONV_OSCILLATOR, f), **{S.KIND: S.DRIVES,
                                                         S.TRANSCONDUCTANCE: float(description.transconductance)})
            nodes = [(S.CONV_RESONATOR, k, f, j) for j in range(J)]
            G.add_nodes_from((node, {S.KIND: S.CONV_RESONATOR, S.COPY: k, S.FILTER: f, S.INDEX: j,
                                     S.TUNING_MIN: layer.tuning_min, S.TUNING_MAX: layer.tuning_max,
                                     **{getattr(S, name): float(a[k, f, j]) for name, a in arrays.items()}})
                             for j, node in enumerate(nodes))
            G.add_edges_from((line, node, {S.KIND: S.FEEDS}) for node in nodes)
            G.add_edges_from((node, chain, {S.KIND: S.SERIES, S.SIGN: float(sign[k, f, j])})
                             for j, node in enumerate(nodes))
    per_filter = description.n_pooled(*image_shape) // F
    G.add_edges_from(((S.CONV_OSCILLATOR, f), S.source_node(f * per_filter + i), {S.KIND: S.POOLS})
                     for f in range(F) for i in range(per_filter))
    return layer


def compile_conv(G) -> ConvLayer:
    """The :class:`ConvLayer` a graph's conv nodes hold (:func:`add_conv_nodes`), with the
    description's geometry and arrangement (``G.graph``'s network description)."""
    description = G.graph[S.DESCRIPTION].conv
    if description is None:
        raise ValueError("the graph has no convolution (its description's conv is None)")
    g = description.geometry(*G.graph[S.IMAGE_SHAPE])
    F, J = description.filters, g.patch_size
    K = 1 if description.arrangement == SEQUENTIAL else g.n_positions
    tones = [G.nodes[(S.PATCH_TONE, t)] for t in range(J)]
    junctions = [G.nodes[(S.CONV_RESONATOR, k, f, j)] for k in range(K) for f in range(F) for j in range(J)]

    def grid(attr):
        return np.array([n[attr] for n in junctions], dtype=float).reshape(K, F, J)

    a = {attr: grid(getattr(S, name)) for name, attr in _JUNCTION_ARRAYS}
    sign = np.array([G.edges[(S.CONV_RESONATOR, k, f, j), (S.CONV_CHAIN, k, f)][S.SIGN]
                     for k in range(K) for f in range(F) for j in range(J)], dtype=float).reshape(K, F, J)
    bias = np.array([[G.nodes[(S.CONV_CHAIN, k, f)][S.BIAS_VOLTAGE] for f in range(F)] for k in range(K)])
    return ConvLayer(g, description.arrangement, np.array([n[S.FREQUENCY] for n in tones]),
                     np.array([n[S.LINEWIDTH] for n in tones]), a["base_frequency"], a["tuning"],
                     a["target_tuning"], bias, float(junctions[0][S.TUNING_MIN]),
                     float(junctions[0][S.TUNING_MAX]), a["damping"], a["sensitivity"], a["antisymmetric"],
                     a["symmetric"], a["power_gain"], sign, bool(G.graph.get(S.LINEWIDTHS, True)),
                     a["nominal_base_frequency"])


def write_back_conv(G, layer: ConvLayer) -> None:
    """Write a (trained, programmed) layer's tuning, targets and biases into the graph's conv nodes."""
    K, F, J = layer.base_frequency.shape
    for k in range(K):
        for f in range(F):
            G.nodes[(S.CONV_CHAIN, k, f)][S.BIAS_VOLTAGE] = float(layer.bias_voltage[k, f])
            for j in range(J):
                node = G.nodes[(S.CONV_RESONATOR, k, f, j)]
                node[S.TUNING] = float(layer.tuning[k, f, j])
                node[S.TARGET_TUNING] = float(layer.target_tuning[k, f, j])


def cnn_description(conv: ConvDescription, image_shape, hidden=(100,), n_classes=10, *,
                    input_plan=FrequencyPlan(GEOMETRIC, 100e6, 10.1e9), input_damping=0.005,
                    input_window=(-20e6, 20e6), variability=None, seed=None):
    """A :class:`rfemu.network.NetworkDescription` of a CNN: ``conv`` on images ``image_shape``
    (channels, height, width), its pooled maps as input tones on ``input_plan`` (two decades by
    default, as the MNIST MLP's 784 pixels), the dense layers ``hidden`` then ``n_classes`` output
    chains (first layer: junctions of damping ``input_damping`` with the tuning window
    ``input_window``; later layers on the seed's geometric 20-120 MHz grid)."""
    from rfemu.network.description import (InputDescription, LayerDescription, NetworkDescription,
                                           VariabilityDescription)
    n_in = conv.n_pooled(*image_shape)
    sizes = tuple(int(h) for h in hidden) + (int(n_classes),)
    layers = []
    for l, size in enumerate(sizes):
        hidden_layer = l < len(sizes) - 1
        first = dict(resonance_plan=input_plan, tuning_window=tuple(input_window),
                     resonator=ResonatorParameters(damping=input_damping)) if l == 0 else \
            dict(resonance_plan=FrequencyPlan(GEOMETRIC, 20e6, 120e6))
        layers.append(LayerDescription(size=size, bias_voltage=SEED_BIAS_VOLTAGE if hidden_layer else 0.0,
                                       transconductance=conv.transconductance, **first))
    return NetworkDescription(inputs=InputDescription(size=n_in, frequency_plan=input_plan,
                                                      max_power=conv.oscillator.max_output_power),
                              layers=tuple(layers), variability=variability or VariabilityDescription(),
                              seed=seed, conv=conv, image_shape=tuple(image_shape))
