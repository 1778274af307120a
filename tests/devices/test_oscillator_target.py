"""A neuron's target at a drive current (rfemu.devices.oscillator.emitted_tone, neuron_target): the
steady state both engines take from one place. The compact model clamps the current to
[I_th, I_max]; the tone's frequency is (w0 + N p0) / 2 pi; its half width the phase-diffusion
width (with or without the amplitude-phase coupling 1 + nu^2); a fixed-channel neuron keeps its
channel whatever its current."""
import math

import numpy as np
import pytest

from rfemu.devices import oscillator as osc

N = 2 * math.pi * 30e6          # rad/s: a vortex-like positive shift
PARAMS = osc.OscillatorParameters(nonlinear_frequency_shift=N)
I_TH, I_MAX = PARAMS.threshold_current, PARAMS.max_current


def test_the_tone_follows_the_steady_power_and_stops_at_the_clamp():
    current = np.array([0.5, 1.5, 3.0, 4.0, 8.0]) * I_TH
    f, g = osc.emitted_tone(current, PARAMS)
    xi = np.clip(current, I_TH, I_MAX) / I_TH
    p0 = (xi - 1) / (xi + PARAMS.nonlinear_damping)
    np.testing.assert_allclose(f, (2 * math.pi * PARAMS.natural_frequency + N * p0) / (2 * math.pi), rtol=1e-15)
    assert f[0] == PARAMS.natural_frequency          # below threshold: clamped to I_th, p0 = 0
    assert f[-1] == f[-2] > f[2] > f[1]               # above I_max: held at I_max
    assert np.all(np.diff(f) >= 0)


def test_half_width_with_and_without_the_amplitude_phase_coupling():
    current = np.array([1.5, 2.5, 3.5]) * I_TH
    _, full = osc.emitted_tone(current, PARAMS)
    _, phase = osc.emitted_tone(current, PARAMS, phase_only=True)
    xi = current / I_TH
    p0 = (xi - 1) / (xi + PARAMS.nonlinear_damping)
    nu = N * p0 / (PARAMS.damping_rate * (xi - 1))
    np.testing.assert_allclose(full / phase, 1 + nu ** 2, rtol=1e-12)
    _, pure = osc.emitted_tone(current, PARAMS, linewidths=False)
    assert np.all(pure == 0) and np.all(full > 0)


def test_a_fixed_channel_neuron_keeps_its_channel_and_an_f_of_i_neuron_moves():
    current = np.array([[1.2, 2.0, 3.9]]) * I_TH
    channel = np.array([40e6, 50e6, 60e6])
    fixed = osc.neuron_target(current, PARAMS, follows_current=False, channel_frequency=channel,
                              channel_linewidth=np.zeros(3))
    moving = osc.neuron_target(current, PARAMS)
    np.testing.assert_array_equal(fixed.power, osc.output_power(current, PARAMS))
    np.testing.assert_array_equal(fixed.power, moving.power)
    np.testing.assert_array_equal(np.broadcast_to(fixed.frequency, current.shape)[0], channel)
    assert np.all(np.diff(moving.frequency[0]) > 0)
    with pytest.raises(ValueError, match="channel_frequency"):
        osc.neuron_target(current, PARAMS, follows_current=False)


def test_settling_rate_relaxes_at_2_gamma_xi_minus_1_with_a_floor_at_threshold_and_a_cap_at_i_max():
    g = PARAMS.damping_rate
    xi = np.array([0.5, 1.0, 1.005, 2.0, 4.0, 6.0])
    rate = osc.settling_rate(xi * I_TH, PARAMS, min_fraction=0.02)
    expected = 2 * g * np.abs(np.minimum(xi, I_MAX / I_TH) - 1)
    np.testing.assert_allclose(rate[[0, 3, 4]], expected[[0, 3, 4]], rtol=1e-14)
    assert rate[1] == rate[2] == pytest.approx(0.02 * 2 * g)      # critical slowing down: the floor
    assert rate[5] == rate[4]                                      # the device current stops at I_max
