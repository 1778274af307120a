"""The RF line as a shared medium: tones, crosstalk through the junctions, loss, noise, locking.

Every tone on a line (an input source or an oscillator: frequency, power, Lorentzian half width)
reaches every junction tapped on the line; each junction answers every tone with its full
Lorentzian (tails included, widened by the tone's own linewidth) through
:func:`rfemu.devices.resonator.chain_matrix`, so crosstalk is physics and not an afterthought.
A :class:`Line` keeps the chain matrix ``W[C, T]`` of its chains and tones and refreshes only the
columns of tones whose frequency or linewidth changed (one kernel call over all junctions), and
the rows of chains whose junctions were rewritten; a power change costs one ``W @ P``.

The medium also models

- loss: a tone reaches tap ``n`` at position ``x`` attenuated by ``n * loss_per_tap + x *
  loss_per_length`` (dB), :func:`tap_power_gain`;
- the thermal noise floor of the rectified voltages: the Johnson noise ``sqrt(4 k_B T R B)`` of each
  junction (:func:`rfemu.devices.resonator.johnson_noise_voltage`) over the readout bandwidth
  ``B``; the junctions of a chain are in series, so their noise powers add,
  :func:`chain_noise_voltage`;
- frequency pulling and injection locking between the tones of one line (Adler), with a coupling
  cost linear in the number of tones close enough to matter, :class:`PhaseLocking`.

A line's response to its tones (the chain matrix, its gradient, the tone sums) is
:class:`LineResponse`, which both engines call: the compiled engine per layer, the event engine
through :class:`Line`. A new medium effect on the response is written there once and both
engines see it (docs/architecture.md#a-new-medium-effect).

All quantities are SI (Hz, W, V, Ohm, K, s, m); loss figures are in dB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rfemu.devices.resonator import ChainSet, johnson_noise_voltage, tones as fixed_tones
from rfemu.rng import as_generator

__all__ = [
    "Tone",
    "db_to_power_ratio",
    "tap_power_gain",
    "chain_noise_voltage",
    "LineResponse",
    "Line",
    "PhaseLocking",
    "adler_locking_range",
]

def _fail(name, value, expected):
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def _nonneg(name, value):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        _fail(name, value, "finite and >= 0")
    return arr


@dataclass(frozen=True)
class Tone:
    """One tone on a line: carrier frequency (Hz), power (W), Lorentzian half width (Hz), emitter id."""

    frequency: float
    power: float
    linewidth: float = 0.0
    source: object = None


# --------------------------------------------------------------------------------------------
# loss and noise
# --------------------------------------------------------------------------------------------

def db_to_power_ratio(loss_db):
    """Linear power factor of a loss in dB: ``10 ** (-loss_db / 10)``.

    Examples
    --------
    >>> round(float(db_to_power_ratio(3.0103)), 4)
    0.5
    """
    return 10.0 ** (-np.asarray(loss_db, dtype=float) / 10.0)


def tap_power_gain(tap_index, position=0.0, loss_per_tap_db=0.0, loss_per_length_db=0.0):
    """Power factor of a tone at a junction: ``n`` taps and ``x`` metres down the line.

    Parameters
    ----------
    tap_index : array_like
        Number of taps the tone passed before this junction (0 for the first).
    position : array_like
        Distance along the line, m.
    loss_per_tap_db : float
        Insertion loss of each tap, dB (>= 0).
    loss_per_length_db : float
        Propagation loss, dB/m (>= 0).

    Returns
    -------
    ndarray
        ``10 ** (-(n loss_per_tap + x loss_per_length) / 10)``.
    """
    n = _nonneg("tap_index", tap_index)
    x = _nonneg("position", position)
    lt = float(_nonneg("loss_per_tap_db", loss_per_tap_db))
    ll = float(_nonneg("loss_per_length_db", loss_per_length_db))
    return db_to_power_ratio(n * lt + x * ll)


def chain_noise_voltage(resistance, temperature, bandwidth):
    """RMS thermal noise of a series chain, V: the junctions' Johnson noises are independent, so
    their powers add (``sqrt(sum_j 4 k_B T R_j B)``).

    ``resistance`` has shape (..., J) (the last axis runs over the chain's junctions); the
    junction noise itself is :func:`rfemu.devices.resonator.johnson_noise_voltage`.

    Examples
    --------
    >>> round(float(chain_noise_voltage([1e3] * 4, 300.0, 1e6)) * 1e6, 3)   # uV: 2 x one junction
    8.141
    """
    r = np.asarray(resistance, dtype=float)
    per_junction = johnson_noise_voltage(r, bandwidth, temperature)
    return np.sqrt(np.sum(per_junction ** 2, axis=-1))


# --------------------------------------------------------------------------------------------
# the line: tones x junctions
# --------------------------------------------------------------------------------------------

class LineResponse:
    """How the junctions tapped on a line answer its tones: the one place of the line's effects.

    Both engines take a line's chain matrix ``W[C, T]`` (V/W), its gradient and the tone sums
    ``V = W P`` from here; this object hands the kernel
    (:class:`rfemu.devices.resonator.ChainSet`) per-junction arrays that carry every medium
    effect on the response (docs/physics.md#tones-and-crosstalk):

    - loss: the power factor reaching each junction (``power_gain``, from :func:`tap_power_gain`:
      ``n loss_per_tap + x loss_per_length`` dB) multiplies its sensitivity, so ``W`` is in volts
      per watt of the tone at the line's input (:meth:`junction_sensitivity`);
    - the linewidths switch: with ``linewidths`` False every tone is a pure tone (its linewidth is
      seen as zero, :meth:`seen_linewidth`) and ``W`` does not depend on the tones' linewidths
      (their gradient is zero).

    Parameters
    ----------
    sign : array (C, J)
        Series sign of each junction in its chain (+1 / -1).
    sensitivity : float or array (C, J)
        Spin-diode sensitivity K of each junction, V/W.
    antisymmetric, symmetric : float or array (C, J)
        Line-shape weights of the junctions.
    damping : float or array (C, J)
        Damping alpha of each junction (half width ``damping * f_r``).
    power_gain : float or array (C, J)
        Linear power factor that reaches each junction (1: lossless).
    linewidths : bool
        False: every tone is a pure tone.

    Examples
    --------
    >>> import numpy as np
    >>> r = LineResponse(np.ones((1, 2)), 100.0, 1.0, 0.0, 0.01, power_gain=[[1.0, 0.5]])
    >>> r.junction_sensitivity().tolist()
    [[100.0, 50.0]]
    """

    def __init__(self, sign, sensitivity, antisymmetric, symmetric, damping, power_gain=1.0,
                 linewidths=True):
        self.sign = np.array(sign, dtype=float, ndmin=2)
        if self.sign.ndim != 2:
            _fail("sign", sign, "a (chains, junctions) array of +1 / -1")
        shape = self.sign.shape
        self.sensitivity = np.asarray(sensitivity, dtype=float)
        self.antisymmetric = np.asarray(antisymmetric, dtype=float)
        self.symmetric = np.asarray(symmetric, dtype=float)
        self.damping = np.asarray(damping, dtype=float)
        self.power_gain = np.broadcast_to(_nonneg("power_gain", power_gain), shape)
        if not isinstance(linewidths, (bool, np.bool_)):
            _fail("linewidths", linewidths, "a boolean")
        self.linewidths = bool(linewidths)
        self.chains = ChainSet(shape, sign=self.sign, sensitivity=self.junction_sensitivity(),
                               antisymmetric=self.antisymmetric, symmetric=self.symmetric,
                               damping=self.damping)

    @classmethod
    def of_layer(cls, layer) -> "LineResponse":
        """The response of a compiled layer's line
        (:class:`rfemu.network.compile.CompiledLayer`, or anything with its array names)."""
        return cls(layer.sign, layer.sensitivity, layer.antisymmetric, layer.symmetric,
                   layer.damping, layer.power_gain, layer.linewidths)

    @property
    def shape(self) -> tuple:
        """(chains, junctions)."""
        return self.sign.shape

    def rows(self, chain_index) -> "LineResponse":
        """The response of some chains only (rows ``chain_index`` of every array)."""
        def pick(a):
            return a[chain_index] if a.ndim == 2 else a

        return LineResponse(self.sign[chain_index], pick(self.sensitivity), pick(self.antisymmetric),
                            pick(self.symmetric), pick(self.damping), self.power_gain[chain_index],
                            self.linewidths)

    # -- the medium's effects ---------------------------------------------------------------------
    def junction_power_gain(self) -> np.ndarray:
        """Fraction of a tone's power at the line's input that reaches each junction (C, J): the
        line's loss per tap and per length (:func:`tap_power_gain`)."""
        return self.power_gain

    def junction_sensitivity(self) -> np.ndarray:
        """V/W of each junction per watt of a tone at the line's input: ``K * power_gain``."""
        return self.sensitivity * self.junction_power_gain()

    def seen_linewidth(self, tone_frequency, tone_linewidth):
        """The tones' linewidths as the junctions see them (Hz): zero with the linewidths off."""
        if self.linewidths:
            return tone_linewidth
        return np.zeros(np.shape(tone_frequency))

    # -- the response -------------------------------------------------------------------------------
    def tones(self, tone_frequency, tone_linewidth):
        """One fixed set of tones, checked once for :meth:`rectify` (:func:`rfemu.devices.resonator.tones`)."""
        return fixed_tones(tone_frequency, self.seen_linewidth(tone_frequency, tone_linewidth))

    def matrix(self, tone_frequency, tone_linewidth, resonance_frequency, *, n_threads=1,
               backend="kernel"):
        """The chain matrix ``W``: (C, T) for tones (T,), (S, C, T) for S sets of tones (S, T)."""
        return self.chains.matrix(tone_frequency, self.seen_linewidth(tone_frequency, tone_linewidth),
                                  resonance_frequency, n_threads=n_threads, backend=backend)

    def grad(self, grad_w, tone_frequency, tone_linewidth, resonance_frequency, *, tones=False,
             n_threads=1, backend="kernel"):
        """Back-propagate dL/dW (a :class:`rfemu.devices.resonator.ChainGradient`); with the
        linewidths off the tones' linewidth gradient is zero (W does not depend on them)."""
        g = self.chains.grad(grad_w, tone_frequency, self.seen_linewidth(tone_frequency, tone_linewidth),
                             resonance_frequency, tones=tones, n_threads=n_threads, backend=backend)
        if not self.linewidths and g.tone_linewidth is not None:
            g = g._replace(tone_linewidth=np.zeros_like(g.tone_linewidth))
        return g

    def rectify(self, tone_power, tones, resonance_frequency, *, matrix=None, n_threads=1,
                backend="kernel"):
        """Chain voltages ``V = P W^T`` (B, C) of a batch of powers (B, T) of fixed ``tones``
        (from :meth:`tones`), and ``W`` (:meth:`rfemu.devices.resonator.ChainSet.rectify`)."""
        return self.chains.rectify(tone_power, tones, resonance_frequency, matrix=matrix,
                                   n_threads=n_threads, backend=backend)

    def rectify_grad(self, grad_voltage, tone_power, tones, resonance_frequency, matrix, *,
                     tone_power_grad=False, n_threads=1, backend="kernel"):
        """Back-propagate dL/dV through :meth:`rectify`
        (:meth:`rfemu.devices.resonator.ChainSet.rectify_grad`)."""
        return self.chains.rectify_grad(grad_voltage, tone_power, tones, resonance_frequency, matrix,
                                        tone_power_grad=tone_power_grad, n_threads=n_threads,
                                        backend=backend)

    @staticmethod
    def tone_sum(matrix, tone_power) -> np.ndarray:
        """Chain voltages of tones that move with each sample, V: ``V[b, c] = sum_t W[b, c, t]
        P[b, t]`` for W (B, C, T), or ``W @ P`` for one W (C, T)."""
        if np.ndim(matrix) == 3:
            return np.einsum("bct,bt->bc", matrix, tone_power)
        return matrix @ tone_power

    @property
    def lorentzian_seconds(self) -> float:
        """Wall seconds inside the kernel's Lorentzian evaluations of :meth:`rectify`."""
        return self.chains.lorentzian_seconds

    @property
    def tone_sum_seconds(self) -> float:
        """Wall seconds inside the kernel's tone sums of :meth:`rectify` and its gradient."""
        return self.chains.tone_sum_seconds


class Line:
    """A shared RF line: its tones, the junctions tapped on it (grouped in chains), their response.

    Parameters
    ----------
    resonance_frequency : array (C, J)
        f_r of junction j of chain c, Hz.
    damping : array (C, J)
        Damping alpha of each junction: half width ``damping * f_r`` (``resonator.half_width``).
    sign : array (C, J)
        Series sign of each junction in its chain (+1 / -1).
    sensitivity : float or array (C, J)
        Spin-diode sensitivity K, V/W.
    antisymmetric, symmetric : float or array (C, J)
        Line-shape weights of the junctions.
    power_gain : array (C, J), optional
        Linear power factor that reaches each junction (line loss, amplifiers); 1 by default.
        Use :func:`tap_power_gain` to build it from dB figures.
    resistance : array (C, J), optional
        Junction resistances, Ohm (for the thermal noise floor); 1 kOhm by default.
    temperature : float
        Noise temperature of the junctions, K (0: no noise floor).
    bandwidth : float
        Readout bandwidth of the chain voltages, Hz.
    delay : float
        Propagation delay from an emitter to the junctions, s.
    n_threads : int
        Threads of the kernel calls.
    name : object
        The line's identifier (its graph node).
    linewidths : bool
        False: every tone is a pure tone (:class:`LineResponse`).

    Notes
    -----
    Tones live in slots (``add_slot``); a stopped tone keeps its slot with zero power. The chain
    voltages are ``V = W @ P`` with ``W`` from the line's :class:`LineResponse` (:attr:`response`),
    the medium's effects (loss, the linewidths switch) included there, as in the compiled engine.
    """

    def __init__(self, resonance_frequency, damping, sign, sensitivity, antisymmetric=1.0,
                 symmetric=0.0, power_gain=None, resistance=None, temperature=0.0,
                 bandwidth=1e6, delay=0.0, n_threads=1, name="line", linewidths=True):
        fr = np.array(resonance_frequency, dtype=float, ndmin=2)
        if fr.ndim != 2 or not np.all(np.isfinite(fr)) or np.any(fr <= 0):
            _fail("resonance_frequency", resonance_frequency, "a (chains, junctions) array of positive Hz")
        shape = fr.shape
        self.name = name
        self.resonance_frequency = np.ascontiguousarray(fr)
        self.damping = np.ascontiguousarray(np.broadcast_to(np.asarray(damping, float), shape).copy())
        if np.any(self.damping <= 0) or not np.all(np.isfinite(self.damping)):
            _fail("damping", damping, "positive")
        self.sign = np.ascontiguousarray(np.broadcast_to(np.asarray(sign, float), shape).copy())
        gain = np.ones(shape) if power_gain is None else np.broadcast_to(
            _nonneg("power_gain", power_gain), shape).copy()
        self.power_gain = np.ascontiguousarray(gain)
        self.sensitivity = np.asarray(sensitivity, dtype=float)
        self.antisymmetric = np.asarray(antisymmetric, dtype=float)
        self.symmetric = np.asarray(symmetric, dtype=float)
        res = np.full(shape, 1e3) if resistance is None else np.broadcast_to(
            _nonneg("resistance", resistance), shape).copy()
        self.resistance = res
        self.temperature = float(_nonneg("temperature", temperature))
        self.bandwidth = float(_nonneg("bandwidth", bandwidth))
        self.delay = float(_nonneg("delay", delay))
        self.n_threads = int(n_threads)
        # tones
        self._slot = {}
        self.tone_source = []
        self.tone_frequency = np.zeros(0)
        self.tone_power = np.zeros(0)
        self.tone_linewidth = np.zeros(0)
        self._w = np.zeros((shape[0], 0))
        self._dirty_tones = set()
        self._dirty_chains = set()
        self.noise_voltage = chain_noise_voltage(self.resistance, self.temperature, self.bandwidth) \
            if self.temperature > 0 else np.zeros(shape[0])
        self.n_kernel_calls = 0
        #: the junctions' answer to the tones (every medium effect on it): shared with the compiled engine
        self.response = LineResponse(self.sign, self.sensitivity, self.antisymmetric, self.symmetric,
                                     self.damping, self.power_gain, linewidths)

    @classmethod
    def from_layer(cls, layer, **options) -> "Line":
        """The line of a compiled layer (:class:`rfemu.network.compile.CompiledLayer`): its
        junctions, loss and linewidths switch; ``options`` as in :class:`Line` (noise, delay...)."""
        return cls(layer.resonance_frequency, layer.damping, layer.sign, layer.sensitivity,
                   layer.antisymmetric, layer.symmetric, power_gain=layer.power_gain,
                   linewidths=layer.linewidths, **options)

    # -- shape --------------------------------------------------------------------------------
    @property
    def n_chains(self) -> int:
        return self.resonance_frequency.shape[0]

    @property
    def n_junctions(self) -> int:
        return self.resonance_frequency.size

    @property
    def n_tones(self) -> int:
        return len(self.tone_source)

    # -- tones --------------------------------------------------------------------------------
    def add_slot(self, source, frequency=1e9, linewidth=0.0) -> int:
        """Reserve a tone slot for emitter ``source`` (silent until :meth:`set_tone`); its index."""
        if source in self._slot:
            return self._slot[source]
        k = len(self.tone_source)
        self._slot[source] = k
        self.tone_source.append(source)
        self.tone_frequency = np.append(self.tone_frequency, float(frequency))
        self.tone_power = np.append(self.tone_power, 0.0)
        self.tone_linewidth = np.append(self.tone_linewidth, float(linewidth))
        self._w = np.concatenate([self._w, np.zeros((self.n_chains, 1))], axis=1)
        self._dirty_tones.add(k)
        return k

    def slot(self, source) -> int:
        """Index of the tone slot of ``source``."""
        return self._slot[source]

    def set_tone(self, source, frequency, power, linewidth=0.0) -> bool:
        """Start or change the tone of ``source``; True if its frequency or linewidth changed."""
        k = self._slot.get(source)
        if k is None:
            k = self.add_slot(source, frequency, linewidth)
        if not (frequency > 0 and math.isfinite(frequency)):
            _fail("frequency", frequency, "a positive, finite frequency in Hz")
        if not (power >= 0 and math.isfinite(power)):
            _fail("power", power, "a finite power >= 0 in W")
        if not (linewidth >= 0 and math.isfinite(linewidth)):
            _fail("linewidth", linewidth, "a finite linewidth >= 0 in Hz")
        self.tone_power[k] = power
        if self.tone_frequency[k] != frequency or self.tone_linewidth[k] != linewidth:
            self.tone_frequency[k] = frequency
            self.tone_linewidth[k] = linewidth
            self._dirty_tones.add(k)
            return True
        return False

    def update_tone(self, slot, frequency, power, linewidth):
        """Fast path of :meth:`set_tone` by slot index, for values that come from validated devices."""
        self.tone_power[slot] = power
        if self.tone_frequency[slot] != frequency or self.tone_linewidth[slot] != linewidth:
            self.tone_frequency[slot] = frequency
            self.tone_linewidth[slot] = linewidth
            self._dirty_tones.add(slot)

    def set_powers(self, slots, power):
        """Set the powers of several tone slots at once (frequencies unchanged)."""
        self.tone_power[slots] = power

    def stop_tone(self, source):
        """Stop the tone of ``source`` (its slot stays, silent)."""
        self.tone_power[self._slot[source]] = 0.0

    def tones(self):
        """The tones now on the line, as :class:`Tone` records (silent slots left out)."""
        return [Tone(float(f), float(p), float(g), s) for f, p, g, s in zip(
            self.tone_frequency, self.tone_power, self.tone_linewidth, self.tone_source) if p > 0]

    # -- junctions ----------------------------------------------------------------------------
    def set_resonance(self, chain, junction, resonance_frequency):
        """Change junctions' resonance frequencies (a write of their frequency state), Hz."""
        self.resonance_frequency[chain, junction] = resonance_frequency
        self._dirty_chains.update(np.atleast_1d(chain).tolist())

    # -- response -----------------------------------------------------------------------------
    def _kernel(self, tone_index, chain_index):
        """W of some tones (columns) or some chains (rows), None: all."""
        response = self.response if chain_index is None else self.response.rows(chain_index)
        fr = self.resonance_frequency if chain_index is None else self.resonance_frequency[chain_index]
        tf = self.tone_frequency if tone_index is None else self.tone_frequency[tone_index]
        tg = self.tone_linewidth if tone_index is None else self.tone_linewidth[tone_index]
        self.n_kernel_calls += 1
        return response.matrix(np.ascontiguousarray(tf), np.ascontiguousarray(tg), fr,
                               n_threads=self.n_threads)

    def response_matrix(self) -> np.ndarray:
        """The chain matrix ``W[C, T]`` (V/W) of the line now: ``V_chain = W @ tone_power``.

        Refreshes only what changed since the last call: the columns of retuned tones (one kernel
        call over every junction for those tones), the rows of rewritten chains.
        """
        if self._dirty_chains:
            rows = np.fromiter(sorted(self._dirty_chains), dtype=np.intp)
            if self.n_tones:
                self._w[rows] = self._kernel(None, rows)
            self._dirty_chains.clear()
        if self._dirty_tones:
            cols = np.fromiter(sorted(self._dirty_tones), dtype=np.intp)
            if len(cols) == self.n_tones:
                self._w = np.ascontiguousarray(self._kernel(None, None))
            else:
                self._w[:, cols] = self._kernel(cols, None)
            self._dirty_tones.clear()
        return self._w

    def chain_voltages(self) -> np.ndarray:
        """Noise-free DC voltage of every chain, V: ``W @ P``."""
        return self.response.tone_sum(self.response_matrix(), self.tone_power)

    def sample_noise(self, rng) -> np.ndarray:
        """One draw of the chains' thermal noise floor (Gaussian, rms :attr:`noise_voltage`), V."""
        rng = as_generator(rng)
        return rng.standard_normal(self.n_chains) * self.noise_voltage

    def absorbed_power(self) -> np.ndarray:
        """RF power reaching each chain's junctions, W per chain: ``sum_j gain_cj * sum_t P_t``.

        Every junction is driven by every tone (the whole line); the fraction it dissipates is a
        device property the caller applies.
        """
        return self.response.junction_power_gain().sum(axis=1) * float(self.tone_power.sum())


# --------------------------------------------------------------------------------------------
# frequency pulling and injection locking (Adler)
# --------------------------------------------------------------------------------------------

def adler_locking_range(coupling, injected_power, own_power):
    """Half locking range of an oscillator driven by one tone, Hz: ``coupling * sqrt(P_inj / P)``.

    Adler's equation for the phase difference ``psi`` to the injected tone,
    ``dpsi/dt = 2 pi (df - f_L sin psi)``, locks (``psi`` stops) when ``|df| < f_L``; out of range
    the beat runs at ``sqrt(df^2 - f_L^2)``.
    """
    c = _nonneg("coupling", coupling)
    pi = _nonneg("injected_power", injected_power)
    po = np.asarray(own_power, dtype=float)
    if np.any(po <= 0) or not np.all(np.isfinite(po)):
        _fail("own_power", own_power, "a positive power in W")
    return c * np.sqrt(pi / po)


class PhaseLocking:
    """Phases of the tones on one line, pulled by each other (generalised Adler / Kuramoto).

    Each tone ``i`` has a free-running frequency ``f_i``, a power ``P_i`` and a Lorentzian half
    width ``g_i`` (phase diffusion); oscillators are pulled by every other tone within the cut-off,

        dphi_i/dt = 2 pi [ f_i + sum_j c sqrt(P_j / P_i) sin(phi_j - phi_i) ] + noise,

    (``c``: coupling, Hz), while sources (``pulled`` False) keep their phase. The phase noise has
    ``var(dphi) = 2 (2 pi g_i) dt`` (a Lorentzian line of half width ``g_i``). Only pairs closer in
    frequency than ``cutoff`` times their own locking range are coupled: the tones are sorted by
    frequency and each sees its neighbours in a window, so the cost is linear in the number of
    tones close enough to matter. A pair detuned by ``df`` beyond the cut-off would only shift the
    frequency by about ``f_L^2 / (2 df)`` (< ``f_L / (2 cutoff)``).

    Parameters
    ----------
    frequency, power : array (N,)
        Free-running frequencies (Hz) and powers (W, > 0) of the tones.
    coupling : float
        c, Hz: the locking range of a tone injected at the oscillator's own power.
    linewidth : array (N,), optional
        Half widths, Hz (0: no phase noise).
    pulled : array of bool (N,), optional
        Which tones are oscillators that can be pulled (default all).
    cutoff : float
        Coupling window in units of each pair's locking range (default 20).
    seed : None, int or Generator
        Random source of the phase noise.
    """

    def __init__(self, frequency, power, coupling, linewidth=None, pulled=None, cutoff=20.0, seed=None):
        f = np.asarray(frequency, dtype=float).ravel()
        p = np.asarray(power, dtype=float).ravel()
        if f.shape != p.shape:
            _fail("power", power, f"an array of {f.size} powers (one per tone)")
        if np.any(p <= 0) or not np.all(np.isfinite(p)):
            _fail("power", power, "positive, finite powers in W")
        if not np.all(np.isfinite(f)):
            _fail("frequency", frequency, "finite frequencies in Hz")
        c = float(_nonneg("coupling", coupling))
        if not cutoff > 0:
            _fail("cutoff", cutoff, "positive")
        g = np.zeros_like(f) if linewidth is None else np.broadcast_to(_nonneg("linewidth", linewidth), f.shape)
        pulled = np.ones(f.shape, bool) if pulled is None else np.broadcast_to(np.asarray(pulled, bool), f.shape)
        self.n = f.size
        self.frequency = f
        self.power = p
        self.coupling = c
        self.cutoff = float(cutoff)
        self.rng = as_generator(seed)
        self.reference_frequency = float(np.mean(f)) if f.size else 0.0
        self._omega = 2.0 * math.pi * (f - self.reference_frequency)
        self._diffusion = np.sqrt(2.0 * 2.0 * math.pi * g)
        self.phase = np.zeros_like(f)
        self.time = 0.0
        # neighbour pairs (driven i <- driver j) within the cut-off, found on the sorted axis
        order = np.argsort(f, kind="stable")
        fs = f[order]
        sq = np.sqrt(p)
        reach = self.cutoff * c * sq.max() / sq.min() if f.size else 0.0
        lo = np.searchsorted(fs, fs - reach, side="left")
        hi = np.searchsorted(fs, fs + reach, side="right")
        counts = hi - lo
        rows = np.repeat(np.arange(f.size), counts)
        cols = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)) + np.repeat(lo, counts)
        i = order[rows]
        j = order[cols]
        strength = c * np.sqrt(p[j] / p[i])
        keep = (i != j) & pulled[i] & (np.abs(f[i] - f[j]) < self.cutoff * strength)
        self.driven = np.ascontiguousarray(i[keep])
        self.driver = np.ascontiguousarray(j[keep])
        self._k = 2.0 * math.pi * strength[keep]
        self._pulled = pulled.copy()

    @property
    def max_locking_range(self) -> float:
        """Largest locking range of a coupled pair, Hz (0 without pairs)."""
        return float(self._k.max() / (2.0 * math.pi)) if self._k.size else 0.0

    @property
    def n_pairs(self) -> int:
        """Number of coupled (driven, driver) pairs."""
        return self.driven.size

    def _rate(self, phase):
        drive = self._k * np.sin(phase[self.driver] - phase[self.driven])
        return self._omega + np.bincount(self.driven, weights=drive, minlength=self.n)

    def run(self, duration, dt, record_every=0):
        """Integrate the phases for ``duration`` s with steps ``dt`` (stochastic Heun).

        Returns the mean frequency of every tone over the run, Hz (the pulled frequencies);
        with ``record_every`` > 0 also the phases every that many steps, (n_records, N).
        """
        if not (dt > 0 and duration > 0):
            _fail("dt", dt, "positive, with a positive duration")
        n_steps = max(int(round(duration / dt)), 1)
        phi = self.phase
        start = phi.copy()
        noisy = bool(np.any(self._diffusion > 0))
        sdt = math.sqrt(dt)
        records = []
        for step in range(n_steps):
            r0 = self._rate(phi)
            if noisy:
                kick = self._diffusion * sdt * self.rng.standard_normal(self.n)
                pred = phi + r0 * dt + kick
                phi = phi + 0.5 * (r0 + self._rate(pred)) * dt + kick
            else:
                pred = phi + r0 * dt
                phi = phi + 0.5 * (r0 + self._rate(pred)) * dt
            if record_every and (step + 1) % record_every == 0:
                records.append(phi.copy())
        self.phase = phi
        elapsed = n_steps * dt
        self.time += elapsed
        mean_frequency = self.reference_frequency + (phi - start) / (2.0 * math.pi * elapsed)
        if record_every:
            return mean_frequency, np.array(records)
        return mean_frequency
