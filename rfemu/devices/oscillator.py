"""Spin-torque nano-oscillator (the neuron): universal auto-oscillator model (docs/physics.md#oscillator).

Dynamic form, for the dimensionless complex amplitude ``c`` (power ``p = |c|^2``)::

    dc/dt = -i w(p) c - G+(p) c + G-(p) c + f_ext(t) + f_noise(t)
    w(p)  = w0 + N p                  (N: non-linear frequency shift, rad/s)
    G+(p) = G_G (1 + Q p)             (G_G = alpha w0: positive damping; Q: non-linear damping)
    G-(p) = sigma I (1 - p)           (spin-torque negative damping; I_th = G_G / sigma, xi = I / I_th)
    <f_noise(t) f_noise*(t')> = 2 D delta(t - t'),   D = G+(p) eta,   eta = k_B T / E0

Static form (its steady state): ``p0 = (xi - 1) / (xi + Q)`` above threshold, 0 below; emitted
frequency ``(w0 + N p0) / 2 pi``; phase-diffusion linewidth; and the authors' compact output model
``P_out = A p0(I) (TMR beta)^2 R I^2`` with the current clamped to ``[I_th, I_max]``.

Every static function takes a current (A, any array shape) and an :class:`OscillatorParameters`
whose fields may be scalars or arrays (per-device values); everything broadcasts with numpy rules.
Only :func:`output_power` and its derivative apply the current clamp (it is part of the neuron's
compact transfer model); the other functions describe the physics at the current given.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rfemu.rng import as_generator

__all__ = [
    "BOLTZMANN_CONSTANT",
    "OscillatorParameters",
    "normalized_current",
    "clamp_current",
    "steady_power",
    "frequency",
    "d_frequency_d_current",
    "output_power",
    "d_output_power_d_current",
    "OutputTransfer",
    "linewidth",
    "d_linewidth_d_current",
    "emitted_tone",
    "NeuronTarget",
    "neuron_target",
    "relaxation_rate",
    "settling_rate",
    "stationary_power_moments",
    "OscillatorTrajectory",
    "integrate",
]

#: Boltzmann constant, J/K (exact, SI 2019).
BOLTZMANN_CONSTANT = 1.380649e-23


def _scalar_or_array(x):
    """A 0-d result as a Python float, anything else as the array it is."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check(name, value, ok, expected):
    """Raise one ValueError naming the parameter and its value unless ``ok(value)`` holds everywhere."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or not np.all(ok(arr)):
        raise ValueError(f"OscillatorParameters.{name} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class OscillatorParameters:
    """Parameters of a spin-torque nano-oscillator, SI units (defaults: docs/physics.md#oscillator-defaults).

    Fields may be floats or numpy arrays (one value per device); all derived quantities broadcast.

    Parameters
    ----------
    natural_frequency : float
        f0 = w0 / 2 pi, Hz: the frequency of the oscillation at vanishing power (300 MHz vortex).
    nonlinear_frequency_shift : float
        N, rad/s: w(p) = w0 + N p. Positive for a vortex (frequency rises with power), negative for
        an in-plane uniform mode. Default 0: the compact model of the seed network keeps each
        neuron's frequency fixed.
    damping : float
        Gilbert damping alpha; the linear damping rate is G_G = alpha w0 (rad/s).
    nonlinear_damping : float
        Q >= 0 (default 2).
    threshold_current : float
        I_th, A (10 uA). The spin-torque efficiency is sigma = G_G / I_th.
    max_current : float
        I_max > I_th, A (40 uA): the compact output model clamps the current to it.
    resistance : float
        R, Ohm (1 kOhm).
    tmr : float
        Tunnel magnetoresistance ratio of the junction (1).
    beta : float
        Fraction of the TMR that the oscillation converts into a resistance oscillation (1).
    max_output_power : float
        W (1 uW): the output power at I_max; fixes the scale A of the compact model.
    temperature : float
        K (300). Zero switches the thermal noise off.
    oscillation_energy : float
        E0, J: the energy of the oscillation at p = 1, which turns the thermal energy into the
        dimensionless noise eta = k_B T / E0. Default 2e-19 J (eta = 0.0207 at 300 K, a half
        linewidth of about 120 kHz at xi = 4 for the default 300 MHz oscillator).

    Examples
    --------
    >>> p = OscillatorParameters(natural_frequency=500e6)
    >>> round(p.damping_rate / (2 * math.pi * 500e6), 6)
    0.01
    """

    natural_frequency: float = field(default=300e6, metadata={
        "unit": "Hz", "gt": 0, "scenario": False,
        "help": "f0 (Hz) of the device; in a network every hidden layer's channel plan (its "
                "emission_plan or the next layer's resonance_plan) sets it per neuron, so it is "
                "no scenario key."})
    nonlinear_frequency_shift: float = field(default=0.0, metadata={
        "unit": "rad/s",
        "help": "N of w(p) = w0 + N p, in rad/s (\"50 MHz\" is read as 2 pi x 50 MHz)."})
    damping: float = field(default=0.01, metadata={
        "unit": "", "gt": 0, "lt": 1,
        "help": "Gilbert damping alpha; the linear damping rate is G_G = alpha * 2 pi f0."})
    nonlinear_damping: float = field(default=2.0, metadata={
        "unit": "", "ge": 0,
        "help": "Q of the positive damping G+(p) = G_G (1 + Q p)."})
    threshold_current: float = field(default=10e-6, metadata={
        "unit": "A", "gt": 0,
        "help": "I_th = G_G / sigma: auto-oscillation above it."})
    max_current: float = field(default=40e-6, metadata={
        "unit": "A", "gt": 0,
        "help": "I_max: the compact output model clamps the current to [I_th, I_max]."})
    resistance: float = field(default=1e3, metadata={
        "unit": "Ohm", "gt": 0,
        "help": "R of the junction (Joule power R I^2, output power)."})
    tmr: float = field(default=1.0, metadata={
        "unit": "", "gt": 0,
        "help": "Tunnel magnetoresistance ratio."})
    beta: float = field(default=1.0, metadata={
        "unit": "", "gt": 0,
        "help": "Fraction of the TMR the oscillation turns into a resistance oscillation."})
    max_output_power: float = field(default=1e-6, metadata={
        "unit": "W", "ge": 0,
        "help": "Output power at max_current (sets the prefactor A of the compact model)."})
    temperature: float = field(default=300.0, metadata={
        "unit": "K", "ge": 0,
        "help": "Temperature of the neuron's thermal noise (0: none)."})
    oscillation_energy: float = field(default=2e-19, metadata={
        "unit": "J", "gt": 0,
        "help": "E0: the thermal noise is eta = k_B T / E0."})

    def __post_init__(self):
        _check("natural_frequency", self.natural_frequency, lambda v: v > 0, "a positive frequency in Hz")
        _check("nonlinear_frequency_shift", self.nonlinear_frequency_shift, lambda v: v == v,
               "a finite angular frequency in rad/s")
        _check("damping", self.damping, lambda v: v > 0, "positive (Gilbert damping alpha)")
        _check("nonlinear_damping", self.nonlinear_damping, lambda v: v >= 0, "Q >= 0")
        _check("threshold_current", self.threshold_current, lambda v: v > 0, "a positive current in A")
        _check("max_current", self.max_current, lambda v: v > 0, "a positive current in A")
        if np.any(np.asarray(self.max_current) <= np.asarray(self.threshold_current)):
            raise ValueError(
                f"OscillatorParameters.max_current must exceed threshold_current "
                f"({self.threshold_current!r} A), got {self.max_current!r}")
        _check("resistance", self.resistance, lambda v: v > 0, "a positive resistance in Ohm")
        _check("tmr", self.tmr, lambda v: v > 0, "a positive magnetoresistance ratio")
        _check("beta", self.beta, lambda v: v > 0, "positive")
        _check("max_output_power", self.max_output_power, lambda v: v >= 0, "a power >= 0 in W")
        _check("temperature", self.temperature, lambda v: v >= 0, "a temperature >= 0 in K")
        _check("oscillation_energy", self.oscillation_energy, lambda v: v > 0, "a positive energy in J")

    # -- derived quantities ---------------------------------------------------------------------
    @property
    def angular_frequency(self):
        """w0 = 2 pi f0, rad/s."""
        return _scalar_or_array(2.0 * math.pi * np.asarray(self.natural_frequency, dtype=float))

    @property
    def damping_rate(self):
        """G_G = alpha w0, rad/s (linear damping rate of the amplitude)."""
        return _scalar_or_array(np.asarray(self.damping, dtype=float) * self.angular_frequency)

    @property
    def spin_torque_efficiency(self):
        """sigma = G_G / I_th, rad/(s A)."""
        return _scalar_or_array(self.damping_rate / np.asarray(self.threshold_current, dtype=float))

    @property
    def noise_ratio(self):
        """eta = k_B T / E0 (dimensionless thermal noise)."""
        return _scalar_or_array(BOLTZMANN_CONSTANT * np.asarray(self.temperature, dtype=float) / np.asarray(
            self.oscillation_energy, dtype=float))

    @property
    def power_scale(self):
        """A, the compact model's scale: output_power(max_current) == max_output_power."""
        i_max = np.asarray(self.max_current, dtype=float)
        xi = i_max / np.asarray(self.threshold_current, dtype=float)
        q = np.asarray(self.nonlinear_damping, dtype=float)
        p0 = (xi - 1.0) / (xi + q)
        k = (np.asarray(self.tmr, dtype=float) * np.asarray(self.beta, dtype=float)) ** 2
        return _scalar_or_array(np.asarray(self.max_output_power, dtype=float) / (
            p0 * k * np.asarray(self.resistance, dtype=float) * i_max ** 2))

    def replace(self, **changes) -> "OscillatorParameters":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


_DEFAULT = OscillatorParameters()


def _params(params):
    if params is None:
        return _DEFAULT
    if not isinstance(params, OscillatorParameters):
        raise TypeError(f"params must be OscillatorParameters, not {type(params).__name__}")
    return params


def normalized_current(current, params=None):
    """Supercriticality xi = I / I_th (dimensionless)."""
    params = _params(params)
    return np.asarray(current, dtype=float) / np.asarray(params.threshold_current, dtype=float)


def clamp_current(current, params=None):
    """The current clamped to [I_th, I_max], A (the compact output model's input)."""
    params = _params(params)
    return np.clip(np.asarray(current, dtype=float), params.threshold_current, params.max_current)


def _p0_of_xi(xi, q):
    return np.where(xi > 1.0, (xi - 1.0) / (xi + q), 0.0)


def steady_power(current, params=None):
    """Steady-state power p0 = (xi - 1) / (xi + Q) above threshold, 0 at or below (dimensionless).

    Examples
    --------
    >>> float(steady_power(20e-6))   # xi = 2, Q = 2
    0.25
    """
    params = _params(params)
    xi = normalized_current(current, params)
    return _p0_of_xi(xi, np.asarray(params.nonlinear_damping, dtype=float))


def frequency(current, params=None):
    """Emitted frequency f = (w0 + N p0(I)) / 2 pi, Hz (w0 / 2 pi below threshold)."""
    params = _params(params)
    p0 = steady_power(current, params)
    return (params.angular_frequency + np.asarray(params.nonlinear_frequency_shift, dtype=float) * p0) / (
        2.0 * math.pi)


def _dp0_dcurrent(current, params):
    xi = normalized_current(current, params)
    q = np.asarray(params.nonlinear_damping, dtype=float)
    return np.where(xi > 1.0, (q + 1.0) / (xi + q) ** 2, 0.0) / np.asarray(params.threshold_current, dtype=float)


def d_frequency_d_current(current, params=None):
    """df/dI, Hz/A: N (Q + 1) / ((xi + Q)^2 I_th) / 2 pi above threshold, 0 below."""
    params = _params(params)
    return np.asarray(params.nonlinear_frequency_shift, dtype=float) * _dp0_dcurrent(current, params) / (
        2.0 * math.pi)


def output_power(current, params=None):
    """Output RF power of the compact model, W: P_out = A p0(I) (TMR beta)^2 R I^2, I clamped to [I_th, I_max].

    Zero at or below threshold; ``max_output_power`` at and above ``max_current``.

    Examples
    --------
    >>> float(output_power(1.0))   # clamped to I_max: the largest output, 1 uW by default
    1e-06
    """
    params = _params(params)
    i = clamp_current(current, params)
    k = (np.asarray(params.tmr, dtype=float) * np.asarray(params.beta, dtype=float)) ** 2
    return params.power_scale * steady_power(i, params) * k * np.asarray(params.resistance, dtype=float) * i ** 2


def d_output_power_d_current(current, params=None):
    """dP_out/dI, W/A (analytic). Zero where the clamp holds the current (I < I_th or I > I_max).

    At I = I_th the right derivative is returned, at I = I_max the left one (both valid subgradients).
    """
    params = _params(params)
    i = np.asarray(current, dtype=float)
    i_th = np.asarray(params.threshold_current, dtype=float)
    i_max = np.asarray(params.max_current, dtype=float)
    inside = (i >= i_th) & (i <= i_max)
    xi = i / i_th
    q = np.asarray(params.nonlinear_damping, dtype=float)
    p0 = np.where(xi > 1.0, (xi - 1.0) / (xi + q), 0.0)
    dp0 = (q + 1.0) / (xi + q) ** 2 / i_th            # right derivative at threshold included
    k = (np.asarray(params.tmr, dtype=float) * np.asarray(params.beta, dtype=float)) ** 2
    scale = params.power_scale * k * np.asarray(params.resistance, dtype=float)
    return np.where(inside, scale * (dp0 * i ** 2 + 2.0 * p0 * i), 0.0)


class OutputTransfer:
    """The compact output model of n neurons, prepared once for repeated batches.

    ``transfer(current)`` returns :func:`output_power` and :func:`d_output_power_d_current` of
    currents (B, n) in one pass of the kernel (``backend="numpy"``: those two functions, the
    reference).

    Parameters
    ----------
    params : OscillatorParameters
        Scalars or (n,) arrays.
    n : int
        Number of neurons (the currents' last axis).

    Examples
    --------
    >>> import numpy as np
    >>> p, dp = OutputTransfer(OscillatorParameters(), 2)(np.array([[20e-6, 50e-6]]), derivative=True)
    >>> bool(np.isclose(p[0, 1], 1e-6)), float(dp[0, 1])
    (True, 0.0)
    """

    def __init__(self, params, n):
        params = _params(params)
        self.params, self.n = params, int(n)

        def per_neuron(value):
            return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=float), (self.n,)))

        k = (np.asarray(params.tmr, dtype=float) * np.asarray(params.beta, dtype=float)) ** 2
        r = np.asarray(params.resistance, dtype=float)
        self._arrays = (per_neuron(params.threshold_current), per_neuron(params.max_current),
                        per_neuron(params.nonlinear_damping), per_neuron(params.power_scale),
                        per_neuron(k), per_neuron(r), per_neuron(params.power_scale * k * r))
        self.seconds = 0.0          #: wall seconds inside the kernel

    def __call__(self, current, *, derivative=False, n_threads=1, backend="kernel"):
        """``(P_out, dP_out/dI)`` of currents (B, n), W and W/A (the derivative None unless asked)."""
        i = np.asarray(current, dtype=float)
        if i.ndim != 2 or i.shape[1] != self.n:
            raise ValueError(f"current must have shape (samples, {self.n}), got {i.shape}")
        if backend == "numpy":
            return (output_power(i, self.params),
                    d_output_power_d_current(i, self.params) if derivative else None)
        if backend != "kernel":
            raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
        import time
        from rfemu import _core
        i = np.ascontiguousarray(i)
        power = np.empty(i.shape)
        d_power = np.empty(i.shape) if derivative else power
        t0 = time.perf_counter()
        _core._output_power_transfer(i, *self._arrays, power, d_power, bool(derivative), int(n_threads))
        self.seconds += time.perf_counter() - t0
        return power, (d_power if derivative else None)


def relaxation_rate(current, params=None):
    """Rate at which a small deviation of the power relaxes, 1/s: 2 G_G |xi - 1|.

    Above threshold a deviation from p0 decays as exp(-2 G_G (xi - 1) t); below threshold the
    power itself decays as exp(-2 G_G (1 - xi) t).
    """
    params = _params(params)
    xi = normalized_current(current, params)
    return 2.0 * params.damping_rate * np.abs(xi - 1.0)


def settling_rate(current, params=None, min_fraction=0.02):
    """Rate at which a neuron's power settles to its target, 1/s: :func:`relaxation_rate` at the
    device's current (capped at ``max_current``, where the compact model holds the power), floored
    at ``min_fraction * 2 G_G``.

    At threshold the relaxation rate vanishes (critical slowing down: the linear estimate of the
    approach fails within about sqrt(eta) of it); the floor keeps a settling time finite there.
    The event engine moves a neuron's power at this rate (docs/physics.md#relaxation-rate).

    Examples
    --------
    >>> p = OscillatorParameters()
    >>> float(settling_rate(10e-6, p) / (2 * p.damping_rate))   # at threshold: the floor
    0.02
    >>> bool(settling_rate(1.0, p) == settling_rate(p.max_current, p))
    True
    """
    params = _params(params)
    device_current = np.minimum(current, params.max_current)
    floor = min_fraction * 2.0 * np.asarray(params.damping_rate)
    return np.maximum(relaxation_rate(device_current, params), floor)


def linewidth(current, params=None):
    """Half width at half maximum of the emitted line, Hz.

    Above threshold (phase diffusion, Kim, Tiberkevich and Slavin, PRL 100, 017207 (2008)):
    dw = D / (2 p0) (1 + nu^2), D = G_G (1 + Q p0) eta, nu = N p0 / (G_G (xi - 1)).
    Below threshold the thermally excited linear mode: dw = G_G (1 - xi) (its amplitude decay rate).
    Neither limit holds within about sqrt(eta) of threshold; at T = 0 the line above threshold is
    infinitely narrow (0). Returns dw / 2 pi.
    """
    params = _params(params)
    xi = normalized_current(current, params)
    g = params.damping_rate
    q = np.asarray(params.nonlinear_damping, dtype=float)
    eta = params.noise_ratio
    above = xi > 1.0
    p0 = _p0_of_xi(xi, q)
    p0_safe = np.where(above, p0, 1.0)
    gp_safe = np.where(above, g * (xi - 1.0), 1.0)
    nu = np.asarray(params.nonlinear_frequency_shift, dtype=float) * p0 / gp_safe
    diffusion = g * (1.0 + q * p0) * eta
    dw_above = diffusion / (2.0 * p0_safe) * (1.0 + nu ** 2)
    dw_below = g * (1.0 - xi)
    return np.where(above, dw_above, dw_below) / (2.0 * math.pi)


def phase_linewidth(current, params=None):
    """Half width of the line without the amplitude-phase coupling, Hz: D / (2 p0) / 2 pi above
    threshold (the (1 + nu^2) factor of :func:`linewidth` left out), the same as
    :func:`linewidth` below it.

    The factor nu^2 is the phase diffusion that power fluctuations cause through the non-linear
    frequency shift (the frequency follows the power). A model that lets the frequency follow
    the fluctuating power explicitly (the event engine with noise on) already has that part; the
    tone it emits carries only this width.
    """
    params = _params(params)
    no_shift = dataclasses.replace(params, nonlinear_frequency_shift=0.0 * np.asarray(params.nonlinear_frequency_shift))
    return linewidth(current, no_shift)


def d_linewidth_d_current(current, params=None):
    """d(linewidth)/dI, Hz/A (analytic, of :func:`linewidth`).

    Above threshold, with nu = N / (G_G (xi + Q)), the half width is
    (G_G eta / 2) [(xi + Q) / (xi - 1) + Q] (1 + nu^2); below it G_G (1 - xi).
    """
    params = _params(params)
    xi = normalized_current(current, params)
    g = params.damping_rate
    q = np.asarray(params.nonlinear_damping, dtype=float)
    n_shift = np.asarray(params.nonlinear_frequency_shift, dtype=float)
    above = xi > 1.0
    xm1 = np.where(above, xi - 1.0, 1.0)
    a = (xi + q) / xm1 + q
    da = -(1.0 + q) / xm1 ** 2
    b = 1.0 + (n_shift / (g * (xi + q))) ** 2
    db = -2.0 * n_shift ** 2 / (g ** 2 * (xi + q) ** 3)
    d_above = 0.5 * g * params.noise_ratio * (da * b + a * db)
    d_below = -g
    return np.where(above, d_above, d_below) / (
        np.asarray(params.threshold_current, dtype=float) * 2.0 * math.pi)


def emitted_tone(current, params=None, *, linewidths=True, phase_only=False):
    """Frequency and half width (Hz, Hz) of the tone a neuron emits at a drive current.

    The compact model's current, clamped to ``[I_th, I_max]`` like :func:`output_power`, sets the
    frequency (:func:`frequency`) and the half width (:func:`linewidth`). Both engines take an
    f(I) neuron's tone from here (docs/physics.md#linewidth).

    Parameters
    ----------
    current : array_like
        Drive current, A.
    params : OscillatorParameters
    linewidths : bool
        False: a pure tone (half width 0), the network's linewidths switch.
    phase_only : bool
        True: the half width without the amplitude-phase coupling (:func:`phase_linewidth`), for a
        model that lets the frequency follow the fluctuating power itself.

    Returns
    -------
    frequency, linewidth : ndarray
        Hz, of the shape of ``current``.

    Examples
    --------
    >>> f, g = emitted_tone(1.0, OscillatorParameters(temperature=0.0))   # clamped to I_max, T = 0
    >>> float(f), float(g)
    (300000000.0, 0.0)
    """
    params = _params(params)
    clamped = clamp_current(current, params)
    f = frequency(clamped, params)
    if not linewidths:
        return f, np.zeros_like(f)
    width = phase_linewidth if phase_only else linewidth
    return f, width(clamped, params)


class NeuronTarget(NamedTuple):
    """The steady state a neuron driven by a current settles to."""

    power: np.ndarray        #: output power, W (:func:`output_power`)
    frequency: np.ndarray    #: frequency of the emitted tone, Hz
    linewidth: np.ndarray    #: half width of the emitted tone, Hz


def neuron_target(current, params=None, *, follows_current=True, channel_frequency=None,
                  channel_linewidth=None, linewidths=True, phase_only=False) -> NeuronTarget:
    """Output power and tone (frequency, half width) a neuron settles to at a drive current.

    Parameters
    ----------
    current : array_like
        Drive current, A.
    params : OscillatorParameters
    follows_current : bool
        True: an f(I) neuron, its tone from :func:`emitted_tone`; False: a fixed-channel neuron,
        its tone ``channel_frequency`` and ``channel_linewidth`` whatever the current.
    channel_frequency, channel_linewidth : array_like
        Hz: the fixed channel (needed when ``follows_current`` is False).
    linewidths, phase_only : bool
        As in :func:`emitted_tone`.

    Examples
    --------
    >>> t = neuron_target(np.array([5e-6, 40e-6]), OscillatorParameters(temperature=0.0))
    >>> t.power.tolist(), t.frequency.tolist()
    ([0.0, 1e-06], [300000000.0, 300000000.0])
    """
    power = output_power(current, params)
    if follows_current:
        f, g = emitted_tone(current, params, linewidths=linewidths, phase_only=phase_only)
    else:
        if channel_frequency is None or channel_linewidth is None:
            raise ValueError("a fixed-channel neuron needs channel_frequency and channel_linewidth")
        f, g = channel_frequency, channel_linewidth
    return NeuronTarget(power, f, g)


# ---------------------------------------------------------------------------------------------
# Dynamic form
# ---------------------------------------------------------------------------------------------

def stationary_power_moments(current, params=None, grid=64):
    """Mean and variance of the thermally fluctuating normalised power ``u = p / p0``.

    The dynamic form's stationary state (the Stratonovich equation :func:`integrate` solves, with
    D(p) = eta G_G (1 + Q p)) has the density of p (docs/physics.md#oscillator-dynamics)::

        rho(p) ~ exp(Phi(p)) / sqrt(1 + Q p),
        Phi(p) = (1 / eta) [xi ((Q + 1) / Q^2 ln(1 + Q p) - p / Q) - p]

    (zero probability flux of the Fokker-Planck equation of the radial motion; the phase drops
    out). Its maximum is the static ``p0``; its width ``~ sqrt(eta (1 + Q p0)^2 / (xi (1 + Q)))``.
    A neuron whose frequency follows its power (the event engine with noise on) emits
    ``P u`` at ``f_nat + (f - f_nat) u``: this is the distribution of that ``u``. Moments by
    quadrature on ``grid`` points over +-10 widths (from 0 near threshold).

    Parameters
    ----------
    current : array_like
        A; clamped to ``[I_th, I_max]`` as the compact output model is (at or below threshold the
        device does not emit: mean 1, variance 0 returned).
    params : OscillatorParameters
    grid : int

    Returns
    -------
    mean, variance : ndarray
        Of u = p / p0, of the shape of ``current``.

    Examples
    --------
    >>> m, v = stationary_power_moments(20e-6, OscillatorParameters(temperature=0.0))
    >>> float(m), float(v)
    (1.0, 0.0)
    """
    params = _params(params)
    xi = np.asarray(normalized_current(clamp_current(current, params), params), dtype=float)
    q = np.broadcast_to(np.asarray(params.nonlinear_damping, dtype=float), xi.shape)
    eta = np.broadcast_to(np.asarray(params.noise_ratio, dtype=float), xi.shape)
    p0 = _p0_of_xi(xi, q)
    active = (p0 > 0) & (eta > 0)
    mean, var = np.ones(xi.shape), np.zeros(xi.shape)
    if not np.any(active):
        return mean, var
    x, qa, e, pa = xi[active], q[active], eta[active], p0[active]
    width = np.sqrt(e * (1.0 + qa * pa) ** 2 / (x * (1.0 + qa)))
    lo = np.maximum(pa - 10.0 * width, 0.0)
    hi = pa + 10.0 * width
    p = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, int(grid))[None, :]
    qs = qa[:, None]
    # Q -> 0 limit of the integral taken apart to stay finite
    integral = np.where(qs > 1e-9, ((qs + 1.0) / np.maximum(qs, 1e-9) ** 2 * np.log1p(qs * p)
                                    - p / np.maximum(qs, 1e-9)), p - p * p / 2.0)
    phi = (x[:, None] * integral - p) / e[:, None] - 0.5 * np.log1p(qs * p)
    w = np.exp(phi - phi.max(axis=1, keepdims=True))
    w[:, [0, -1]] *= 0.5                     # the trapezoidal rule (the density is largest at p = 0
    w /= w.sum(axis=1, keepdims=True)        # near threshold)
    u = p / pa[:, None]
    m = (w * u).sum(axis=1)
    mean[active] = m
    var[active] = (w * (u - m[:, None]) ** 2).sum(axis=1)
    return mean, var


@dataclass(frozen=True)
class OscillatorTrajectory:
    """Result of :func:`integrate`.

    Attributes
    ----------
    amplitude : ndarray of complex, shape (n_devices,)
        Final complex amplitude c(T) in the laboratory frame (p = |c|^2).
    time : ndarray, shape (n_trace,)
        Times of the trace samples, s (empty without a trace).
    power : ndarray, shape (n_devices, n_trace)
        p(t) at the trace samples.
    phase : ndarray, shape (n_devices, n_trace)
        Unwrapped phase phi(t), rad, with c = sqrt(p) exp(-i phi): dphi/dt is the instantaneous
        angular frequency (w0 + N p for a free-running device).
    """

    amplitude: np.ndarray
    time: np.ndarray
    power: np.ndarray
    phase: np.ndarray

    @property
    def final_power(self):
        """p(T) = |c(T)|^2 per device."""
        return np.abs(self.amplitude) ** 2


def _integrate_numpy(generator, omega0, shift, damping_rate, nonlinear_damping, sigma, eta,
                     current, frame_omega, drive_re, drive_im, state_re, state_im,
                     n_steps, dt, constant_diffusion, trace_every, trace_power, trace_phase,
                     n_threads=1):
    """Vectorised numpy reference of ``rfemu._core.oscillator_integrate`` (same signature and equations).

    Integrates, in the frame rotating at ``frame_omega``, with stochastic Heun (Stratonovich)::

        db/dt = [sigma I (1 - p) - G_G (1 + Q p) - i (w0 - wr + N p)] b + F + f(t)

    updating ``state_re``/``state_im`` in place and filling the traces. Its random numbers come
    from ``generator`` directly (not the kernel's per-device streams): with noise the two agree in
    distribution, without noise to rounding. ``n_threads`` is ignored.
    """
    n = omega0.shape[0]
    b = state_re + 1j * state_im
    # the step folded in, as in the kernel: r(p) dt = a0 - a1 p, (w(p) - wr) dt = b0 + b1 p,
    # D(p) dt = d0 + d1 p
    a0 = (sigma * current - damping_rate) * dt
    a1 = (sigma * current + damping_rate * nonlinear_damping) * dt
    b0 = (omega0 - frame_omega) * dt
    b1 = shift * dt
    drive_dt = (drive_re + 1j * drive_im) * dt
    d0 = eta * damping_rate * dt
    d1 = np.zeros(n) if constant_diffusion else d0 * nonlinear_damping
    noisy = bool(np.any(eta > 0))

    def increment(z):
        p = z.real ** 2 + z.imag ** 2
        return ((a0 - a1 * p) - 1j * (b0 + b1 * p)) * z + drive_dt

    tracing = trace_every > 0
    if tracing:
        prev = np.arctan2(b.imag, b.real)
        acc = prev.copy()
        trace_power[:, 0] = b.real ** 2 + b.imag ** 2
        trace_phase[:, 0] = -acc
        k = 0
        # follow arg(b) often enough that the drift relative to the frame turns it by <= 1 rad
        drift_per_step = float(np.max(np.abs(b0) + 2.0 * np.abs(b1))) if n else 0.0
        unwrap_every = trace_every
        if drift_per_step * trace_every > 1.0:
            unwrap_every = max(int(1.0 / drift_per_step), 1)
    for step in range(1, n_steps + 1):
        a = increment(b)
        if noisy:
            normals = generator.standard_normal((2, n))
            dw = normals[0] + 1j * normals[1]
            g0 = np.sqrt(d0 + d1 * (b.real ** 2 + b.imag ** 2))
            bp = b + a + g0 * dw
            g1 = 0.5 * (g0 + np.sqrt(d0 + d1 * (bp.real ** 2 + bp.imag ** 2)))
            b = b + 0.5 * (a + increment(bp)) + g1 * dw
        else:
            bp = b + a
            b = b + 0.5 * (a + increment(bp))
        if tracing and (step % unwrap_every == 0 or step % trace_every == 0):
            arg = np.arctan2(b.imag, b.real)
            delta = arg - prev
            delta = np.where(delta > math.pi, delta - 2.0 * math.pi,
                             np.where(delta < -math.pi, delta + 2.0 * math.pi, delta))
            acc += delta
            prev = arg
            if step % trace_every == 0:
                k += 1
                trace_power[:, k] = b.real ** 2 + b.imag ** 2
                trace_phase[:, k] = frame_omega * (step * dt) - acc
    state_re[:] = b.real
    state_im[:] = b.imag


def _kernel_integrate():
    from rfemu import _core
    return _core.oscillator_integrate


_BACKENDS = ("kernel", "numpy")


def integrate(params, current, duration, dt, seed=None, initial_state=None, injection=None,
              trace_every=0, n_threads=1, backend="kernel", constant_diffusion=False):
    """Integrate a batch of auto-oscillators in time (stochastic Heun, Stratonovich).

    Parameters
    ----------
    params : OscillatorParameters
        Scalar fields or per-device arrays; they broadcast with ``current`` to the batch shape
        (n_devices,). Thermal noise eta = k_B T / E0 (``temperature = 0`` switches it off).
    current : float or array
        DC drive current per device, A (no clamp: the physics at the current given).
    duration, dt : float
        Total time and step, s; ``round(duration / dt)`` steps are taken. dt must resolve
        1 / G_G, 1 / (G_G (xi + Q)) and 1 / |N| (the fast rotation w0 is removed, see Notes).
    seed : None, int, SeedSequence or numpy Generator
        The noise source (:func:`rfemu.rng.as_generator`); one 64-bit key is drawn per call.
    initial_state : complex or array of complex, optional
        c(0) per device; default the noise-free steady state sqrt(p0(I)) (0 below threshold).
    injection : (amplitude, frequency), optional
        External drive f_ext(t) = amplitude exp(-2 pi i frequency t): ``amplitude`` complex, in
        1/s (the units of dc/dt), ``frequency`` in Hz, each scalar or per device.
    trace_every : int
        Record p and the unwrapped phase every ``trace_every`` steps (and at t = 0); 0: no trace.
        The phase is followed continuously between samples (read at least as often as the
        deterministic drift relative to the frame, |w0 - wr| + 2 |N|, turns it by 1 rad).
    n_threads : int
        OpenMP threads of the kernel; the result does not depend on it.
    backend : {"kernel", "numpy"}
        The compiled kernel, or the vectorised numpy reference (same equations, its own noise).
    constant_diffusion : bool
        Use D = G_G eta instead of D = G_G (1 + Q p) eta (the constant-D limit of the analytic
        results below threshold and of the stationary distribution).

    Returns
    -------
    OscillatorTrajectory

    Notes
    -----
    Each device is integrated in a frame rotating at the injection angular frequency (at w0
    without injection), where the drive is constant and only the slow dynamics remain; the
    laboratory amplitude is c = b exp(-i wr t). The complex noise has
    <f(t) f*(t')> = 2 D delta(t - t'): real and imaginary parts each of variance D dt per step.
    The multiplicative noise (D depending on p) is read in the Stratonovich sense, as the thermal
    field of the LLG equation it comes from: compared with an Ito reading this adds a drift
    (D'(p) / 2) c = (G_G Q eta / 2) c, a shift of order eta in the mean power.
    The kernel draws its normal deviates with an inline ziggurat from each device's own
    xoshiro256** stream (keyed by one draw from ``seed``): the bits do not depend on the thread
    count; the numpy backend draws from the Generator itself.

    Examples
    --------
    >>> traj = integrate(OscillatorParameters(temperature=0.0), 20e-6, 1e-7, 1e-11)
    >>> round(float(traj.final_power[0]), 6)   # the steady state p0 = (2 - 1) / (2 + 2)
    0.25
    """
    params = _params(params)
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")
    for name, value in (("duration", duration), ("dt", dt)):
        if not (np.ndim(value) == 0 and np.isfinite(value)):
            raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if dt <= 0:
        raise ValueError(f"dt must be positive, got {dt!r}")
    if duration < 0:
        raise ValueError(f"duration must be >= 0, got {duration!r}")
    if int(trace_every) != trace_every or trace_every < 0:
        raise ValueError(f"trace_every must be an integer >= 0, got {trace_every!r}")
    if int(n_threads) != n_threads or n_threads < 1:
        raise ValueError(f"n_threads must be an integer >= 1, got {n_threads!r}")
    trace_every = int(trace_every)
    n_steps = int(round(duration / dt))
    cur = np.asarray(current, dtype=float)
    if not np.all(np.isfinite(cur)):
        raise ValueError(f"current must be finite, got {current!r}")

    omega0 = params.angular_frequency
    per_device = [omega0, params.nonlinear_frequency_shift, params.damping_rate, params.nonlinear_damping,
                  params.spin_torque_efficiency, params.noise_ratio, cur]
    fields = list(per_device)
    if injection is not None:
        try:
            inj_amplitude, inj_frequency = injection
        except (TypeError, ValueError):
            raise ValueError(f"injection must be (amplitude, frequency), got {injection!r}") from None
        inj_amplitude = np.asarray(inj_amplitude, dtype=complex)
        inj_frequency = np.asarray(inj_frequency, dtype=float)
        if not (np.all(np.isfinite(inj_amplitude)) and np.all(np.isfinite(inj_frequency))
                and np.all(inj_frequency > 0)):
            raise ValueError(f"injection must be a finite amplitude and a positive frequency in Hz, "
                             f"got {injection!r}")
        fields += [inj_amplitude, inj_frequency]
    if initial_state is not None:
        init = np.asarray(initial_state, dtype=complex)
        if not np.all(np.isfinite(init)):
            raise ValueError(f"initial_state must be finite, got {initial_state!r}")
        fields.append(init)
    try:
        shape = np.broadcast_shapes(*(np.shape(f) for f in fields))
    except ValueError:
        raise ValueError("params, current, injection and initial_state do not broadcast to one "
                         f"batch shape: {[np.shape(f) for f in fields]}") from None
    if len(shape) > 1:
        raise ValueError(f"the batch must be one-dimensional (devices), got shape {shape}")
    n = shape[0] if shape else 1

    def vec(x, dtype=float):
        """A fresh contiguous (n,) array of x."""
        if np.ndim(x) == 0:
            return np.full(n, x, dtype=dtype)
        return np.array(np.broadcast_to(np.asarray(x, dtype=dtype), (n,)), dtype=dtype, order="C")

    omega0, shift, damping_rate, nonlinear_damping, sigma, eta, cur = (vec(f) for f in per_device)
    if injection is None:
        frame = omega0.copy()
        drive = np.zeros(n, dtype=complex)
    else:
        frame = vec(2.0 * math.pi * inj_frequency)
        drive = vec(inj_amplitude, complex)
    if initial_state is None:
        xi = cur / vec(params.threshold_current)
        c0 = np.sqrt(_p0_of_xi(xi, nonlinear_damping)).astype(complex)
    else:
        c0 = vec(init, complex)
    state_re = np.array(c0.real, order="C")
    state_im = np.array(c0.imag, order="C")
    if trace_every > 0:
        n_trace = n_steps // trace_every + 1
        trace_power = np.empty((n, n_trace))
        trace_phase = np.empty((n, n_trace))
        time = np.arange(n_trace) * (trace_every * dt)
    else:
        trace_power = np.empty((0, 0))
        trace_phase = np.empty((0, 0))
        time = np.empty(0)
    run = _kernel_integrate() if backend == "kernel" else _integrate_numpy
    run(as_generator(seed), omega0, shift, damping_rate, nonlinear_damping, sigma, eta,
        cur, frame, np.array(drive.real, order="C"), np.array(drive.imag, order="C"),
        state_re, state_im, n_steps, float(dt), bool(constant_diffusion), trace_every,
        trace_power, trace_phase, int(n_threads))
    t_end = n_steps * dt
    from rfemu.devices.limits import check_oscillator     # raises limits.Divergence
    check_oscillator(state_re * state_re + state_im * state_im, trace_power, time, t_end, float(dt),
                     params, cur, c0)
    amplitude = (state_re + 1j * state_im) * np.exp(-1j * frame * t_end)
    return OscillatorTrajectory(amplitude=amplitude, time=time, power=trace_power, phase=trace_phase)
