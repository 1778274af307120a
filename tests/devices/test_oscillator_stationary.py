"""The stationary distribution of a noisy auto-oscillator's power (docs/physics.md#oscillator-dynamics):
rfemu.devices.oscillator.stationary_power_moments against an ensemble integrated by the same
Stratonovich equation (rfemu.devices.oscillator.integrate), from near threshold (broad, skewed)
to well above it (narrow: std ~ sqrt(eta (1 + Q p0)^2 / (xi (1 + Q))) / p0)."""
import numpy as np
import pytest

from rfemu.devices import oscillator as osc

PARAMS = osc.OscillatorParameters(natural_frequency=450e6, nonlinear_frequency_shift=2 * np.pi * 40e6,
                                  threshold_current=10e-6, max_current=40e-6, oscillation_energy=2e-18)


@pytest.mark.parametrize("xi", [1.2, 2.0, 3.5])
def test_moments_are_the_integrated_ensembles(xi):
    current = xi * PARAMS.threshold_current
    p0 = float(osc.steady_power(current, PARAMS))
    n = 1500
    # from the static state, 5 power relaxation times 1 / (2 G_G (xi - 1)) and more
    duration = max(0.3e-6, 5.0 / (2.0 * PARAMS.damping_rate * (xi - 1.0)))
    run = osc.integrate(PARAMS, np.full(n, current), duration, 2e-11, seed=3,
                        initial_state=np.full(n, np.sqrt(p0) + 0j))
    u = run.final_power / p0
    mean, var = (float(a) for a in osc.stationary_power_moments(current, PARAMS))
    std = np.sqrt(var)
    assert abs(u.std() - std) < 0.06 * std                # ensemble std: ~2 % sampling error
    assert abs(u.mean() - mean) < 4.0 * std / np.sqrt(n)
    # the linearised width, the small-noise limit the density reproduces well above threshold
    linear = np.sqrt(PARAMS.noise_ratio * (1 + 2.0 * p0) ** 2 / (xi * 3.0)) / p0
    if xi >= 2.0:
        assert abs(std - linear) < 0.05 * linear


def test_no_noise_and_no_emission():
    cold = PARAMS.replace(temperature=0.0)
    mean, var = osc.stationary_power_moments(np.array([5e-6, 20e-6]), cold)
    assert np.all(mean == 1.0) and np.all(var == 0.0)
    mean, var = osc.stationary_power_moments(np.array([5e-6, 10e-6]), PARAMS)   # at or below threshold
    assert np.all(var == 0.0)
