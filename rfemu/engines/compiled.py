"""The compiled engine: a network graph as per-layer arrays, run on batches of samples.

Static (steady-state) forward pass, layer by layer::

    tone powers P (B, T) --chain matrix W (C, T)--> chain voltages V = P W^T        (B, C)
    hidden layer: I = (V + V_bias) g_m --oscillator--> output power P_out(I), frequency f(I)
                  -> the next line's tones
    last layer:   class scores = V + V_bias (volts)

The engine holds no device or medium formula: a line's response (``W``, its gradient and the
tone sums ``V = P W^T``, with the medium's loss and linewidths switch) comes from
:class:`rfemu.medium.LineResponse` (the kernel through :class:`rfemu.devices.resonator.ChainSet`),
the neuron's transfer from :class:`rfemu.devices.oscillator.OutputTransfer` and its tone from
:func:`rfemu.devices.oscillator.emitted_tone`; the event engine takes them from the same places. ``W`` depends only on the resonance frequencies
and the tones, so it is cached and recomputed only when a layer's tuning state (or, for neurons
emitting at f(I), the sample) changes. No (chains x tones x junctions) tensor is ever built.

Examples
--------
>>> import numpy as np
>>> from rfemu.network import build_graph, spin_mlp
>>> engine = CompiledEngine(build_graph(spin_mlp((8, 4, 3)), seed=0))
>>> engine.forward(np.random.default_rng(0).random((5, 8))).scores.shape
(5, 3)
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from rfemu.devices import oscillator as osc
from rfemu.medium import LineResponse
from rfemu.network import schema as S
from rfemu.network.compile import CompiledNetwork, compile_graph


_BLAS_CONTROLLER = None
_BLAS_LIMIT = None            # the limit set by the innermost active blas_threads context


def blas_threads(n):
    """A context limiting the BLAS libraries (numpy's and the kernel's) to ``n`` threads; ``None``
    leaves them alone, and so does a context nested in one with the same limit. The engine's
    products are small: on a loaded machine, one BLAS thread is tens of times faster than several
    competing for the cores with the kernel's threads."""
    global _BLAS_CONTROLLER
    if n is None or n == _BLAS_LIMIT:
        return contextlib.nullcontext()
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController
        from rfemu import _core
        _core._bind_blas()     # load the kernel's BLAS (scipy's) first, so that it is limited too
        _BLAS_CONTROLLER = ThreadpoolController()
    return _blas_limited(int(n))


@contextlib.contextmanager
def _blas_limited(n):
    global _BLAS_LIMIT
    previous = _BLAS_LIMIT
    with _BLAS_CONTROLLER.limit(limits=n, user_api="blas"):
        _BLAS_LIMIT = n
        try:
            yield
        finally:
            _BLAS_LIMIT = previous


def default_threads() -> int:
    """Threads for the kernel: ``RFEMU_THREADS`` if set, else every core."""
    env = os.environ.get("RFEMU_THREADS")
    if env:
        return max(1, int(env))
    return max(1, os.cpu_count() or 1)


@dataclass
class LayerState:
    """What one layer computed for a batch (B samples).

    tone_power (B, T) W, tone_frequency (T,) or (B, T) Hz, tone_linewidth likewise,
    chain_voltage (B, C) V (the signed sum of the junctions, before the bias),
    current (B, C) A (hidden layers: (V + V_bias) g_m; None for the last layer),
    output_power (B, C) W (hidden layers), output_frequency and output_linewidth (B, C) Hz
    (hidden layers emitting at f(I); None for fixed channels),
    d_output_power (B, C) W/A (hidden layers, ``keep=True``): dP_out/dI at ``current``,
    chain_matrix (C, T) or (B, C, T) V/W: the W used,
    resonance_frequency (C, J) Hz: the junctions' resonances used.
    """

    tone_power: np.ndarray
    tone_frequency: np.ndarray
    tone_linewidth: np.ndarray
    chain_matrix: np.ndarray
    chain_voltage: np.ndarray
    current: np.ndarray | None = None
    output_power: np.ndarray | None = None
    output_frequency: np.ndarray | None = None
    output_linewidth: np.ndarray | None = None
    d_output_power: np.ndarray | None = None
    resonance_frequency: np.ndarray | None = None


@dataclass
class ForwardResult:
    """Output of :meth:`CompiledEngine.forward`: ``scores`` (B, K) in volts (the output chains'
    voltages with their bias), and, when ``keep=True``, every layer's :class:`LayerState`."""

    scores: np.ndarray
    layers: list = field(default_factory=list)


class CompiledEngine:
    """Run a network (graph or compiled arrays) on batches of samples in its static limit.

    Parameters
    ----------
    network : networkx.DiGraph or CompiledNetwork
        The graph (compiled here) or an already compiled network. A CompiledNetwork is used as it
        is (not copied): training code updates its ``tuning`` and ``bias_voltage`` arrays in
        place and the engine sees the change.
    n_threads : int, optional
        Threads of the rectification kernel (default: :func:`default_threads`).
    backend : {"kernel", "numpy"}
        The compiled kernel or the numpy reference of the chain matrix (same equations).
    blas_threads : int or None
        Threads of numpy's BLAS during a forward pass (default 1; None: leave it as it is).
    """

    def __init__(self, network, n_threads=None, backend="kernel", blas_threads=1):
        if isinstance(network, nx.DiGraph):
            network = compile_graph(network)
        if not isinstance(network, CompiledNetwork):
            raise TypeError(f"network must be a networkx.DiGraph or a CompiledNetwork, not {type(network).__name__}")
        if backend not in ("kernel", "numpy"):
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        self.network = network
        self.n_threads = default_threads() if n_threads is None else int(n_threads)
        self.backend = backend
        self.blas_threads = blas_threads
        self._cache = {}
        self._chain_sets = {}         # layer -> medium.LineResponse (the kernel's per-junction arrays)
        self._tones = {}              # layer -> resonator.Tones (its fixed tones, checked once)
        self._transfers = {}          # layer -> osc.OutputTransfer (its neurons, prepared once)
        self._seconds = [0.0, 0.0]    # kernel seconds (Lorentzians, the rest) of forgotten chain sets

    @property
    def lorentzian_seconds(self) -> float:
        """Wall seconds inside the kernel's line-shape (Lorentzian) evaluations: chain matrices and
        their gradients."""
        return self._seconds[0] + sum(c.lorentzian_seconds for c in self._chain_sets.values())

    @property
    def kernel_seconds(self) -> float:
        """Wall seconds inside the kernel's device physics: the rectification (the Lorentzian
        evaluations and the tone sums ``V = P W^T`` and their gradient products) and the neurons'
        transfer (:class:`rfemu.devices.oscillator.OutputTransfer`)."""
        return self.lorentzian_seconds + self._seconds[1] + sum(
            c.tone_sum_seconds for c in self._chain_sets.values()) + sum(
            t.seconds for t in self._transfers.values())

    # -- inputs -----------------------------------------------------------------------------
    def input_power(self, features) -> np.ndarray:
        """Tone powers (W) of features in [0, 1]: feature i times the max power of source i."""
        x = np.asarray(features, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.network.n_inputs:
            raise ValueError(f"features must have shape (samples, {self.network.n_inputs}), got {np.shape(features)}")
        return x * self.network.source_max_power[None, :]

    # -- chain matrices ---------------------------------------------------------------------
    #: Lorentzian evaluations per extra kernel thread: smaller calls run on one thread (on a
    #: loaded machine, waking a second thread for a tiny call costs more than the call)
    WORK_PER_THREAD = 250_000

    def _threads(self, n_sets, layer):
        work = n_sets * layer.n_chains * layer.n_tones * layer.n_junctions
        return max(1, min(self.n_threads, work // self.WORK_PER_THREAD))

    def _transfer_threads(self, n_neurons):
        # neurons x samples per extra thread of the neurons' transfer (a few ns each)
        return max(1, min(self.n_threads, n_neurons // self.WORK_PER_THREAD))

    def _chains(self, layer_index: int) -> LineResponse:
        """The response of the layer's line, its junctions prepared for the kernel (built once;
        see :meth:`invalidate`)."""
        chains = self._chain_sets.get(layer_index)
        if chains is None:
            chains = LineResponse.of_layer(self.network.layers[layer_index])
            self._chain_sets[layer_index] = chains
        return chains

    def _layer_tones(self, layer_index: int):
        """The layer's fixed tones, checked once (pure tones when its linewidths are off)."""
        t = self._tones.get(layer_index)
        if t is None:
            layer = self.network.layers[layer_index]
            t = self._chains(layer_index).tones(layer.tone_frequency, layer.tone_linewidth)
            self._tones[layer_index] = t
        return t

    def _transfer(self, layer_index: int) -> osc.OutputTransfer:
        """The layer's neurons' output model, prepared once."""
        t = self._transfers.get(layer_index)
        if t is None:
            layer = self.network.layers[layer_index]
            t = osc.OutputTransfer(layer.oscillator, layer.n_chains)
            self._transfers[layer_index] = t
        return t

    def chain_matrix(self, layer_index: int, tone_frequency=None, tone_linewidth=None) -> np.ndarray:
        """W (C, T) of a layer for its fixed tones (cached until its tuning changes), or
        (S, C, T) for S given sets of tones (not cached). With the network's linewidths off
        (``layer.linewidths`` False) every tone is taken as a pure tone
        (:meth:`rfemu.medium.LineResponse.seen_linewidth`)."""
        layer = self.network.layers[layer_index]
        if tone_frequency is None:
            key = self._cache.get(layer_index)
            if key is not None and np.array_equal(key[0], layer.tuning):
                return key[1]
            t0 = time.perf_counter()
            w = self._chains(layer_index).matrix(
                layer.tone_frequency, layer.tone_linewidth, layer.resonance_frequency,
                n_threads=self._threads(1, layer), backend=self.backend)
            self._seconds[0] += time.perf_counter() - t0
            self._cache[layer_index] = (layer.tuning.copy(), w)
            return w
        t0 = time.perf_counter()
        w = self._chains(layer_index).matrix(
            tone_frequency, tone_linewidth, layer.resonance_frequency,
            n_threads=self._threads(np.shape(tone_frequency)[0], layer), backend=self.backend)
        self._seconds[0] += time.perf_counter() - t0
        return w

    def _cached_matrix(self, layer_index: int):
        """The layer's cached W if its tuning has not changed since, else None."""
        key = self._cache.get(layer_index)
        if key is not None and np.array_equal(key[0], self.network.layers[layer_index].tuning):
            return key[1]
        return None

    def rectify(self, layer_index: int, tone_power, matrix=None):
        """Chain voltages (B, C) of a layer's fixed tones at powers (B, T), with W (C, T) (from the
        cache, ``matrix`` if given, or computed and cached) and the resonances used (or None when W
        was not computed)."""
        layer = self.network.layers[layer_index]
        fr = None
        w = self._cached_matrix(layer_index) if matrix is None else matrix
        if w is None:
            fr = layer.resonance_frequency
        v, w_new = self._chains(layer_index).rectify(
            tone_power, self._layer_tones(layer_index), fr, matrix=w, n_threads=self._threads(1, layer),
            backend=self.backend)
        if w is None:
            self._cache[layer_index] = (layer.tuning.copy(), w_new)
        return v, w_new, fr

    def rectify_grad(self, layer_index: int, grad_voltage, state, tone_power_grad=False):
        """Back-propagate dL/dV (B, C) of a fixed-tone layer through the rectification of its
        kept :class:`LayerState`: a :class:`rfemu.devices.resonator.RectifyGradient`."""
        layer = self.network.layers[layer_index]
        fr = state.resonance_frequency if state.resonance_frequency is not None else layer.resonance_frequency
        return self._chains(layer_index).rectify_grad(
            grad_voltage, state.tone_power, self._layer_tones(layer_index), fr, state.chain_matrix,
            tone_power_grad=tone_power_grad, n_threads=self._threads(1, layer), backend=self.backend)

    def chain_matrix_grad(self, layer_index: int, grad_w, tone_frequency=None, tone_linewidth=None,
                          tones=False):
        """Back-propagate dL/dW of a layer (see :func:`rfemu.devices.resonator.chain_matrix_grad`).

        With the network's linewidths off the tones are pure whatever ``tone_linewidth`` says, so
        W does not depend on it: the returned ``tone_linewidth`` gradient is zero.
        """
        layer = self.network.layers[layer_index]
        if tone_frequency is None:
            tone_frequency, tone_linewidth = layer.tone_frequency, layer.tone_linewidth
        t0 = time.perf_counter()
        n_sets = np.shape(tone_frequency)[0] if np.ndim(tone_frequency) == 2 else 1
        g = self._chains(layer_index).grad(
            grad_w, tone_frequency, tone_linewidth, layer.resonance_frequency, tones=tones,
            n_threads=self._threads(n_sets, layer), backend=self.backend)
        self._seconds[0] += time.perf_counter() - t0
        return g

    def invalidate(self) -> None:
        """Forget the cached chain matrices (they are also refreshed when a tuning changes; call
        this after changing anything else in the compiled arrays)."""
        lorentzian, total = self.lorentzian_seconds, self.kernel_seconds
        self._seconds[:] = [lorentzian, total - lorentzian]
        self._cache.clear()
        self._chain_sets.clear()
        self._tones.clear()
        self._transfers.clear()

    # -- forward ----------------------------------------------------------------------------
    def forward(self, features=None, *, power=None, keep=False) -> ForwardResult:
        """Class scores (V) of a batch.

        Parameters
        ----------
        features : array (B, T0), optional
            Features in [0, 1] (encoded as tone powers with the sources' max power).
        power : array (B, T0), optional
            Input tone powers (W) directly, instead of ``features``.
        keep : bool
            Keep every layer's intermediate values (for training and inspection).
        """
        if (features is None) == (power is None):
            raise ValueError("give exactly one of features or power")
        with blas_threads(self.blas_threads):
            return self._forward(features, power, keep)

    def _feature_matrix(self):
        """W of layer 0 with each column times its source's max power (V per unit feature), cached."""
        w = self.chain_matrix(0)
        cached = self._cache.get("features")
        if cached is None or cached[0] is not w:
            cached = (w, w * self.network.source_max_power[None, :])
            self._cache["features"] = cached
        return cached[1]

    def _forward(self, features, power, keep):
        net = self.network
        direct = power is None and not keep
        if direct:
            # inference: features straight through W scaled by the max powers (no power array)
            p = np.asarray(features, dtype=float)
            if p.ndim == 1:
                p = p[None, :]
            if p.ndim != 2 or p.shape[1] != net.n_inputs:
                raise ValueError(f"features must have shape (samples, {net.n_inputs}), got {np.shape(features)}")
        else:
            p = self.input_power(features) if power is None else np.atleast_2d(np.asarray(power, dtype=float))
            if p.shape[1] != net.n_inputs:
                raise ValueError(f"power must have shape (samples, {net.n_inputs}), got {p.shape}")
        states = []
        tone_f, tone_g = None, None       # None: the layer's fixed tones
        for l, layer in enumerate(net.layers):
            fr = None
            if l == 0 and direct:
                v, w, _ = self.rectify(0, p, matrix=self._feature_matrix())
                state_f, state_g = layer.tone_frequency, layer.tone_linewidth
            elif tone_f is None:
                v, w, fr = self.rectify(l, p)
                state_f, state_g = layer.tone_frequency, layer.tone_linewidth
            else:
                w = self.chain_matrix(l, tone_f, tone_g)
                v = LineResponse.tone_sum(w, p)
                state_f, state_g = tone_f, tone_g
            state = None
            if keep:
                state = LayerState(tone_power=p, tone_frequency=state_f, tone_linewidth=state_g,
                                   chain_matrix=w, chain_voltage=v, resonance_frequency=fr)
                states.append(state)
            if layer.is_hidden:
                current = v + layer.bias_voltage
                current *= layer.transconductance
                p_next, dp = self._transfer(l)(current, derivative=keep, backend=self.backend,
                                               n_threads=self._transfer_threads(current.size))
                if keep:
                    state.current, state.output_power, state.d_output_power = current, p_next, dp
                if layer.emission == S.EMISSION_CURRENT:
                    tone_f, tone_g = osc.emitted_tone(current, layer.oscillator,
                                                      linewidths=layer.linewidths)
                    tone_f, tone_g = np.ascontiguousarray(tone_f), np.ascontiguousarray(tone_g)
                    if keep:
                        state.output_frequency, state.output_linewidth = tone_f, tone_g
                else:
                    tone_f, tone_g = None, None
                p = p_next
            else:
                scores = v + layer.bias_voltage
        return ForwardResult(scores=scores, layers=states)

    def predict(self, features, batch_size=4096) -> np.ndarray:
        """Predicted class (index of the largest score) of each sample."""
        x = np.asarray(features, dtype=float)
        out = [np.argmax(self.forward(x[i:i + batch_size]).scores, axis=1) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=int)

    def accuracy(self, features, labels, batch_size=4096) -> float:
        """Fraction of samples whose largest score is their label."""
        return float(np.mean(self.predict(features, batch_size) == np.asarray(labels)))
