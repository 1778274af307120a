"""The synapse's parameters and its non-volatile frequency state."""
import math

import numpy as np
import pytest

from rfemu.devices.resonator import FrequencyState, ResonatorParameters, johnson_noise_voltage


def test_half_width_is_damping_times_frequency():
    assert ResonatorParameters(damping=0.02).half_width(300e6) == pytest.approx(6e6)


@pytest.mark.parametrize("kw,needle", [(dict(damping=-0.01), "damping"),
                                       (dict(sensitivity=0.0), "sensitivity")])
def test_invalid_parameters_name_parameter_and_value(kw, needle):
    with pytest.raises(ValueError, match=needle) as e:
        ResonatorParameters(**kw)
    assert str(list(kw.values())[0]) in str(e.value)


def test_window_excluding_the_current_frequency_is_an_error():
    with pytest.raises(ValueError, match="tuning window"):
        FrequencyState(base_frequency=[100e6], window_low=1e6, window_high=2e6)


def test_write_clips_to_window_and_quantises():
    st = FrequencyState(base_frequency=[100e6, 50e6], window_low=-3e6, window_high=3e6, step=0.25e6)
    st.write([101.13e6, 70e6])
    assert st.frequency[0] == pytest.approx(101.25e6)
    assert st.frequency[1] == pytest.approx(53e6)
    lo, hi = st.bounds
    assert np.all(st.frequency <= hi) and np.all(st.frequency >= lo)


def test_write_noise_has_the_set_spread():
    n = 20_000
    st = FrequencyState(base_frequency=np.full(n, 100e6), window_low=-50e6, window_high=50e6,
                        write_noise=0.2e6, seed=4)
    st.write(np.full(n, 101e6))
    err = st.frequency - 101e6
    assert abs(err.mean()) < 5 * 0.2e6 / math.sqrt(n)
    assert err.std() == pytest.approx(0.2e6, rel=0.03)


def test_endurance_sticks_the_device_and_costs_are_counted():
    st = FrequencyState(base_frequency=[100e6], window_low=-5e6, window_high=5e6,
                        endurance=3, write_energy=2e-13, write_latency=5e-9)
    costs = [st.write([100e6 + k * 1e6]) for k in (1, 2, 3, 4)]
    assert [c.energy for c in costs] == [2e-13, 2e-13, 2e-13, 0.0]
    assert costs[2].newly_stuck == 1 and costs[0].latency == 5e-9 and costs[3].latency == 0.0
    assert st.frequency[0] == pytest.approx(103e6)  # the fourth write found it stuck


def test_drift_moves_state_within_window():
    st = FrequencyState(base_frequency=[100e6], window_low=-1e6, window_high=1e6, drift_rate=1e3)
    st.advance(100.0)
    assert st.frequency[0] == pytest.approx(100.1e6)
    st.advance(1e4)
    assert st.frequency[0] == pytest.approx(101e6)


def test_johnson_noise_of_1kohm_over_1MHz_at_300K():
    # sqrt(4 k_B T R B) = 4.07 uV for 1 kOhm, 1 MHz, 300 K
    assert johnson_noise_voltage(1e3, 1e6, 300.0) == pytest.approx(4.07e-6, rel=1e-3)
