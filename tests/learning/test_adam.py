"""Adam on one flat vector: the kernel step has the numpy reference's bits, and the reference is
Adam as written in Kingma and Ba (2015)."""
import numpy as np
import pytest

from rfemu.learning.backprop import _Adam


def textbook(p, grads, lr, b1, b2, eps, low, high):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        p = np.clip(p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), low, high)
    return p


@pytest.mark.parametrize("per_element", [False, True])
def test_kernel_step_has_the_reference_bits_and_the_reference_is_adam(per_element):
    rng = np.random.default_rng(11)
    shapes = [(6, 5), (4,), (1,)]
    lr = [rng.uniform(0.01, 0.1, (6, 5)), 0.05, 0.02] if per_element else 0.03
    low = [np.full((6, 5), -0.4), np.full(4, -np.inf), np.full(1, -1.0)]
    high = [np.full((6, 5), 0.4), np.full(4, np.inf), np.full(1, 1.0)]
    start = [rng.normal(scale=0.3, size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(25)]
    runs = {}
    for backend in ("kernel", "numpy"):
        opt = _Adam(shapes, lr, 0.9, 0.999, 1e-8, bounds=(low, high), backend=backend)
        params = [x.copy() for x in start]
        for g in grads:
            opt.step(params, g)
        runs[backend] = params
    for a, b in zip(runs["kernel"], runs["numpy"]):
        assert np.array_equal(a, b)
    flat = lambda xs: np.concatenate([np.ravel(x) for x in xs])      # noqa: E731
    lr_flat = flat([np.broadcast_to(x, s) for x, s in zip(lr, shapes)]) if per_element else lr
    expected = textbook(flat(start), [flat(g) for g in grads], lr_flat, 0.9, 0.999, 1e-8, flat(low), flat(high))
    assert np.allclose(flat(runs["numpy"]), expected, rtol=1e-12, atol=1e-15)
    assert np.any(flat(runs["numpy"]) == 0.4)       # the bounds were reached and held
