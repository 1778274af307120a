"""The numpy MLP reference: its gradients equal finite differences; it learns a separable task."""
import numpy as np
import pytest

from rfemu.learning.mlp import NumpyMLP


def test_mlp_gradient_equals_finite_differences():
    rng = np.random.default_rng(0)
    mlp = NumpyMLP((5, 7, 3), seed=1)
    x, y = rng.random((9, 5)), rng.integers(0, 3, 9)
    _, gw, gb = mlp.gradients(x, y)
    for params, grads in ((mlp.weights, gw), (mlp.biases, gb)):
        for p, g in zip(params, grads):
            for idx in [(0,) * p.ndim, tuple(s - 1 for s in p.shape)]:
                h = 1e-6
                p[idx] += h
                up = mlp.gradients(x, y)[0]
                p[idx] -= 2 * h
                down = mlp.gradients(x, y)[0]
                p[idx] += h
                assert g[idx] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-10)


def test_mlp_learns_two_blobs():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0.3, 0.05, (100, 2)), rng.normal(0.7, 0.05, (100, 2))])
    y = np.repeat([0, 1], 100)
    mlp = NumpyMLP((2, 8, 2), seed=0)
    mlp.fit(x, y, epochs=50, batch_size=20, learning_rate=1e-2, seed=0)
    assert mlp.accuracy(x, y) > 0.98
