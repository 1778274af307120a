"""The spin-transfer torque convention of rfemu's LLGS (docs/physics.md#spin-transfer-torque-convention).

rfemu puts the Slonczewski torque inside the Gilbert equation,

    dm/dt = -g0 m x H + alpha m x dm/dt - g0 a m x (m x p),      g0 = gamma mu0,

whose explicit (Landau-Lifshitz) form carries a term + g' alpha a m x p. A solver written directly
in explicit form with only a damping-like torque,

    dm/dt = -g' [m x H + alpha m x (m x H)] - g' a_LL m x (m x p),   g' = g0 / (1 + alpha^2),

is the same model only when rfemu is given field_like_ratio = alpha and
spin_torque_per_ampere = a_LL / (1 + alpha^2). Both models are written out here in numpy with
their own integrator (classical RK4, not rfemu's stochastic Heun) and compared with rfemu's kernel:
agreement with the mapped parameters, disagreement with the plain ones, and the sign of the
antisymmetric part of the spin-diode line under spin-torque drive flips between the two.
"""
import dataclasses
import functools
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from rfemu.devices import llgs

ALPHA = 0.05                      # large damping: broad line, short transients, a cheap test
A_EXPLICIT = 2.0e7                # the explicit-form solver's damping-like torque, (A/m)/A
APPLIED_FIELD = np.array([2.0e4, 0.0, 0.0])
DT = 2.0e-12                      # RK4 step: 2 pi f dt < 0.1 up to 8 GHz
DC_CURRENT, DC_DURATION = 2.0e-3, 1.0e-9
RF_CURRENT, SETTLE, DURATION = 50e-6, 1.5e-9, 3.5e-9
TILT = 0.3                        # rad, initial in-plane angle of the DC trajectory
FIELD_LIKE = 0.3                  # b_LL / a_LL of the explicit-form solver in the general mapping

BASE = llgs.MacrospinParameters(temperature=0.0, damping=ALPHA)
PLAIN = dataclasses.replace(BASE, spin_torque_per_ampere=A_EXPLICIT, field_like_ratio=0.0)
MAPPED = dataclasses.replace(BASE, spin_torque_per_ampere=A_EXPLICIT / (1.0 + ALPHA ** 2),
                             field_like_ratio=ALPHA)
GAMMA_MU0 = 1.760859e11 * 4.0e-7 * math.pi      # written out: the test does not borrow rfemu's constants


def _effective_field(m):
    """H = H_app + H_k (m.u) u - M_eff m_z z for m (3, N), A/m."""
    u = np.asarray(BASE.easy_axis, dtype=float)[:, None]
    h = APPLIED_FIELD[:, None] + BASE.anisotropy_field * np.sum(m * u, axis=0) * u
    h[2] -= BASE.effective_magnetisation * m[2]
    return h


def _polarizer():
    p = np.asarray(BASE.polarizer, dtype=float)
    return (p / np.linalg.norm(p))[:, None]


def explicit_form_rate(m, current, field_like=0.0):
    """dm/dt of the explicit-form LLGS, m (3, N), current (N,): the damping-like torque
    -g' a_LL I m x (m x p) and a field-like torque -g' b_LL I m x p with b_LL = field_like * a_LL
    (no alpha m x p term of its own)."""
    g = GAMMA_MU0 / (1.0 + ALPHA ** 2)
    mxh = np.cross(m, _effective_field(m), axis=0)
    mxp = np.cross(m, np.broadcast_to(_polarizer(), m.shape), axis=0)
    torque = A_EXPLICIT * current * (np.cross(m, mxp, axis=0) + field_like * mxp)
    return -g * (mxh + ALPHA * np.cross(m, mxh, axis=0)) - g * torque


def gilbert_form_rate(m, current):
    """dm/dt of the Gilbert equation with the torque inside, solved as the 3 x 3 linear system
    (1 - alpha [m x]) dm/dt = -g0 m x H - g0 a m x (m x p), for m (3, N), current (N,)."""
    a = PLAIN.spin_torque_per_ampere * current
    mxp = np.cross(m, np.broadcast_to(_polarizer(), m.shape), axis=0)
    right = -GAMMA_MU0 * (np.cross(m, _effective_field(m), axis=0) + a * np.cross(m, mxp, axis=0))
    mx, my, mz = m
    zero = np.zeros_like(mx)
    cross_m = np.array([[zero, -mz, my], [mz, zero, -mx], [-my, mx, zero]])     # [m x] v = m x v
    lhs = np.eye(3)[:, :, None] - ALPHA * cross_m
    return np.linalg.solve(lhs.transpose(2, 0, 1), right.T[:, :, None])[:, :, 0].T


def rk4(rate, m0, current, n_steps, n_settle=None):
    """Classical RK4 with |m| = 1 restored after each step; with ``n_settle`` also the rectified
    voltage <I R(m)> - <I><R> over the steps after it (the resistance of the junction's stack)."""
    m = np.array(m0, dtype=float)
    p = _polarizer()
    dr = BASE.resistance_antiparallel - BASE.resistance_parallel
    sum_i = sum_r = sum_ir = 0.0
    for k in range(n_steps):
        t = k * DT
        i0, i_half, i1 = current(t), current(t + 0.5 * DT), current(t + DT)
        if n_settle is not None and k >= n_settle:
            r = BASE.resistance_parallel + 0.5 * dr * (1.0 - np.sum(m * p, axis=0))
            sum_i, sum_r, sum_ir = sum_i + i0, sum_r + r, sum_ir + i0 * r
        k1 = rate(m, i0)
        k2 = rate(m + 0.5 * DT * k1, i_half)
        k3 = rate(m + 0.5 * DT * k2, i_half)
        k4 = rate(m + DT * k3, i1)
        m = m + DT / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        m /= np.linalg.norm(m, axis=0)
    if n_settle is None:
        return m, None
    n = n_steps - n_settle
    return m, sum_ir / n - (sum_i / n) * (sum_r / n)


def lorentzian(f, f0, half_width, symmetric, antisymmetric):
    d = f - f0
    return (symmetric * half_width ** 2 + antisymmetric * 2.0 * half_width * d) / (d * d + half_width ** 2)


@pytest.fixture(scope="module")
def dc_trajectories():
    m0 = np.array([math.cos(TILT), math.sin(TILT), 0.0])
    n = int(round(DC_DURATION / DT))
    explicit, _ = rk4(explicit_form_rate, m0[:, None], lambda t: np.array([DC_CURRENT]), n)
    gilbert, _ = rk4(gilbert_form_rate, m0[:, None], lambda t: np.array([DC_CURRENT]), n)
    field_like, _ = rk4(functools.partial(explicit_form_rate, field_like=FIELD_LIKE), m0[:, None],
                        lambda t: np.array([DC_CURRENT]), n)
    # docs/physics.md#spin-transfer-torque-convention: a = (a_LL - alpha b_LL) / (1 + alpha^2), beta = alpha + b_LL / a
    a_general = A_EXPLICIT * (1.0 - ALPHA * FIELD_LIKE) / (1.0 + ALPHA ** 2)
    general = dataclasses.replace(BASE, spin_torque_per_ampere=a_general,
                                  field_like_ratio=ALPHA + FIELD_LIKE * A_EXPLICIT / a_general)
    rfemu = {name: llgs.integrate(q, DC_DURATION, DT / 20, initial_m=m0, applied_field=APPLIED_FIELD,
                                  dc_current=DC_CURRENT).m[0]
             for name, q in (("plain", PLAIN), ("mapped", MAPPED), ("general", general))}
    return explicit[:, 0], gilbert[:, 0], rfemu, field_like[:, 0]


@pytest.fixture(scope="module")
def sweeps():
    f_kittel = llgs.kittel_frequency(APPLIED_FIELD[0], BASE.anisotropy_field, BASE.effective_magnetisation)
    half = llgs.resonance_half_width(APPLIED_FIELD[0], BASE.anisotropy_field,
                                     BASE.effective_magnetisation, ALPHA)
    f = f_kittel + half * np.linspace(-5.0, 5.0, 31)
    omega = 2.0 * math.pi * f
    rest = np.repeat(np.array([[1.0], [0.0], [0.0]]), f.size, axis=1)   # field and easy axis along x
    _, v_explicit = rk4(explicit_form_rate, rest, lambda t: RF_CURRENT * np.cos(omega * t),
                        int(round(DURATION / DT)), int(round(SETTLE / DT)))
    v = {name: llgs.rectified_voltage(q, f, RF_CURRENT, DURATION, DT / 20, settle_time=SETTLE,
                                      applied_field=APPLIED_FIELD)
         for name, q in (("plain", PLAIN), ("mapped", MAPPED))}
    v["explicit"] = v_explicit
    return f, f_kittel, half, v


def test_rfemu_is_the_gilbert_form_with_the_torque_inside(dc_trajectories):
    _, gilbert, rfemu, _ = dc_trajectories
    assert np.max(np.abs(rfemu["plain"] - gilbert)) < 1e-6, (rfemu["plain"], gilbert)


def test_explicit_form_agrees_only_with_field_like_ratio_alpha_and_rescaled_torque(dc_trajectories):
    explicit, _, rfemu, _ = dc_trajectories
    assert np.max(np.abs(rfemu["mapped"] - explicit)) < 1e-6, (rfemu["mapped"], explicit)
    # the alpha m x p term rfemu carries with the plain settings turns m by about a hundredth
    assert np.max(np.abs(rfemu["plain"] - explicit)) > 1e-2, (rfemu["plain"], explicit)


def test_general_mapping_with_a_field_like_torque(dc_trajectories):
    explicit, _, rfemu, field_like = dc_trajectories
    assert np.max(np.abs(rfemu["general"] - field_like)) < 1e-6, (rfemu["general"], field_like)
    assert np.max(np.abs(field_like - explicit)) > 1e-2       # the field-like torque does matter


def test_spin_diode_sweep_agrees_only_with_the_mapped_parameters(sweeps):
    _, _, _, v = sweeps
    peak = np.max(np.abs(v["explicit"]))
    mapped = np.max(np.abs(v["mapped"] - v["explicit"])) / peak
    plain = np.max(np.abs(v["plain"] - v["explicit"])) / peak
    assert mapped < 2e-3, mapped
    assert plain > 5e-2, plain


def test_antisymmetric_part_under_spin_torque_drive_flips_sign_with_the_plain_parameters(sweeps):
    f, f_kittel, half, v = sweeps
    ratio = {}
    for name, y in v.items():
        popt, _ = curve_fit(lorentzian, f, y, p0=[f_kittel, half, y[f.size // 2], 0.0])
        fit = lorentzian(f, *popt)
        assert 1.0 - np.sum((y - fit) ** 2) / np.sum((y - y.mean()) ** 2) > 0.998, name
        ratio[name] = popt[3] / popt[2]          # antisymmetric / symmetric amplitude
    # damping-like drive: mostly symmetric, with an antisymmetric part of order alpha
    for name, r in ratio.items():
        assert 0.2 * ALPHA < abs(r) < 3.0 * ALPHA, (name, r)
    assert np.sign(ratio["mapped"]) == np.sign(ratio["explicit"]), ratio
    assert np.sign(ratio["plain"]) == -np.sign(ratio["explicit"]), ratio
