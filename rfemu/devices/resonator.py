"""Spin-diode synapse: the rectification line shape and the non-volatile frequency state.

docs/physics.md#spin-diode-resonator. A tone of frequency ``f``, power ``P`` and Lorentzian half width ``g``
through a junction resonating at ``f_r`` with half width ``D`` gives the DC voltage

    V = K P D [2 a d + s G] / (d^2 + G^2),    d = f - f_r,   G = D + g,

(``a``: antisymmetric weight, ``s``: symmetric weight, ``K``: sensitivity in V/W). With ``g = 0``
this is K P [a 2 D d / (d^2 + D^2) + s D^2 / (d^2 + D^2)]; a tone with its own line averages the
complex Lorentzian 1/(d - iD) over that line, giving 1/(d - i(D + g)) with the prefactor unchanged.

A chain of junctions in series sums their signed voltages; :func:`chain_matrix` returns the
matrix ``W`` with ``V_chain = W @ tone_power`` in one kernel call (no chains x tones x junctions
tensor), and :func:`chain_matrix_grad` its gradient with respect to the resonance frequencies
(and, on request, the tones' frequencies and linewidths), for training. :func:`rectify` is the
whole rectification of a batch of tone powers, ``V = P W^T`` (W and the tone sum in the kernel),
and :func:`rectify_grad` its gradient (resonance frequencies, and tone powers on request).

Examples
--------
>>> from rfemu.devices import resonator
>>> v = resonator.rectified_voltage(101e6, 1e-6, 100e6, 1e6, resonator.DEFAULT_SENSITIVITY)
>>> round(v * 1e3, 2)   # mV: the antisymmetric peak at d = +D is K P
8.84
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rfemu.rng import as_generator

__all__ = [
    "DEFAULT_SENSITIVITY", "spin_diode_sensitivity", "ResonatorParameters", "half_width", "response_time",
    "rectified_voltage", "d_rectified_voltage_d_resonance", "chain_matrix", "chain_matrix_grad",
    "chain_matrix_numpy", "chain_matrix_grad_numpy", "ChainGradient", "ChainSet", "Tones", "tones",
    "rectify", "rectify_grad", "rectify_numpy", "rectify_grad_numpy", "RectifyGradient", "FrequencyState",
    "WriteReport", "johnson_noise_voltage",
]

BOLTZMANN = 1.380649e-23


def spin_diode_sensitivity(tmr: float = 1.0, threshold_current: float = 10e-6,
                           polarizer_angle: float = math.pi / 4, beta: float = 1.0) -> float:
    """Spin-diode sensitivity K (V/W) of the seed's compact model.

    K = (TMR / I_th) tan(gamma_p) / (8 sqrt 2) beta; about 8.8 mV/uW for the defaults.
    """
    if threshold_current <= 0:
        raise ValueError(f"threshold_current must be > 0 A, got {threshold_current!r}")
    return tmr / threshold_current * math.tan(polarizer_angle) / (8.0 * math.sqrt(2.0)) * beta


DEFAULT_SENSITIVITY = spin_diode_sensitivity()


def _check_positive(name, value, allow_zero=False):
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if np.any(bad):
        first = arr[bad].ravel()[0] if arr.ndim else float(arr)
        need = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {need}, got {first!r}")


@dataclass(frozen=True)
class ResonatorParameters:
    """Parameters of one spin-diode synapse (SI units).

    Parameters
    ----------
    damping : float
        Gilbert damping alpha; the half width is ``damping * resonance_frequency`` (Hz).
    sensitivity : float
        K, V/W (default about 8.8 mV/uW, the seed's compact model).
    antisymmetric, symmetric : float
        Weights ``a`` and ``s`` of the two line shapes (the seed's synapse: a = 1, s = 0).
    """

    damping: float = field(default=0.01, metadata={
        "unit": "", "gt": 0, "lt": 1,
        "help": "alpha: the resonance half width (linewidth) is D_r = alpha f_r."})
    sensitivity: float = field(default=DEFAULT_SENSITIVITY, metadata={
        "unit": "V/W", "gt": 0, "scenario_default": 8800.0,
        "help": "K: the rectified voltage at the best detuning per watt of tone ('8.8 mV/uW')."})
    antisymmetric: float = field(default=1.0, metadata={
        "unit": "",
        "help": "Weight a of the antisymmetric line shape (the seed's synapse: 1)."})
    symmetric: float = field(default=0.0, metadata={
        "unit": "",
        "help": "Weight s of the symmetric line shape (the seed's synapse: 0)."})

    def __post_init__(self):
        _check_positive("damping", self.damping)
        _check_positive("sensitivity", self.sensitivity)
        for name in ("antisymmetric", "symmetric"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")

    def half_width(self, resonance_frequency):
        return half_width(resonance_frequency, self.damping)


def half_width(resonance_frequency, damping=0.01):
    """Half width at half maximum of the resonance, ``damping * f_r`` (Hz)."""
    return np.multiply(damping, resonance_frequency)


def response_time(resonance_frequency, damping=0.01):
    """Time constant of a spin diode's rectified voltage following its drive, ``1 / (2 pi D_r)``
    with the half width D_r of :func:`half_width` (s). Both engines take a line's slowest
    junction's as its spin-diode response (docs/physics.md#event-engine-dynamics)."""
    return 1.0 / (2.0 * math.pi * np.asarray(half_width(resonance_frequency, damping), dtype=float))


def rectified_voltage(tone_frequency, tone_power, resonance_frequency, half_width,
                      sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0, symmetric=0.0,
                      tone_linewidth=0.0):
    """DC voltage (V) of junctions driven by tones; numpy broadcasting over every argument."""
    d = np.subtract(tone_frequency, resonance_frequency)
    D = np.asarray(half_width, dtype=float)
    G = D + tone_linewidth
    return (np.multiply(sensitivity, tone_power) * D
            * (2.0 * np.multiply(antisymmetric, d) + np.multiply(symmetric, G)) / (d * d + G * G))


def d_rectified_voltage_d_resonance(tone_frequency, tone_power, resonance_frequency, half_width,
                                    sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0,
                                    symmetric=0.0, tone_linewidth=0.0, half_width_slope=0.0):
    """dV/df_r (V/Hz), with the half width moving as ``half_width_slope * df_r``.

    Use ``half_width_slope = damping`` when the half width is ``damping * f_r``, 0 when it is
    fixed. The weight is monotonic in f_r only for |d| < D: outside, a fixed-sign frequency step
    moves the weight the wrong way (docs/physics.md#chains, learning in frequency).
    """
    d = np.subtract(tone_frequency, resonance_frequency)
    D = np.asarray(half_width, dtype=float)
    G = D + tone_linewidth
    A = 2.0 * np.multiply(antisymmetric, 1.0)
    S = np.multiply(symmetric, 1.0)
    u = d * d + G * G
    n = A * d + S * G
    KP = np.multiply(sensitivity, tone_power)
    dv_dd = KP * D * (A * u - 2.0 * d * n) / (u * u)
    dv_dG = KP * D * (S * u - 2.0 * G * n) / (u * u)
    dv_dD_explicit = KP * n / u
    return -dv_dd + np.multiply(half_width_slope, dv_dD_explicit + dv_dG)


def johnson_noise_voltage(resistance, bandwidth, temperature=300.0):
    """RMS Johnson-Nyquist noise voltage sqrt(4 k_B T R B) (V) of a junction over a bandwidth."""
    _check_positive("resistance", resistance)
    _check_positive("bandwidth", bandwidth)
    _check_positive("temperature", temperature, allow_zero=True)
    return np.sqrt(4.0 * BOLTZMANN * np.asarray(temperature) * resistance * bandwidth)


# ----------------------------------------------------------------------------- chain matrices

class _ChainArrays(NamedTuple):
    tone_frequency: np.ndarray   # (S, T)
    tone_linewidth: np.ndarray   # (S, T)
    resonance_frequency: np.ndarray  # (C, J)
    width_fixed: np.ndarray      # (C, J)
    width_slope: np.ndarray      # (C, J)
    coef_anti: np.ndarray        # (C, J): 2 a K sign
    coef_sym: np.ndarray         # (C, J): s K sign
    batched: bool


def _tone_arrays(tone_frequency, tone_linewidth):
    """(S, T) contiguous tone frequencies and linewidths, and whether the input was batched."""
    tf = np.asarray(tone_frequency, dtype=np.float64)
    if tf.ndim not in (1, 2):
        raise ValueError(f"tone_frequency must be 1-D (tones) or 2-D (sets, tones), got shape {tf.shape}")
    tf2 = np.ascontiguousarray(np.atleast_2d(tf))
    tg = np.asarray(tone_linewidth, dtype=np.float64)
    tg2 = np.ascontiguousarray(np.broadcast_to(tg, tf2.shape) if tg.ndim < 2 else tg)
    if tg2.shape != tf2.shape:
        raise ValueError(f"tone_linewidth has shape {tg2.shape}, expected {tf2.shape}")
    _check_positive("tone_linewidth", tg2, allow_zero=True)
    return tf2, tg2, tf.ndim == 2


def _junction_arrays(shape, sign, half_width, sensitivity, antisymmetric, symmetric, damping):
    """The kernel's per-junction arrays (C, J): fixed width, width slope, 2 a K sign, s K sign."""
    def per_junction(name, value):
        try:
            return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), shape))
        except ValueError:
            raise ValueError(f"{name} of shape {np.shape(value)} does not broadcast to the "
                             f"(chains, junctions) shape {shape}") from None

    if (half_width is None) == (damping is None):
        raise ValueError("give exactly one of half_width (fixed, Hz) or damping (half width = damping * f_r)")
    if damping is not None:
        _check_positive("damping", damping)
        slope, fixed = per_junction("damping", damping), np.zeros(shape)
    else:
        _check_positive("half_width", half_width)
        fixed, slope = per_junction("half_width", half_width), np.zeros(shape)
    k_sign = np.multiply(sensitivity, sign)
    coef_anti = per_junction("antisymmetric", 2.0 * np.multiply(antisymmetric, k_sign))
    coef_sym = per_junction("symmetric", np.multiply(symmetric, k_sign))
    return fixed, slope, coef_anti, coef_sym


class ChainSet:
    """The junctions of C chains of J junctions, prepared once for repeated chain-matrix calls.

    Training and the event engine change only the resonance frequencies (and the tones) between
    calls; the per-junction arrays of the kernel (signs, sensitivities, line-shape weights,
    widths) are built and checked here once. Arguments as in :func:`chain_matrix`.

    Examples
    --------
    >>> import numpy as np
    >>> chains = ChainSet((2, 3), sign=[1.0, -1.0, 1.0], damping=0.01)
    >>> chains.matrix(np.array([100e6, 110e6]), 0.0, np.full((2, 3), 105e6)).shape
    (2, 2)
    """

    def __init__(self, shape, sign=1.0, half_width=None, sensitivity=DEFAULT_SENSITIVITY,
                 antisymmetric=1.0, symmetric=0.0, *, damping=None):
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) != 2:
            raise ValueError(f"shape must be (chains, junctions), got {shape!r}")
        self._junctions = _junction_arrays(self.shape, sign, half_width, sensitivity,
                                           antisymmetric, symmetric, damping)
        #: wall seconds inside the kernel in :meth:`rectify` / :meth:`rectify_grad`: the line-shape
        #: (Lorentzian) evaluations and the tone sums (the products with the tone powers)
        self.lorentzian_seconds = 0.0
        self.tone_sum_seconds = 0.0

    def _arrays(self, tone_frequency, tone_linewidth, resonance_frequency) -> _ChainArrays:
        tf2, tg2, batched = _tone_arrays(tone_frequency, tone_linewidth)
        fr = np.ascontiguousarray(resonance_frequency, dtype=np.float64)
        if fr.shape != self.shape:
            raise ValueError(f"resonance_frequency has shape {fr.shape}, expected (chains, junctions) "
                             f"{self.shape}")
        return _ChainArrays(tf2, tg2, fr, *self._junctions, batched)

    def matrix(self, tone_frequency, tone_linewidth, resonance_frequency, *, n_threads=1,
               backend="kernel"):
        """The chain matrix W, as :func:`chain_matrix` returns it."""
        arr = self._arrays(tone_frequency, tone_linewidth, resonance_frequency)
        if backend == "numpy":
            out = _chain_matrix_numpy(arr)
        elif backend == "kernel":
            from rfemu import _core
            S, T = arr.tone_frequency.shape
            out = np.empty((S, arr.resonance_frequency.shape[0], T))
            _core._chain_matrix(arr.tone_frequency, arr.tone_linewidth, arr.resonance_frequency,
                                arr.width_fixed, arr.width_slope, arr.coef_anti, arr.coef_sym, out,
                                int(n_threads))
        else:
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        return out if arr.batched else out[0]

    def grad(self, grad_w, tone_frequency, tone_linewidth, resonance_frequency, *, tones=False,
             n_threads=1, backend="kernel"):
        """The gradient through W, as :func:`chain_matrix_grad` returns it."""
        arr = self._arrays(tone_frequency, tone_linewidth, resonance_frequency)
        S, T = arr.tone_frequency.shape
        C, J = arr.resonance_frequency.shape
        gw = np.asarray(grad_w, dtype=np.float64)
        expected = (S, C, T) if arr.batched else (C, T)
        if gw.shape != expected:
            raise ValueError(f"grad_w has shape {gw.shape}, expected {expected}")
        gw = np.ascontiguousarray(gw.reshape(S, C, T))
        if backend == "numpy":
            g_fr, g_tf, g_tg = _chain_matrix_grad_numpy(gw, arr, tones)
        elif backend == "kernel":
            from rfemu import _core
            g_fr_p = np.zeros((S, C, J))
            g_tf_p = np.zeros((S, C, T) if tones else (1, 1, 1))
            g_tg_p = np.zeros((S, C, T) if tones else (1, 1, 1))
            _core._chain_matrix_grad(gw, arr.tone_frequency, arr.tone_linewidth,
                                     arr.resonance_frequency, arr.width_fixed, arr.width_slope,
                                     arr.coef_anti, arr.coef_sym, g_fr_p, g_tf_p, g_tg_p,
                                     bool(tones), int(n_threads))
            g_fr = g_fr_p[0] if S == 1 else g_fr_p.sum(axis=0)
            g_tf = g_tf_p.sum(axis=1) if tones else None
            g_tg = g_tg_p.sum(axis=1) if tones else None
        else:
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        if tones and not arr.batched:
            g_tf, g_tg = g_tf[0], g_tg[0]
        return ChainGradient(g_fr, g_tf, g_tg)


    # -- the rectification of a batch of tone powers (one set of tones) -------------------------
    def _power(self, tone_power, n_tones, name="tone_power"):
        p = np.asarray(tone_power, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != n_tones:
            raise ValueError(f"{name} must have shape (samples, {n_tones}), got {p.shape}")
        return np.ascontiguousarray(p)

    def _resonances(self, resonance_frequency):
        fr = np.ascontiguousarray(resonance_frequency, dtype=np.float64)
        if fr.shape != self.shape:
            raise ValueError(f"resonance_frequency has shape {fr.shape}, expected (chains, junctions) "
                             f"{self.shape}")
        return fr

    def rectify(self, tone_power, tones, resonance_frequency, *, matrix=None, n_threads=1,
                backend="kernel"):
        """Chain voltages of a batch: ``V = P W^T`` (before the chains' bias), and ``W``.

        Parameters
        ----------
        tone_power : array (B, T)
            W, the power of each tone for each sample.
        tones : Tones
            The tones (see :func:`tones`; checked once).
        resonance_frequency : array (C, J)
            Not read when ``matrix`` is given (may be None then).
        matrix : array (C, T), optional
            W for these tones and resonances, if already known: only the tone sum is done.
        n_threads : int
            Kernel threads (results do not depend on it).
        backend : {"kernel", "numpy"}

        Returns
        -------
        (V (B, C), W (C, T))
        """
        import time
        fr = self._resonances(resonance_frequency) if matrix is None else None
        T = tones.frequency.shape[1]
        p = self._power(tone_power, T)
        if matrix is not None and np.shape(matrix) != (self.shape[0], T):
            raise ValueError(f"matrix has shape {np.shape(matrix)}, expected {(self.shape[0], T)}")
        if backend == "numpy":
            w = matrix if matrix is not None else _chain_matrix_numpy(
                _ChainArrays(tones.frequency, tones.linewidth, fr, *self._junctions, False))[0]
            return p @ w.T, w
        if backend != "kernel":
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        from rfemu import _core
        t0 = time.perf_counter()
        if matrix is None:
            w = np.empty((self.shape[0], T))
            _core._chain_matrix(tones.frequency, tones.linewidth, fr, *self._junctions, w[None],
                                int(n_threads))
            t1 = time.perf_counter()
            self.lorentzian_seconds += t1 - t0
            t0 = t1
        else:
            w = np.ascontiguousarray(matrix, dtype=np.float64)
        v = np.empty((p.shape[0], self.shape[0]))
        _core._chain_voltage(p, w, v, int(n_threads))
        self.tone_sum_seconds += time.perf_counter() - t0
        return v, w

    def rectify_grad(self, grad_voltage, tone_power, tones, resonance_frequency, matrix, *,
                     tone_power_grad=False, n_threads=1, backend="kernel"):
        """Back-propagate ``dL/dV`` (B, C) of :meth:`rectify` to the resonance frequencies and,
        with ``tone_power_grad``, to the tone powers. ``matrix`` is the W of the forward pass.
        Returns a :class:`RectifyGradient`."""
        import time
        fr = self._resonances(resonance_frequency)
        C, J = self.shape
        T = tones.frequency.shape[1]
        p = self._power(tone_power, T)
        g = self._power(grad_voltage, C, "grad_voltage")
        if g.shape[0] != p.shape[0]:
            raise ValueError(f"grad_voltage has {g.shape[0]} samples, tone_power {p.shape[0]}")
        w = np.ascontiguousarray(matrix, dtype=np.float64)
        if w.shape != (C, T):
            raise ValueError(f"matrix has shape {w.shape}, expected {(C, T)}")
        if backend == "numpy":
            arr = _ChainArrays(tones.frequency, tones.linewidth, fr, *self._junctions, False)
            g_fr, _, _ = _chain_matrix_grad_numpy((g.T @ p)[None], arr, False)
            return RectifyGradient(g_fr, g @ w if tone_power_grad else None)
        if backend != "kernel":
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        from rfemu import _core
        t0 = time.perf_counter()
        g_w = np.empty((1, C, T))
        g_p = np.empty((p.shape[0], T)) if tone_power_grad else np.empty((1, 1))
        _core._chain_voltage_grad(g, p, w, g_w[0], g_p, bool(tone_power_grad), int(n_threads))
        t1 = time.perf_counter()
        self.tone_sum_seconds += t1 - t0
        g_fr = np.zeros((1, C, J))
        unused = np.zeros((1, 1, 1))
        _core._chain_matrix_grad(g_w, tones.frequency, tones.linewidth, fr, *self._junctions,
                                 g_fr, unused, unused, False, int(n_threads))
        self.lorentzian_seconds += time.perf_counter() - t1
        return RectifyGradient(g_fr[0], g_p if tone_power_grad else None)


class Tones(NamedTuple):
    """One set of tones, checked once: ``frequency`` and ``linewidth``, (1, T) contiguous, Hz."""

    frequency: np.ndarray
    linewidth: np.ndarray


def tones(tone_frequency, tone_linewidth) -> Tones:
    """The :class:`Tones` of one set of tones (T,) (linewidth: a scalar or (T,), Hz, >= 0)."""
    tf2, tg2, batched = _tone_arrays(tone_frequency, tone_linewidth)
    if batched:
        raise ValueError(f"one set of tones (1-D) expected, got shape {np.shape(tone_frequency)}")
    return Tones(tf2, tg2)


class RectifyGradient(NamedTuple):
    """Gradient of a loss through :func:`rectify`: resonance_frequency (C, J) dL/df_r and
    tone_power (B, T) dL/dP (None unless asked for)."""

    resonance_frequency: np.ndarray
    tone_power: np.ndarray | None


def chain_matrix(tone_frequency, tone_linewidth, resonance_frequency, sign=1.0, half_width=None,
                 sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0, symmetric=0.0, *,
                 damping=None, n_threads=1, backend="kernel"):
    """Chain matrix ``W`` (V/W): the DC voltage of each chain per watt of each tone.

    Parameters
    ----------
    tone_frequency, tone_linewidth : array (T,) or (S, T)
        The tones (Hz; linewidth = the tone's Lorentzian half width, 0 for a pure tone). A 2-D
        array gives S sets of tones (e.g. one per sample when the tones move with the input).
    resonance_frequency : array (C, J)
        Resonance frequency of junction j of chain c (Hz).
    sign : array broadcastable to (C, J)
        Series sign of each junction in its chain (+1 or -1; head-to-tail: (-1)^k).
    half_width : array broadcastable to (C, J), optional
        Fixed half width (Hz). Give this or ``damping`` (half width = damping * f_r).
    sensitivity, antisymmetric, symmetric : float or array broadcastable to (C, J)
    n_threads : int
        Threads of the kernel (results do not depend on it).
    backend : {"kernel", "numpy"}
        The compiled kernel, or the numpy reference (same equations).

    Returns
    -------
    W : array (C, T), or (S, C, T) for 2-D tones; ``V_chain = W @ tone_power``.
    """
    chains = ChainSet(np.shape(resonance_frequency), sign, half_width, sensitivity, antisymmetric,
                      symmetric, damping=damping)
    return chains.matrix(tone_frequency, tone_linewidth, resonance_frequency, n_threads=n_threads,
                         backend=backend)


class ChainGradient(NamedTuple):
    """Gradient of a loss through :func:`chain_matrix`.

    resonance_frequency : (C, J) dL/df_r; tone_frequency and tone_linewidth : (T,) or (S, T),
    None unless asked for.
    """
    resonance_frequency: np.ndarray
    tone_frequency: np.ndarray | None
    tone_linewidth: np.ndarray | None


def chain_matrix_grad(grad_w, tone_frequency, tone_linewidth, resonance_frequency, sign=1.0,
                      half_width=None, sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0,
                      symmetric=0.0, *, damping=None, tones=False, n_threads=1, backend="kernel"):
    """Back-propagate ``grad_w = dL/dW`` (shape of :func:`chain_matrix`'s output) to the
    resonance frequencies and, with ``tones=True``, to the tones' frequencies and linewidths.

    With ``damping`` the half width moves with f_r (slope ``damping``); with ``half_width`` it is
    held fixed. Returns a :class:`ChainGradient`.
    """
    chains = ChainSet(np.shape(resonance_frequency), sign, half_width, sensitivity, antisymmetric,
                      symmetric, damping=damping)
    return chains.grad(grad_w, tone_frequency, tone_linewidth, resonance_frequency, tones=tones,
                       n_threads=n_threads, backend=backend)


def _terms(arr: _ChainArrays, s: int, c: int):
    """(T, J) arrays of one chain against one tone set: the reference's building blocks."""
    f_r = arr.resonance_frequency[c][None, :]
    slope = arr.width_slope[c][None, :]
    D = arr.width_fixed[c][None, :] + slope * f_r
    A = arr.coef_anti[c][None, :]
    Sy = arr.coef_sym[c][None, :]
    d = arr.tone_frequency[s][:, None] - f_r
    G = D + arr.tone_linewidth[s][:, None]
    u = d * d + G * G
    n = A * d + Sy * G
    return D, A, Sy, slope, d, G, u, n


def _chain_matrix_numpy(arr: _ChainArrays):
    S, T = arr.tone_frequency.shape
    C = arr.resonance_frequency.shape[0]
    out = np.empty((S, C, T))
    for s in range(S):
        for c in range(C):
            D, A, Sy, slope, d, G, u, n = _terms(arr, s, c)
            out[s, c] = (D * n / u).sum(axis=1)
    return out


def _chain_matrix_grad_numpy(gw, arr: _ChainArrays, tones: bool):
    S, T = arr.tone_frequency.shape
    C, J = arr.resonance_frequency.shape
    g_fr = np.zeros((C, J))
    g_tf = np.zeros((S, T)) if tones else None
    g_tg = np.zeros((S, T)) if tones else None
    for s in range(S):
        for c in range(C):
            D, A, Sy, slope, d, G, u, n = _terms(arr, s, c)
            dw_dd = D * (A * u - 2.0 * d * n) / (u * u)
            dw_dG = D * (Sy * u - 2.0 * G * n) / (u * u)
            dw_dfr = -dw_dd + slope * (n / u + dw_dG)
            g = gw[s, c][:, None]
            g_fr[c] += (g * dw_dfr).sum(axis=0)
            if tones:
                g_tf[s] += (g * dw_dd).sum(axis=1)
                g_tg[s] += (g * dw_dG).sum(axis=1)
    return g_fr, g_tf, g_tg


def chain_matrix_numpy(*args, **kwargs):
    """The numpy reference of :func:`chain_matrix` (same signature)."""
    kwargs["backend"] = "numpy"
    return chain_matrix(*args, **kwargs)


def chain_matrix_grad_numpy(*args, **kwargs):
    """The numpy reference of :func:`chain_matrix_grad` (same signature)."""
    kwargs["backend"] = "numpy"
    return chain_matrix_grad(*args, **kwargs)


def rectify(tone_power, tone_frequency, tone_linewidth, resonance_frequency, sign=1.0,
            half_width=None, sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0, symmetric=0.0, *,
            damping=None, n_threads=1, backend="kernel"):
    """The rectification of a batch: chain voltages ``V = P W^T`` (B, C) of tone powers
    ``P`` (B, T) on one set of tones (T,), and ``W`` (C, T). Arguments as in :func:`chain_matrix`.

    Examples
    --------
    >>> import numpy as np
    >>> v, w = rectify(np.ones((4, 2)) * 1e-6, [100e6, 110e6], 0.0, np.full((3, 2), 105e6), damping=0.01)
    >>> v.shape, w.shape
    ((4, 3), (3, 2))
    """
    chains = ChainSet(np.shape(resonance_frequency), sign, half_width, sensitivity, antisymmetric,
                      symmetric, damping=damping)
    return chains.rectify(tone_power, tones(tone_frequency, tone_linewidth), resonance_frequency,
                          n_threads=n_threads, backend=backend)


def rectify_grad(grad_voltage, tone_power, tone_frequency, tone_linewidth, resonance_frequency,
                 sign=1.0, half_width=None, sensitivity=DEFAULT_SENSITIVITY, antisymmetric=1.0,
                 symmetric=0.0, *, damping=None, tone_power_grad=False, n_threads=1, backend="kernel"):
    """Back-propagate ``dL/dV`` (B, C) of :func:`rectify` to the resonance frequencies and, with
    ``tone_power_grad``, to the tone powers. Returns a :class:`RectifyGradient`."""
    chains = ChainSet(np.shape(resonance_frequency), sign, half_width, sensitivity, antisymmetric,
                      symmetric, damping=damping)
    t = tones(tone_frequency, tone_linewidth)
    _, w = chains.rectify(np.zeros((0, t.frequency.shape[1])), t, resonance_frequency,
                          n_threads=n_threads, backend=backend)
    return chains.rectify_grad(grad_voltage, tone_power, t, resonance_frequency, w,
                               tone_power_grad=tone_power_grad, n_threads=n_threads, backend=backend)


def rectify_numpy(*args, **kwargs):
    """The numpy reference of :func:`rectify` (same signature)."""
    kwargs["backend"] = "numpy"
    return rectify(*args, **kwargs)


def rectify_grad_numpy(*args, **kwargs):
    """The numpy reference of :func:`rectify_grad` (same signature)."""
    kwargs["backend"] = "numpy"
    return rectify_grad(*args, **kwargs)


# ----------------------------------------------------------------- non-volatile frequency state

@dataclass
class WriteReport:
    """What a :meth:`FrequencyState.write` did and cost."""

    requested: np.ndarray        # target frequencies asked for (Hz)
    applied: np.ndarray          # resonance frequencies after the write (Hz)
    written: np.ndarray          # bool: a write pulse was applied (not stuck, not a no-op)
    energy: float                # J, all pulses
    latency: float               # s, the writes are applied in parallel
    newly_stuck: int             # devices that reached their endurance with this write


@dataclass
class FrequencyState:
    """Non-volatile resonance-frequency state of a set of junctions: f_r = f_base + shift.

    The shift is bounded to a tuning window ``[window_low, window_high]`` (Hz, relative to
    ``base_frequency``), programmed in multiples of ``step`` (quantisation; 0 = continuous), with
    Gaussian write noise (std ``write_noise``, Hz), a write latency (s) and energy (J per pulse),
    an endurance (writes after which a device is stuck where it is) and an optional drift
    (Hz/s, applied by :meth:`advance`). docs/physics.md#frequency-state: no measured write-noise or endurance
    statistics are published; these are parameters.

    Examples
    --------
    >>> st = FrequencyState(base_frequency=[100e6], window_low=-5e6, window_high=5e6, step=0.1e6)
    >>> rep = st.write([102.04e6])
    >>> float(st.frequency[0])
    102000000.0
    """

    base_frequency: np.ndarray = field(metadata={
        "scenario": False,
        "help": "per junction: the network's as-fabricated resonance frequencies"})
    window_low: float = field(default=-15e6, metadata={
        "unit": "Hz",
        "help": "Lowest shift of f_r from the junction's as-fabricated (base) frequency."})
    window_high: float = field(default=15e6, metadata={
        "unit": "Hz",
        "help": "Highest shift of f_r from the base frequency."})
    step: float = field(default=0.0, metadata={
        "unit": "Hz", "ge": 0,
        "help": "Quantisation step of a write (0: continuous)."})
    write_noise: float = field(default=0.0, metadata={
        "unit": "Hz", "ge": 0,
        "help": "Standard deviation of a write's error."})
    write_latency: float = field(default=10e-9, metadata={
        "unit": "s", "ge": 0,
        "help": "Time a write takes (all junctions are written in parallel)."})
    write_energy: float = field(default=1e-13, metadata={
        "unit": "J", "ge": 0,
        "help": "Energy of one write pulse (per junction)."})
    endurance: float = field(default=math.inf, metadata={
        "unit": "", "ge": 1, "scenario_default": None,
        "help": "Writes a junction takes before it is stuck where it is (a whole number >= 1; "
                "null: unlimited). Programming writes each junction once; the count of junctions "
                "it leaves stuck is the metric `programming_stuck_devices`."})
    drift_rate: float = field(default=0.0, metadata={
        "unit": "Hz/s",
        "help": "Drift of the programmed shifts (Hz/s, either sign; '1 MHz/s'), bounded by the "
                "tuning window: during engine.hold_time the resonance frequencies move by "
                "drift_rate x hold_time before the chip is tested."})
    seed: object = field(default=None, metadata={
        "scenario": False,
        "help": "the run's programming random stream"})
    shift: np.ndarray | None = field(default=None, metadata={
        "scenario": False,
        "help": "the trained shifts being programmed"})
    writes: np.ndarray = field(init=False)
    stuck: np.ndarray = field(init=False)

    def __post_init__(self):
        self.base_frequency = np.atleast_1d(np.asarray(self.base_frequency, dtype=float)).copy()
        _check_positive("base_frequency", self.base_frequency)
        if not (np.isfinite(self.window_low) and np.isfinite(self.window_high)) or \
                self.window_low > self.window_high:
            raise ValueError(f"tuning window must be finite with window_low <= window_high, got "
                             f"[{self.window_low!r}, {self.window_high!r}] Hz")
        _check_positive("step", self.step, allow_zero=True)
        _check_positive("write_noise", self.write_noise, allow_zero=True)
        _check_positive("write_latency", self.write_latency, allow_zero=True)
        _check_positive("write_energy", self.write_energy, allow_zero=True)
        if not self.endurance >= 1:
            raise ValueError(f"endurance must be >= 1 write, got {self.endurance!r}")
        if not math.isfinite(self.drift_rate):
            raise ValueError(f"drift_rate must be finite, got {self.drift_rate!r}")
        if self.shift is None:
            self.shift = np.zeros_like(self.base_frequency)
        else:
            self.shift = np.broadcast_to(np.asarray(self.shift, dtype=float),
                                         self.base_frequency.shape).copy()
        outside = (self.shift < self.window_low) | (self.shift > self.window_high)
        if np.any(outside):
            i = int(np.argmax(outside))
            raise ValueError(
                f"tuning window [{self.window_low:g}, {self.window_high:g}] Hz excludes the current "
                f"frequency of device {i}: shift {self.shift[i]:g} Hz (f_r = {self.frequency[i]:g} Hz)")
        self._rng = as_generator(self.seed)
        self.writes = np.zeros(self.base_frequency.shape, dtype=np.int64)
        self.stuck = np.zeros(self.base_frequency.shape, dtype=bool)

    @property
    def frequency(self) -> np.ndarray:
        """Current resonance frequencies (Hz)."""
        return self.base_frequency + self.shift

    @property
    def bounds(self):
        """(lowest, highest) reachable resonance frequency of each device (Hz)."""
        return self.base_frequency + self.window_low, self.base_frequency + self.window_high

    def _quantise(self, shift):
        if self.step > 0:
            lo = math.ceil(self.window_low / self.step - 1e-9) * self.step
            hi = math.floor(self.window_high / self.step + 1e-9) * self.step
            return np.clip(np.round(shift / self.step) * self.step, lo, hi)
        return np.clip(shift, self.window_low, self.window_high)

    def write(self, target_frequency, index=None) -> WriteReport:
        """Program devices (all, or those in ``index``) towards ``target_frequency`` (Hz).

        The target is clipped to the window and quantised; write noise is added (and the result
        kept in the window); stuck devices keep their frequency; a device whose write count
        reaches the endurance is stuck afterwards. Writes equal to the present state are skipped.
        """
        idx = np.arange(self.base_frequency.size) if index is None else np.atleast_1d(index)
        target = np.broadcast_to(np.asarray(target_frequency, dtype=float), idx.shape)
        if not np.all(np.isfinite(target)):
            raise ValueError("target_frequency must be finite")
        new_shift = self._quantise(target - self.base_frequency[idx])
        if self.write_noise > 0:
            new_shift = np.clip(new_shift + self._rng.normal(0.0, self.write_noise, idx.shape),
                                self.window_low, self.window_high)
        active = ~self.stuck[idx] & (new_shift != self.shift[idx])
        self.shift[idx[active]] = new_shift[active]
        self.writes[idx[active]] += 1
        reached = active & (self.writes[idx] >= self.endurance)
        self.stuck[idx[reached]] = True
        n = int(active.sum())
        return WriteReport(requested=target.copy(), applied=self.frequency[idx].copy(),
                           written=active, energy=n * self.write_energy,
                           latency=self.write_latency if n else 0.0, newly_stuck=int(reached.sum()))

    def advance(self, duration: float):
        """Let the state drift for ``duration`` seconds (``drift_rate`` Hz/s, bounded by the window)."""
        if duration < 0:
            raise ValueError(f"duration must be >= 0 s, got {duration!r}")
        if self.drift_rate:
            self.shift = np.clip(self.shift + self.drift_rate * duration,
                                 self.window_low, self.window_high)
