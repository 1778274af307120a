"""A spintronic convolutional network in the compiled engine's static limit (Leroux et al. 2022).

::

    input tone powers (B, C_in, H, W) --conv chains (rfemu.network.conv.ConvLayer)--> V + V_bias
      --oscillators (I = (V + V_bias) g_m, P_out(I))--> powers (B, F, OH, OW)
      --pooling (average or max, size x size)--> (B, F, PH, PW), flattened
      --the dense head (a CompiledEngine: its line 0 carries one tone per pooled map value)--> scores

:class:`SpinCNN` runs it forward and back-propagates dL/d(scores) to every trainable array: the
convolution's tuning (K, F, J) and biases (K, F), each copy its own in the parallel arrangement
(:func:`rfemu.network.conv.shared_gradient` accumulates them), and the head's tuning and biases per
layer. The head's lines carry fixed tones (oscillators on fixed channels); a head whose neurons
emit at f(I) is refused here.

Examples
--------
>>> import numpy as np
>>> from rfemu.network import build_graph, spin_mlp, conv
>>> g = conv.ConvGeometry(1, 6, 6, 3)
>>> layer = conv.conv_layer(g, 2, np.linspace(20e6, 120e6, 9), bias_voltage=7e-3, seed=0)
>>> cnn = SpinCNN(layer, build_graph(spin_mlp((8, 3)), seed=0), pool_size=2)
>>> cnn.forward(np.full((4, 1, 6, 6), 0.5)).scores.shape
(4, 3)
"""
from __future__ import annotations

from typing import NamedTuple

import networkx as nx
import numpy as np

from rfemu.devices.oscillator import OscillatorParameters
from rfemu.engines.compiled import CompiledEngine, ForwardResult, blas_threads
from rfemu.network import conv as cv
from rfemu.network import schema as S
from rfemu.network.compile import CompiledNetwork, compile_graph
from rfemu.network.description import SEED_TRANSCONDUCTANCE

__all__ = ["SpinCNN", "CNNForward", "CNNGradient", "CNNEngine", "POOLS", "rearranged"]

POOLS = cv.POOLS


class CNNForward(NamedTuple):
    """A forward pass: ``scores`` (B, classes) V, the convolution's :class:`ConvResult`, the
    oscillators' powers (B, F, OH, OW) W and dP/dV (W/V, None unless kept), the pooled powers
    (B, F, PH, PW), each window's winner (max pooling), the head's :class:`ForwardResult`."""

    scores: np.ndarray
    conv: cv.ConvResult
    power: np.ndarray
    d_power: np.ndarray | None
    pooled: np.ndarray
    winner: np.ndarray | None
    head: ForwardResult


class CNNGradient(NamedTuple):
    """dL/d of every trainable array: the convolution's :class:`rfemu.network.conv.ConvGradient`,
    the head's tuning (list of (C, J)) and biases (list of (C,))."""

    conv: cv.ConvGradient
    head_tuning: list
    head_bias: list


class SpinCNN:
    """A convolution layer of junction chains, oscillators, pooling and a dense head.

    Parameters
    ----------
    conv : rfemu.network.conv.ConvLayer
        The convolution (its arrays are used in place: training updates them).
    head : networkx.DiGraph, CompiledNetwork or CompiledEngine
        The dense layers; its line 0 has ``F * PH * PW`` tones (the pooled maps, flattened
        filter-major), all its lines fixed tones.
    transconductance : float
        A/V, g_m of the convolution's neurons (the seed's 3.388 uA/mV).
    oscillator : OscillatorParameters, optional
        The convolution's neurons (default parameters).
    pool_size : int
        Side of the non-overlapping pooling windows (1: no pooling).
    pool : {"average", "max"}
    input_max_power : float
        W, the tone power of a feature of 1.
    blas_threads : int or None
        BLAS threads of the products (:func:`rfemu.engines.compiled.blas_threads`; one is tens of
        times faster than several on a loaded machine).
    """

    def __init__(self, conv: cv.ConvLayer, head, *, transconductance=SEED_TRANSCONDUCTANCE,
                 oscillator: OscillatorParameters | None = None, pool_size=2, pool="average",
                 input_max_power=1e-6, backend="kernel", blas_threads=1):
        if not isinstance(head, CompiledEngine):
            if not isinstance(head, (nx.DiGraph, CompiledNetwork)):
                raise TypeError(f"head must be a graph, a CompiledNetwork or a CompiledEngine, not {type(head).__name__}")
            head = CompiledEngine(head, n_threads=1, backend=backend)
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        g = conv.geometry
        n_pooled = conv.n_filters * (g.out_height // pool_size) * (g.out_width // pool_size)
        if head.network.n_inputs != n_pooled:
            raise ValueError(f"the head's line 0 carries {head.network.n_inputs} tones, the pooled maps "
                             f"give {n_pooled}")
        if any(layer.emission == S.EMISSION_CURRENT for layer in head.network.layers):
            raise ValueError("the head's neurons must emit on fixed channels (emission 'fixed')")
        self.conv, self.head = conv, head
        self.transconductance = float(transconductance)
        self.oscillator = oscillator or OscillatorParameters()
        self.pool_size, self.pool = int(pool_size), pool
        self.input_max_power = float(input_max_power)
        self.backend = backend
        self.blas_threads = blas_threads

    @classmethod
    def from_description(cls, description: cv.ConvDescription, layer: cv.ConvLayer, head, **options):
        """The network of a :class:`rfemu.network.conv.ConvDescription`'s layer (from its
        :meth:`~rfemu.network.conv.ConvDescription.build`), its neurons and pooling, and ``head``."""
        options.setdefault("input_max_power", description.max_power)
        return cls(layer, head, transconductance=description.transconductance,
                   oscillator=description.oscillator, pool_size=description.pool_size,
                   pool=description.pool, **options)

    @classmethod
    def from_graph(cls, G, **options) -> "SpinCNN":
        """The network of a graph built from a :class:`rfemu.network.NetworkDescription` with a
        convolution (:func:`rfemu.network.build_graph`): its conv nodes
        (:func:`rfemu.network.conv.compile_conv`) and its dense layers (the head, whose sources are
        the pooled maps)."""
        description = G.graph[S.DESCRIPTION].conv
        return cls.from_description(description, cv.compile_conv(G), compile_graph(G), **options)

    def forward(self, features, *, keep=False) -> CNNForward:
        """Class scores (V) of features (B, C_in, H, W) in [0, 1]."""
        with blas_threads(self.blas_threads):
            return self._forward(features, keep)

    def _forward(self, features, keep):
        result = self.conv.forward(np.asarray(features, dtype=float) * self.input_max_power,
                                   backend=self.backend)
        power, d_power = cv.oscillator_activation(result.voltage, self.transconductance, self.oscillator,
                                                  derivative=keep, backend=self.backend)
        winner = None
        if self.pool == "max":
            pooled, winner = cv.max_pool(power, self.pool_size)
        else:
            pooled = cv.average_pool(power, self.pool_size)
        head = self.head.forward(power=pooled.reshape(pooled.shape[0], -1), keep=keep)
        return CNNForward(head.scores, result, power, d_power, pooled, winner, head)

    def _head_backward(self, fwd: CNNForward, grad_scores):
        """The head's tuning and bias gradients, and dL/d(its input powers) (B, T0)."""
        layers = self.head.network.layers
        g_tuning, g_bias = [None] * len(layers), [None] * len(layers)
        g_v = np.asarray(grad_scores, dtype=float)
        for l in range(len(layers) - 1, -1, -1):
            st = fwd.head.layers[l]
            g_bias[l] = g_v.sum(axis=0)
            grad = self.head.rectify_grad(l, g_v, st, tone_power_grad=True)
            g_tuning[l] = grad.resonance_frequency
            if l == 0:
                return g_tuning, g_bias, grad.tone_power
            g_v = grad.tone_power * fwd.head.layers[l - 1].d_output_power * layers[l - 1].transconductance

    def backward(self, fwd: CNNForward, grad_scores) -> CNNGradient:
        """Back-propagate dL/d(scores) (B, classes) through a forward pass kept with ``keep=True``."""
        if fwd.d_power is None:
            raise ValueError("backward needs a forward pass with keep=True")
        with blas_threads(self.blas_threads):
            return self._backward(fwd, grad_scores)

    def _backward(self, fwd: CNNForward, grad_scores) -> CNNGradient:
        g_tuning, g_bias, g_in = self._head_backward(fwd, grad_scores)
        g_pooled = g_in.reshape(fwd.pooled.shape)
        if self.pool == "max":
            g_power = cv.max_pool_grad(g_pooled, fwd.winner, fwd.power.shape, self.pool_size)
        else:
            g_power = cv.average_pool_grad(g_pooled, fwd.power.shape, self.pool_size)
        g_conv = self.conv.backward(g_power * fwd.d_power, fwd.conv, backend=self.backend)
        return CNNGradient(g_conv, g_tuning, g_bias)


def rearranged(cnn: SpinCNN, arrangement: str, *, base_spread=0.0, calibrated=False, write_noise=0.0,
               seed=None) -> SpinCNN:
    """The same trained network with its convolution in another arrangement: every copy (one per
    position when parallel) programmed toward the shared target (copy 0's) and bias of ``cnn``,
    its as-fabricated resonances drawn with the relative ``base_spread`` (from ``seed``), written
    blind or ``calibrated`` (:func:`rfemu.network.conv.program`); the head is shared."""
    old = cnn.conv
    rng = np.random.default_rng(seed)
    g = old.geometry
    K = 1 if arrangement == cv.SEQUENTIAL else g.n_positions
    shape = (K,) + old.base_frequency.shape[1:]
    nominal = np.broadcast_to(old.nominal_base_frequency[:1], shape).copy()
    base = nominal * (1.0 + base_spread * rng.standard_normal(shape)) if base_spread else nominal.copy()

    def device(a):
        a = np.asarray(a, dtype=float)
        return a[:1] if a.ndim == 3 else a

    target = np.broadcast_to(old.target_tuning[:1], shape).copy()
    layer = cv.ConvLayer(g, arrangement, old.tone_frequency, old.tone_linewidth, base, target.copy(), target,
                         np.broadcast_to(old.bias_voltage[:1], shape[:2]).copy(), old.tuning_min,
                         old.tuning_max, device(old.damping), device(old.sensitivity),
                         device(old.antisymmetric), device(old.symmetric), device(old.power_gain),
                         device(old.sign), old.linewidths, nominal)
    cv.program(layer, calibrated=calibrated, write_noise=write_noise, rng=rng)
    return SpinCNN(layer, cnn.head, transconductance=cnn.transconductance, oscillator=cnn.oscillator,
                   pool_size=cnn.pool_size, pool=cnn.pool, input_max_power=cnn.input_max_power,
                   backend=cnn.backend, blas_threads=cnn.blas_threads)


class CNNEngine:
    """A :class:`SpinCNN` behind the compiled engine's interface, for the run's stages: samples are
    flattened images (B, C*H*W) in [0, 1]; :meth:`forward` returns the dense head's
    :class:`ForwardResult` of the whole network (its scores are the CNN's); ``network`` is the
    head's :class:`CompiledNetwork`."""

    def __init__(self, cnn: SpinCNN):
        self.cnn = cnn
        self.network = cnn.head.network
        g = cnn.conv.geometry
        self.image_shape = (g.in_channels, g.height, g.width)

    def forward(self, features=None, *, keep=False) -> ForwardResult:
        x = np.asarray(features, dtype=float).reshape((-1,) + self.image_shape)
        return self.cnn.forward(x, keep=keep).head

    def predict(self, features, batch_size=1000) -> np.ndarray:
        """Predicted class of each sample."""
        x = np.asarray(features, dtype=float)
        out = [np.argmax(self.forward(x[i:i + batch_size]).scores, axis=1) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=int)

    def accuracy(self, features, labels, batch_size=1000) -> float:
        """Fraction of samples whose largest score is their label."""
        return float(np.mean(self.predict(features, batch_size) == np.asarray(labels)))
