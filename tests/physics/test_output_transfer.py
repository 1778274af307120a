"""The neurons' compact output model in one kernel pass (OutputTransfer) against its numpy
reference (output_power, d_output_power_d_current), at the clamp's edges too: the same bits (the
kernel multiplies in the reference's order)."""
import numpy as np
import pytest

from rfemu.devices import oscillator as osc


@pytest.fixture
def case():
    rng = np.random.default_rng(3)
    n = 23
    params = osc.OscillatorParameters(threshold_current=rng.uniform(8e-6, 12e-6, n),
                                      max_current=rng.uniform(35e-6, 45e-6, n),
                                      max_output_power=rng.uniform(0.5e-6, 1.5e-6, n),
                                      nonlinear_damping=rng.uniform(1.0, 3.0, n))
    i = rng.uniform(-5e-6, 60e-6, (1000, n))
    i[0], i[1] = params.threshold_current, params.max_current          # the clamp's edges exactly
    return params, i


def test_kernel_equals_numpy_reference(case):
    params, i = case
    t = osc.OutputTransfer(params, i.shape[1])
    p, dp = t(i, derivative=True)
    pn, dpn = t(i, derivative=True, backend="numpy")
    assert np.array_equal(p, pn)
    assert np.array_equal(dp, dpn)
    assert np.array_equal(t(i)[0], p) and t(i)[1] is None
    # the reference: P_out saturates at max_output_power, and is 0 at threshold
    assert np.allclose(p[1], params.max_output_power, rtol=1e-12)
    assert np.all(p[0] == 0)


def test_thread_count_does_not_change_the_bits(case):
    params, i = case
    t = osc.OutputTransfer(params, i.shape[1])
    a = t(i, derivative=True, n_threads=1)
    b = t(i, derivative=True, n_threads=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_shape_is_checked(case):
    params, i = case
    with pytest.raises(ValueError, match="current"):
        osc.OutputTransfer(params, i.shape[1])(i[:, :-1])


def test_kernel_equals_the_compact_model_written_out(case):
    """P = P_max [p0(xi) / p0(xi_max)] (I / I_max)^2 with I clamped to [I_th, I_max] and
    p0 = (xi - 1) / (xi + Q) (docs/physics.md#output-power-and-the-clamp); its derivative
    P_max / (p0(xi_max) I_max^2) [(Q + 1) / ((xi + Q)^2 I_th) I^2 + 2 p0 I] inside, 0 outside."""
    params, i = case
    p, dp = osc.OutputTransfer(params, i.shape[1])(i, derivative=True)
    i_th, i_max = params.threshold_current, params.max_current
    q, p_max = params.nonlinear_damping, params.max_output_power
    clamped = np.clip(i, i_th, i_max)
    xi = clamped / i_th
    p0 = (xi - 1) / (xi + q)
    p0_max = (i_max / i_th - 1) / (i_max / i_th + q)
    np.testing.assert_allclose(p, p_max * p0 / p0_max * (clamped / i_max) ** 2, rtol=1e-12, atol=0)
    inside = (i > i_th) & (i < i_max)
    slope = p_max / (p0_max * i_max ** 2) * ((q + 1) / ((xi + q) ** 2 * i_th) * clamped ** 2 + 2 * p0 * clamped)
    np.testing.assert_allclose(dp[inside], slope[inside], rtol=1e-12)
    outside = (i < i_th) | (i > i_max)
    assert np.all(dp[outside] == 0) and inside.sum() > 500 and outside.sum() > 100
