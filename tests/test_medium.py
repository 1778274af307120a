"""The RF line as a shared medium: crosstalk, loss, noise floor, injection locking (docs/physics.md#medium)."""
import math

import numpy as np
import pytest

from rfemu.devices.resonator import rectified_voltage
from rfemu.medium import Line, PhaseLocking, adler_locking_range, chain_noise_voltage, tap_power_gain

K = 8.8e3  # V/W


def _line(rng, C=3, J=4, T=5, gain=None, temperature=0.0):
    fr = rng.uniform(80e6, 120e6, (C, J))
    sign = np.where(np.arange(J) % 2 == 0, 1.0, -1.0) * np.ones((C, J))
    line = Line(fr, 0.01, sign, K, power_gain=gain, temperature=temperature, bandwidth=1e6)
    f = rng.uniform(70e6, 130e6, T)
    p = rng.uniform(0.1e-6, 1e-6, T)
    g = rng.uniform(0, 0.5e6, T)
    for t in range(T):
        line.set_tone(("src", t), f[t], p[t], g[t])
    return line, fr, sign, f, p, g


def _direct(fr, sign, f, p, g, gain=1.0):
    """Every junction against every tone, summed with signs: the formula of docs/physics.md#chains."""
    v = rectified_voltage(f[None, None, :], (p[None, None, :] * np.broadcast_to(gain, fr.shape)[..., None]),
                          fr[..., None], 0.01 * fr[..., None], K, tone_linewidth=g[None, None, :])
    return (sign[..., None] * v).sum(axis=(1, 2))


def test_every_junction_answers_every_tone_with_its_lorentzian_tail():
    rng = np.random.default_rng(1)
    line, fr, sign, f, p, g = _line(rng)
    np.testing.assert_allclose(line.chain_voltages(), _direct(fr, sign, f, p, g), rtol=1e-12)


def test_incremental_refresh_equals_full_recomputation():
    rng = np.random.default_rng(2)
    line, fr, sign, f, p, g = _line(rng)
    line.chain_voltages()
    calls = line.n_kernel_calls
    f[2] = 101e6
    assert line.set_tone(("src", 2), f[2], p[2], g[2])
    fr[1, 3] = 99e6
    line.set_resonance(1, 3, fr[1, 3])
    p[4] = 0.3e-6
    assert not line.set_tone(("src", 4), f[4], p[4], g[4])   # power only: no kernel call needed
    np.testing.assert_allclose(line.chain_voltages(), _direct(fr, sign, f, p, g), rtol=1e-12)
    assert line.n_kernel_calls == calls + 2      # one row refresh, one column refresh


def test_loss_in_db_per_tap_and_per_length():
    # 3 taps of 1 dB and 2 m of 0.5 dB/m: 4 dB, a power factor of 10**-0.4
    assert float(tap_power_gain(3, 2.0, 1.0, 0.5)) == pytest.approx(10 ** -0.4, rel=1e-12)
    assert float(tap_power_gain(10, 0.0, 3.0103)) == pytest.approx(2.0 ** -10, rel=1e-4)
    rng = np.random.default_rng(3)
    C, J = 2, 6
    gain = tap_power_gain(np.arange(C * J).reshape(C, J), 0.0, 0.5)
    line, fr, sign, f, p, g = _line(rng, C, J, gain=gain)
    np.testing.assert_allclose(line.chain_voltages(), _direct(fr, sign, f, p, g, gain), rtol=1e-12)
    with pytest.raises(ValueError, match="loss_per_tap_db"):
        tap_power_gain(1, 0.0, -1.0)


def test_thermal_noise_floor_statistics():
    # 1 kOhm at 300 K over 1 MHz: 4.07 uV per junction; 4 junctions in series: twice that
    assert float(chain_noise_voltage([1e3], 300.0, 1e6)) == pytest.approx(
        math.sqrt(4 * 1.380649e-23 * 300 * 1e3 * 1e6), rel=1e-12)
    rng = np.random.default_rng(4)
    line, *_ = _line(rng, C=3, J=4, temperature=300.0)
    expected = math.sqrt(4 * 1.380649e-23 * 300 * 4e3 * 1e6)
    np.testing.assert_allclose(line.noise_voltage, expected, rtol=1e-12)
    draws = np.array([line.sample_noise(rng) for _ in range(20000)])
    # std of a sample std of n normals: sigma / sqrt(2 n) = 0.5 %; 4 % is 8 standard errors
    np.testing.assert_allclose(draws.std(axis=0), expected, rtol=0.04)
    assert np.all(np.abs(draws.mean(axis=0)) < 5 * expected / math.sqrt(len(draws)))
    # chains independent
    assert abs(np.corrcoef(draws.T)[0, 1]) < 0.05


def _mean_frequencies(pl, settle, measure, dt):
    pl.run(settle, dt)
    return pl.run(measure, dt)


@pytest.mark.parametrize("ratio", [0.8, 0.95])
def test_injection_locking_inside_the_adler_range(ratio):
    coupling, p_inj, p_osc = 1e6, 0.25e-6, 1e-6
    f_lock = float(adler_locking_range(coupling, p_inj, p_osc))        # 0.5 MHz
    assert f_lock == pytest.approx(0.5e6)
    f0 = 1e9
    pl = PhaseLocking([f0, f0 + ratio * f_lock], [p_inj, p_osc], coupling, pulled=[False, True])
    f = _mean_frequencies(pl, 20e-6, 40e-6, 2e-9)
    assert f[1] - f0 == pytest.approx(0.0, abs=1e-4 * f_lock)          # locked: frequencies coincide
    assert f[0] == pytest.approx(f0, abs=1e-6)


@pytest.mark.parametrize("ratio", [1.05, 1.5, 3.0])
def test_no_locking_outside_the_range_and_adler_beat(ratio):
    coupling, p_inj, p_osc = 1e6, 0.25e-6, 1e-6
    f_lock = 0.5e6
    f0 = 1e9
    df = ratio * f_lock
    pl = PhaseLocking([f0, f0 + df], [p_inj, p_osc], coupling, pulled=[False, True])
    beat = math.sqrt(df ** 2 - f_lock ** 2)
    n_beats = 30
    f = _mean_frequencies(pl, 2.0 / beat, n_beats / beat, 1e-3 / df)
    # Adler: the pulled beat frequency is sqrt(df^2 - f_L^2); within one beat over the window
    assert f[1] - f0 == pytest.approx(beat, rel=1.5 / n_beats)
    assert f[1] - f0 < df * (1 - 1e-3)                                   # pulled towards the tone


def test_mutual_locking_of_two_oscillators():
    # both pulled: dpsi/dt = 2 pi [df - c (sqrt(r) + 1/sqrt(r)) sin psi], r = P2/P1
    c, p1, p2 = 1e6, 1e-6, 0.25e-6
    lock = c * (math.sqrt(p2 / p1) + math.sqrt(p1 / p2))               # 2.5 MHz
    f0 = 2e9
    locked = PhaseLocking([f0, f0 + 0.9 * lock], [p1, p2], c)
    f = _mean_frequencies(locked, 10e-6, 20e-6, 2e-9)
    assert f[1] - f[0] == pytest.approx(0.0, abs=1e-4 * lock)
    free = PhaseLocking([f0, f0 + 1.2 * lock], [p1, p2], c)
    f = _mean_frequencies(free, 10e-6, 20e-6, 2e-9)
    assert f[1] - f[0] == pytest.approx(math.sqrt(0.44) * lock, rel=0.05)


def test_phase_noise_gives_the_lorentzian_linewidth():
    # an uncoupled tone of half width g diffuses: var(phi) = 2 (2 pi g) t
    g, t = 1e5, 1e-6
    pl = PhaseLocking(np.full(4000, 1e9) + np.arange(4000) * 1e9, np.full(4000, 1e-6), 0.0,
                      linewidth=g, seed=5)
    pl.run(t, 1e-8)
    var = np.var(pl.phase - 2 * np.pi * (pl.frequency - pl.reference_frequency) * t)
    assert var == pytest.approx(2 * 2 * np.pi * g * t, rel=0.08)      # std error 2.2 %


def test_coupling_cost_linear_in_close_tones():
    rng = np.random.default_rng(6)
    pairs = []
    for n in (500, 1000, 2000):
        f = 1e9 + np.sort(rng.uniform(0, n * 1e6, n))              # constant density: 1 per MHz
        pairs.append(PhaseLocking(f, np.full(n, 1e-6), 50e3, cutoff=20).n_pairs)
    # a window of +-1 MHz (20 locking ranges) at 1 tone per MHz: about 2 neighbours per tone
    assert pairs[1] / pairs[0] == pytest.approx(2.0, rel=0.15)
    assert pairs[2] / pairs[1] == pytest.approx(2.0, rel=0.15)
    assert pairs[2] == pytest.approx(2 * 2000, rel=0.15)      # not all pairs (4 M)
