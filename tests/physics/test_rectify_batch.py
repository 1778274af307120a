"""The rectification of a batch of tone powers, V = P W^T (chain matrix and tone sum in the
kernel), and its gradient: against the numpy reference, finite differences and thread counts."""
import numpy as np
import pytest

from rfemu.devices import resonator as rs
from rfemu.engines.compiled import blas_threads

# sizes crossing the kernel's blocks (128 samples, 16 chains) with remainders
B, C, J, T = 300, 37, 9, 51
KW = dict(damping=0.01, symmetric=0.2, sensitivity=8.8e3)


@pytest.fixture
def case():
    rng = np.random.default_rng(77)
    tf = np.sort(rng.uniform(20e6, 120e6, T))
    tg = rng.uniform(0, 1e5, T)
    fr = rng.uniform(20e6, 120e6, (C, J))
    sign = rng.choice([-1.0, 1.0], size=(C, J))
    p = rng.uniform(0, 1e-6, (B, T))
    g = rng.normal(size=(B, C))
    return tf, tg, fr, sign, p, g


def rel(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def test_voltages_equal_reference_and_the_product_with_the_chain_matrix(case):
    tf, tg, fr, sign, p, _ = case
    v, w = rs.rectify(p, tf, tg, fr, sign, **KW)
    vn, wn = rs.rectify_numpy(p, tf, tg, fr, sign, **KW)
    assert rel(w, wn) < 1e-13
    assert rel(v, vn) < 1e-12
    # the definition, with the chain matrix of chain_matrix
    assert rel(v, p @ rs.chain_matrix(tf, tg, fr, sign, **KW).T) < 1e-12
    # W given: only the tone sum, same bits
    chains = rs.ChainSet((C, J), sign, **KW)
    v2, w2 = chains.rectify(p, rs.tones(tf, tg), fr, matrix=w)
    assert w2 is w or np.array_equal(w2, w)
    assert np.array_equal(v2, v)


def test_gradient_equals_reference(case):
    tf, tg, fr, sign, p, g = case
    a = rs.rectify_grad(g, p, tf, tg, fr, sign, tone_power_grad=True, **KW)
    b = rs.rectify_grad_numpy(g, p, tf, tg, fr, sign, tone_power_grad=True, **KW)
    assert rel(a.resonance_frequency, b.resonance_frequency) < 1e-12
    assert rel(a.tone_power, b.tone_power) < 1e-12
    assert rs.rectify_grad(g, p, tf, tg, fr, sign, **KW).tone_power is None


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    b, c, j, t = 7, 4, 6, 11
    tf = np.sort(rng.uniform(20e6, 120e6, t))
    tg = rng.uniform(1e4, 2e5, t)
    fr = rng.uniform(20e6, 120e6, (c, j))
    p = rng.uniform(0, 1e-6, (b, t))
    gv = rng.normal(size=(b, c))

    def loss(fr_, p_):
        return np.sum(gv * rs.rectify(p_, tf, tg, fr_, 1.0, **KW)[0])

    grad = rs.rectify_grad(gv, p, tf, tg, fr, 1.0, tone_power_grad=True, **KW)
    h = 20.0
    for idx in [(0, 0), (1, 3), (3, 5)]:
        e = np.zeros_like(fr)
        e[idx] = h
        fd = (loss(fr + e, p) - loss(fr - e, p)) / (2 * h)
        assert grad.resonance_frequency[idx] == pytest.approx(fd, rel=1e-6)
    hp = 1e-9
    for idx in [(0, 0), (3, 7), (6, 10)]:
        e = np.zeros_like(p)
        e[idx] = hp
        fd = (loss(fr, p + e) - loss(fr, p - e)) / (2 * hp)
        assert grad.tone_power[idx] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("blas", [1, 2])
def test_thread_counts_do_not_change_the_bits(case, blas):
    tf, tg, fr, sign, p, g = case
    with blas_threads(1):
        v1, w1 = rs.rectify(p, tf, tg, fr, sign, n_threads=1, **KW)
        g1 = rs.rectify_grad(g, p, tf, tg, fr, sign, tone_power_grad=True, n_threads=1, **KW)
    with blas_threads(blas):
        v2, w2 = rs.rectify(p, tf, tg, fr, sign, n_threads=2, **KW)
        g2 = rs.rectify_grad(g, p, tf, tg, fr, sign, tone_power_grad=True, n_threads=2, **KW)
    assert np.array_equal(w1, w2) and np.array_equal(v1, v2)
    assert np.array_equal(g1.resonance_frequency, g2.resonance_frequency)
    assert np.array_equal(g1.tone_power, g2.tone_power)


def test_shapes_are_checked(case):
    tf, tg, fr, sign, p, g = case
    with pytest.raises(ValueError, match="tone_power"):
        rs.rectify(p[:, :-1], tf, tg, fr, sign, **KW)
    with pytest.raises(ValueError, match="one set of tones"):
        rs.tones(np.stack([tf, tf]), 0.0)
    with pytest.raises(ValueError, match="grad_voltage"):
        rs.rectify_grad(g[:, :-1], p, tf, tg, fr, sign, **KW)


def test_pure_tones_on_antisymmetric_junctions_equal_reference_and_finite_differences():
    # the kernel's shorter loop (g = 0, S = 0) next to the general one (S != 0) in the same chains
    rng = np.random.default_rng(9)
    c, j, t, b = 5, 12, 40, 6
    tf = np.sort(rng.uniform(20e6, 120e6, t))
    fr = rng.uniform(20e6, 120e6, (c, j))
    sym = np.where(rng.random((c, j)) < 0.5, 0.0, 0.3)
    p = rng.uniform(0, 1e-6, (b, t))
    gv = rng.normal(size=(b, c))
    kw = dict(damping=0.01, symmetric=sym, sensitivity=8.8e3)
    v, w = rs.rectify(p, tf, 0.0, fr, 1.0, **kw)
    vn, wn = rs.rectify_numpy(p, tf, 0.0, fr, 1.0, **kw)
    assert rel(w, wn) < 1e-13 and rel(v, vn) < 1e-12
    g = rs.rectify_grad(gv, p, tf, 0.0, fr, 1.0, **kw).resonance_frequency
    assert rel(g, rs.rectify_grad_numpy(gv, p, tf, 0.0, fr, 1.0, **kw).resonance_frequency) < 1e-12
    h = 20.0
    for idx in [(0, 0), (2, 5), (4, 11)]:
        e = np.zeros_like(fr)
        e[idx] = h
        fd = (np.sum(gv * rs.rectify(p, tf, 0.0, fr + e, 1.0, **kw)[0])
              - np.sum(gv * rs.rectify(p, tf, 0.0, fr - e, 1.0, **kw)[0])) / (2 * h)
        assert g[idx] == pytest.approx(fd, rel=1e-6)
