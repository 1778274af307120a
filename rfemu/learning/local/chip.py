"""The learning chip's physics, batched per line: what the junctions sense while it runs.

Two measurements feed the local rules (``docs/physics.md#what-a-junction-senses``; the rules in
:mod:`rfemu.learning.local.rules`):

- :meth:`LearningChip.scores` runs K copies of the chip at once, each with its own resonance
  frequencies (the K time steps of a dither: each junction's frequency offset by its own code).
  The copies are stacked as K x C chains of one :class:`rfemu.devices.resonator.ChainSet` per
  line, so the line shapes of every copy are one kernel call; the tone sums are one matrix
  product. With K = 1 and no dither it is the compiled engine's forward pass (tested).
- :meth:`LearningChip.junction_response` gives what each junction measures at its own terminals
  for each sample: its rectified voltage ``V_j = sum_t P_t W(f_t - f_j)`` (every tone through its
  own resonance, tails included) and the slope of that voltage with its own resonance
  ``dV_j/df_j`` (what a small volatile dither of its own frequency measures). The series sign
  (how the junction is wired into its chain) is kept apart: ``V_chain = sum_j sign_j V_j``.

With ``thermal_noise`` on, :meth:`LearningChip.scores` is the chip as the noisy event engine runs
it, averaged over the readout: a neuron's power fluctuates thermally and its frequency follows
(``P u`` at ``f_nat + (f - f_nat) u``, u = p / p0), so a junction of the next line reads the mean
of ``P u W(f(u))`` over the stationary distribution of u
(:func:`rfemu.devices.oscillator.stationary_power_moments`, the density of the Stratonovich
equation the event engine integrates), by three-point Gauss-Hermite quadrature; the tone keeps
only its phase linewidth (:func:`rfemu.devices.oscillator.phase_linewidth`), as the event engine's
does. The static model's tone ``P W(f)`` with the full (1 + nu^2) linewidth misses the
correlation of P and f: its class scores are off by up to a few tenths of a mV on the Ross chip,
more than the margins the learning builds (``docs/physics.md#noise-floor``).
"""
from __future__ import annotations

import math

import numpy as np

from rfemu.devices import oscillator as osc
from rfemu.devices import resonator as res
from rfemu.engines.compiled import CompiledEngine
from rfemu.network import schema as S
from rfemu.network.compile import CompiledNetwork

__all__ = ["LearningChip", "cross_entropy_per_copy"]


def _sum_leading(a):
    """Sum over the leading axis in numpy's pairwise order (the order of ``sum`` over a
    contiguous axis of that length): one after the other below 8 terms, 8 partial sums up to
    128, halves beyond. Over a leading axis the sums are whole-array additions (fast)."""
    n = a.shape[0]
    if n < 8:
        out = a[0].copy()
        for i in range(1, n):
            out += a[i]
        return out
    if n <= 128:
        r = a[:8].copy()
        m = n - n % 8
        for i in range(8, m, 8):
            r += a[i:i + 8]
        out = (r[0] + r[1]) + (r[2] + r[3])
        out += (r[4] + r[5]) + (r[6] + r[7])
        for i in range(m, n):
            out += a[i]
        return out
    half = n // 2
    half -= half % 8
    return _sum_leading(a[:half]) + _sum_leading(a[half:])


def cross_entropy_per_copy(scores, labels, score_scale):
    """Mean softmax cross-entropy of ``score_scale * scores`` over the samples of each copy.

    Parameters
    ----------
    scores : array (K, B, classes)
        V, the output chains' voltages with their bias.
    labels : array (B,) of int
    score_scale : float
        1/V.

    Returns
    -------
    array (K,)

    Notes
    -----
    Computed classes-first (the reductions over a few classes are then whole-array operations),
    in the same order of operations as numpy's reductions of ``scores`` as laid out: the same
    bits as ``(log(sum(exp(z - max z))) - z[label]).mean()`` over the last axis and the samples.
    """
    s = np.asarray(scores, dtype=float)
    k, b, c = s.shape
    z = np.empty((c, k, b))
    np.multiply(s.transpose(2, 0, 1), score_scale, out=z)
    z -= np.maximum.reduce(z, axis=0)
    picked = z[np.asarray(labels), :, np.arange(b)]                     # (B, K)
    np.exp(z, out=z)
    # (K, B) laid out as numpy lays out reductions of ``scores``, so that its mean over the
    # samples adds them in the same order
    total = np.empty((k, b), order="C" if abs(s.strides[0]) >= abs(s.strides[1]) else "F")
    total[...] = _sum_leading(z)
    np.log(total, out=total)
    total -= picked.T
    return total.mean(axis=1)


class LearningChip:
    """A compiled network run as K simultaneous copies (dither steps), and its junctions' senses.

    Parameters
    ----------
    network : CompiledNetwork
        Read, not copied: the present tuning states and biases are used at every call.
    n_threads : int
        Kernel threads (results do not depend on it).
    """

    def __init__(self, network: CompiledNetwork, n_threads: int = 1):
        self.network = network
        self.n_threads = int(n_threads)
        self.engine = CompiledEngine(network, n_threads=n_threads)
        self._stacked = {}
        self._transfers = {}
        self._tones = {}
        #: V rms of the noise on every reading of a chain voltage (the learning circuit's readout:
        #: Johnson noise over the readout bandwidth, amplifier), and its random stream
        self.readout_noise = 0.0
        self.noise_rng = None
        #: the neurons' thermal power fluctuations (frequency following) in the scores (module doc)
        self.thermal_noise = False

    def read(self, scores):
        """Class scores as the learning circuit reads them: plus ``readout_noise`` (V rms), drawn
        independently for every reading."""
        if self.readout_noise <= 0:
            return scores
        return scores + self.noise_rng.normal(0.0, self.readout_noise, np.shape(scores))

    # -- K copies ---------------------------------------------------------------------------
    def _chains(self, l: int, copies: int) -> res.ChainSet:
        key = (l, copies)
        chains = self._stacked.get(key)
        if chains is None:
            layer = self.network.layers[l]

            def tile(a):
                return np.tile(a, (copies, 1))

            chains = res.ChainSet((copies * layer.n_chains, layer.n_junctions), sign=tile(layer.sign),
                                  sensitivity=tile(layer.sensitivity * layer.power_gain),
                                  antisymmetric=tile(layer.antisymmetric), symmetric=tile(layer.symmetric),
                                  damping=tile(layer.damping))
            self._stacked[key] = chains
        return chains

    def _transfer(self, l: int) -> osc.OutputTransfer:
        t = self._transfers.get(l)
        if t is None:
            layer = self.network.layers[l]
            t = self._transfers[l] = osc.OutputTransfer(layer.oscillator, layer.n_chains)
        return t

    def _fixed_tones(self, l: int) -> res.Tones:
        t = self._tones.get(l)
        if t is None:
            layer = self.network.layers[l]
            width = layer.tone_linewidth if layer.linewidths else np.zeros(layer.n_tones)
            t = self._tones[l] = res.tones(layer.tone_frequency, width)
        return t

    def resonances(self, dither=None):
        """Per layer (K, C, J) resonance frequencies: the present ones plus ``dither`` (K, N) Hz
        (volatile offsets, global junction order; None: one copy, no dither)."""
        out, start = [], 0
        for layer in self.network.layers:
            fr = layer.resonance_frequency
            n = fr.size
            if dither is None:
                out.append(fr[None])
            else:
                k = dither.shape[0]
                out.append(fr[None] + dither[:, start:start + n].reshape(k, *fr.shape))
            start += n
        return out

    def dithered_resonances(self, codes, amplitude):
        """Per layer (K + 1, C, J) resonance frequencies: copy 0 the present ones, copy k the
        present ones plus ``codes[k - 1] * amplitude`` (codes (K, N), amplitude (N,) Hz, global
        junction order): :meth:`resonances` of the dither with a row of zeros on top, built in
        place."""
        k = codes.shape[0]
        out, start = [], 0
        for layer in self.network.layers:
            fr = layer.resonance_frequency
            n = fr.size
            r = np.empty((k + 1,) + fr.shape)
            r[0] = fr
            dithered = r[1:].reshape(k, n)
            np.multiply(codes[:, start:start + n], amplitude[start:start + n], out=dithered)
            dithered += fr.reshape(n)
            out.append(r)
            start += n
        return out

    def scores(self, power, resonances, bias_offset=None):
        """Class scores (K, B, classes), V, of input tone powers ``power`` (B, T0) W through K
        copies of the chip with resonances ``resonances`` (per layer (K, C, J), Hz) and, if
        given, the chains' bias voltages offset by ``bias_offset`` (per layer (K, C), V)."""
        net = self.network
        p = np.asarray(power, dtype=float)
        k = resonances[0].shape[0]
        b = p.shape[0]
        tone_f = tone_g = None
        p_copies = None                     # (K, B, T) once the copies differ
        for l, layer in enumerate(net.layers):
            C, T = layer.n_chains, layer.n_tones
            fr = resonances[l]
            if tone_f is None:
                t = self._fixed_tones(l)
                w = self._chains(l, k).matrix(t.frequency[0], t.linewidth[0], fr.reshape(k * C, -1),
                                              n_threads=self.n_threads).reshape(k, C, T)
                if p_copies is None:
                    v = (p @ w.reshape(k * C, T).T).reshape(b, k, C).transpose(1, 0, 2)
                else:
                    v = np.matmul(p_copies, w.transpose(0, 2, 1))
            else:
                single = self._chains(l, 1)
                v = np.empty((k, b, C))
                for i in range(k):
                    w = single.matrix(tone_f[i], tone_g[i], fr[i], n_threads=self.n_threads)
                    v[i] = np.einsum("bct,bt->bc", w, p_copies[i])
            bias = layer.bias_voltage if bias_offset is None else layer.bias_voltage + bias_offset[l][:, None, :]
            if not layer.is_hidden:
                return v + bias
            current = (v + bias) * layer.transconductance
            p_next, _ = self._transfer(l)(current.reshape(k * b, C), n_threads=self.n_threads)
            p_copies = p_next.reshape(k, b, C)
            if layer.emission == S.EMISSION_CURRENT:
                device_current = osc.clamp_current(current, layer.oscillator)
                tone_f = np.ascontiguousarray(osc.frequency(device_current, layer.oscillator))
                width = osc.phase_linewidth if self.thermal_noise else osc.linewidth
                tone_g = (np.ascontiguousarray(width(device_current, layer.oscillator))
                          if layer.linewidths else np.zeros_like(tone_f))
                if self.thermal_noise:
                    tone_f, tone_g, p_copies = self._fluctuating(layer, device_current, tone_f, tone_g, p_copies)
            else:
                tone_f = tone_g = None
        raise AssertionError("unreachable: the last layer is a readout")

    #: three-point Gauss-Hermite quadrature of a unit normal: nodes and weights
    _NODES = np.array([-math.sqrt(3.0), 0.0, math.sqrt(3.0)])
    _WEIGHTS = np.array([1.0, 4.0, 1.0]) / 6.0

    def _fluctuating(self, layer, device_current, tone_f, tone_g, power):
        """Each neuron's tone (K, B, C) as three weighted sub-tones (K, B, 3 C) at the quadrature
        nodes of its fluctuating power u = p / p0: power ``w P u``, frequency
        ``f_nat + (f - f_nat) u``, the same phase linewidth."""
        mean, var = osc.stationary_power_moments(device_current, layer.oscillator)
        u = np.maximum(mean[..., None] + np.sqrt(var)[..., None] * self._NODES, 0.0)   # (K, B, C, 3)
        natural = np.asarray(layer.oscillator.angular_frequency, dtype=float) / (2.0 * math.pi)
        natural = np.broadcast_to(natural, tone_f.shape)[..., None]
        k, b, c = tone_f.shape
        f = natural + (tone_f[..., None] - natural) * u
        g = np.broadcast_to(tone_g[..., None], u.shape)
        p = power[..., None] * u * self._WEIGHTS
        return (np.ascontiguousarray(f.reshape(k, b, 3 * c)), np.ascontiguousarray(g.reshape(k, b, 3 * c)),
                p.reshape(k, b, 3 * c))

    def accuracy(self, features, labels, batch_size=1024) -> float:
        """Fraction of samples classified right by the chip as it senses (with ``thermal_noise``
        its noise-averaged scores, else the compiled engine's)."""
        if not self.thermal_noise:
            return self.engine.accuracy(features, labels)
        x, y = np.asarray(features, dtype=float), np.asarray(labels)
        right = 0
        for s in range(0, len(y), batch_size):
            power = self.engine.input_power(x[s:s + batch_size])
            right += int(np.sum(self.scores(power, self.resonances())[0].argmax(axis=1) == y[s:s + batch_size]))
        return right / max(len(y), 1)

    # -- what a junction senses -------------------------------------------------------------
    def junction_response(self, l: int, state):
        """Own rectified voltage and its slope with the own resonance, per sample.

        Parameters
        ----------
        l : int
            Layer.
        state : rfemu.engines.compiled.LayerState
            The layer's kept forward state (tone powers and frequencies, resonances).

        Returns
        -------
        (voltage (B, C, J) V, slope (B, C, J) V/Hz), without the series sign.
        """
        layer = self.network.layers[l]
        fr = layer.resonance_frequency if state.resonance_frequency is None else state.resonance_frequency
        tf = np.asarray(state.tone_frequency, dtype=float)
        tg = np.asarray(state.tone_linewidth, dtype=float) if layer.linewidths else np.zeros(tf.shape)
        if tf.ndim == 1:
            tf, tg = tf[None], tg[None]
        p = np.asarray(state.tone_power, dtype=float)
        C, J = fr.shape
        voltage, slope = np.empty((p.shape[0], C, J)), np.empty((p.shape[0], C, J))
        # chains in blocks: at most ~4 M line-shape values (per tone set) at a time
        block = max(1, self.RESPONSE_BLOCK // max(1, J * tf.shape[1] * tf.shape[0]))
        for c0 in range(0, C, block):
            cs = slice(c0, min(C, c0 + block))
            v, s = self._response_block(layer, fr[cs], cs, tf, tg, p)
            voltage[:, cs], slope[:, cs] = v, s
        return voltage, slope

    #: line-shape values computed at once by :meth:`junction_response`
    RESPONSE_BLOCK = 4_000_000

    @staticmethod
    def _response_block(layer, fr, cs, tf, tg, p):
        """Own voltage and slope (B, c, J) of the chains ``cs`` (resonances ``fr`` (c, J))."""
        def per(a):
            return a[cs][None, :, :, None]

        args = dict(tone_frequency=tf[:, None, None, :], tone_power=1.0, resonance_frequency=fr[None, :, :, None],
                    half_width=(layer.damping[cs] * fr)[None, :, :, None],
                    sensitivity=per(layer.sensitivity * layer.power_gain), antisymmetric=per(layer.antisymmetric),
                    symmetric=per(layer.symmetric), tone_linewidth=tg[:, None, None, :])
        unit_v = res.rectified_voltage(**args)                 # (B|1, c, J, T)
        unit_slope = res.d_rectified_voltage_d_resonance(**args, half_width_slope=per(layer.damping))
        if unit_v.shape[0] == 1:                                # fixed tones: one matrix product
            n = unit_v.shape[1] * unit_v.shape[2]
            T = unit_v.shape[3]
            return ((p @ unit_v.reshape(n, T).T).reshape(p.shape[0], *fr.shape),
                    (p @ unit_slope.reshape(n, T).T).reshape(p.shape[0], *fr.shape))
        q = p[:, None, None, :]
        return (unit_v * q).sum(axis=3), (unit_slope * q).sum(axis=3)
