"""Macrospin LLGS (docs/physics.md#macrospin-llgs): each test is a physical law or an invariant of the kernel.

Sizes are chosen so that statistical errors sit well inside the tolerances (the estimated
standard error is printed in each assertion message).
"""
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from rfemu.devices import llgs

GAMMA_MU0 = llgs.GYROMAGNETIC_RATIO * llgs.VACUUM_PERMEABILITY
KB = llgs.BOLTZMANN_CONSTANT


def langevin(z):
    return 1.0 / np.tanh(z) - 1.0 / z


def sample_langevin(z, n, rng):
    """Unit vectors from the Boltzmann distribution P(m) ~ exp(z m_z) (inverse CDF of cos(theta))."""
    u = rng.random(n)
    c = 1.0 + np.log1p(-u * (1.0 - np.exp(-2.0 * z))) / z
    phi = 2.0 * np.pi * rng.random(n)
    s = np.sqrt(1.0 - c * c)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=1)


def lorentzian(f, f0, half_width, symmetric, antisymmetric):
    d = f - f0
    return (symmetric * half_width ** 2 + antisymmetric * 2.0 * half_width * d) / (d * d + half_width ** 2)


# ---------------------------------------------------------------------------------------------
# FMR ring-down: Kittel frequency and damping rate


@pytest.fixture(scope="module")
def ringdown():
    H, Hk, Meff = 2e4, 2e4, 8e5
    dampings = (0.005, 0.01, 0.02)
    params = [llgs.MacrospinParameters(temperature=0.0, damping=a, anisotropy_field=Hk,
                                       effective_magnetisation=Meff) for a in dampings]
    tilt = np.deg2rad(1.0)   # small angle: linear regime
    res = llgs.integrate(params, 5e-9, 1e-13, applied_field=(H, 0, 0),
                         initial_m=(np.cos(tilt), np.sin(tilt), 0.0), trace_every=1)
    return H, Hk, Meff, dampings, res


def test_ringdown_frequency_is_kittel(ringdown):
    H, Hk, Meff, dampings, res = ringdown
    f_kittel = llgs.kittel_frequency(H, Hk, Meff)
    t = res.trace_times
    for i, a in enumerate(dampings):
        y = res.trace[i, :, 1]
        s = np.signbit(y)
        k = np.nonzero(s[1:] != s[:-1])[0]
        crossings = t[k] - y[k] * (t[k + 1] - t[k]) / (y[k + 1] - y[k])
        f = 1.0 / (2.0 * np.mean(np.diff(crossings)))
        assert abs(f / f_kittel - 1) < 0.01, (a, f, f_kittel)


def test_ringdown_decay_rate_follows_damping(ringdown):
    # amplitude ~ exp(-G t), G = alpha gamma mu0 / (1 + alpha^2) (H + H_k + M_eff / 2)
    H, Hk, Meff, dampings, res = ringdown
    t = res.trace_times
    rates = []
    for i, a in enumerate(dampings):
        y = res.trace[i, :, 1]
        peaks = np.nonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]))[0] + 1
        rate = -np.polyfit(t[peaks], np.log(y[peaks]), 1)[0]
        expected = a * GAMMA_MU0 / (1 + a * a) * (H + Hk + 0.5 * Meff)
        assert abs(rate / expected - 1) < 0.01, (a, rate, expected)
        assert abs(2 * np.pi * llgs.resonance_half_width(H, Hk, Meff, a) / rate - 1) < 0.01
        rates.append(rate)
    # proportional to alpha
    slope = np.polyfit(np.log(dampings), np.log(rates), 1)[0]
    assert abs(slope - 1) < 0.01, slope


# ---------------------------------------------------------------------------------------------
# Energy conservation without damping and noise


def test_energy_conserved_without_damping():
    p = llgs.MacrospinParameters(temperature=0.0, damping=0.0)
    field = (2e4, 3e3, 0.0)
    scale = llgs.VACUUM_PERMEABILITY * p.saturation_magnetisation * p.volume * (
        field[0] + p.anisotropy_field + p.effective_magnetisation)
    drift = []
    for dt in (1e-13, 0.5e-13):
        r = llgs.integrate(p, 2e-9, dt, applied_field=field, initial_m=(0.3, 0.8, 0.5),
                           trace_every=int(round(1e-11 / dt)))
        e = llgs.magnetic_energy(r.trace[0], p, field)
        drift.append(np.max(np.abs(e - e[0])) / scale)
    # a large-angle orbit over ~12 periods keeps its energy to a few ppm ...
    assert drift[0] < 1e-5, drift
    # ... and what it loses is the scheme's error (Heun: at least O(dt^2)), not physics
    assert drift[0] / drift[1] > 3.5, drift


# ---------------------------------------------------------------------------------------------
# Thermal equilibrium: <m.z> = coth(z) - 1/z with only a Zeeman field


@pytest.mark.parametrize("z, n_devices, duration, dt, backend", [
    (1.0, 4000, 30e-9, 2e-12, "kernel"), (3.0, 1500, 30e-9, 2e-12, "kernel"),
    (3.0, 1500, 12e-9, 8e-12, "numpy")])
def test_thermal_equilibrium_langevin(z, n_devices, duration, dt, backend):
    T, Ms, H = 300.0, 1e6, 1e4
    volume = z * KB * T / (llgs.VACUUM_PERMEABILITY * Ms * H)
    p = llgs.MacrospinParameters(saturation_magnetisation=Ms, volume=volume, damping=1.0,
                                 anisotropy_field=0.0, effective_magnetisation=0.0, temperature=T)
    m0 = sample_langevin(z, n_devices, np.random.default_rng(5))
    r = llgs.integrate(p, duration, dt, applied_field=(0, 0, H), initial_m=m0,
                       trace_every=int(round(1e-10 / dt)), seed=7, n_threads=2, backend=backend)
    mz = r.trace[:, 1:, 2]
    per_device = mz.mean(axis=1)   # devices are independent: their means give the error bar
    mean, err = per_device.mean(), per_device.std() / math.sqrt(n_devices)
    assert err < 0.005 * langevin(z)
    assert abs(mean / langevin(z) - 1) < 0.02, (mean, langevin(z), err)


# ---------------------------------------------------------------------------------------------
# Spin diode: Lorentzian at the Kittel frequency, amplitude ~ I_rf^2


def test_spin_diode_sweep_is_lorentzian_at_kittel():
    H = 2e4
    p = llgs.MacrospinParameters(temperature=0.0)     # polarizer 45 degrees in plane from +x
    f_kittel = llgs.kittel_frequency(H, p.anisotropy_field, p.effective_magnetisation)
    half = llgs.resonance_half_width(H, p.anisotropy_field, p.effective_magnetisation, p.damping)
    currents = np.array([5e-6, 10e-6, 20e-6, 40e-6])
    f = f_kittel + half * np.linspace(-6, 6, 49)
    v = llgs.rectified_voltage(p, np.tile(f, len(currents)), np.repeat(currents, len(f)), 12e-9,
                               2e-13, settle_time=5e-9, applied_field=(H, 0, 0))
    v = v.reshape(len(currents), len(f))
    amplitudes = []
    for k, i_rf in enumerate(currents):
        y = v[k]
        popt, _ = curve_fit(lorentzian, f, y, p0=[f_kittel, half, y[len(f) // 2], 0.0])
        r2 = 1 - np.sum((y - lorentzian(f, *popt)) ** 2) / np.sum((y - y.mean()) ** 2)
        assert r2 > 0.99, (i_rf, r2)
        assert abs(popt[0] / f_kittel - 1) < 0.01, (i_rf, popt[0], f_kittel)
        # damping-like torque alone: mostly symmetric
        assert abs(popt[2]) > 5 * abs(popt[3])
        amplitudes.append(math.hypot(popt[2], popt[3]))
    slope = np.polyfit(np.log(currents), np.log(amplitudes), 1)[0]
    assert abs(slope - 2) < 0.05, slope


def test_spin_diode_collinear_layers_rectify_nothing():
    # with the polarizer along the free layer's rest direction, V_dc vanishes by symmetry
    H = 2e4
    base = llgs.MacrospinParameters(temperature=0.0)
    coll = llgs.MacrospinParameters(temperature=0.0, polarizer=(1.0, 0.0, 0.0))
    f = llgs.kittel_frequency(H, base.anisotropy_field, base.effective_magnetisation)
    v = llgs.rectified_voltage([base, coll], f, 20e-6, 8e-9, 2e-13, settle_time=4e-9,
                               applied_field=(H, 0, 0))
    assert abs(v[1]) < 1e-6 * abs(v[0]), v


# ---------------------------------------------------------------------------------------------
# Weak convergence of the stochastic Heun scheme


class _CoarsenedNoise:
    """Thermal draws for a step of k fine steps: the sum of k fine normals / sqrt(k).

    Runs with different k then follow the same Brownian path, so the differences of their
    ensemble means (the weak errors) are estimated with a small variance.
    """

    def __init__(self, seed, k):
        self.gen = np.random.default_rng(seed)
        self.k = k

    def standard_normal(self, shape):
        return self.gen.standard_normal((self.k,) + tuple(shape)).sum(axis=0) / math.sqrt(self.k)


def test_weak_convergence_first_order():
    # Zeeman field + strong noise (z = 4), start along x, observe E[m_z] after 2 / (gamma mu0 H).
    # D(eps) = E[m_z]_eps - E[m_z]_{eps/2} = c eps^q (1 - 2^-q): the log-log slope of D gives q.
    # Run on the numpy reference (the same scheme as the kernel, checked bit-close below) because
    # its noise source can be coarsened along one Brownian path.
    T, Ms, H, z, n = 300.0, 1e6, 1e5, 4.0, 24000
    volume = z * KB * T / (llgs.VACUUM_PERMEABILITY * Ms * H)
    p = llgs.MacrospinParameters(saturation_magnetisation=Ms, volume=volume, damping=1.0,
                                 anisotropy_field=0.0, effective_magnetisation=0.0, temperature=T)
    t_end, n_fine = 2.0 / (GAMMA_MU0 * H), 256
    tab = llgs.parameter_table(p, applied_field=(0, 0, H), n_devices=n)
    m0 = np.zeros((n, 3))
    m0[:, 0] = 1.0
    ks = (1, 2, 4, 8)
    mz = {k: llgs.integrate_numpy(tab, m0, t_end / n_fine * k, n_fine // k, 0, 0,
                                  _CoarsenedNoise(3, k))[0][:, 2] for k in ks}
    diffs = np.array([np.mean(mz[k] - mz[k // 2]) for k in ks[1:]])
    errs = np.array([np.std(mz[k] - mz[k // 2]) / math.sqrt(n) for k in ks[1:]])
    assert np.all(np.abs(diffs) > 5 * errs), (diffs, errs)
    order = np.polyfit(np.log(ks[1:]), np.log(np.abs(diffs)), 1)[0]
    assert 0.7 < order < 1.3, (order, diffs, errs)


# ---------------------------------------------------------------------------------------------
# Kernel versus numpy reference, reproducibility, thread independence


def test_kernel_equals_numpy_reference_without_noise():
    p = llgs.MacrospinParameters(temperature=0.0, field_like_ratio=0.3, anisotropy_field=-1e3,
                                 easy_axis=(1, 0.2, 0.1), oersted_field_per_ampere=(0, 1e5, 3e4))
    kw = dict(applied_field=(2e4, 1e3, -2e3), dc_current=2e-4,
              rf_current=np.linspace(1e-4, 5e-4, 9), rf_frequency=np.linspace(4e9, 8e9, 9),
              initial_m=(1, 0.3, 0.1), settle_time=0.5e-9, trace_every=50)
    a = llgs.integrate(p, 1.5e-9, 1e-13, backend="kernel", **kw)
    b = llgs.integrate(p, 1.5e-9, 1e-13, backend="numpy", **kw)
    assert np.max(np.abs(a.m - b.m)) < 1e-10
    assert np.max(np.abs(a.trace - b.trace)) < 1e-10
    assert np.max(np.abs(a.rectified_voltage - b.rectified_voltage)) < 1e-10 * np.max(
        np.abs(b.rectified_voltage))


def _noisy_run(seed, n_threads, params=None):
    p = params or [llgs.MacrospinParameters(damping=0.01 * (1 + i), volume=1e-24)
                   for i in range(13)]
    return llgs.integrate(p, 1e-9, 1e-13, applied_field=(2e4, 0, 0), rf_current=1e-4,
                          rf_frequency=6e9, seed=seed, n_threads=n_threads, trace_every=100)


def test_same_seed_same_bits_other_seed_other_bits():
    a, b, c = _noisy_run(42, 1), _noisy_run(42, 1), _noisy_run(43, 1)
    assert np.array_equal(a.trace, b.trace) and np.array_equal(a.rectified_voltage, b.rectified_voltage)
    assert not np.any(a.m == c.m)


def test_thread_count_does_not_change_bits():
    a, b = _noisy_run(42, 1), _noisy_run(42, 2)
    assert np.array_equal(a.trace, b.trace) and np.array_equal(a.rectified_voltage, b.rectified_voltage)


def test_junctions_are_independent_of_their_neighbours():
    params = [llgs.MacrospinParameters(damping=0.01 * (1 + i), volume=1e-24) for i in range(13)]
    a = _noisy_run(42, 1, params)
    params[5] = llgs.MacrospinParameters(damping=0.2, volume=3e-24, temperature=10.0)
    b = _noisy_run(42, 1, params)
    keep = np.arange(13) != 5
    assert np.array_equal(a.trace[keep], b.trace[keep])
    assert not np.array_equal(a.trace[5], b.trace[5])


def test_invalid_parameters_name_the_parameter():
    with pytest.raises(ValueError, match="damping.*-0.1"):
        llgs.MacrospinParameters(damping=-0.1)
    with pytest.raises(ValueError, match="volume"):
        llgs.MacrospinParameters(volume=0.0)
    with pytest.raises(ValueError, match="polarizer"):
        llgs.MacrospinParameters(polarizer=(0, 0, 0))
    with pytest.raises(ValueError, match="settle_time"):
        llgs.integrate(llgs.MacrospinParameters(), 1e-9, settle_time=2e-9)
    with pytest.raises(ValueError, match="rf_frequency"):
        llgs.integrate(llgs.MacrospinParameters(), 1e-9, rf_frequency=-1.0)
