"""Macrospin LLGS junction: the reference device (docs/physics.md#macrospin-llgs).

The free layer's unit magnetisation m obeys the Landau-Lifshitz-Gilbert-Slonczewski equation, the
explicit form of the Gilbert equation with the spin torque inside it
(docs/physics.md#spin-transfer-torque-convention):

    dm/dt = -g' [ m x H + alpha m x (m x H) ] - g' a [ m x (m x p) - alpha m x p ]
    g' = gamma mu0 / (1 + alpha^2),   a = a_J I(t),   I(t) = I_dc + I_rf cos(2 pi f t)
    H  = H_app + H_k (m.u) u - M_eff (m.z) z + beta a p + h_oe I(t) + H_th

with a thermal field of variance 2 alpha k_B T / (gamma mu0^2 M_s V dt) per component and step
(Brown; fields in A/m, gamma in rad/(s T)), integrated by the stochastic Heun scheme (one noise draw
shared by predictor and corrector, Stratonovich) with |m| = 1 restored after every step. The
junction's resistance is R(m) = R_P + (R_AP - R_P)(1 - m.p)/2 and its rectified (DC) voltage under a
drive I(t) is the time average V_dc = <I(t) R(m(t))>.

Two implementations share one signature: the compiled kernel ``rfemu._core.llgs_integrate`` and the
numpy reference :func:`integrate_numpy` (the test oracle and the benchmark baseline). Use
:func:`integrate` and :func:`rectified_voltage`, which validate their inputs.

Examples
--------
>>> from rfemu.devices import llgs
>>> p = llgs.MacrospinParameters(temperature=0.0)
>>> f = llgs.kittel_frequency(2e4, p.anisotropy_field, p.effective_magnetisation)
>>> res = llgs.integrate(p, duration=2e-9, dt=1e-13, applied_field=(2e4, 0, 0), seed=1)
>>> res.m.shape
(1, 3)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from rfemu.rng import as_generator

__all__ = [
    "GYROMAGNETIC_RATIO", "VACUUM_PERMEABILITY", "BOLTZMANN_CONSTANT",
    "MacrospinParameters", "LLGSResult", "kittel_frequency", "resonance_half_width",
    "thermal_field_density", "magnetic_energy", "resistance", "parameter_table",
    "integrate", "integrate_numpy", "rectified_voltage", "rest_direction", "spin_diode_response",
    "spin_diode_lineshape",
]

#: gamma, rad / (s T) (gamma / 2 pi = 28.025 GHz/T)
GYROMAGNETIC_RATIO = 1.760859e11
#: mu0, T m / A (the classical 4 pi 1e-7, as in the kernel)
VACUUM_PERMEABILITY = 4.0e-7 * math.pi
#: k_B, J / K
BOLTZMANN_CONSTANT = 1.380649e-23

# Columns of the per-junction parameter table (must match rfemu/_kernel/llgs.pxi).
COL_APPLIED_FIELD = 0      # 3 columns
COL_ANISOTROPY_FIELD = 3
COL_EASY_AXIS = 4          # 3 columns
COL_EFFECTIVE_MAGNETISATION = 7
COL_POLARIZER = 8          # 3 columns
COL_SPIN_TORQUE = 11
COL_FIELD_LIKE_RATIO = 12
COL_OERSTED = 13           # 3 columns
COL_DAMPING = 16
COL_THERMAL = 17
COL_DC_CURRENT = 18
COL_RF_CURRENT = 19
COL_RF_FREQUENCY = 20
COL_RESISTANCE_P = 21
COL_RESISTANCE_AP = 22
N_COLUMNS = 23


def _unit_vector(name, value):
    v = np.asarray(value, dtype=float)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or not np.any(v != 0.0):
        raise ValueError(f"{name} must be a finite, non-zero 3-vector, got {value!r}")
    return v / np.linalg.norm(v)


def _check(name, value, *, positive=False, non_negative=False):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x) or (positive and x <= 0.0) or (non_negative and x < 0.0):
        kind = "positive" if positive else ("non-negative" if non_negative else "finite")
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return x


@dataclass(frozen=True)
class MacrospinParameters:
    """One magnetic tunnel junction's free layer and stack, SI units.

    Parameters
    ----------
    saturation_magnetisation : M_s, A/m.
    volume : free-layer volume V, m^3 (default: 100 nm x 50 nm ellipse, 1.5 nm thick).
    damping : Gilbert alpha (>= 0).
    anisotropy_field : uniaxial anisotropy field H_k, A/m (negative: hard axis).
    easy_axis : anisotropy axis u (normalised).
    effective_magnetisation : M_eff, A/m, thin-film demagnetisation along z (negative: PMA).
    polarizer : reference-layer direction p (normalised); default 45 degrees in plane.
    spin_torque_per_ampere : a_J per ampere, (A/m)/A; a_J = hbar eta / (2 e mu0 M_s V).
    field_like_ratio : beta, the field-like torque is the field beta a_J I p.
    oersted_field_per_ampere : Oersted field of the current, (A/m)/A, 3-vector.
    resistance_parallel, resistance_antiparallel : R_P, R_AP, Ohm.
    temperature : T, K.
    """

    saturation_magnetisation: float = field(default=1.0e6, metadata={
        "unit": "A/m", "gt": 0,
        "help": "M_s of the free layer."})
    volume: float = field(default=math.pi / 4 * 100e-9 * 50e-9 * 1.5e-9, metadata={
        "unit": "m^3", "gt": 0,
        "help": "Free-layer volume V (default: 100 nm x 50 nm ellipse, 1.5 nm thick)."})
    damping: float = field(default=0.01, metadata={
        "unit": "", "ge": 0,
        "help": "Gilbert damping alpha."})
    anisotropy_field: float = field(default=2.0e4, metadata={
        "unit": "A/m",
        "help": "Uniaxial anisotropy field H_k (negative: hard axis)."})
    easy_axis: tuple = field(default=(1.0, 0.0, 0.0), metadata={
        "unit": "", "length": 3,
        "help": "Anisotropy axis u (a unit vector)."})
    effective_magnetisation: float = field(default=8.0e5, metadata={
        "unit": "A/m",
        "help": "M_eff: thin-film demagnetisation along z (negative: PMA)."})
    polarizer: tuple = field(default=(math.sqrt(0.5), math.sqrt(0.5), 0.0), metadata={
        "unit": "", "length": 3,
        "help": "Reference-layer direction p (a unit vector; default 45 degrees in plane)."})
    spin_torque_per_ampere: float = field(default=2.0e7, metadata={
        "unit": "1/m",
        "help": "a_J per ampere, (A/m)/A: a_J = hbar eta / (2 e mu0 M_s V)."})
    field_like_ratio: float = field(default=0.0, metadata={
        "unit": "",
        "help": "beta: the field-like torque is the field beta a_J I p."})
    oersted_field_per_ampere: tuple = field(default=(0.0, 0.0, 0.0), metadata={
        "unit": "1/m", "length": 3,
        "help": "Oersted field of the current per ampere, (A/m)/A, a 3-vector."})
    resistance_parallel: float = field(default=1.0e3, metadata={
        "unit": "Ohm", "gt": 0,
        "help": "R_P: resistance with the free layer parallel to the polarizer."})
    resistance_antiparallel: float = field(default=2.0e3, metadata={
        "unit": "Ohm", "gt": 0,
        "help": "R_AP: resistance with the free layer antiparallel."})
    temperature: float = field(default=300.0, metadata={
        "unit": "K", "ge": 0,
        "help": "Temperature of the thermal field."})

    def __post_init__(self):
        _check("saturation_magnetisation", self.saturation_magnetisation, positive=True)
        _check("volume", self.volume, positive=True)
        _check("damping", self.damping, non_negative=True)
        _check("anisotropy_field", self.anisotropy_field)
        _unit_vector("easy_axis", self.easy_axis)
        _check("effective_magnetisation", self.effective_magnetisation)
        _unit_vector("polarizer", self.polarizer)
        _check("spin_torque_per_ampere", self.spin_torque_per_ampere)
        _check("field_like_ratio", self.field_like_ratio)
        oe = np.asarray(self.oersted_field_per_ampere, dtype=float)
        if oe.shape != (3,) or not np.all(np.isfinite(oe)):
            raise ValueError(f"oersted_field_per_ampere must be a finite 3-vector, "
                             f"got {self.oersted_field_per_ampere!r}")
        _check("resistance_parallel", self.resistance_parallel, positive=True)
        _check("resistance_antiparallel", self.resistance_antiparallel, positive=True)
        _check("temperature", self.temperature, non_negative=True)


@dataclass
class LLGSResult:
    """Result of :func:`integrate`.

    Attributes
    ----------
    m : (N, 3) final unit magnetisation.
    trace : (N, K, 3) magnetisation every ``trace_every`` steps (K = n_steps // trace_every + 1,
        first sample the initial state), or None.
    trace_times : (K,) times of the trace samples, s, or None.
    rectified_voltage : (N,) V_dc = <I R(m)> over the time after ``settle_time``, V.
    dt : the time step used, s.
    n_steps : steps taken.
    """

    m: np.ndarray
    trace: Optional[np.ndarray]
    trace_times: Optional[np.ndarray]
    rectified_voltage: np.ndarray
    dt: float
    n_steps: int


def kittel_frequency(applied_field, anisotropy_field, effective_magnetisation):
    """Uniform-mode (FMR) frequency of an in-plane layer, field along the easy axis, Hz.

    f = (gamma mu0 / 2 pi) sqrt((H + H_k)(H + H_k + M_eff)).

    Examples
    --------
    >>> round(float(kittel_frequency(2e4, 2e4, 8e5)) / 1e9, 3)
    6.455
    """
    h = np.asarray(applied_field, dtype=float) + np.asarray(anisotropy_field, dtype=float)
    return GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY / (2 * math.pi) * np.sqrt(
        h * (h + np.asarray(effective_magnetisation, dtype=float)))


def resonance_half_width(applied_field, anisotropy_field, effective_magnetisation, damping):
    """Half width at half maximum of the in-plane FMR line, Hz.

    D = alpha (gamma mu0 / 2 pi) (H + H_k + M_eff / 2).
    """
    return np.asarray(damping, dtype=float) * GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY / (2 * math.pi) * (
        np.asarray(applied_field, dtype=float) + np.asarray(anisotropy_field, dtype=float)
        + 0.5 * np.asarray(effective_magnetisation, dtype=float))


def thermal_field_density(parameters: MacrospinParameters) -> float:
    """sigma = sqrt(2 alpha k_B T / (gamma mu0^2 M_s V)), A/m sqrt(s); per step std = sigma / sqrt(dt)."""
    p = parameters
    return math.sqrt(2.0 * p.damping * BOLTZMANN_CONSTANT * p.temperature
                     / (GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY ** 2
                        * p.saturation_magnetisation * p.volume))


def magnetic_energy(m, parameters: MacrospinParameters, applied_field=(0.0, 0.0, 0.0)):
    """Free-layer energy, J: -mu0 M_s V [ H.m + H_k (m.u)^2 / 2 - M_eff m_z^2 / 2 ]. ``m`` is (..., 3)."""
    p = parameters
    m = np.asarray(m, dtype=float)
    u = _unit_vector("easy_axis", p.easy_axis)
    h = np.asarray(applied_field, dtype=float)
    mu = m @ u
    return -VACUUM_PERMEABILITY * p.saturation_magnetisation * p.volume * (
        m @ h + 0.5 * p.anisotropy_field * mu ** 2 - 0.5 * p.effective_magnetisation * m[..., 2] ** 2)


def resistance(m, parameters: MacrospinParameters):
    """R(m) = R_P + (R_AP - R_P)(1 - m.p)/2, Ohm. ``m`` is (..., 3)."""
    p = parameters
    mp = np.asarray(m, dtype=float) @ _unit_vector("polarizer", p.polarizer)
    return p.resistance_parallel + 0.5 * (p.resistance_antiparallel - p.resistance_parallel) * (1.0 - mp)


def _as_parameter_list(parameters):
    if isinstance(parameters, MacrospinParameters):
        return [parameters]
    plist = list(parameters)
    if not plist or not all(isinstance(p, MacrospinParameters) for p in plist):
        raise ValueError(f"parameters must be a MacrospinParameters or a non-empty sequence of them, "
                         f"got {parameters!r}")
    return plist


def _per_device(name, value, n, *, vector=False, non_negative=False):
    a = np.asarray(value, dtype=float)
    shape = (n, 3) if vector else (n,)
    try:
        a = np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"{name} must broadcast to shape {shape}, got shape {a.shape}") from None
    if not np.all(np.isfinite(a)) or (non_negative and np.any(a < 0)):
        bad = a[~np.isfinite(a) | ((a < 0) if non_negative else False)]
        kind = "finite and non-negative" if non_negative else "finite"
        raise ValueError(f"{name} must be {kind}, got {bad.ravel()[0]!r}")
    return a


def parameter_table(parameters, *, applied_field=(0.0, 0.0, 0.0), dc_current=0.0, rf_current=0.0,
                    rf_frequency=0.0, n_devices=None):
    """Build the (N, 23) per-junction table the kernel reads (columns ``COL_*``).

    ``parameters`` is one MacrospinParameters (shared) or one per junction; the drive arguments
    broadcast to N junctions (N from ``n_devices``, the parameter list or the drive arrays).
    """
    plist = _as_parameter_list(parameters)
    shapes = [np.shape(applied_field)[:-1] if np.ndim(applied_field) > 1 else (),
              np.shape(dc_current), np.shape(rf_current), np.shape(rf_frequency)]
    n = n_devices
    if n is None:
        sizes = [len(plist)] + [int(np.prod(s)) for s in shapes if s != ()]
        n = max(sizes)
    if len(plist) not in (1, n):
        raise ValueError(f"parameters must hold 1 or {n} entries, got {len(plist)}")
    tab = np.empty((n, N_COLUMNS), dtype=np.float64)
    rows = []
    for p in plist:
        rows.append(np.concatenate([
            [0.0, 0.0, 0.0, p.anisotropy_field], _unit_vector("easy_axis", p.easy_axis),
            [p.effective_magnetisation], _unit_vector("polarizer", p.polarizer),
            [p.spin_torque_per_ampere, p.field_like_ratio],
            np.asarray(p.oersted_field_per_ampere, dtype=float),
            [p.damping, thermal_field_density(p), 0.0, 0.0, 0.0,
             p.resistance_parallel, p.resistance_antiparallel]]))
    tab[:] = np.asarray(rows)
    tab[:, COL_APPLIED_FIELD:COL_APPLIED_FIELD + 3] = _per_device("applied_field", applied_field, n, vector=True)
    tab[:, COL_DC_CURRENT] = _per_device("dc_current", dc_current, n)
    tab[:, COL_RF_CURRENT] = _per_device("rf_current", rf_current, n)
    tab[:, COL_RF_FREQUENCY] = _per_device("rf_frequency", rf_frequency, n, non_negative=True)
    return tab


def _cross(a, b):
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


class _Columns:
    """The parameter table's columns as (N,) or (3, N) arrays, for the numpy reference."""

    def __init__(self, params):
        col = np.asarray(params, dtype=float).T
        self.alpha = col[COL_DAMPING]
        self.gp = GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY / (1.0 + self.alpha ** 2)
        self.h_app = col[COL_APPLIED_FIELD:COL_APPLIED_FIELD + 3]
        self.u = col[COL_EASY_AXIS:COL_EASY_AXIS + 3]
        self.p = col[COL_POLARIZER:COL_POLARIZER + 3]
        self.oe = col[COL_OERSTED:COL_OERSTED + 3]
        self.hk, self.meff = col[COL_ANISOTROPY_FIELD], col[COL_EFFECTIVE_MAGNETISATION]
        self.aj, self.beta = col[COL_SPIN_TORQUE], col[COL_FIELD_LIKE_RATIO]
        self.thermal = col[COL_THERMAL]
        self.idc, self.irf = col[COL_DC_CURRENT], col[COL_RF_CURRENT]
        self.w = 2 * math.pi * col[COL_RF_FREQUENCY]
        self.rp, self.rap = col[COL_RESISTANCE_P], col[COL_RESISTANCE_AP]


_ZHAT = np.array([0.0, 0.0, 1.0])[:, None]


def _rhs(m, current, h_th, c):
    """dm/dt of the LLGS equation (textbook form), m (3, N), current (N,), h_th (3, N)."""
    a = c.aj * current
    h = (c.h_app + c.hk * np.sum(m * c.u, axis=0) * c.u - c.meff * m[2] * _ZHAT
         + c.beta * a * c.p + c.oe * current + h_th)
    mxh = _cross(m, h)
    mxp = _cross(m, c.p)
    return -c.gp * (mxh + c.alpha * _cross(m, mxh)) - c.gp * a * (_cross(m, mxp) - c.alpha * mxp)


def integrate_numpy(params, m0, dt, n_steps, n_settle, trace_every, generator, n_threads=1):
    """Numpy reference of ``rfemu._core.llgs_integrate`` (same signature, same equations).

    Written in the textbook form of the LLGS equation (module docstring), vectorised over
    junctions; the thermal field comes from ``generator.standard_normal`` (so with T > 0 it is
    statistically, not bitwise, equal to the kernel). ``n_threads`` is ignored.
    Returns (m (N, 3), trace (N, K, 3) or None, v_dc (N,)).
    """
    params = np.asarray(params, dtype=float)
    n = params.shape[0]
    c = _Columns(params)
    sigma = c.thermal / math.sqrt(dt)
    noisy = bool(np.any(sigma > 0))
    idc, irf, w, p = c.idc, c.irf, c.w, c.p
    rp, rap = c.rp, c.rap

    def rhs(m, current, h_th):
        return _rhs(m, current, h_th, c)

    m = np.array(np.asarray(m0, dtype=float).T)
    trace = None
    if trace_every > 0:
        trace = np.empty((n, n_steps // trace_every + 1, 3))
        trace[:, 0] = m.T
    sum_i = np.zeros(n)
    sum_r = np.zeros(n)
    sum_ir = np.zeros(n)
    h_th = np.zeros((3, n))
    for k in range(n_steps):
        i0 = idc + irf * np.cos(w * (k * dt))
        i1 = idc + irf * np.cos(w * ((k + 1) * dt))
        if k >= n_settle:
            r = rp + 0.5 * (rap - rp) * (1.0 - np.sum(m * p, axis=0))
            sum_i += i0
            sum_r += r
            sum_ir += i0 * r
        if noisy:
            h_th = sigma * generator.standard_normal((3, n))
        k1 = rhs(m, i0, h_th) * dt
        k2 = rhs(m + k1, i1, h_th) * dt
        m = m + 0.5 * (k1 + k2)
        m /= np.sqrt(np.sum(m * m, axis=0))
        if trace is not None and (k + 1) % trace_every == 0:
            trace[:, (k + 1) // trace_every] = m.T
    if n_steps > n_settle:
        inv = 1.0 / (n_steps - n_settle)
        v = sum_ir * inv - (sum_i * inv - idc) * (sum_r * inv)
    else:
        v = np.zeros(n)
    return np.ascontiguousarray(m.T), trace, v


def _kernel():
    from rfemu import _core
    return _core.llgs_integrate


def integrate(parameters, duration, dt=1e-13, *, initial_m=None, applied_field=(0.0, 0.0, 0.0),
              dc_current=0.0, rf_current=0.0, rf_frequency=0.0, settle_time=0.0, trace_every=0,
              seed=None, n_threads=1, n_devices=None, backend="kernel") -> LLGSResult:
    """Integrate N macrospin junctions in one batched call.

    Parameters
    ----------
    parameters : MacrospinParameters, or a sequence of them (one per junction).
    duration : time integrated, s (n_steps = round(duration / dt)).
    dt : time step, s.
    initial_m : (3,) or (N, 3) initial direction (normalised); default each junction's easy axis.
    applied_field : (3,) or (N, 3) applied field H_app, A/m.
    dc_current, rf_current, rf_frequency : scalar or (N,): I(t) = I_dc + I_rf cos(2 pi f t), A, Hz.
    settle_time : time skipped before the rectified voltage is averaged, s (< duration).
    trace_every : keep m every this many steps (0: no trace).
    seed : None, int, SeedSequence or Generator (thermal noise; one draw per call).
    n_threads : OpenMP threads over junctions; results are bit-identical for any value.
    n_devices : N when nothing else sets it.
    backend : "kernel" (compiled) or "numpy" (reference).

    Returns
    -------
    LLGSResult

    Examples
    --------
    >>> p = MacrospinParameters(temperature=0.0)
    >>> r = integrate(p, 1e-9, 1e-13, applied_field=(1e4, 0, 0), initial_m=(1, 0.1, 0))
    >>> bool(abs(np.linalg.norm(r.m) - 1) < 1e-12)
    True
    """
    duration = _check("duration", duration, positive=True)
    dt = _check("dt", dt, positive=True)
    settle_time = _check("settle_time", settle_time, non_negative=True)
    if settle_time >= duration:
        raise ValueError(f"settle_time must be shorter than duration ({duration!r} s), got {settle_time!r}")
    n_steps = int(round(duration / dt))
    if n_steps < 1:
        raise ValueError(f"dt must not exceed duration ({duration!r} s), got {dt!r}")
    n_settle = int(round(settle_time / dt))
    if isinstance(trace_every, bool) or int(trace_every) != trace_every or trace_every < 0:
        raise ValueError(f"trace_every must be a non-negative integer, got {trace_every!r}")
    trace_every = int(trace_every)
    if isinstance(n_threads, bool) or int(n_threads) != n_threads or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    if backend not in ("kernel", "numpy"):
        raise ValueError(f"backend must be 'kernel' or 'numpy', got {backend!r}")
    if n_devices is not None and (int(n_devices) != n_devices or n_devices < 1):
        raise ValueError(f"n_devices must be a positive integer, got {n_devices!r}")
    if n_devices is None and initial_m is not None and np.ndim(initial_m) == 2:
        n_devices = np.shape(initial_m)[0]
    tab = parameter_table(parameters, applied_field=applied_field, dc_current=dc_current,
                          rf_current=rf_current, rf_frequency=rf_frequency, n_devices=n_devices)
    n = tab.shape[0]
    if initial_m is None:
        m0 = np.array(tab[:, COL_EASY_AXIS:COL_EASY_AXIS + 3])
    else:
        m0 = np.asarray(initial_m, dtype=float)
        try:
            m0 = np.array(np.broadcast_to(m0, (n, 3)))
        except ValueError:
            raise ValueError(f"initial_m must broadcast to shape ({n}, 3), got shape {m0.shape}") from None
        norm = np.linalg.norm(m0, axis=1)
        if not np.all(np.isfinite(norm)) or np.any(norm == 0):
            raise ValueError(f"initial_m must be finite and non-zero, got {initial_m!r}")
        m0 /= norm[:, None]
    m0 = np.ascontiguousarray(m0)
    gen = as_generator(seed)
    fn = _kernel() if backend == "kernel" else integrate_numpy
    m, trace, v = fn(tab, m0, dt, n_steps, n_settle, trace_every, gen, int(n_threads))
    from rfemu.devices.limits import check_macrospin      # raises limits.Divergence
    check_macrospin(tab, m, v, trace, trace_every, dt, n_steps)
    times = None if trace is None else np.arange(trace.shape[1]) * (trace_every * dt)
    return LLGSResult(m=m, trace=trace, trace_times=times, rectified_voltage=v, dt=dt, n_steps=n_steps)


def rectified_voltage(parameters, rf_frequency, rf_current, duration, dt=1e-13, *, settle_time=None,
                      applied_field=(0.0, 0.0, 0.0), dc_current=0.0, initial_m=None, seed=None,
                      n_threads=1, backend="kernel"):
    """Spin-diode DC voltage V_dc = <I R(m)> for each drive, all in one batched call, V.

    A frequency sweep is one junction per frequency: ``rf_frequency`` (and/or ``rf_current``) as
    arrays. ``settle_time`` defaults to half the ``duration``.

    Examples
    --------
    >>> p = MacrospinParameters(temperature=0.0)
    >>> f = np.linspace(5e9, 8e9, 4)
    >>> v = rectified_voltage(p, f, 1e-4, 2e-9, applied_field=(2e4, 0, 0))
    >>> v.shape
    (4,)
    """
    duration = _check("duration", duration, positive=True)
    if settle_time is None:
        settle_time = 0.5 * duration
    res = integrate(parameters, duration, dt, initial_m=initial_m, applied_field=applied_field,
                    dc_current=dc_current, rf_current=rf_current, rf_frequency=rf_frequency,
                    settle_time=settle_time, seed=seed, n_threads=n_threads, backend=backend)
    return res.rectified_voltage


# ---------------------------------------------------------------------------------------------
# Static (small-signal) form of the spin diode


def rest_direction(parameters: MacrospinParameters, applied_field=(0.0, 0.0, 0.0), initial_m=None):
    """The free layer's rest direction (no current, T = 0), found by relaxing the LLG equation.

    Starts from ``initial_m`` (default: the easy axis) and integrates with the damping raised to 1
    until the torque vanishes (|dm/dt| / (gamma mu0 H_scale) < 1e-12). Returns a unit 3-vector.
    """
    p = parameters
    h = np.asarray(applied_field, dtype=float)
    scale = float(np.linalg.norm(h) + abs(p.anisotropy_field) + abs(p.effective_magnetisation)) or 1.0
    relax = MacrospinParameters(**{**p.__dict__, "damping": 1.0, "temperature": 0.0})
    dt = 0.02 / (GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY * scale)
    m = _unit_vector("initial_m", p.easy_axis if initial_m is None else initial_m)
    c = _Columns(parameter_table(relax, applied_field=h))
    for _ in range(100):
        m = integrate(relax, 5000 * dt, dt, initial_m=m, applied_field=h).m[0]
        torque = np.linalg.norm(_rhs(m[:, None], 0.0, 0.0, c))
        if torque < 1e-12 * GYROMAGNETIC_RATIO * VACUUM_PERMEABILITY * scale:
            break
    return m


def _linearised(parameters, applied_field, rest_m):
    """Tangent-plane linearisation at rest: (A (2, 2), b (2,), p_e (2,), R0)."""
    p = parameters
    m0 = rest_direction(p, applied_field) if rest_m is None else _unit_vector("rest_m", rest_m)
    c = _Columns(parameter_table(p, applied_field=applied_field))
    e1 = np.cross(m0, [0.0, 0.0, 1.0])
    if np.linalg.norm(e1) < 1e-6:
        e1 = np.cross(m0, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(m0, e1)
    basis = np.stack([e1, e2])
    eps = 1e-6

    def f(m, current):
        return _rhs(np.asarray(m, dtype=float)[:, None], current, 0.0, c)[:, 0]

    A = np.empty((2, 2))
    for j in range(2):
        A[:, j] = basis @ (f(m0 + eps * basis[j], 0.0) - f(m0 - eps * basis[j], 0.0)) / (2 * eps)
    b = basis @ (f(m0, 1.0) - f(m0, 0.0))        # dm/dt is affine in the current
    pol = _unit_vector("polarizer", p.polarizer)
    r0 = float(resistance(m0, p))
    return A, b, basis @ pol, r0


def spin_diode_response(parameters: MacrospinParameters, rf_frequency, applied_field=(0.0, 0.0, 0.0),
                        rest_m=None):
    """Small-signal rectification G(f) = V_dc / P, V/W, with P = I_rf^2 R(m_rest) / 2.

    Linear response of the LLGS equation about the rest direction (tangent plane, 2 x 2):
    delta = Re[(i w - A)^-1 b I_rf e^{i w t}],  V_dc = -(R_AP - R_P)/4 I_rf^2 Re[p_t . (i w - A)^-1 b],
    exact to second order in I_rf (no DC current).
    """
    A, b, pt, r0 = _linearised(parameters, applied_field, rest_m)
    p = parameters
    f = np.asarray(rf_frequency, dtype=float)
    w = 2 * np.pi * f.ravel()
    eye = np.eye(2)
    resp = np.array([pt @ np.linalg.solve(1j * wk * eye - A, b) for wk in w])
    g = -(p.resistance_antiparallel - p.resistance_parallel) / (2 * r0) * resp.real
    return g.reshape(f.shape)


def spin_diode_lineshape(parameters: MacrospinParameters, applied_field=(0.0, 0.0, 0.0), rest_m=None):
    """The resonant pole of :func:`spin_diode_response` in the static synapse's terms.

    Near resonance G(f) = K D [2 a d + s D] / (d^2 + D^2), d = f - f_r, which is
    ``rfemu.devices.resonator.rectified_voltage(f, P, f_r, D, K, a, s) / P``. With the pole
    lambda = -2 pi D + 2 pi i f_r of A, its residue C (G = Re[C / (d - i D)] near f_r) gives
    K a = Re C / (2 D) and K s = -Im C / D; K > 0 is the larger of |K a|, |K s| (so the larger
    weight is +-1). f_r is the Kittel frequency and D = alpha (gamma mu0 / 2 pi)(H + H_k + M_eff/2)
    up to O(alpha^2) for an in-plane layer with the field along its easy axis.

    Returns
    -------
    dict with resonance_frequency (Hz), half_width (Hz), sensitivity (V/W), antisymmetric, symmetric.
    """
    A, b, pt, r0 = _linearised(parameters, applied_field, rest_m)
    p = parameters
    lam, vec = np.linalg.eig(A)
    k = int(np.argmax(lam.imag))
    inv = np.linalg.inv(vec)
    residue = (pt @ vec[:, k]) * (inv[k] @ b)
    C = -(p.resistance_antiparallel - p.resistance_parallel) / (2 * r0) * residue / (2j * np.pi)
    f_r, half = lam[k].imag / (2 * np.pi), -lam[k].real / (2 * np.pi)
    ka, ks = C.real / (2 * half), -C.imag / half
    k_sens = max(abs(ka), abs(ks))
    return {"resonance_frequency": f_r, "half_width": half, "sensitivity": k_sens,
            "antisymmetric": ka / k_sens, "symmetric": ks / k_sens}
