"""Three classes of 8x8 images for the CNN tests: a horizontal bar, a vertical bar, a diagonal,
at random places, on noise."""
import numpy as np


def bars(n, seed):
    """``n`` images (n, 1, 8, 8) and their classes (0 horizontal, 1 vertical, 2 diagonal)."""
    rng = np.random.default_rng(seed)
    x = 0.15 * rng.random((n, 1, 8, 8))
    y = rng.integers(0, 3, n)
    for i, (k, p) in enumerate(zip(y, rng.integers(1, 7, n))):
        if k == 0:
            x[i, 0, p, 1:7] = 1.0
        elif k == 1:
            x[i, 0, 1:7, p] = 1.0
        else:
            x[i, 0, np.arange(1, 7), np.arange(1, 7)] = 1.0
    return x, y
