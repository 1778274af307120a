"""The convolution layer of RF spintronic devices (rfemu.network.conv): an independent numpy
convolution with the Lorentzian weights written out from docs/physics.md#line-shape and
docs/physics.md#chains, gradients against central finite differences, weight sharing of the
parallel arrangement."""
import numpy as np
import pytest

from rfemu.devices import oscillator as osc
from rfemu.network import conv
from rfemu.network.frequency import FrequencyPlan

DAMPING = 0.01
SENSITIVITY = 8838.8
ANTI, SYM = 1.0, 0.3


def _lorentzian_weight(tone_f, tone_g, f_r, sign):
    """W_ft = sum_j sign_j K D_r (2 a d + s G) / (d^2 + G^2), d = f_t - f_r, D_r = alpha f_r,
    G = D_r + g_t (docs/physics.md#line-shape, #tone-linewidth, #chains)."""
    d = tone_f[None, :, None] - f_r[:, None, :]            # (F, T, J)
    D = DAMPING * f_r[:, None, :]
    G = D + tone_g[None, :, None]
    return (sign[:, None, :] * SENSITIVITY * D * (2 * ANTI * d + SYM * G) / (d * d + G * G)).sum(axis=2)


def _reference_conv(x, layer, bias):
    """Direct convolution loop: out[b, f, oy, ox] = sum_{c, ky, kx} x[b, c, oy s + ky, ox s + kx]
    W_pos[f, (c k + ky) k + kx] + bias_pos[f]; W_pos the copy of the position (parallel) or the one chain."""
    g = layer.geometry
    k, s, p = g.kernel_size, g.stride, g.padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    fr = layer.base_frequency + layer.tuning
    weights = [_lorentzian_weight(layer.tone_frequency, layer.tone_linewidth, fr[c], layer.sign[c])
               for c in range(fr.shape[0])]
    out = np.zeros((x.shape[0], fr.shape[1], g.out_height, g.out_width))
    for oy in range(g.out_height):
        for ox in range(g.out_width):
            copy = 0 if fr.shape[0] == 1 else oy * g.out_width + ox
            w = weights[copy].reshape(fr.shape[1], g.in_channels, k, k)
            patch = xp[:, :, oy * s:oy * s + k, ox * s:ox * s + k]
            out[:, :, oy, ox] = np.einsum("bcij,fcij->bf", patch, w) + bias[copy]
    return out


def _layer(arrangement, geometry=None, seed=0, spread=2e-3):
    g = geometry or conv.ConvGeometry(in_channels=2, height=6, width=5, kernel_size=3, stride=2, padding=1)
    tones = conv.patch_tone_frequencies(FrequencyPlan("geometric", 20e6, 120e6), g)
    layer = conv.conv_layer(g, 3, tones, arrangement=arrangement, tone_linewidth=0.05e6,
                            damping=DAMPING, sensitivity=SENSITIVITY, antisymmetric=ANTI,
                            symmetric=SYM, base_spread=spread, bias_voltage=1e-3, seed=seed)
    rng = np.random.default_rng(seed + 1)
    layer.tuning = layer.tuning + rng.normal(0.0, 0.3e6, layer.tuning.shape)   # copies differ
    layer.bias_voltage = layer.bias_voltage + rng.normal(0.0, 1e-3, layer.bias_voltage.shape)
    return layer


def _input(layer, seed=2, batch=3):
    g = layer.geometry
    return np.random.default_rng(seed).random((batch, g.in_channels, g.height, g.width)) * 1e-6


@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
@pytest.mark.parametrize("backend", ["kernel", "numpy"])
def test_layer_equals_an_independent_lorentzian_convolution(arrangement, backend):
    layer = _layer(arrangement)
    x = _input(layer)
    got = layer.forward(x, backend=backend).voltage
    want = _reference_conv(x, layer, layer.bias_voltage)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-9 * np.max(np.abs(want))


def test_parallel_copies_differ_only_through_their_devices():
    seq, par = _layer(conv.SEQUENTIAL, spread=0.0), _layer(conv.PARALLEL, spread=0.0)
    par.tuning[:] = seq.tuning[0]
    par.bias_voltage[:] = seq.bias_voltage[0]
    x = _input(seq)
    np.testing.assert_allclose(par.forward(x).voltage, seq.forward(x).voltage, rtol=1e-12, atol=0)
    before = par.forward(x).voltage
    par.tuning[3, 1, 4] += 0.2e6           # one junction of one copy moves: only that position changes
    diff = np.abs(par.forward(x).voltage - before).reshape(x.shape[0], 3, -1)
    assert np.all(diff[:, 1, 3] > 0)
    diff[:, 1, 3] = 0
    assert np.all(diff == 0)


def test_shared_gradient_of_identical_copies_is_the_sequential_gradient():
    seq, par = _layer(conv.SEQUENTIAL, spread=0.0), _layer(conv.PARALLEL, spread=0.0)
    par.tuning[:] = seq.tuning[0]
    par.bias_voltage[:] = seq.bias_voltage[0]
    x = _input(seq)
    r_seq, r_par = seq.forward(x), par.forward(x)
    gv = np.random.default_rng(5).standard_normal(r_seq.voltage.shape)
    g_seq, g_par = seq.backward(gv, r_seq), conv.shared_gradient(par.backward(gv, r_par))
    np.testing.assert_allclose(g_par.tuning[7], g_seq.tuning[0], rtol=1e-10)
    np.testing.assert_allclose(g_par.bias_voltage[7], g_seq.bias_voltage[0], rtol=1e-12)


def _loss(voltage, weights):
    """A smooth, non-linear loss of the output voltages, and its gradient."""
    return float(np.sum(weights * voltage) + 20.0 * np.sum(voltage ** 2)), weights + 40.0 * voltage


def _fd(fn, array, index, step):
    old = array[index]
    array[index] = old + step
    up = fn()
    array[index] = old - step
    down = fn()
    array[index] = old
    return (up - down) / (2 * step)


@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_gradients_equal_central_finite_differences(arrangement):
    layer = _layer(arrangement)
    x = _input(layer)
    result = layer.forward(x)
    weights = np.random.default_rng(3).standard_normal(result.voltage.shape)
    _, gv = _loss(result.voltage, weights)
    grad = layer.backward(gv, result, input_grad=True)

    def loss():
        return _loss(layer.forward(x).voltage, weights)[0]

    rng = np.random.default_rng(4)
    K, F, J = layer.tuning.shape
    checks = []
    for _ in range(8):
        idx = (int(rng.integers(K)), int(rng.integers(F)), int(rng.integers(J)))
        # central differences err by O(step^2 / D_r^2): 50 Hz against D_r >= 0.2 MHz
        checks.append((grad.tuning[idx], _fd(loss, layer.tuning, idx, 50.0)))
        b = idx[:2]
        checks.append((grad.bias_voltage[b], _fd(loss, layer.bias_voltage, b, 1e-6)))
        xi = tuple(int(rng.integers(n)) for n in x.shape)
        checks.append((grad.tone_power[xi], _fd(loss, x, xi, 1e-10)))
    for analytic, numeric in checks:
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-12 * abs(numeric) + 1e-30)
    assert all(abs(a) > 0 for a, _ in checks)


def test_sharing_keeps_the_copies_targets_identical_through_a_step():
    layer = _layer(conv.PARALLEL)
    layer.target_tuning = np.broadcast_to(layer.target_tuning[0], layer.target_tuning.shape).copy()
    layer.bias_voltage = np.broadcast_to(layer.bias_voltage[0], layer.bias_voltage.shape).copy()
    x = _input(layer)
    result = layer.forward(x)
    gv = np.random.default_rng(6).standard_normal(result.voltage.shape)
    grad = layer.backward(gv, result)
    before = layer.target_tuning.copy()
    conv.gradient_step(layer, grad, 1e12, 1e-3, share=True, write_noise=5e3, rng=7)
    assert np.all(layer.target_tuning == layer.target_tuning[:1])          # one shared target
    np.testing.assert_allclose(layer.target_tuning[0], before[0] - 1e12 * grad.tuning.sum(axis=0), rtol=1e-12)
    assert np.all(layer.bias_voltage == layer.bias_voltage[:1])
    error = layer.tuning - layer.target_tuning                               # copies differ by writes
    assert 3e3 < error.std() < 7e3 and not np.all(error == error[:1])


def test_without_sharing_each_copy_follows_its_own_gradient():
    layer = _layer(conv.PARALLEL)
    result = layer.forward(_input(layer))
    grad = layer.backward(np.ones_like(result.voltage), result)
    before = layer.target_tuning.copy()
    conv.gradient_step(layer, grad, 1e12, 0.0, share=False)
    np.testing.assert_allclose(layer.target_tuning, np.clip(before - 1e12 * grad.tuning, -50e6, 50e6))
    assert not np.all(layer.target_tuning == layer.target_tuning[:1])
    assert np.all(layer.tuning == layer.target_tuning)                      # no write noise asked


def test_im2col_and_col2im_are_adjoint():
    g = conv.ConvGeometry(in_channels=2, height=7, width=6, kernel_size=3, stride=2, padding=2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 7, 6))
    y = rng.standard_normal((2, g.n_positions, g.patch_size))
    assert np.sum(conv.im2col(x, g) * y) == pytest.approx(np.sum(x * conv.col2im(y, g)), rel=1e-12)


def test_oscillator_activation_derivative_and_pooling_gradients():
    params = osc.OscillatorParameters()
    gm = 3.388e-3
    v = np.linspace(params.threshold_current * 1.1, params.max_current * 0.9, 7) / gm
    p, dp = conv.oscillator_activation(v, gm, params, derivative=True)
    np.testing.assert_allclose(p, osc.output_power(v * gm, params), rtol=0)
    fd = (conv.oscillator_activation(v + 1e-7, gm, params)[0]
          - conv.oscillator_activation(v - 1e-7, gm, params)[0]) / 2e-7
    np.testing.assert_allclose(dp, fd, rtol=1e-5)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 4))
    r = rng.standard_normal((2, 3, 2, 2))
    out, win = conv.max_pool(x, 2)
    assert out[1, 2, 1, 0] == x[1, 2, 2:4, 0:2].max()
    for fn, grad in ((lambda a: np.sum(r * conv.average_pool(a, 2)), conv.average_pool_grad(r, x.shape, 2)),
                     (lambda a: np.sum(r * conv.max_pool(a, 2)[0]), conv.max_pool_grad(r, win, x.shape, 2))):
        for idx in [(0, 0, 0, 0), (1, 2, 3, 1), (0, 1, 4, 3)]:     # (0, 1, 4, 3): cropped row
            assert grad[idx] == pytest.approx(_fd(lambda: fn(x), x, idx, 1e-6), rel=1e-6, abs=1e-9)


def test_calibrated_programming_cancels_the_device_spread():
    spread_free, spread = _layer(conv.PARALLEL, spread=0.0), _layer(conv.PARALLEL, spread=0.05)
    np.testing.assert_array_equal(spread.nominal_base_frequency, spread_free.base_frequency)
    for layer in (spread_free, spread):
        layer.bias_voltage = spread_free.bias_voltage.copy()
        layer.target_tuning = np.broadcast_to(spread_free.target_tuning[0], layer.tuning.shape).copy()
    spread_free.tuning_min = spread.tuning_min = -1e9                          # room for 5 % of 120 MHz
    spread_free.tuning_max = spread.tuning_max = 1e9
    conv.program(spread_free)
    x = _input(spread)
    want = spread_free.forward(x).voltage
    conv.program(spread, calibrated=False)
    blind = np.max(np.abs(spread.forward(x).voltage - want))
    conv.program(spread, calibrated=True)
    calibrated = np.max(np.abs(spread.forward(x).voltage - want))
    assert calibrated <= 1e-9 * np.max(np.abs(want)) < 1e-3 * blind


def test_shared_training_of_identical_copies_follows_the_sequential_layer():
    seq, par = _layer(conv.SEQUENTIAL, spread=0.0), _layer(conv.PARALLEL, spread=0.0)
    par.target_tuning[:] = seq.target_tuning[0]
    par.bias_voltage[:] = seq.bias_voltage[0]
    conv.program(seq), conv.program(par)
    x = _input(seq)
    weights = np.random.default_rng(8).standard_normal((x.shape[0], 3, 3, 3))
    for _ in range(3):
        for layer in (seq, par):
            result = layer.forward(x)
            conv.gradient_step(layer, layer.backward(_loss(result.voltage, weights)[1], result), 2e11, 1e-2)
    np.testing.assert_allclose(par.target_tuning, np.broadcast_to(seq.target_tuning, par.target_tuning.shape),
                               rtol=0, atol=1e-6)                                     # Hz
    np.testing.assert_allclose(par.forward(x).voltage, seq.forward(x).voltage, rtol=1e-9)
    assert np.max(np.abs(seq.target_tuning - _layer(conv.SEQUENTIAL, spread=0.0).target_tuning)) > 1e3


def test_description_builds_the_layer_of_its_fields():
    from rfemu.devices.resonator import ResonatorParameters
    d = conv.ConvDescription(filters=3, kernel_size=3, stride=2, padding=1, arrangement=conv.PARALLEL,
                             resonator=ResonatorParameters(damping=0.02, symmetric=0.5), bias_voltage=5e-3,
                             patch_plan=FrequencyPlan("geometric", 20e6, 120e6))
    layer = d.build(2, 6, 5, base_spread=0.01, seed=4)
    g = conv.ConvGeometry(2, 6, 5, 3, 2, 1)
    assert layer.geometry == g and layer.n_copies == g.n_positions == 9 and layer.n_filters == 3
    want = conv.conv_layer(g, 3, FrequencyPlan("geometric", 20e6, 120e6).frequencies(18),
                           arrangement=conv.PARALLEL, damping=0.02, symmetric=0.5, bias_voltage=5e-3,
                           tuning_window=(-15e6, 15e6), base_spread=0.01, seed=4)
    x = _input(layer)
    np.testing.assert_array_equal(layer.forward(x).voltage, want.forward(x).voltage)
    np.testing.assert_array_equal(layer.base_frequency, want.base_frequency)


@pytest.mark.parametrize("field, value", [("filters", 0), ("kernel_size", 2.5), ("padding", -1),
                                          ("arrangement", "diagonal"), ("pool", "median"),
                                          ("tuning_window", (1e6, 2e6)), ("transconductance", 0.0)])
def test_description_refuses_bad_values_by_name(field, value):
    kwargs = {"filters": 2, field: value}
    with pytest.raises(ValueError, match=field):
        conv.ConvDescription(**kwargs)


@pytest.mark.parametrize("arrangement", conv.ARRANGEMENTS)
def test_a_scan_of_the_patches_on_the_event_engines_line_equals_the_layer(arrangement):
    """The sequential scan (one line, the patch tones' powers set position after position) and the
    parallel copies (one line each) give the layer's voltages through rfemu.medium.Line."""
    layer = _layer(arrangement)
    x = _input(layer, batch=2)
    want = layer.forward(x).voltage.reshape(2, layer.n_filters, -1)
    patches = conv.im2col(x, layer.geometry)
    lines = [layer.line(k) for k in range(layer.n_copies)]
    slots = np.arange(layer.geometry.patch_size)
    for b in range(2):
        for p in range(layer.geometry.n_positions):
            k = 0 if arrangement == conv.SEQUENTIAL else p
            lines[k].set_powers(slots, patches[b, p])
            got = lines[k].chain_voltages() + layer.bias_voltage[k]
            np.testing.assert_allclose(got, want[b, :, p], rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_a_copy_trains_apart_and_invalidate_sees_new_devices():
    layer = _layer(conv.SEQUENTIAL)
    twin = layer.copy()
    x = _input(layer)
    before = layer.forward(x).voltage
    twin.tuning += 1e5
    twin.bias_voltage += 1e-3
    np.testing.assert_array_equal(layer.forward(x).voltage, before)
    layer.sensitivity = 2 * layer.sensitivity
    layer.bias_voltage = np.zeros_like(layer.bias_voltage)
    half = layer.forward(x).voltage                     # the prepared response: old sensitivity
    layer.invalidate()
    np.testing.assert_allclose(layer.forward(x).voltage, 2 * half, rtol=1e-12)
