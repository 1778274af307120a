"""Spin-diode rectification (docs/physics.md#line-shape) against the formula, the line-broadening
identity, finite differences, and the numpy reference."""
import math

import numpy as np
import pytest

from rfemu.devices import resonator as rs


def formula(f, P, f_r, D, K, a, s):
    """docs/physics.md#line-shape: V = K P [a 2 D d / (d^2 + D^2) + s D^2 / (d^2 + D^2)], d = f - f_r."""
    d = f - f_r
    return K * P * (a * 2 * D * d / (d**2 + D**2) + s * D**2 / (d**2 + D**2))


@pytest.fixture
def rng():
    return np.random.default_rng(20231273)


def test_seed_sensitivity_is_8p8_mV_per_uW():
    # K = (TMR / I_th) tan(pi/4) / (8 sqrt 2): about 8.8 mV per uW with I_th = 10 uA
    assert rs.DEFAULT_SENSITIVITY * 1e-6 * 1e3 == pytest.approx(8.84, abs=0.01)


def test_rectified_voltage_equals_formula(rng):
    n = 10_000
    f = rng.uniform(1e6, 10e9, n)
    f_r = f * rng.uniform(0.8, 1.2, n)
    D = rng.uniform(1e-3, 0.1, n) * f_r
    P, K = rng.uniform(1e-9, 1e-5, n), rng.uniform(1e2, 1e6, n)
    a, s = rng.normal(size=n), rng.normal(size=n)
    got = rs.rectified_voltage(f, P, f_r, D, K, a, s)
    want = formula(f, P, f_r, D, K, a, s)
    scale = K * P * (abs(a) + abs(s))
    assert np.max(np.abs(got - want) / scale) < 1e-12


def test_antisymmetric_line_shape_extremes():
    # weight is +K above resonance and -K below, extreme at d = +-D; zero on resonance
    f_r, D, K, P = 100e6, 1e6, rs.DEFAULT_SENSITIVITY, 1e-6
    f = np.linspace(f_r - 5 * D, f_r + 5 * D, 200_001)
    v = rs.rectified_voltage(f, P, f_r, D, K)
    assert f[np.argmax(v)] == pytest.approx(f_r + D, rel=1e-6)
    assert f[np.argmin(v)] == pytest.approx(f_r - D, rel=1e-6)
    assert v.max() == pytest.approx(K * P, rel=1e-8)
    assert rs.rectified_voltage(f_r, P, f_r, D, K) == 0.0


@pytest.mark.parametrize("a,s", [(1.0, 0.0), (0.0, 1.0), (0.7, -0.4)])
def test_tone_linewidth_equals_convolution_over_the_line(a, s):
    """A tone with a Lorentzian line of half width g: averaging V over the line gives the
    closed form with D -> D + g in the complex Lorentzian and the prefactor unchanged."""
    f_r, D, K, P = 300e6, 3e6, 5e3, 1e-6
    g = 1.7e6
    # f' = f + g tan(theta): the Lorentzian density becomes uniform in theta on (-pi/2, pi/2)
    # midpoint rule in theta (the integrand is smooth and vanishes at both ends)
    n = 200_000
    theta = -0.5 * math.pi + math.pi * (np.arange(n) + 0.5) / n
    for f in (f_r - 4e6, f_r - 1e6, f_r, f_r + 2.5e6, f_r + 30e6):
        conv = np.mean(rs.rectified_voltage(f + g * np.tan(theta), P, f_r, D, K, a, s))
        closed = rs.rectified_voltage(f, P, f_r, D, K, a, s, tone_linewidth=g)
        assert closed == pytest.approx(conv, rel=1e-3, abs=1e-3 * K * P)


@pytest.mark.parametrize("slope", [0.0, 0.01])
def test_derivative_matches_finite_differences(rng, slope):
    n = 200
    f = rng.uniform(50e6, 150e6, n)
    f_r = f + rng.uniform(-5e6, 5e6, n)
    g = rng.uniform(0, 5e5, n)
    K, P, a, s = 8.8e3, 1e-6, 0.9, 0.3

    def v(fr):
        D = 0.01 * fr if slope else np.full_like(fr, 1e6)
        return rs.rectified_voltage(f, P, fr, D, K, a, s, tone_linewidth=g)

    h = 10.0  # Hz
    fd = (v(f_r + h) - v(f_r - h)) / (2 * h)
    D = 0.01 * f_r if slope else np.full_like(f_r, 1e6)
    an = rs.d_rectified_voltage_d_resonance(f, P, f_r, D, K, a, s, tone_linewidth=g,
                                            half_width_slope=slope)
    assert np.max(np.abs(an - fd) / np.max(np.abs(fd))) < 1e-6


def _chain_reference(tf, tg, fr, sign, D, K, a, s):
    """Independent chain sum: V_c(tone t, unit power) = sum_j sign_j V(f_t, f_r,cj)."""
    C, J = fr.shape
    W = np.zeros((C, tf.size))
    for c in range(C):
        for j in range(J):
            W[c] += sign[j] * rs.rectified_voltage(tf, 1.0, fr[c, j], D[c, j], K, a, s, tone_linewidth=tg)
    return W


@pytest.mark.parametrize("backend", ["kernel", "numpy"])
def test_chain_matrix_sums_signed_junctions(rng, backend):
    C, J, T = 6, 9, 33
    tf = np.sort(rng.uniform(20e6, 120e6, T))
    tg = rng.uniform(0, 2e5, T)
    fr = rng.uniform(20e6, 120e6, (C, J))
    sign = (-1.0) ** np.arange(J)
    K, a, s = 8.8e3, 1.0, 0.2
    W = rs.chain_matrix(tf, tg, fr, sign, None, K, a, s, damping=0.01, backend=backend)
    ref = _chain_reference(tf, tg, fr, sign, 0.01 * fr, K, a, s)
    assert np.max(np.abs(W - ref)) / np.max(np.abs(ref)) < 1e-12
    # chain voltage for a power vector is W @ P
    P = rng.uniform(0, 1e-6, T)
    v_direct = sum(sign[j] * rs.rectified_voltage(tf, P, fr[:, j:j + 1], 0.01 * fr[:, j:j + 1], K, a, s,
                                                  tone_linewidth=tg).sum(axis=1) for j in range(J))
    assert np.allclose(W @ P, v_direct, rtol=1e-12, atol=0)


def test_chain_matrix_batched_tone_sets_equal_one_by_one(rng):
    S, C, J, T = 4, 3, 5, 17
    tf = rng.uniform(20e6, 120e6, (S, T))
    tg = rng.uniform(0, 1e5, (S, T))
    fr = rng.uniform(20e6, 120e6, (C, J))
    Wb = rs.chain_matrix(tf, tg, fr, 1.0, 1e6)
    for k in range(S):
        assert np.array_equal(Wb[k], rs.chain_matrix(tf[k], tg[k], fr, 1.0, 1e6))


@pytest.mark.parametrize("width", ["damping", "half_width"])
def test_chain_gradient_matches_finite_differences(rng, width):
    C, J, T = 4, 6, 21
    tf = np.sort(rng.uniform(20e6, 120e6, T))
    tg = rng.uniform(1e4, 2e5, T)
    fr = rng.uniform(20e6, 120e6, (C, J))
    sign = (-1.0) ** np.arange(J)
    gw = rng.normal(size=(C, T))
    kw = {"damping": 0.01} if width == "damping" else {"half_width": rng.uniform(3e5, 1e6, (C, J))}

    def loss(fr_, tf_, tg_):
        return np.sum(gw * rs.chain_matrix(tf_, tg_, fr_, sign, sensitivity=8.8e3, symmetric=0.3, **kw))

    g = rs.chain_matrix_grad(gw, tf, tg, fr, sign, sensitivity=8.8e3, symmetric=0.3, tones=True, **kw)
    h = 20.0
    for (c, j) in [(0, 0), (1, 3), (3, 5), (2, 2)]:
        e = np.zeros_like(fr)
        e[c, j] = h
        fd = (loss(fr + e, tf, tg) - loss(fr - e, tf, tg)) / (2 * h)
        assert g.resonance_frequency[c, j] == pytest.approx(fd, rel=1e-6)
    for t in [0, 7, 20]:
        e = np.zeros_like(tf)
        e[t] = h
        fd = (loss(fr, tf + e, tg) - loss(fr, tf - e, tg)) / (2 * h)
        assert g.tone_frequency[t] == pytest.approx(fd, rel=1e-6)
        fd = (loss(fr, tf, tg + e) - loss(fr, tf, tg - e)) / (2 * h)
        assert g.tone_linewidth[t] == pytest.approx(fd, rel=1e-6)


def test_kernel_equals_numpy_reference_and_thread_count_is_irrelevant(rng):
    S, C, J, T = 3, 13, 40, 50
    tf = rng.uniform(20e6, 120e6, (S, T))
    tg = rng.uniform(0, 1e5, (S, T))
    fr = rng.uniform(20e6, 120e6, (C, J))
    sign = rng.choice([-1.0, 1.0], size=(C, J))
    gw = rng.normal(size=(S, C, T))
    kw = dict(damping=0.01, symmetric=0.1)
    W1 = rs.chain_matrix(tf, tg, fr, sign, n_threads=1, **kw)
    W2 = rs.chain_matrix(tf, tg, fr, sign, n_threads=2, **kw)
    Wn = rs.chain_matrix(tf, tg, fr, sign, backend="numpy", **kw)
    assert np.array_equal(W1, W2)
    assert np.max(np.abs(W1 - Wn)) / np.max(np.abs(Wn)) < 1e-13
    g1 = rs.chain_matrix_grad(gw, tf, tg, fr, sign, tones=True, n_threads=1, **kw)
    g2 = rs.chain_matrix_grad(gw, tf, tg, fr, sign, tones=True, n_threads=2, **kw)
    gn = rs.chain_matrix_grad(gw, tf, tg, fr, sign, tones=True, backend="numpy", **kw)
    for a, b, c in zip(g1, g2, gn):
        assert np.array_equal(a, b)
        assert np.max(np.abs(a - c)) / np.max(np.abs(c)) < 1e-12


@pytest.mark.parametrize("bad,needle", [
    (dict(half_width=-1.0), "half_width"),
    (dict(damping=0.0), "damping"),
    (dict(half_width=1e6, damping=0.01), "exactly one"),
    (dict(half_width=1e6, tone_linewidth=-5.0), "tone_linewidth"),
])
def test_invalid_chain_parameters_name_the_parameter(bad, needle):
    kw = dict(tone_linewidth=0.0)
    kw.update(bad)
    tl = kw.pop("tone_linewidth")
    with pytest.raises(ValueError, match=needle):
        rs.chain_matrix(np.array([1e8]), tl, np.array([[1e8]]), 1.0, **kw)
