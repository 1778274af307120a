"""The spin-torque oscillator (universal auto-oscillator) against its analytic results (docs/physics.md#oscillator).

Every expected value here is computed from the textbook formula in the test itself, not from the
module under test; the module's static functions are then held to the same formula.
"""
import math

import numpy as np
import pytest
from scipy import stats

from rfemu import _core
from rfemu.devices import oscillator as osc
from rfemu.devices.oscillator import OscillatorParameters

QUIET = OscillatorParameters(temperature=0.0)
G_G = 0.01 * 2 * math.pi * 300e6          # alpha w0 for the default 300 MHz, alpha = 0.01
I_TH = 10e-6
BACKENDS = ("kernel", "numpy")


def p0_formula(xi, q=2.0):
    return (xi - 1.0) / (xi + q) if xi > 1.0 else 0.0


def with_noise_ratio(eta, **changes):
    """Parameters whose thermal noise is eta = k_B T / E0 (T = 300 K)."""
    return OscillatorParameters(oscillation_energy=osc.BOLTZMANN_CONSTANT * 300.0 / eta, **changes)


# --- T = 0 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_steady_power_at_zero_temperature(backend):
    """p -> p0 = (xi - 1) / (xi + Q) within 1 % for xi in {1.2, 2, 4}, from half the steady amplitude."""
    xis = np.array([1.2, 2.0, 4.0])
    expected = np.array([p0_formula(x) for x in xis])
    duration = 12.0 / (2 * G_G * 0.2)          # 12 relaxation times of the slowest (xi = 1.2)
    traj = osc.integrate(QUIET, xis * I_TH, duration, 2e-10, initial_state=0.5 * np.sqrt(expected),
                         backend=backend)
    np.testing.assert_allclose(traj.final_power, expected, rtol=0.01)
    np.testing.assert_allclose(osc.steady_power(xis * I_TH, QUIET), expected, rtol=1e-12)


@pytest.mark.parametrize("xi", [1.2, 2.0, 4.0])
def test_power_relaxation_rate(xi):
    """A small deviation of p decays as exp(-2 G_G (xi - 1) t): fitted rate within 5 %."""
    p0 = p0_formula(xi)
    rate = 2 * G_G * (xi - 1.0)
    dt = 1e-3 / rate
    traj = osc.integrate(QUIET, xi * I_TH, 6.0 / rate, dt, initial_state=math.sqrt(1.01 * p0),
                         trace_every=50)
    t, dev = traj.time, np.abs(traj.power[0] - p0)
    window = (t > 1.0 / rate) & (t < 5.0 / rate)          # linear regime, far above rounding
    slope = np.polyfit(t[window], np.log(dev[window]), 1)[0]
    assert -slope == pytest.approx(rate, rel=0.05)
    assert osc.relaxation_rate(xi * I_TH, QUIET) == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("shift_hz", [25e6, -25e6])
def test_frequency_from_phase_slope(shift_hz):
    """dphi/dt = w0 + N p0 within 0.5 %, and the shift N p0 itself within 0.5 % (both signs of N)."""
    xis = np.array([1.5, 2.0, 4.0])
    n_shift = 2 * math.pi * shift_hz
    params = QUIET.replace(nonlinear_frequency_shift=n_shift)
    traj = osc.integrate(params, xis * I_TH, 400e-9, 1e-10, trace_every=20)
    late = traj.time > 100e-9
    slopes = np.array([np.polyfit(traj.time[late], ph[late], 1)[0] for ph in traj.phase])
    p0 = np.array([p0_formula(x) for x in xis])
    w0 = 2 * math.pi * 300e6
    np.testing.assert_allclose(slopes, w0 + n_shift * p0, rtol=0.005)
    np.testing.assert_allclose(slopes - w0, n_shift * p0, rtol=0.005)
    np.testing.assert_allclose(2 * math.pi * osc.frequency(xis * I_TH, params), w0 + n_shift * p0,
                               rtol=1e-12)


def test_static_form_is_the_long_time_limit():
    """steady_power and frequency equal the dynamic steady state across devices of other parameters."""
    rng = np.random.default_rng(3)
    n = 24
    params = OscillatorParameters(
        natural_frequency=rng.uniform(100e6, 1e9, n),
        nonlinear_frequency_shift=2 * math.pi * rng.uniform(-50e6, 50e6, n),
        damping=rng.uniform(0.01, 0.03, n),
        nonlinear_damping=rng.uniform(0.5, 4.0, n),
        temperature=0.0)
    xi = np.where(rng.random(n) < 0.25, rng.uniform(0.3, 0.7, n), rng.uniform(1.3, 4.5, n))
    current = xi * I_TH                                  # below and above threshold
    slowest = np.min(2 * params.damping_rate * np.abs(xi - 1.0))
    duration = 25.0 / slowest
    init = np.where(xi > 1, 0.3, 0.1) + 0j
    traj = osc.integrate(params, current, duration, 2e-11, initial_state=init, trace_every=500)
    np.testing.assert_allclose(traj.final_power, osc.steady_power(current, params), rtol=1e-4, atol=1e-9)
    late = traj.time > 0.75 * duration
    slopes = np.array([np.polyfit(traj.time[late], ph[late], 1)[0] for ph in traj.phase])
    np.testing.assert_allclose(slopes / (2 * math.pi), osc.frequency(current, params), rtol=1e-6)


# --- with noise -----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_mean_power_below_threshold(backend):
    """Below threshold, constant D = G_G eta: <p> = D / (G_G (1 - xi)) within 5 %.

    eta = 1e-4 keeps <p> small enough (2e-4) that the quartic term of the stationary
    distribution changes the mean by less than 0.2 %; the ensemble of 1500 devices over 30
    correlation times gives a statistical error near 0.7 %.
    """
    xi, eta = 0.5, 1e-4
    params = with_noise_ratio(eta)
    expected = eta / (1.0 - xi)
    tau = 1.0 / (2 * G_G * (1.0 - xi))                  # correlation time of p
    traj = osc.integrate(params, np.full(1500, xi * I_TH), 40 * tau, 1e-10, seed=11,
                         trace_every=40, constant_diffusion=True, backend=backend)
    steady = traj.time > 8 * tau
    assert traj.power[:, steady].mean() == pytest.approx(expected, rel=0.05)


def test_stationary_distribution_below_threshold_is_exponential():
    """Small p, constant D: P(p) ~ exp(-G_G (1 - xi) p / D), so P(p > k <p>) = exp(-k), k = 1, 2, 3 (10 %)."""
    xi, eta = 0.5, 1e-4
    mean = eta / (1.0 - xi)
    tau = 1.0 / (2 * G_G * (1.0 - xi))
    traj = osc.integrate(with_noise_ratio(eta), np.full(1500, xi * I_TH), 40 * tau, 1e-10, seed=12,
                         trace_every=40, constant_diffusion=True)
    p = traj.power[:, traj.time > 8 * tau]
    for k in (1.0, 2.0, 3.0):
        assert np.mean(p > k * mean) == pytest.approx(math.exp(-k), rel=0.1)


def test_mean_power_at_threshold():
    """xi = 1, constant D: P(p) ~ exp(-G_G (Q + 1) p^2 / (2 D)), a half Gaussian of mean
    sqrt(2 eta / (pi (Q + 1))): within 5 % (tests the non-linear damping under noise)."""
    eta = 1e-3
    expected = math.sqrt(2 * eta / (math.pi * 3.0))
    traj = osc.integrate(with_noise_ratio(eta), np.full(1000, I_TH), 15e-6, 2e-10, seed=13,
                         trace_every=100, constant_diffusion=True)
    assert traj.power[:, traj.time > 3e-6].mean() == pytest.approx(expected, rel=0.05)


def _phase_increment_variance_rate(params, xi, window, n_windows, n_devices, dt, seed):
    """Variance of phi(t + window) - phi(t) over devices and consecutive windows, divided by window.

    The first window is left out (settling of the power fluctuations).
    """
    samples_per_window = 20
    steps_per_window = int(round(window / dt))
    trace_every = steps_per_window // samples_per_window
    p0 = p0_formula(xi, params.nonlinear_damping)
    traj = osc.integrate(params, np.full(n_devices, xi * I_TH), (n_windows + 1) * window, dt, seed=seed,
                         initial_state=math.sqrt(p0), trace_every=trace_every)
    ph = traj.phase[:, samples_per_window::samples_per_window]
    inc = np.diff(ph, axis=1)
    inc = inc - inc.mean(axis=0, keepdims=True)          # remove the common frequency
    return inc.var() / window


def test_phase_diffusion_linewidth_without_shift():
    """Above threshold, N = 0: var(phi) grows as D t / p0, so the half width is D / (2 p0): within 10 %.

    eta = 0.002 keeps the power fluctuations (var(p) / p0^2 = 6 eta) from biasing <D / p> by more
    than about 1 %.
    """
    xi, eta = 2.0, 0.002
    params = with_noise_ratio(eta)
    p0 = p0_formula(xi)
    diffusion = G_G * (1.0 + 2.0 * p0) * eta            # D = G+(p0) eta
    rate = _phase_increment_variance_rate(params, xi, 200e-9, 12, 1000, 2e-10, seed=21)
    assert rate == pytest.approx(diffusion / p0, rel=0.10)
    half_width = diffusion / (2 * p0)
    assert 2 * math.pi * osc.linewidth(xi * I_TH, params) == pytest.approx(half_width, rel=1e-12)
    assert rate / 2 == pytest.approx(2 * math.pi * osc.linewidth(xi * I_TH, params), rel=0.10)


def test_phase_diffusion_linewidth_with_shift():
    """With a frequency shift, nu = N p0 / G_p = 1.5, the line broadens by (1 + nu^2) at long times.

    Windows of 40 / G_p make the finite-time correction (nu^2 / (2 G_p T (1 + nu^2))) 1 %.
    """
    xi, eta, nu = 2.0, 0.002, 1.5
    p0 = p0_formula(xi)
    g_p = G_G * (xi - 1.0)
    params = with_noise_ratio(eta, nonlinear_frequency_shift=nu * g_p / p0)
    diffusion = G_G * (1.0 + 2.0 * p0) * eta
    rate = _phase_increment_variance_rate(params, xi, 40.0 / g_p, 10, 1000, 2e-10, seed=22)
    assert rate / 2 == pytest.approx(diffusion / (2 * p0) * (1 + nu ** 2), rel=0.10)
    assert rate / 2 == pytest.approx(2 * math.pi * osc.linewidth(xi * I_TH, params), rel=0.10)


def test_phase_linewidth_is_the_linewidth_without_the_amplitude_phase_coupling():
    """phase_linewidth = D / (2 p0) above threshold: linewidth / phase_linewidth = 1 + nu^2 with
    nu = N p0 / (G_G (xi - 1)); below threshold (no phase diffusion of a free phase) they agree."""
    n_shift = 2 * math.pi * 40e6
    params = with_noise_ratio(0.002, nonlinear_frequency_shift=n_shift)
    xi = np.array([1.3, 2.0, 3.5])
    p0 = (xi - 1.0) / (xi + 2.0)
    nu = n_shift * p0 / (G_G * (xi - 1.0))
    ratio = osc.linewidth(xi * I_TH, params) / osc.phase_linewidth(xi * I_TH, params)
    np.testing.assert_allclose(ratio, 1 + nu ** 2, rtol=1e-12)
    diffusion = G_G * (1.0 + 2.0 * p0) * 0.002
    np.testing.assert_allclose(2 * math.pi * osc.phase_linewidth(xi * I_TH, params), diffusion / (2 * p0), rtol=1e-12)
    below = np.array([0.3, 0.8])
    np.testing.assert_array_equal(osc.phase_linewidth(below * I_TH, params), osc.linewidth(below * I_TH, params))


# --- injection locking ----------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [0.6, 1.6])
def test_injection_locking_follows_adler(ratio):
    """Weak drive F exp(-i w_e t), N = 0: Adler's equation, locking range |F| / sqrt(p0).

    Inside (detuning 0.6 of the range) the phase stays locked to the drive; outside (1.6) it slips
    by 2 pi at the beat frequency sqrt(detuning^2 - range^2), within 3 %.
    """
    xi = 2.0
    p0 = p0_formula(xi)
    amplitude = 0.03 * G_G * math.sqrt(p0)              # locking range 0.03 G_p: weak against G_p
    locking_range = amplitude / math.sqrt(p0)
    detuning = ratio * locking_range
    w_e = 2 * math.pi * 300e6 + detuning
    traj = osc.integrate(QUIET, xi * I_TH, 45e-6, 1e-9, injection=(amplitude, w_e / (2 * math.pi)),
                         trace_every=10)
    psi = traj.phase[0] - w_e * traj.time                # phase relative to the drive
    if ratio < 1:
        half = psi.size // 2
        assert abs(psi[-1] - psi[half]) < 0.01           # locked: no slip over the last 22 us
        return
    beat = math.sqrt(detuning ** 2 - locking_range ** 2)
    settled = traj.time > 2e-6
    t, turns = traj.time[settled], np.floor(psi[settled] / (2 * math.pi))
    slips = np.nonzero(np.diff(turns))[0]
    assert slips.size >= 4
    measured = 2 * math.pi * (slips.size - 1) / (t[slips[-1]] - t[slips[0]])
    assert measured == pytest.approx(beat, rel=0.03)


# --- the numerics: reproducibility, backends, the noise source ------------------------------

def _noisy_run(seed, n_threads=1, backend="kernel"):
    params = OscillatorParameters(nonlinear_frequency_shift=2 * math.pi * 10e6)
    current = np.linspace(5e-6, 35e-6, 37)               # 37 devices: not a multiple of the block
    return osc.integrate(params, current, 20e-9, 1e-10, seed=seed, trace_every=7, n_threads=n_threads,
                         backend=backend)


def test_same_seed_same_bits_other_seed_other_bits():
    a, b, c = _noisy_run(5), _noisy_run(5), _noisy_run(6)
    assert np.array_equal(a.amplitude, b.amplitude) and np.array_equal(a.phase, b.phase)
    assert np.array_equal(a.power, b.power)
    assert not np.any(a.amplitude == c.amplitude)


def test_thread_count_does_not_change_the_bits():
    a, b = _noisy_run(7, n_threads=1), _noisy_run(7, n_threads=2)
    assert np.array_equal(a.amplitude, b.amplitude)
    assert np.array_equal(a.power, b.power) and np.array_equal(a.phase, b.phase)


def test_kernel_and_numpy_backends_agree_without_noise():
    """Same equations: with noise off, injection, shift and mixed currents agree to 1e-12."""
    rng = np.random.default_rng(4)
    n = 11
    params = OscillatorParameters(natural_frequency=rng.uniform(2e8, 4e8, n),
                                  nonlinear_frequency_shift=2 * math.pi * rng.uniform(-30e6, 30e6, n),
                                  nonlinear_damping=rng.uniform(1, 3, n), temperature=0.0)
    current = rng.uniform(4e-6, 40e-6, n)
    kwargs = dict(initial_state=rng.uniform(0.05, 0.5, n) * np.exp(1j * rng.uniform(0, 6, n)),
                  injection=(0.02 * G_G * np.exp(1j * rng.uniform(0, 6, n)), rng.uniform(2.9e8, 3.1e8, n)),
                  trace_every=25)
    a = osc.integrate(params, current, 200e-9, 1e-10, backend="kernel", **kwargs)
    b = osc.integrate(params, current, 200e-9, 1e-10, backend="numpy", **kwargs)
    np.testing.assert_allclose(a.amplitude, b.amplitude, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.power, b.power, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.phase, b.phase, rtol=1e-12, atol=1e-9)


def test_kernel_normal_deviates_are_standard_normal():
    """The kernel's inline ziggurat: moments, tails beyond its base layer, and a KS test."""
    x = _core.oscillator_standard_normals(np.random.default_rng(8), 8, 250_000).ravel()
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert x.var() == pytest.approx(1.0, abs=5 * math.sqrt(2 / n))
    assert stats.kurtosis(x) == pytest.approx(0.0, abs=5 * math.sqrt(24 / n))
    tail = stats.norm.sf(3.0)
    for side in (x > 3.0, x < -3.0):
        assert side.mean() == pytest.approx(tail, abs=5 * math.sqrt(tail / n))
    assert stats.kstest(x, "norm").pvalue > 1e-3


# --- static form ----------------------------------------------------------------------------

def test_output_power_clamp_and_scale():
    """P_out = A p0 (TMR beta)^2 R I^2 on [I_th, I_max]; 0 below threshold; 1 uW at and above I_max."""
    p = OscillatorParameters()
    current = np.array([2e-6, 10e-6, 20e-6, 40e-6, 80e-6])
    out = osc.output_power(current, p)
    scale = 1e-6 / (p0_formula(4.0) * 1e3 * 40e-6 ** 2)
    np.testing.assert_allclose(out, [0, 0, scale * 0.25 * 1e3 * 20e-6 ** 2, 1e-6, 1e-6], rtol=1e-12)
    assert p.power_scale == pytest.approx(scale, rel=1e-12)


def test_derivatives_match_finite_differences():
    params = OscillatorParameters(nonlinear_frequency_shift=2 * math.pi * 40e6)
    current = np.array([11e-6, 15e-6, 25e-6, 39e-6, 5e-6, 45e-6])
    h = 1e-12
    fd = (osc.output_power(current + h, params) - osc.output_power(current - h, params)) / (2 * h)
    np.testing.assert_allclose(osc.d_output_power_d_current(current, params), fd, rtol=1e-6, atol=1e-12)
    fd_f = (osc.frequency(current + h, params) - osc.frequency(current - h, params)) / (2 * h)
    np.testing.assert_allclose(osc.d_frequency_d_current(current, params), fd_f, rtol=1e-6, atol=1e-3)
    h = 1e-11
    fd_w = (osc.linewidth(current + h, params) - osc.linewidth(current - h, params)) / (2 * h)
    np.testing.assert_allclose(osc.d_linewidth_d_current(current, params), fd_w, rtol=1e-6)


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("nonlinear_damping", -0.5), ("damping", -0.01), ("natural_frequency", 0.0),
    ("threshold_current", -1e-6), ("temperature", -1.0), ("oscillation_energy", 0.0),
    ("resistance", float("nan")), ("max_current", 5e-6),
])
def test_invalid_parameters_name_parameter_and_value(field, value):
    with pytest.raises(ValueError, match=field) as err:
        OscillatorParameters(**{field: value})
    assert repr(value) in str(err.value)


@pytest.mark.parametrize("kwargs, name", [
    (dict(dt=0.0), "dt"), (dict(duration=-1e-9), "duration"), (dict(backend="gpu"), "backend"),
    (dict(trace_every=-1), "trace_every"), (dict(n_threads=0), "n_threads"),
    (dict(injection=(1e5, -3e8)), "injection"),
])
def test_invalid_integration_arguments(kwargs, name):
    args = dict(params=QUIET, current=20e-6, duration=1e-9, dt=1e-11)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        osc.integrate(**args)
