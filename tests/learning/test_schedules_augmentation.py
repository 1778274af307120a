"""Learning-rate schedules and the image-shift augmentation of rfemu.learning.backprop."""
import numpy as np
import pytest

from rfemu.learning.backprop import image_shift_augmentation, learning_rate_factor


@pytest.mark.parametrize("final_fraction", [0.0, 0.1, 0.5])
def test_cosine_starts_at_one_ends_at_the_final_fraction_and_decreases(final_fraction):
    total = 37
    f = np.array([learning_rate_factor("cosine", k, total, final_fraction) for k in range(total)])
    assert f[0] == 1.0
    assert f[-1] == pytest.approx(final_fraction, abs=1e-15)
    assert np.all(np.diff(f) < 0)
    assert np.all((f >= final_fraction) & (f <= 1.0))
    # half way, the cosine is half way between its ends
    assert learning_rate_factor("cosine", 18, total, final_fraction) == \
        pytest.approx(0.5 * (1 + final_fraction), rel=1e-12)


def test_constant_schedule_is_one_throughout():
    assert {learning_rate_factor("constant", k, 50, 0.2) for k in range(50)} == {1.0}


def test_unknown_schedule_raises():
    with pytest.raises(ValueError, match="learning_rate_schedule.*'linear'"):
        learning_rate_factor("linear", 3, 10, 0.0)


def _blobs(rng, n, rows=12, cols=10, margin=3):
    """Images with random positive content only at least ``margin`` pixels from every edge."""
    img = np.zeros((n, rows, cols))
    img[:, margin:rows - margin, margin:cols - margin] = rng.random((n, rows - 2 * margin,
                                                                    cols - 2 * margin)) + 0.1
    return img.reshape(n, rows * cols)


def _centre_of_mass(batch, rows, cols):
    img = batch.reshape(-1, rows, cols)
    mass = img.sum(axis=(1, 2))
    r = (img.sum(axis=2) * np.arange(rows)).sum(axis=1) / mass
    c = (img.sum(axis=1) * np.arange(cols)).sum(axis=1) / mass
    return r, c


@pytest.mark.parametrize("max_shift", [1, 2, 3])
def test_shift_keeps_the_pixel_sum_and_moves_by_whole_pixels_up_to_max_shift(max_shift):
    rows, cols = 12, 10
    x = _blobs(np.random.default_rng(0), 400, rows, cols, margin=3)
    y = image_shift_augmentation((rows, cols), max_shift)(x, np.random.default_rng(1))
    assert y.shape == x.shape
    np.testing.assert_allclose(y.sum(axis=1), x.sum(axis=1), rtol=1e-12)
    r0, c0 = _centre_of_mass(x, rows, cols)
    r1, c1 = _centre_of_mass(y, rows, cols)
    dr, dc = r1 - r0, c1 - c0
    np.testing.assert_allclose(dr, np.round(dr), atol=1e-9)     # whole pixels
    np.testing.assert_allclose(dc, np.round(dc), atol=1e-9)
    assert np.abs(np.round(dr)).max() == max_shift            # reaches, never exceeds, the bound
    assert np.abs(np.round(dc)).max() == max_shift
    # every shift in [-k, k] turns up along each axis, the image is otherwise unchanged
    assert set(np.round(dr).astype(int)) == set(range(-max_shift, max_shift + 1))
    i = 0
    back = np.roll(y[i].reshape(rows, cols), (-int(round(dr[i])), -int(round(dc[i]))), axis=(0, 1))
    np.testing.assert_array_equal(back, x[i].reshape(rows, cols))


def test_zero_shift_is_the_identity():
    x = np.random.default_rng(2).random((20, 64))
    np.testing.assert_array_equal(image_shift_augmentation((8, 8), 0)(x, np.random.default_rng(3)), x)


def test_negative_shift_raises():
    with pytest.raises(ValueError, match="max_shift.*-1"):
        image_shift_augmentation((28, 28), -1)
